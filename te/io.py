"""Readers for topologies and demand lists, chosen by file extension (and content for ``.txt``).

Topologies become a :class:`networkx.DiGraph` whose node ids are ``str`` and whose
arcs all carry ``capacity`` (bit/s, > 0) and ``weight`` (IGP weight, else 1.0):

- ``.json``: networkx node-link data (``links`` or ``edges``), ``capacity`` a rate
  (bit/s, or with a unit: ``"10G"``); an undirected file means both directions.
- ``.graphml``: Internet Topology Zoo, ``LinkSpeedRaw`` in bit/s (undirected).
- ``.graph``: Repetita, bw in kbit/s, node id = 0-based line index.
- ``.dot``: YATES (``digraph``; ``capacity="1Gbps"``; ``cost`` > 0 is the weight, 0 counts as 1).
  The host order of its traffic matrices comes from the ``.hosts`` file of the same name
  beside it, else from the ``type=host`` nodes in file order (``graph.graph["hosts"]``).
- ``.txt``: SNDlib native format (``NODES``, ``LINKS`` sections). A link is undirected; its
  capacity is the pre-installed capacity, or when there is none its largest module. Values are
  in the ``unit`` of the ``META`` section, else Mbit/s (SNDlib's usual unit).

Parallel links between the same pair are merged into one arc whose capacity is their sum
(the first link's other attributes are kept); self-loops carry no traffic and are dropped.

Demands come from:

- ``.json``: a list of ``{"id"?, "src", "dst", "rate_bps", "weight"?, "priority"?, "group"?}`` (or
  ``{"demands": [...], "groups"?: [...]}``); ``rate_bps`` in bit/s or with a unit (``"4G"``,
  :mod:`te.units`). ``groups`` lists the shares demands name in ``group``
  (:class:`te.hierarchy.Group`): ``{"name", "weight"?, "rate_cap_bps"?, "guaranteed_bps"?}``, the
  rates with units too; :func:`read_demand_file` returns them.
- ``.demands``: Repetita (kbit/s).
- ``.txt``: an SNDlib file with a ``DEMANDS`` section (a network file or a demand matrix;
  ``demand_value`` in the ``META`` unit, else Mbit/s), otherwise a YATES traffic-matrix file:
  one matrix per line, n*n values in bit/s, row-major in the host order of the topology (see
  ``.dot`` above; else the topology file's node order). ``matrix_index`` picks the line (0 by
  default); zeros and the diagonal are no demands; ids are ``src->dst``.

A demand names a node by its id or, when no node has that id, by its ``label`` (Repetita,
Topology Zoo): a label that several nodes carry is an error naming them.

Every problem raises :class:`te.errors.InvalidInput` with one line naming the file and the
bad element.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import networkx as nx

from te.errors import InvalidInput
from te.model import Demand, capacity_error
from te.units import parse_rate

__all__ = ["read_topology", "read_demands", "read_demand_file", "check_reachable", "display_names"]

_KBPS = 1000.0


def read_topology(path, default_capacity_bps=None) -> nx.DiGraph:
    """Read a topology file into a directed graph, choosing the reader by extension.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.json``, ``.graphml``, ``.graph`` (Repetita), ``.dot`` (YATES) or ``.txt``
        (SNDlib) file.
    default_capacity_bps : float or str, optional
        Capacity of links whose file gives none (GraphML without ``LinkSpeedRaw``, JSON or
        DOT without ``capacity``, SNDlib without capacity or module), in bit/s or with a
        unit (``"10G"``). Without it such links are an error.

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
    readers = {".json": _read_nodelink, ".graphml": _read_graphml, ".graph": _read_repetita_graph,
               ".dot": _read_yates_dot, ".txt": _read_sndlib_network}
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise InvalidInput(f"{path}: unknown topology format {path.suffix!r} "
                           "(expected .json, .graphml, .graph, .dot or .txt)")
    graph = reader(path, default)
    if graph.number_of_nodes() == 0:
        raise InvalidInput(f"{path}: the topology has no nodes")
    return graph


