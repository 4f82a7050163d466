"""Readers for topologies and demand lists, one per file extension.

Topologies become a :class:`networkx.DiGraph` whose node ids are ``str`` and whose
arcs all carry ``capacity`` (bit/s, > 0) and ``weight`` (IGP weight, else 1.0):

- ``.json``: networkx node-link data (``links`` or ``edges``), ``capacity`` in bit/s;
  an undirected file means both directions with that capacity.
- ``.graphml``: Internet Topology Zoo, ``LinkSpeedRaw`` in bit/s (undirected).
- ``.graph``: Repetita, bw in kbit/s, node id = 0-based line index.

Parallel links between the same pair are merged into one arc whose capacity is their sum
(the first link's other attributes are kept); self-loops carry no traffic and are dropped.

Demands come from a JSON list of ``{"id"?, "src", "dst", "rate_bps", "weight"?, "priority"?}``
(or ``{"demands": [...]}``) or a Repetita ``.demands`` file (kbit/s).

Every problem raises :class:`te.errors.InvalidInput` with one line naming the file and the
bad element.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import networkx as nx

from te.errors import InvalidInput
from te.model import Demand, capacity_error

__all__ = ["read_topology", "read_demands", "check_reachable"]

_KBPS = 1000.0


def read_topology(path, default_capacity_bps=None) -> nx.DiGraph:
    """Read a topology file into a directed graph, choosing the reader by extension.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.json``, ``.graphml`` or ``.graph`` file.
    default_capacity_bps : float, optional
        Capacity of links whose file gives none (GraphML without ``LinkSpeedRaw``, JSON
        without ``capacity``). Without it such links are an error.

    Returns
    -------
    networkx.DiGraph
        Node ids are ``str``; every arc has float ``capacity`` (> 0) and ``weight``.

    Raises
    ------
    te.errors.InvalidInput
        Missing file, unknown extension, malformed content, a node listed twice, a link
        without (or with a non-positive) capacity, a capacity above
        :data:`te.model.MAX_BPS`.

    Examples
    --------
    >>> import json, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> f = os.path.join(d, "t.json")
    >>> _ = open(f, "w").write(json.dumps({"directed": False, "nodes": [{"id": 1}, {"id": 2}],
    ...     "links": [{"source": 1, "target": 2, "capacity": 1e9}]}))
    >>> g = read_topology(f)
    >>> sorted(g.edges(data="capacity"))
    [('1', '2', 1000000000.0), ('2', '1', 1000000000.0)]
    >>> read_topology(os.path.join(d, "nope.json"))
    Traceback (most recent call last):
    ...
    te.errors.InvalidInput: ...nope.json: no such file
    """
    path = Path(path)
    default = _default_capacity(default_capacity_bps)
    readers = {".json": _read_nodelink, ".graphml": _read_graphml, ".graph": _read_repetita_graph}
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise InvalidInput(f"{path}: unknown topology format {path.suffix!r} (expected .json, .graphml or .graph)")
    graph = reader(path, default)
    if graph.number_of_nodes() == 0:
        raise InvalidInput(f"{path}: the topology has no nodes")
    return graph


def read_demands(path, graph: nx.DiGraph) -> list[Demand]:
    """Read a demand list and check it against ``graph``.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.json`` list of demands (rates in bit/s) or a Repetita ``.demands`` file (kbit/s).
    graph : networkx.DiGraph
        The topology, as returned by :func:`read_topology`.

    Returns
    -------
    list of Demand
        In file order. Ids default to ``"d<index>"`` in JSON and to the label in Repetita files.

    Raises
    ------
    te.errors.InvalidInput
        Malformed file, duplicate id, unknown node, bad rate/weight/priority, or a demand
        whose destination is unreachable.

    Examples
    --------
    >>> import json, tempfile, os
    >>> g = nx.DiGraph([("a", "b", {"capacity": 1e9, "weight": 1.0})])
    >>> f = os.path.join(tempfile.mkdtemp(), "d.json")
    >>> _ = open(f, "w").write(json.dumps([{"src": "a", "dst": "b", "rate_bps": 5e8, "priority": 1}]))
    >>> read_demands(f, g)
    [Demand(id='d0', src='a', dst='b', rate_bps=500000000.0, weight=1.0, priority=1)]
    >>> _ = open(f, "w").write(json.dumps([{"src": "b", "dst": "a", "rate_bps": 1}]))
    >>> read_demands(f, g)
    Traceback (most recent call last):
    ...
    te.errors.InvalidInput: ...d.json: demand d0: no path from 'b' to 'a'
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        demands = _read_json_demands(path)
    elif suffix == ".demands":
        demands = _read_repetita_demands(path)
    else:
        raise InvalidInput(f"{path}: unknown demand format {suffix!r} (expected .json or .demands)")
    seen = set()
    for d in demands:
        if d.id in seen:
            raise InvalidInput(f"{path}: duplicate demand id {d.id!r}")
        seen.add(d.id)
        for end in (d.src, d.dst):
            if end not in graph:
                raise InvalidInput(f"{path}: demand {d.id}: unknown node {end!r}")
    try:
        check_reachable(graph, demands)
    except InvalidInput as exc:
        raise InvalidInput(f"{path}: {exc}") from None
    return demands


