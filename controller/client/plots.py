"""PNG plots of the controller's state from the JSON of its REST API (matplotlib, no display needed).

- :func:`plot_utilization_map`: the topology with every directed link drawn as one of a pair of
  parallel lines, coloured by utilisation, with a colour bar;
- :func:`plot_intent_rates`: requested, allocated and measured rate per intent, as bars;
- :func:`write_plots`: both, into a directory (what the demo calls).

Inputs are the bodies of GET /te/v1/topology, /te/v1/links and /te/v1/allocations (measured
rates in each allocation's ``measured_bps``), so the plots can be drawn from a live controller
or from saved JSON alike.
"""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display on a server or in CI

import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
from matplotlib.colors import Normalize  # noqa: E402

CMAP = "RdYlGn_r"  # green idle, yellow busy, red full
UNKNOWN_COLOUR = "#9e9e9e"  # a link with no measurement yet
COLOURS = {"requested": "#d0d0d0", "allocated": "#1f77b4", "measured": "#ff7f0e"}


def node_positions(topology: dict) -> dict:
    """``{dpid: (x, y)}``: longitude/latitude when every switch has them, else a fixed layout.

    Examples
    --------
    >>> node_positions({"switches": [{"dpid": "1", "Longitude": 2.3, "Latitude": 48.9},
    ...                              {"dpid": "2", "longitude": -0.1, "latitude": 51.5}], "links": []})
    {'1': (2.3, 48.9), '2': (-0.1, 51.5)}
    >>> sorted(node_positions({"switches": [{"dpid": "1"}, {"dpid": "2"}],
    ...                        "links": [{"src": "1", "dst": "2"}]}))
    ['1', '2']
    """
    switches = topology.get("switches", [])
    geo = {}
    for s in switches:
        lon = s.get("longitude", s.get("Longitude"))
        lat = s.get("latitude", s.get("Latitude"))
        if isinstance(lon, (int, float)) and isinstance(lat, (int, float)):
            geo[s["dpid"]] = (float(lon), float(lat))
    if switches and len(geo) == len(switches):
        return geo
    graph = nx.Graph()
    graph.add_nodes_from(sorted(s["dpid"] for s in switches))
    graph.add_edges_from(sorted((link["src"], link["dst"]) for link in topology.get("links", [])
                                if link["src"] in graph and link["dst"] in graph))
    if graph.number_of_nodes() < 2:
        return {n: (0.0, 0.0) for n in graph}
    # Kamada-Kawai starts from a circle and has no random seed: the same topology, the same picture.
    return {n: (float(x), float(y)) for n, (x, y) in nx.kamada_kawai_layout(graph).items()}


def link_utilization(link: dict, load: str = "measured") -> float | None:
    """Utilisation of a link from its measured (or ``load="planned"``) load; None when unknown.

    >>> link_utilization({"capacity_bps": 1e7, "measured_load_bps": 5e6, "planned_load_bps": 8e6})
    0.5
    >>> link_utilization({"capacity_bps": 1e7, "measured_load_bps": None}), \\
    ...     link_utilization({"capacity_bps": 1e7, "planned_load_bps": 8e6}, "planned")
    (None, 0.8)
    """
    value = link.get(f"{load}_load_bps")
    capacity = link.get("capacity_bps")
    if value is None or not capacity:
        return None
    return float(value) / float(capacity)