def read_demands(path, graph: nx.DiGraph, matrix_index: int | None = None) -> list[Demand]:
    """Read a demand list and check it against ``graph`` (its groups too: :func:`read_demand_file` returns them).

    Parameters
    ----------
    path : str or os.PathLike
        A ``.json`` list of demands, a Repetita ``.demands`` file or a ``.txt`` file (SNDlib
        demands, or YATES traffic matrices); see the module notes for units.
    graph : networkx.DiGraph
        The topology, as returned by :func:`read_topology`.
    matrix_index : int, optional
        Which matrix (line, from 0) of a traffic-matrix file; 0 when not given. Giving it
        for any other format is an error.

    Returns
    -------
    list of Demand
        In file order, ``src`` and ``dst`` as node ids (a label is replaced by its node's id).
        Ids default to ``"d<index>"`` in JSON and to the label in Repetita files.

    Raises
    ------
    te.errors.InvalidInput
        Malformed file, duplicate id, unknown node, ambiguous label, bad rate/weight/priority,
        a matrix index out of range, a demand whose destination is unreachable, or a bad group
        (see :func:`read_demand_file`).

    Examples
    --------
    >>> import json, tempfile, os
    >>> g = nx.DiGraph([("a", "b", {"capacity": 1e9, "weight": 1.0})])
    >>> g.nodes["b"]["label"] = "Bern"
    >>> f = os.path.join(tempfile.mkdtemp(), "d.json")
    >>> _ = open(f, "w").write(json.dumps([{"src": "a", "dst": "Bern", "rate_bps": "500M", "priority": 1}]))
    >>> read_demands(f, g)
    [Demand(id='d0', src='a', dst='b', rate_bps=500000000.0, weight=1.0, priority=1)]
    >>> _ = open(f, "w").write(json.dumps([{"src": "b", "dst": "a", "rate_bps": 1}]))
    >>> read_demands(f, g)
    Traceback (most recent call last):
    ...
    te.errors.InvalidInput: ...d.json: demand d0: no path from 'b' to 'a'
    """
    return read_demand_file(path, graph, matrix_index)[0]


def read_demand_file(path, graph: nx.DiGraph, matrix_index: int | None = None):
    """Read demands and the groups they share in (JSON ``{"demands": [...], "groups": [...]}``).

    As :func:`read_demands`, plus the groups: ``{name: te.hierarchy.Group}`` in file order, empty
    for a file without any (every format but JSON).

    Returns
    -------
    (list of Demand, dict of str to te.hierarchy.Group)

    Raises
    ------
    te.errors.InvalidInput
        As :func:`read_demands`; and a group without a name, listed twice, with an unknown field,
        a weight that is not a number > 0, a rate that is not one, a ``guaranteed_bps`` above its
        ``rate_cap_bps``, or a demand naming a group the file does not define.

    Examples
    --------
    >>> import json, tempfile, os
    >>> g = nx.DiGraph([("a", "b", {"capacity": 1e9, "weight": 1.0})])
    >>> f = os.path.join(tempfile.mkdtemp(), "d.json")
    >>> _ = open(f, "w").write(json.dumps({"groups": [{"name": "web", "weight": 2, "rate_cap_bps": "5M"}],
    ...                                    "demands": [{"src": "a", "dst": "b", "rate_bps": "8M", "group": "web"}]}))
    >>> demands, groups = read_demand_file(f, g)
    >>> demands[0].group, groups
    ('web', {'web': Group(name='web', weight=2.0, rate_cap_bps=5000000.0, guaranteed_bps=None)})
    >>> _ = open(f, "w").write(json.dumps({"groups": [{"name": "web", "ceil": "5M"}], "demands": []}))
    >>> read_demand_file(f, g)
    Traceback (most recent call last):
    ...
    te.errors.InvalidInput: ...d.json: group web: unknown field 'ceil' (known: guaranteed_bps, name, ...)
    """
    path = Path(path)
    suffix = path.suffix.lower()
    groups = {}
    resolve = _resolver(path, graph)
    if suffix == ".txt" and not _is_sndlib(path):
        demands = _read_yates_matrix(path, graph, 0 if matrix_index is None else matrix_index)
    elif matrix_index is not None:
        raise InvalidInput(f"matrix index {matrix_index} given, but {path.name} is not a traffic-matrix file")
    elif suffix == ".json":
        demands, groups = _read_json_demands(path, resolve)
    elif suffix == ".demands":
        demands = _read_repetita_demands(path, resolve)
    elif suffix == ".txt":
        demands = _read_sndlib_demands(path, resolve)
    else:
        raise InvalidInput(f"{path}: unknown demand format {suffix!r} (expected .json, .demands or .txt)")
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
    return demands, groups