def check_reachable(graph: nx.DiGraph, demands) -> None:
    """Raise :class:`InvalidInput` naming the first demand whose destination is unreachable.

    Examples
    --------
    >>> g = nx.DiGraph([("a", "b")])
    >>> check_reachable(g, [Demand("x", "b", "a", 1.0)])
    Traceback (most recent call last):
    ...
    te.errors.InvalidInput: demand x: no path from 'b' to 'a'
    """
    component = {}
    for i, nodes in enumerate(nx.strongly_connected_components(graph)):
        for n in nodes:
            component[n] = i
    reach = {}
    for d in demands:
        if component.get(d.src) == component.get(d.dst) and d.src in component:
            continue
        if d.src not in reach:
            reach[d.src] = nx.descendants(graph, d.src) if d.src in graph else set()
        if d.dst not in reach[d.src]:
            raise InvalidInput(f"demand {d.id}: no path from {d.src!r} to {d.dst!r}")


# --------------------------------------------------------------------------- topologies

def _default_capacity(value):
    if value is None:
        return None
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise InvalidInput(f"default capacity must be a finite number > 0, got {value!r}")
    problem = capacity_error("default capacity", value)
    if problem:
        raise InvalidInput(problem)
    return value


def _positive(path, what, value, name):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{path}: {what}: {name} is not a number: {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise InvalidInput(f"{path}: {what}: {name} must be a finite number > 0, got {value!r}")
    return number


def _capacity(path, what, value):
    """``value`` (bit/s) if it can be a capacity, else an error naming the file, the link and the bound."""
    problem = capacity_error(what, value)
    if problem:
        raise InvalidInput(f"{path}: {problem}")
    return value


def _link_capacity(path, what, attrs, key, default):
    """The link's ``key`` attribute as a capacity, else the default, else an error naming the link."""
    if key in attrs:
        return _capacity(path, what, _positive(path, what, attrs[key], key))
    if default is not None:
        return default
    raise InvalidInput(f"{path}: {what} has no {key} (give --default-capacity BPS)")


def _add_arc(graph, u, v, capacity, weight, attrs):
    if u == v:
        return
    if graph.has_edge(u, v):
        graph[u][v]["capacity"] += capacity
        return
    graph.add_edge(u, v, **{**attrs, "capacity": capacity, "weight": weight})


def _load_json(path):
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise InvalidInput(f"{path}: no such file") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path}: cannot read: {exc}") from None


def _read_nodelink(path, default):
    data = _load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
        raise InvalidInput(f"{path}: expected networkx node-link JSON with a 'nodes' list")
    links = data.get("links", data.get("edges"))
    if not isinstance(links, list):
        raise InvalidInput(f"{path}: expected a 'links' (or 'edges') list")
    directed = bool(data.get("directed", False))
    graph = nx.DiGraph(**(data.get("graph") or {}))
    first = {}  # node id -> its position in the list
    for i, node in enumerate(data["nodes"]):
        if not isinstance(node, dict) or "id" not in node:
            raise InvalidInput(f"{path}: node #{i} has no 'id'")
        name = str(node["id"])
        if name in first:  # networkx would merge the two silently
            raise InvalidInput(f"{path}: node {name!r} is listed twice (nodes #{first[name]} and #{i})")
        first[name] = i
        graph.add_node(name, **{k: v for k, v in node.items() if k != "id"})
    for i, link in enumerate(links):
        if not isinstance(link, dict) or "source" not in link or "target" not in link:
            raise InvalidInput(f"{path}: link #{i} needs 'source' and 'target'")
        u, v = str(link["source"]), str(link["target"])
        what = f"link {u}-{v}"
        for end in (u, v):
            if end not in graph:
                raise InvalidInput(f"{path}: {what}: unknown node {end!r}")
        capacity = _link_capacity(path, what, link, "capacity", default)
        weight = _positive(path, what, link.get("weight", 1.0), "weight")
        attrs = {k: val for k, val in link.items() if k not in ("source", "target", "capacity", "weight", "key")}
        _add_arc(graph, u, v, capacity, weight, attrs)
        if not directed:
            _add_arc(graph, v, u, capacity, weight, attrs)
    return graph