def plot_utilization_map(topology: dict, links: dict, path, load: str = "measured", title: str | None = None) -> Path:
    """Draw the topology with links coloured by utilisation into the PNG ``path``.

    Parameters
    ----------
    topology, links : dict
        Bodies of GET /te/v1/topology and GET /te/v1/links.
    path : str or Path
        The PNG to write.
    load : {"measured", "planned"}
        Colour by the measured load or by the load the TE plan intends.
    title : str, optional

    Returns
    -------
    Path
        ``path``.
    """
    pos = node_positions(topology)
    names = {s["dpid"]: s.get("name") or s["dpid"].lstrip("0") or "0" for s in topology.get("switches", [])}
    norm = Normalize(0.0, 1.0)
    cmap = plt.get_cmap(CMAP)
    fig, ax = plt.subplots(figsize=(9, 6.5), dpi=100)
    span = _span(pos)
    for link in links.get("links", []):
        if link["src"] not in pos or link["dst"] not in pos:
            continue
        util = link_utilization(link, load)
        (x1, y1), (x2, y2) = _offset(pos[link["src"]], pos[link["dst"]], 0.012 * span)
        colour = UNKNOWN_COLOUR if util is None else cmap(norm(min(util, 1.0)))
        ax.plot([x1, x2], [y1, y2], color=colour, linewidth=4, solid_capstyle="butt",
                linestyle="--" if util is None else "-", zorder=1)
    for dpid, (x, y) in sorted(pos.items()):
        ax.scatter([x], [y], s=520, color="white", edgecolors="#333333", linewidths=1.5, zorder=2)
        ax.annotate(names.get(dpid, dpid), (x, y), ha="center", va="center", fontsize=9, zorder=3)
    bar = fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, fraction=0.04, pad=0.02)
    bar.set_label(f"{load} load / capacity (grey dashed: not measured)" if load == "measured"
                  else f"{load} load / capacity")
    ax.set_title(title or f"Link utilisation ({load})")
    ax.set_aspect("equal", adjustable="datalim")
    ax.axis("off")
    return _save(fig, path)


def plot_intent_rates(allocations: dict, path, title: str | None = None) -> Path:
    """Bars per intent: requested (grey), allocated (blue) and measured (orange), into the PNG ``path``.

    ``allocations`` is the body of GET /te/v1/allocations; an allocation without
    ``measured_bps`` (or with null) gets no measured bar.
    """
    rows = allocations.get("allocations", [])
    labels = [a.get("name") or f"#{a.get('intent_id')}" for a in rows]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(rows) + 2), 4.5), dpi=100)
    width = 0.27
    for n, key in enumerate(("requested", "allocated", "measured")):
        xs, heights = [], []
        for i, a in enumerate(rows):
            value = a.get(f"{key}_bps")
            if value is not None:
                xs.append(i + (n - 1) * width)
                heights.append(float(value) / 1e6)
        ax.bar(xs, heights, width, label=key, color=COLOURS[key], edgecolor="#333333", linewidth=0.5)
    ax.set_xticks(range(len(rows)), labels, rotation=30 if len(rows) > 8 else 0, ha="right" if len(rows) > 8 else "center")
    ax.set_ylabel("Mbit/s")
    ax.set_title(title or "Intents: requested, allocated and measured rate")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def write_plots(topology: dict, links: dict, allocations: dict, out_dir) -> list:
    """Write ``utilization_map.png`` (measured, or planned when nothing is measured) and
    ``intent_rates.png`` into ``out_dir``; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    measured = any(link.get("measured_load_bps") is not None for link in links.get("links", []))
    return [plot_utilization_map(topology, links, out / "utilization_map.png", "measured" if measured else "planned"),
            plot_intent_rates(allocations, out / "intent_rates.png")]


def _span(pos: dict) -> float:
    xs = [p[0] for p in pos.values()] or [0.0]
    ys = [p[1] for p in pos.values()] or [0.0]
    return max(max(xs) - min(xs), max(ys) - min(ys), 1e-9)


def _offset(a, b, distance):
    """The segment a-b moved ``distance`` to its right, so that b-a lands on the other side.

    >>> _offset((0.0, 0.0), (1.0, 0.0), 0.1)
    ((0.0, -0.1), (1.0, -0.1))
    """
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = math.hypot(dx, dy) or 1.0
    ox, oy = dy / length * distance, -dx / length * distance
    return (a[0] + ox, a[1] + oy), (b[0] + ox, b[1] + oy)


def _save(fig, path) -> Path:
    path = Path(path)
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)
    return path