def display_names(graph: nx.DiGraph) -> dict:
    """A name for people of every node: its ``label``, with the id added where labels repeat.

    Examples
    --------
    >>> g = nx.DiGraph()
    >>> g.add_nodes_from([("0", {"label": "Athens"}), ("1", {"label": "Athens"}), ("2", {"label": "Rome"}), "3"])
    >>> display_names(g)
    {'0': 'Athens (0)', '1': 'Athens (1)', '2': 'Rome', '3': '3'}
    """
    by_label = _nodes_by_label(graph)
    names = {}
    for node, label in graph.nodes(data="label"):
        if label is None or str(label) == node:
            names[node] = node
        elif len(by_label[str(label)]) > 1:
            names[node] = f"{label} ({node})"
        else:
            names[node] = str(label)
    return names


def _nodes_by_label(graph):
    by_label = {}
    for node, label in graph.nodes(data="label"):
        if label is not None:
            by_label.setdefault(str(label), []).append(node)
    return by_label


def _resolver(path, graph):
    """``resolve(name, demand_id)``: the node id a demand file means by ``name`` (an id, else a unique label)."""
    by_label = None

    def resolve(name, ident):
        nonlocal by_label
        name = str(name)
        if name in graph:
            return name
        if by_label is None:
            by_label = _nodes_by_label(graph)
        nodes = by_label.get(name, ())
        if len(nodes) > 1:
            raise InvalidInput(f"{path}: demand {ident}: label {name!r} names {len(nodes)} nodes "
                               f"({', '.join(repr(n) for n in nodes)}): give the node id")
        return nodes[0] if nodes else name  # an unknown name is reported with the others

    return resolve


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
    try:
        value = parse_rate(value)
    except ValueError as exc:
        raise InvalidInput(f"default capacity: {exc}") from None
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


def _rate(path, what, value, name):
    """``value`` as a rate in bit/s (a number, or text with a unit), else an error naming the field."""
    try:
        return parse_rate(value)
    except ValueError as exc:
        raise InvalidInput(f"{path}: {what}: {name}: {exc}") from None


def _link_capacity(path, what, attrs, key, default):
    """The link's ``key`` attribute as a capacity, else the default, else an error naming the link."""
    if key in attrs:
        return _capacity(path, what, _positive(path, what, _rate(path, what, attrs[key], key), key))
    if default is not None:
        return default
    raise InvalidInput(f"{path}: {what} has no {key} (give --default-capacity RATE)")


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


def _read_text(path):
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except FileNotFoundError:
        raise InvalidInput(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path}: cannot read: {exc}") from None


def _lines(path):
    return [(n, line.split()) for n, line in enumerate(_read_text(path).splitlines(), 1) if line.strip()]


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


# --------------------------------------------------------------------------- YATES .dot

# The DOT subset YATES writes: node and edge statements with attribute lists, default
# attributes (node [...], edge [...]), graph attributes; no subgraphs, ports are ignored.
_DOT_TOKEN = re.compile(r"""
    (?P<space>\s+) | (?P<comment>//[^\n]*|/\*.*?\*/|^\#[^\n]*) |
    (?P<string>"(?:[^"\\]|\\.)*") | (?P<edge>->|--) | (?P<punct>[{}\[\];,=:]) | (?P<id>-?[\w.]+)
""", re.X | re.S | re.M)
_DOT_KEYWORDS = ("strict", "graph", "digraph", "node", "edge", "subgraph")


