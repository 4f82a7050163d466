"""A picture of a solution: the topology coloured by link utilisation, and the CDF of served fractions.

matplotlib (the ``plots`` extra) is imported only to draw, through its Agg canvas: no pyplot, no
global backend, no display needed.

Nodes are placed by their coordinates when the file has them (``Longitude``/``Latitude`` in
Topology Zoo and SNDlib, ``x``/``y`` in Repetita, where ``0 0`` means unknown); a node without
them sits at the mean of its placed neighbours. A topology without any coordinates gets a seeded spring layout.
"""
from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np

from te.errors import InvalidInput

__all__ = ["check_plot_path", "node_positions", "plot_solution"]


def _matplotlib():
    try:
        import matplotlib
    except ImportError:
        raise InvalidInput("plots need matplotlib: pip install 'sdn-te[plots]'") from None
    return matplotlib


def check_plot_path(path) -> None:
    """Raise :class:`InvalidInput` unless matplotlib can write an image of ``path``'s format.

    Examples
    --------
    >>> check_plot_path("out.png")
    >>> check_plot_path("out.xyz")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    te.errors.InvalidInput: unknown image format '.xyz' (expected one of ...png...)
    """
    _matplotlib()
    from matplotlib.backend_bases import FigureCanvasBase

    formats = FigureCanvasBase.get_supported_filetypes()
    suffix = Path(path).suffix.lower()
    if suffix[1:] not in formats:
        what = f"unknown image format {suffix!r}" if suffix else "no extension to tell the image format"
        raise InvalidInput(f"{what} (expected one of {', '.join('.' + f for f in sorted(formats))})")


def _coordinates(attrs):
    for x, y in (("Longitude", "Latitude"), ("x", "y")):
        try:
            xy = float(attrs[x]), float(attrs[y])
        except (KeyError, TypeError, ValueError):
            continue
        if x == "x" and xy == (0.0, 0.0):  # Repetita writes 0 0 for a node whose place is unknown
            return None
        return xy
    return None


def node_positions(graph: nx.DiGraph) -> dict:
    """``{node: (x, y)}``: geographic coordinates where the file gives them, else a layout.

    Examples
    --------
    >>> g = nx.DiGraph([("a", "b"), ("b", "c")])
    >>> g.nodes["a"].update(Longitude=10.0, Latitude=50.0); g.nodes["c"].update(x=20.0, y=40.0)
    >>> g.nodes["b"].update(x=0.0, y=0.0)  # Repetita's "unknown": placed between its neighbours
    >>> node_positions(g)
    {'a': (10.0, 50.0), 'b': (15.0, 45.0), 'c': (20.0, 40.0)}
    """
    pos = {}
    for node, attrs in graph.nodes(data=True):
        xy = _coordinates(attrs)
        if xy is not None:
            pos[node] = xy
    if not pos:
        layout = nx.spring_layout(nx.Graph(graph.to_undirected()), seed=0)
        return {n: (float(x), float(y)) for n, (x, y) in layout.items()}
    undirected = graph.to_undirected(as_view=True)
    missing = [n for n in graph if n not in pos]
    while missing:  # neighbours' mean, outwards from the placed nodes
        placed = {}
        for n in missing:
            near = [pos[m] for m in undirected[n] if m in pos]
            if near:
                placed[n] = tuple(float(c) for c in np.mean(near, axis=0))
        if not placed:
            centre = tuple(float(c) for c in np.mean(list(pos.values()), axis=0))
            placed = {n: centre for n in missing}
        pos.update(placed)
        missing = [n for n in missing if n not in placed]
    return {n: pos[n] for n in graph}


def plot_solution(graph: nx.DiGraph, solution, path, names=None) -> None:
    """Write a figure of ``solution`` to ``path`` (format from the extension, see :func:`check_plot_path`).

    Left: the topology, each link coloured by the higher utilisation of its two directions.
    Right: the CDF of the served fraction (allocated / requested) of every demand that requests
    something.
    """
    check_plot_path(path)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    names = names or {}
    fig = Figure(figsize=(13, 5.5), layout="constrained")
    FigureCanvasAgg(fig)
    net, cdf = fig.subplots(1, 2, width_ratios=[1.7, 1])

    pos = node_positions(graph)
    worst = {}
    for (u, v), util in zip(solution.arcs, solution.utilization.tolist()):
        key = (u, v) if u <= v else (v, u)
        worst[key] = max(worst.get(key, 0.0), util)
    order = sorted(worst, key=worst.get)  # the busiest drawn last, on top
    util = np.array([worst[k] for k in order])
    top = max(1.0, float(util.max(initial=0.0)))
    lines = LineCollection([(pos[u], pos[v]) for u, v in order], array=util, cmap="RdYlGn_r",
                           norm=Normalize(0.0, top), linewidths=1.0 + 2.5 * np.minimum(util, 1.0), zorder=2)
    net.add_collection(lines)
    xy = np.array([pos[n] for n in graph])
    net.scatter(xy[:, 0], xy[:, 1], s=12, c="black", zorder=3)
    if graph.number_of_nodes() <= 40:
        for n in graph:
            net.annotate(names.get(n, n), pos[n], fontsize=7, xytext=(3, 3), textcoords="offset points")
    net.autoscale_view()
    net.set_xticks([])
    net.set_yticks([])
    net.set_title(f"{solution.objective}: max link utilisation {solution.max_link_utilization:.3f}")
    fig.colorbar(lines, ax=net, label="link utilisation (busier direction)", shrink=0.8)

    requested = solution.requested_bps
    asked = requested > 0
    served = np.sort(np.minimum(solution.allocated_bps[asked] / requested[asked], 1.0))
    if len(served):
        cdf.step(np.r_[0.0, served], np.r_[0.0, np.arange(1, len(served) + 1) / len(served)], where="post")
        full = int(np.sum(served >= 1 - 1e-9))
        cdf.set_title(f"served fraction of {len(served)} demands\n({full} fully served)")
    else:
        cdf.set_title("no demand requests anything")
    cdf.set_xlim(0, 1.02)
    cdf.set_ylim(0, 1.02)
    cdf.grid(alpha=0.3)
    cdf.set_xlabel("served fraction (allocated / requested)")
    cdf.set_ylabel("fraction of demands (CDF)")
    fig.savefig(path, dpi=110)
