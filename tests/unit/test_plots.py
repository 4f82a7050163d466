"""PNG plots from the API JSON of a real B4 TE solve (tests/data/b4_snapshot.json): size and colours."""
import json
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from matplotlib import colormaps

from controller.client.plots import CMAP, COLOURS, UNKNOWN_COLOUR, node_positions, plot_utilization_map, write_plots

SNAPSHOT = json.loads((Path(__file__).resolve().parents[1] / "data" / "b4_snapshot.json").read_text())


def pixels(path) -> np.ndarray:
    image = matplotlib.image.imread(path)
    return (image[:, :, :3] * 255).round().astype(int)


def count_near(image, rgb, tolerance=6) -> int:
    return int((np.abs(image - np.array(rgb)).max(axis=2) <= tolerance).sum())


def rgb(colour) -> tuple:
    if isinstance(colour, str):
        colour = matplotlib.colors.to_rgb(colour)
    return tuple(round(255 * c) for c in colour[:3])


@pytest.fixture(scope="module")
def plots(tmp_path_factory):
    out = tmp_path_factory.mktemp("plots")
    return write_plots(SNAPSHOT["topology"], SNAPSHOT["links"], SNAPSHOT["allocations"], out)


def test_both_pngs_are_written(plots):
    assert [p.name for p in plots] == ["utilization_map.png", "intent_rates.png"]
    for path in plots:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


def test_map_colours_links_by_their_utilisation(plots):
    image = pixels(plots[0])
    cmap = colormaps[CMAP]
    utilisations = sorted({round(link["utilization"], 2) for link in SNAPSHOT["links"]["links"]})
    assert 0.0 in utilisations and 0.9 in utilisations
    # Idle links and the 90% links are drawn in their colours (far more pixels than the colour bar has).
    assert count_near(image, rgb(cmap(0.0))) > 3000
    assert count_near(image, rgb(cmap(0.9))) > 1000
    assert count_near(image, rgb(UNKNOWN_COLOUR)) < 500  # every link is measured (text antialiasing is grey)


def test_unmeasured_links_are_grey(tmp_path):
    links = {"links": [dict(link, measured_load_bps=None, utilization=None) for link in SNAPSHOT["links"]["links"]]}
    path = write_plots(SNAPSHOT["topology"], links, SNAPSHOT["allocations"], tmp_path)[0]
    image = pixels(path)
    assert count_near(image, rgb(colormaps[CMAP](0.9))) > 1000  # planned load, since nothing is measured
    plot_utilization_map(SNAPSHOT["topology"], links, tmp_path / "m.png", load="measured")
    assert count_near(pixels(tmp_path / "m.png"), rgb(UNKNOWN_COLOUR)) > 1000


def test_intent_bars_show_requested_allocated_and_measured(plots):
    image = pixels(plots[1])
    for colour in COLOURS.values():
        assert count_near(image, rgb(colour)) > 2000


def test_layout_is_deterministic_and_uses_coordinates_when_given():
    assert node_positions(SNAPSHOT["topology"]) == node_positions(json.loads(json.dumps(SNAPSHOT["topology"])))
    geo = {"switches": [dict(s, Latitude=float(n), Longitude=-float(n))
                        for n, s in enumerate(SNAPSHOT["topology"]["switches"])], "links": []}
    assert node_positions(geo)["000000000000000c"] == (-11.0, 11.0)