def _dot_tokens(path, text):
    """``(kind, value, line)`` of every token; kind is ``id`` (quoted or not), ``keyword``, ``edge`` or ``punct``."""
    tokens, pos, line = [], 0, 1
    while pos < len(text):
        m = _DOT_TOKEN.match(text, pos)
        if m is None:
            raise InvalidInput(f"{path}: line {line}: unexpected character {text[pos]!r}")
        kind, value = m.lastgroup, m.group()
        if kind == "string":
            tokens.append(("id", value[1:-1].replace('\\"', '"'), line))
        elif kind == "id" and value.lower() in _DOT_KEYWORDS:
            tokens.append(("keyword", value.lower(), line))
        elif kind not in ("space", "comment"):
            tokens.append((kind, value, line))
        line += value.count("\n")
        pos = m.end()
    return tokens, line


class _Dot:
    """Recursive-descent reader of one DOT graph into nodes (in file order) and edges."""

    def __init__(self, path, text):
        self.path = path
        self.tokens, self.last_line = _dot_tokens(path, text)
        self.pos = 0
        self.nodes, self.edges, self.graph = {}, [], {}
        self.defaults = {"node": {}, "edge": {}, "graph": self.graph}

    def error(self, line, message):
        return InvalidInput(f"{self.path}: line {line}: {message}")

    def peek(self):
        if self.pos >= len(self.tokens):
            raise self.error(self.last_line, "unexpected end of file")
        return self.tokens[self.pos]

    def take(self, what, kinds=("id",), values=None):
        kind, value, line = self.peek()
        if kind not in kinds or (values is not None and value not in values):
            raise self.error(line, f"expected {what}, got {value!r}")
        self.pos += 1
        return value

    def at(self, value):
        return self.pos < len(self.tokens) and self.tokens[self.pos][1] == value and self.tokens[self.pos][0] != "id"

    def read(self):
        if self.at("strict"):
            self.pos += 1
        self.directed = self.take("'graph' or 'digraph'", ("keyword",), ("graph", "digraph")) == "digraph"
        if self.peek()[0] == "id":
            self.graph["name"] = self.take("a graph name")
        self.take("'{'", ("punct",), ("{",))
        while not self.at("}"):
            self.statement()
        self.pos += 1
        if self.pos < len(self.tokens):
            raise self.error(self.tokens[self.pos][2], f"unexpected {self.tokens[self.pos][1]!r} after the graph")
        return self

    def statement(self):
        kind, value, line = self.peek()
        if value == ";" and kind == "punct":
            self.pos += 1
            return
        if (kind, value) in (("keyword", "subgraph"), ("punct", "{")):
            raise self.error(line, "subgraphs are not supported")
        if kind == "keyword" and value in self.defaults:
            self.pos += 1
            self.defaults[value].update(self.attributes())
            return
        first = self.node_id()
        if self.at("="):
            self.pos += 1
            self.graph[first] = self.take("a value")
            return
        chain = [first]
        while self.peek()[0] == "edge":
            arrow = self.take("an edge", ("edge",))
            if arrow != ("->" if self.directed else "--"):
                raise self.error(line, f"{arrow!r} in a{' di' if self.directed else ' '}graph")
            chain.append(self.node_id())
        attrs = self.attributes()
        for node in chain:
            self.nodes.setdefault(node, dict(self.defaults["node"]))
        if len(chain) == 1:
            self.nodes[first].update(attrs)
        for u, v in zip(chain, chain[1:]):
            self.edges.append((u, v, {**self.defaults["edge"], **attrs}, line))

    def node_id(self):
        name = self.take("a node name")
        while self.at(":"):  # a port: where on the node a line is drawn, nothing to route on
            self.pos += 1
            self.take("a port")
        return name

    def attributes(self):
        attrs = {}
        while self.at("["):
            self.pos += 1
            while not self.at("]"):
                key = self.take("']' or an attribute name")
                attrs[key] = "true"
                if self.at("="):
                    self.pos += 1
                    attrs[key] = self.take(f"a value for {key}")
                if self.at(",") or self.at(";"):
                    self.pos += 1
            self.pos += 1
        return attrs


