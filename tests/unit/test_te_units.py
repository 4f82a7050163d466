"""One rate parser and one rate formatter for te-solve and te-intent (findings 7 and 8)."""
import json

import pytest

from te.cli import main
from te.units import format_rate, parse_rate


def test_te_intent_and_te_solve_share_one_parser():
    from controller.client import formatting

    assert formatting.parse_rate is parse_rate
    assert parse_rate("10G") == parse_rate("10 Gbit/s") == parse_rate("10Gbps") == 1e10


@pytest.mark.parametrize("bps, text", [
    (999999999.9, "1.000 Gbit/s"), (999999.9996, "1.000 Mbit/s"), (999.4, "999.400 bit/s"),
    (1e9, "1.000 Gbit/s"), (12.5e6, "12.500 Mbit/s"), (0, "0.000 bit/s"), (-1.5e12, "-1.500 Tbit/s"),
])
def test_format_rate_rounds_before_choosing_the_unit(bps, text):
    assert format_rate(bps) == text


def files(tmp_path, demands, capacity=None):
    links = [{"source": "a", "target": "b"}]
    if capacity is not None:
        links[0]["capacity"] = capacity
    topo = tmp_path / "t.json"
    topo.write_text(json.dumps({"nodes": [{"id": "a"}, {"id": "b"}], "links": links}))
    dem = tmp_path / "d.json"
    dem.write_text(json.dumps(demands))
    return ["--topology", str(topo), "--demands", str(dem), "--objective", "max-min"]


def test_default_capacity_and_demand_rates_take_units(tmp_path, capsys):
    out = tmp_path / "out.json"
    args = files(tmp_path, [{"src": "a", "dst": "b", "rate_bps": "4G"}, {"src": "b", "dst": "a", "rate_bps": 2.5e9}])
    assert main(args + ["--default-capacity", "10G", "--output", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert [d["requested_bps"] for d in doc["demands"]] == [4e9, 2.5e9]
    assert {link["capacity_bps"] for link in doc["links"]} == {1e10}
    assert "4.000 Gbit/s" in capsys.readouterr().out


def test_json_topology_capacities_take_units(tmp_path, capsys):
    out = tmp_path / "out.json"
    assert main(files(tmp_path, [{"src": "a", "dst": "b", "rate_bps": "1M"}], capacity="1 Gbit/s")
                + ["--output", str(out)]) == 0
    assert {link["capacity_bps"] for link in json.loads(out.read_text())["links"]} == {1e9}


@pytest.mark.parametrize("extra, demands, field", [
    (["--default-capacity", "10GB"], [{"src": "a", "dst": "b", "rate_bps": 1}], "--default-capacity"),
    (["--default-capacity", "-1"], [{"src": "a", "dst": "b", "rate_bps": 1}], "--default-capacity"),
    (["--default-capacity", "1G"], [{"src": "a", "dst": "b", "rate_bps": "4 GB/s"}], "rate_bps"),
    (["--default-capacity", "1G"], [{"src": "a", "dst": "b", "rate_bps": True}], "rate_bps"),
])
def test_bad_units_are_one_line_naming_the_field(tmp_path, capsys, extra, demands, field):
    assert main(files(tmp_path, demands) + extra) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("te-solve: error: ") and field in err, err
    assert "Traceback" not in err