def _read_graphml(path, default):
    try:
        source = nx.read_graphml(path, force_multigraph=True)
    except FileNotFoundError:
        raise InvalidInput(f"{path}: no such file") from None
    except Exception as exc:  # networkx raises bare XML/Key/Value errors on malformed files
        raise InvalidInput(f"{path}: not valid GraphML: {exc}") from None
    graph = nx.DiGraph(**source.graph)
    for node, attrs in source.nodes(data=True):
        graph.add_node(str(node), **attrs)
    for u, v, attrs in sorted(source.edges(data=True), key=lambda e: (str(e[0]), str(e[1]))):
        u, v = str(u), str(v)
        label = f"link {u}-{v}"
        names = [source.nodes[n].get("label") for n in (u, v)]
        if all(names):
            label += f" ({names[0]}-{names[1]})"
        capacity = _link_capacity(path, label, attrs, "LinkSpeedRaw", default)
        weight = _positive(path, label, attrs.get("weight", 1.0), "weight")
        extra = {k: val for k, val in attrs.items() if k not in ("LinkSpeedRaw", "weight", "id", "key")}
        _add_arc(graph, u, v, capacity, weight, extra)
        if not source.is_directed():
            _add_arc(graph, v, u, capacity, weight, extra)
    return graph


def _lines(path):
    try:
        with open(path, encoding="utf-8") as fh:
            return [(n, line.split()) for n, line in enumerate(fh, 1) if line.strip()]
    except FileNotFoundError:
        raise InvalidInput(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path}: cannot read: {exc}") from None


def _section(path, lines, start, keyword, width):
    """Rows of the Repetita section starting at ``lines[start]`` (``KEYWORD n``, header, n rows)."""
    if start >= len(lines) or lines[start][1][0] != keyword or len(lines[start][1]) != 2:
        where = f"line {lines[start][0]}" if start < len(lines) else "end of file"
        raise InvalidInput(f"{path}: {where}: expected '{keyword} <count>'")
    try:
        count = int(lines[start][1][1])
    except ValueError:
        raise InvalidInput(f"{path}: line {lines[start][0]}: bad count {lines[start][1][1]!r}") from None
    rows = lines[start + 2:start + 2 + count]
    if len(rows) != count:
        raise InvalidInput(f"{path}: {keyword} announces {count} rows but the file has {len(rows)}")
    for number, fields in rows:
        if len(fields) != width:
            raise InvalidInput(f"{path}: line {number}: expected {width} fields, got {len(fields)}")
    return rows, start + 2 + count


def _number(path, number, text, kind=float):
    try:
        return kind(text)
    except ValueError:
        raise InvalidInput(f"{path}: line {number}: not a number: {text!r}") from None


def _read_repetita_graph(path, default):
    lines = _lines(path)
    nodes, nxt = _section(path, lines, 0, "NODES", 3)
    edges, _ = _section(path, lines, nxt, "EDGES", 6)
    graph = nx.DiGraph()
    for index, (number, (label, x, y)) in enumerate(nodes):
        graph.add_node(str(index), label=label, x=_number(path, number, x), y=_number(path, number, y))
    for number, (label, src, dst, weight, bw, delay) in edges:
        for end in (src, dst):
            if end not in graph:
                raise InvalidInput(f"{path}: line {number}: {label}: unknown node {end!r}")
        what = f"line {number}: {label} {src}->{dst}"
        capacity = _capacity(path, what, _positive(path, what, bw, "bw") * _KBPS)
        _add_arc(graph, src, dst, capacity, _positive(path, what, weight, "weight"),
                 {"label": label, "delay_us": _number(path, number, delay)})
    return graph


# --------------------------------------------------------------------------- demands

DEMAND_FIELDS = frozenset({"id", "src", "dst", "rate_bps", "weight", "priority"})


def _read_json_demands(path):
    data = _load_json(path)
    if isinstance(data, dict) and "demands" in data:
        data = data["demands"]
    if not isinstance(data, list):
        raise InvalidInput(f"{path}: expected a JSON list of demands")
    demands = []
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            raise InvalidInput(f"{path}: demand #{i} is not an object")
        ident = str(item.get("id", f"d{i}"))
        unknown = sorted(set(item) - DEMAND_FIELDS)
        if unknown:  # a misspelt optional field would otherwise silently take its default
            raise InvalidInput(f"{path}: demand {ident}: unknown field {unknown[0]!r} "
                               f"(known: {', '.join(sorted(DEMAND_FIELDS))})")
        missing = [k for k in ("src", "dst", "rate_bps") if k not in item]
        if missing:
            raise InvalidInput(f"{path}: demand {ident}: missing {', '.join(missing)}")
        priority = item.get("priority", 0)
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise InvalidInput(f"{path}: demand {ident}: priority must be an integer, got {priority!r}")
        rate, weight = item["rate_bps"], item.get("weight", 1.0)
        for name, value in (("rate_bps", rate), ("weight", weight)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InvalidInput(f"{path}: demand {ident}: {name} is not a number: {value!r}")
        try:
            demands.append(Demand(ident, str(item["src"]), str(item["dst"]), rate, weight, priority))
        except InvalidInput as exc:
            raise InvalidInput(f"{path}: {exc}") from None
    return demands


def _read_repetita_demands(path):
    lines = _lines(path)
    rows, _ = _section(path, lines, 0, "DEMANDS", 4)
    demands = []
    for number, (label, src, dst, bw) in rows:
        try:
            demands.append(Demand(label, src, dst, _number(path, number, bw) * _KBPS))
        except InvalidInput as exc:
            raise InvalidInput(f"{path}: line {number}: {exc}") from None
    return demands