def _read_yates_dot(path, default):
    dot = _Dot(path, _read_text(path)).read()
    graph = nx.DiGraph(**dot.graph)
    for name, attrs in dot.nodes.items():
        graph.add_node(name, **attrs)
    for u, v, attrs, line in dot.edges:
        what = f"line {line}: link {u}-{v}"
        capacity = _link_capacity(path, what, attrs, "capacity", default)
        cost = _number(path, line, attrs.get("cost", "0"))
        weight = _positive(path, what, cost, "cost") if cost != 0 else 1.0  # YATES writes cost=0 for "unset"
        extra = {k: val for k, val in attrs.items() if k != "capacity"}
        _add_arc(graph, u, v, capacity, weight, extra)
        if not dot.directed:
            _add_arc(graph, v, u, capacity, weight, extra)
    hosts = _yates_hosts(path.with_suffix(".hosts"), graph)
    if hosts is None:
        hosts = [n for n, kind in graph.nodes(data="type") if kind == "host"]
    if hosts:
        graph.graph["hosts"] = hosts
    return graph


def _yates_hosts(path, graph):
    """The host order of a ``.hosts`` file (one name a line), or None when there is no such file."""
    if not path.is_file():
        return None
    hosts = []
    for number, fields in _lines(path):
        if len(fields) != 1 or fields[0] not in graph:
            raise InvalidInput(f"{path}: line {number}: expected one node of the topology, got {' '.join(fields)!r}")
        hosts.append(fields[0])
    return hosts


def _read_yates_matrix(path, graph, index):
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise InvalidInput(f"{path}: the matrix index must be an integer >= 0, got {index!r}")
    count, chosen = 0, None
    for number, line in enumerate(_read_text(path).splitlines(), 1):
        if line.strip():
            if count == index:
                chosen = (number, line.split())
            count += 1
    if chosen is None:
        raise InvalidInput(f"{path}: no matrix {index}: the file has {count}" + (f" (0 to {count - 1})" if count else ""))
    hosts = graph.graph.get("hosts")
    order, kind = (list(hosts), "hosts") if hosts else (list(graph.nodes), "nodes")
    number, fields = chosen
    n = len(order)
    if len(fields) != n * n:
        raise InvalidInput(f"{path}: line {number}: {len(fields)} values, expected {n * n} ({n} {kind} squared)")
    values = [_number(path, number, v) for v in fields]
    demands = []
    for k, rate in enumerate(values):
        src, dst = order[k // n], order[k % n]
        if src != dst and rate != 0:
            try:
                demands.append(Demand(f"{src}->{dst}", src, dst, rate))
            except InvalidInput as exc:
                raise InvalidInput(f"{path}: line {number}: {exc}") from None
    return demands


# --------------------------------------------------------------------------- SNDlib native format

_SNDLIB_SECTION = re.compile(r"^([A-Za-z_]+)\s*\($")
_SNDLIB_NODE = re.compile(r"^([^\s()]+)(?:\s*\(\s*(\S+)\s+(\S+)\s*\))?$")
_SNDLIB_LINK = re.compile(r"^([^\s()]+)\s*\(\s*([^\s()]+)\s+([^\s()]+)\s*\)\s*([^()]*?)\s*(?:\(([^()]*)\))?$")
_SNDLIB_DEMAND = re.compile(r"^([^\s()]+)\s*\(\s*([^\s()]+)\s+([^\s()]+)\s*\)\s*(\S+)\s+(\S+)(?:\s+(\S+))?$")
_SNDLIB_LINK_FORMAT = ("<link_id> ( <source> <target> ) <pre_installed_capacity> <pre_installed_capacity_cost> "
                       "<routing_cost> <setup_cost> ( <module_capacity> <module_cost> ... )")
_SNDLIB_UNITS = {"BITPERSEC": 1.0, "KBITPERSEC": 1e3, "MBITPERSEC": 1e6, "GBITPERSEC": 1e9, "TBITPERSEC": 1e12}


def _is_sndlib(path):
    """Whether the first meaningful line of a ``.txt`` file is SNDlib's (``?SNDlib ...`` or ``SECTION (``)."""
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if line and not line.startswith("#"):
                    return line.startswith("?") or bool(_SNDLIB_SECTION.match(line))
    except (OSError, UnicodeDecodeError):
        return False  # the reader reports it
    return False


def _sndlib_sections(path):
    """``{name: [(line number, text), ...]}`` of every ``NAME ( ... )`` section, comments dropped."""
    sections, current, opened = {}, None, 0
    for number, raw in enumerate(_read_text(path).splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("?"):
            continue
        if current is not None:
            if line == ")":
                current = None
            else:
                current.append((number, line))
            continue
        m = _SNDLIB_SECTION.match(line)
        if m is None:
            raise InvalidInput(f"{path}: line {number}: text outside a section: {line!r}")
        if m.group(1) in sections:
            raise InvalidInput(f"{path}: line {number}: a second {m.group(1)} section")
        current, opened = sections.setdefault(m.group(1), []), number
    if current is not None:
        raise InvalidInput(f"{path}: line {opened}: the section is not closed with ')'")
    return sections


def _sndlib_unit(path, sections):
    """Bit/s per unit of the file's values: the ``unit`` of its META section, else Mbit/s."""
    for number, line in sections.get("META", ()):
        key, _, value = line.partition("=")
        if key.strip().lower() == "unit":
            unit = value.strip()
            if unit.upper() not in _SNDLIB_UNITS:
                raise InvalidInput(f"{path}: line {number}: unknown unit {unit!r} "
                                   f"(expected one of {', '.join(_SNDLIB_UNITS)})")
            return _SNDLIB_UNITS[unit.upper()]
    return 1e6


def _read_sndlib_network(path, default):
    sections = _sndlib_sections(path)
    for name in ("NODES", "LINKS"):
        if name not in sections:
            raise InvalidInput(f"{path}: no {name} section (an SNDlib network file has NODES and LINKS)")
    unit = _sndlib_unit(path, sections)
    graph = nx.DiGraph()
    for number, line in sections["NODES"]:
        m = _SNDLIB_NODE.match(line)
        if m is None:
            raise InvalidInput(f"{path}: line {number}: expected '<node_id> ( <longitude> <latitude> )'")
        name, lon, lat = m.groups()
        if name in graph:
            raise InvalidInput(f"{path}: line {number}: node {name!r} is listed twice")
        graph.add_node(name, **({} if lon is None else {"Longitude": _number(path, number, lon),
                                                       "Latitude": _number(path, number, lat)}))
    for number, line in sections["LINKS"]:
        m = _SNDLIB_LINK.match(line)
        if m is None:
            raise InvalidInput(f"{path}: line {number}: expected '{_SNDLIB_LINK_FORMAT}'")
        label, u, v, costs, modules = m.groups()
        for end in (u, v):
            if end not in graph:
                raise InvalidInput(f"{path}: line {number}: {label}: unknown node {end!r}")
        numbers = [_number(path, number, x) for x in costs.split()]
        module_sizes = [_number(path, number, x) for x in (modules or "").split()][0::2]
        # Routing over the network as built: what is installed, else the largest module one could install.
        size = numbers[0] if numbers and numbers[0] > 0 else max(module_sizes, default=0.0)
        what = f"line {number}: {label}"
        if size > 0:
            capacity = _capacity(path, what, size * unit)
        elif default is not None:
            capacity = default
        else:
            raise InvalidInput(f"{path}: {what} has no capacity (no pre-installed capacity and no module; "
                               "give --default-capacity RATE)")
        _add_arc(graph, u, v, capacity, 1.0, {"label": label})
        _add_arc(graph, v, u, capacity, 1.0, {"label": label})
    return graph


def _read_sndlib_demands(path, resolve):
    sections = _sndlib_sections(path)
    if "DEMANDS" not in sections:
        raise InvalidInput(f"{path}: no DEMANDS section")
    unit = _sndlib_unit(path, sections)
    demands = []
    for number, line in sections["DEMANDS"]:
        m = _SNDLIB_DEMAND.match(line)
        if m is None:
            raise InvalidInput(f"{path}: line {number}: expected "
                               "'<demand_id> ( <source> <target> ) <routing_unit> <demand_value> <max_path_length>'")
        label, src, dst, _, value, _ = m.groups()
        rate = _number(path, number, value) * unit
        try:
            demands.append(Demand(label, resolve(src, label), resolve(dst, label), rate))
        except InvalidInput as exc:
            raise InvalidInput(f"{path}: line {number}: {exc}") from None
    return demands


# --------------------------------------------------------------------------- demands

DEMAND_FIELDS = frozenset({"id", "src", "dst", "rate_bps", "weight", "priority", "group"})
GROUP_FIELDS = frozenset({"name", "weight", "rate_cap_bps", "guaranteed_bps"})


def _read_json_groups(path, data):
    """``{name: Group}`` from the ``groups`` list of a JSON demand file."""
    from te.hierarchy import Group

    if not isinstance(data, list):
        raise InvalidInput(f"{path}: 'groups' must be a list of groups, got {type(data).__name__}")
    groups = {}
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            raise InvalidInput(f"{path}: group #{i} is not an object")
        name = item.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidInput(f"{path}: group #{i}: 'name' must be a non-empty string, got {name!r}")
        unknown = sorted(set(item) - GROUP_FIELDS)
        if unknown:
            raise InvalidInput(f"{path}: group {name}: unknown field {unknown[0]!r} "
                               f"(known: {', '.join(sorted(GROUP_FIELDS))})")
        if name in groups:
            raise InvalidInput(f"{path}: group {name} is defined twice")
        rates = {key: _rate(path, f"group {name}", item[key], key) if item[key] is not None else None
                 for key in ("rate_cap_bps", "guaranteed_bps") if key in item}
        try:
            groups[name] = Group(name, item.get("weight", 1.0), **rates)
        except InvalidInput as exc:
            raise InvalidInput(f"{path}: {exc}") from None
    return groups


def _read_json_demands(path, resolve):
    """``(demands, groups)`` of a JSON demand file."""
    data = _load_json(path)
    groups = {}
    if isinstance(data, dict) and ("demands" in data or "groups" in data):
        if "groups" in data:
            groups = _read_json_groups(path, data["groups"])
        data = data.get("demands")
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
        rate, weight = _rate(path, f"demand {ident}", item["rate_bps"], "rate_bps"), item.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            raise InvalidInput(f"{path}: demand {ident}: weight is not a number: {weight!r}")
        group = item.get("group")
        if group is not None and (not isinstance(group, str) or not group):
            raise InvalidInput(f"{path}: demand {ident}: group must be a group's name, got {group!r}")
        if group is not None and group not in groups:
            known = f"groups: {', '.join(groups)}" if groups else "the file defines no groups"
            raise InvalidInput(f"{path}: demand {ident}: unknown group {group!r} ({known})")
        src, dst = resolve(item["src"], ident), resolve(item["dst"], ident)
        try:
            demands.append(Demand(ident, src, dst, rate, weight, priority, group))
        except InvalidInput as exc:
            raise InvalidInput(f"{path}: {exc}") from None
    return demands, groups


def _read_repetita_demands(path, resolve):
    lines = _lines(path)
    rows, _ = _section(path, lines, 0, "DEMANDS", 4)
    demands = []
    for number, (label, src, dst, bw) in rows:
        try:
            demands.append(Demand(label, resolve(src, label), resolve(dst, label), _number(path, number, bw) * _KBPS))
        except InvalidInput as exc:
            raise InvalidInput(f"{path}: line {number}: {exc}") from None
    return demands
