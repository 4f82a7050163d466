"""Readers and te-solve's command line: formats, units, and one-line errors for bad input."""
import json
import re
from pathlib import Path

import networkx as nx
import pytest

from te.cli import main
from te.errors import InvalidInput, TEError
from te.io import read_demands, read_topology
from te.model import Demand

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
REPETITA = DATA / "repetita" / "2016TopologyZooUCL_inverseCapacity"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared data set not found at {DATA}")


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_error_hierarchy():
    assert issubclass(InvalidInput, TEError)


def test_nodelink_undirected_means_both_directions(tmp_path):
    topo = write(tmp_path, "t.json", {"directed": False, "nodes": [{"id": "a", "dpid": 1}, {"id": "b"}],
                                      "links": [{"source": "a", "target": "b", "capacity": 10, "weight": 3}]})
    g = read_topology(topo)
    assert g["a"]["b"] == {"capacity": 10.0, "weight": 3.0} and g["b"]["a"]["capacity"] == 10.0
    assert g.nodes["a"]["dpid"] == 1


def test_nodelink_directed_int_ids_become_strings(tmp_path):
    topo = write(tmp_path, "t.json", {"directed": True, "nodes": [{"id": 0}, {"id": 1}],
                                      "links": [{"source": 0, "target": 1, "capacity": 5}]})
    g = read_topology(topo)
    assert list(g.edges) == [("0", "1")] and g["0"]["1"]["weight"] == 1.0


@pytest.mark.parametrize("links, message", [
    ([{"source": "a", "target": "b", "capacity": 0}], "link a-b: capacity must be a finite number > 0"),
    ([{"source": "a", "target": "b", "capacity": "x"}], "link a-b: capacity: not a rate: 'x'"),
    ([{"source": "a", "target": "b"}], "link a-b has no capacity"),
    ([{"source": "a", "target": "zz", "capacity": 1}], "unknown node 'zz'"),
])
def test_nodelink_bad_links(tmp_path, links, message):
    topo = write(tmp_path, "t.json", {"nodes": [{"id": "a"}, {"id": "b"}], "links": links})
    with pytest.raises(InvalidInput, match=message):
        read_topology(topo)


def test_bad_files(tmp_path):
    with pytest.raises(InvalidInput, match="no such file"):
        read_topology(tmp_path / "missing.graph")
    with pytest.raises(InvalidInput, match="unknown topology format"):
        read_topology(write(tmp_path, "t.xyz", ""))
    with pytest.raises(InvalidInput, match="not valid JSON"):
        read_topology(write(tmp_path, "t.json", "{"))
    with pytest.raises(InvalidInput, match="line 3: expected 3 fields"):
        read_topology(write(tmp_path, "t.graph", "NODES 1\nlabel x y\nonly two\nEDGES 0\nlabel src dest weight bw delay\n"))


def test_repetita_graph_units_and_ids(tmp_path):
    g = read_topology(write(tmp_path, "t.graph", "NODES 2\nlabel x y\nA 0 0\nB 1 1\n\nEDGES 2\n"
                            "label src dest weight bw delay\ne0 0 1 7 1000 5\ne1 1 0 7 1000 5\n"))
    assert g["0"]["1"]["capacity"] == 1e6 and g["0"]["1"]["weight"] == 7.0 and g.nodes["1"]["label"] == "B"
    demands = read_demands(write(tmp_path, "t.demands", "DEMANDS 1\nlabel src dest bw\nd 1 0 2.5\n"), g)
    assert demands == [Demand("d", "1", "0", 2500.0)]


def graph_ab(tmp_path):
    return read_topology(write(tmp_path, "t.json", {"directed": True, "nodes": [{"id": "a"}, {"id": "b"}, {"id": "c"}],
                                                    "links": [{"source": "a", "target": "b", "capacity": 1}]}))


@pytest.mark.parametrize("demands, message", [
    ([{"src": "a", "dst": "b", "rate_bps": float("nan")}], "rate_bps must be a finite number"),
    ([{"src": "a", "dst": "b", "rate_bps": -1}], "rate_bps must be a finite number >= 0"),
    ([{"src": "a", "dst": "b", "rate_bps": "1 MB"}], "demand d0: rate_bps: not a rate: '1 MB'"),
    ([{"src": "a", "dst": "b", "rate_bps": None}], "demand d0: rate_bps: not a rate: None"),
    ([{"src": "a", "dst": "q", "rate_bps": 1}], "unknown node 'q'"),
    ([{"src": "a", "dst": "c", "rate_bps": 1}], "no path from 'a' to 'c'"),
    ([{"src": "a", "dst": "b"}], "missing rate_bps"),
    ([{"src": "a", "dst": "b", "rate_bps": 1, "weight": 0}], "weight must be"),
    ([{"src": "a", "dst": "b", "rate_bps": 1, "priority": 1.5}], "priority must be an integer"),
    ([{"id": "x", "src": "a", "dst": "b", "rate_bps": 1}] * 2, "duplicate demand id 'x'"),
    ([{"src": "a", "dst": "b", "rate_bps": 1, "wieght": 2}], "unknown field 'wieght'"),
])
def test_bad_demands(tmp_path, demands, message):
    graph = graph_ab(tmp_path)
    with pytest.raises(InvalidInput, match=message):
        read_demands(write(tmp_path, "d.json", json.dumps(demands)), graph)


@needs_data
def test_graphml_needs_default_capacity_and_names_the_link():
    with pytest.raises(InvalidInput, match=r"Kdl.graphml: link \S+ .*has no LinkSpeedRaw"):
        read_topology(DATA / "topologyzoo" / "Kdl.graphml")
    g = read_topology(DATA / "topologyzoo" / "Kdl.graphml", default_capacity_bps=1e10)
    # parallel links add up
    assert g.number_of_nodes() == 754 and all(c % 1e10 == 0 for *_, c in g.edges(data="capacity"))
    geant = read_topology(DATA / "topologyzoo" / "Geant2012.graphml", default_capacity_bps=1e9)
    assert max(c for *_, c in geant.edges(data="capacity")) > 1e9  # LinkSpeedRaw used where given
    assert "Latitude" in geant.nodes["0"]


@needs_data
def test_repetita_real_files():
    g = read_topology(REPETITA / "Abilene.graph")
    demands = read_demands(REPETITA / "Abilene.0000.demands", g)
    assert g.number_of_nodes() == 11 and g.number_of_edges() == 28 and len(demands) == 110
    assert demands[0] == Demand("demand_0", "0", "1", 300632e3)


def test_cli_bad_input_is_one_line_exit_2(tmp_path, capsys):
    topo = write(tmp_path, "t.json", {"nodes": [{"id": "a"}, {"id": "b"}],
                                      "links": [{"source": "a", "target": "b", "capacity": 1}]})
    demands = write(tmp_path, "d.json", [{"src": "a", "dst": "x", "rate_bps": 1}])
    assert main(["--topology", str(topo), "--demands", str(demands), "--objective", "max-min"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("te-solve: error: ") and "unknown node 'x'" in err
    with pytest.raises(SystemExit) as exit_:  # argparse's one-line usage error
        main(["--topology", str(topo), "--demands", str(demands), "--objective", "max-min", "--paths", "0"])
    assert exit_.value.code == 2
    assert "paths must be 'auto' or a whole number >= 1, got '0'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["--topology", str(topo)])
    assert exc.value.code == 2


@pytest.mark.parametrize("objective", ["max-throughput", "min-mlu", "max-min", "max-min-fast", "ecmp"])
def test_cli_output_document(tmp_path, capsys, objective):
    topo = write(tmp_path, "t.json", {"nodes": [{"id": n} for n in "abc"],
                                      "links": [{"source": u, "target": v, "capacity": 10} for u, v in ["ab", "bc", "ac"]]})
    demands = write(tmp_path, "d.json", [{"id": "z", "src": "a", "dst": "c", "rate_bps": 15},
                                         {"src": "b", "dst": "a", "rate_bps": 1}])
    out = tmp_path / "out.json"
    assert main(["--topology", str(topo), "--demands", str(demands), "--objective", objective,
                 "--output", str(out)]) == 0
    text = capsys.readouterr().out
    assert objective in text and "max utilisation" in text and "most loaded links" in text
    doc = json.loads(out.read_text())
    assert doc["objective"] == objective and doc["status"] in ("optimal", "heuristic")
    for key in ("max_link_utilization", "total_allocated_bps", "solve_seconds"):
        assert isinstance(doc[key], float)
    assert [d["id"] for d in doc["demands"]] == ["z", "d1"]
    first = doc["demands"][0]
    assert first["requested_bps"] == 15 and first["src"] == "a"
    assert abs(sum(p["rate_bps"] for p in first["paths"]) - first["allocated_bps"]) < 1e-6
    assert all(p["nodes"][0] == "a" and p["nodes"][-1] == "c" for p in first["paths"])
    assert {(l["src"], l["dst"]) for l in doc["links"]} == {("a", "b"), ("b", "a"), ("b", "c"), ("c", "b"), ("a", "c"), ("c", "a")}
    if objective in ("max-throughput", "min-mlu", "max-min"):
        assert doc["total_allocated_bps"] == pytest.approx(16)


# ----------------------------------------------------------------------------- node labels (finding 2)

def test_demands_name_nodes_by_id_or_by_unique_label(tmp_path):
    g = read_topology(write(tmp_path, "t.graph", "NODES 3\nlabel x y\nA 0 0\nB 1 1\nC 2 2\n\nEDGES 2\n"
                            "label src dest weight bw delay\ne0 0 1 1 1 5\ne1 1 2 1 1 5\n"))
    demands = read_demands(write(tmp_path, "d.json", [{"src": "A", "dst": "C", "rate_bps": 1},
                                                      {"src": "0", "dst": "B", "rate_bps": 1}]), g)
    assert [(d.src, d.dst) for d in demands] == [("0", "2"), ("0", "1")]


def test_an_ambiguous_label_is_an_error_naming_it(tmp_path):
    topo = write(tmp_path, "t.json", {"directed": True, "nodes": [{"id": 1, "label": "Athens"}, {"id": 2, "label": "Athens"},
                                                                  {"id": 3, "label": "Sparta"}],
                                      "links": [{"source": 1, "target": 3, "capacity": 1}]})
    g = read_topology(topo)
    with pytest.raises(InvalidInput, match=r"d.json: demand d0: label 'Athens' names 2 nodes \('1', '2'\)"):
        read_demands(write(tmp_path, "d.json", [{"src": "Athens", "dst": "Sparta", "rate_bps": 1}]), g)
    assert read_demands(write(tmp_path, "d.json", [{"src": "1", "dst": "Sparta", "rate_bps": 1}]), g)[0].dst == "3"


def test_display_names_are_labels_made_unique():
    from te.io import display_names

    g = nx.DiGraph()
    g.add_nodes_from([("0", {"label": "Athens"}), ("1", {"label": "Athens"}), ("2", {"label": "Rome"}), ("3", {})])
    assert display_names(g) == {"0": "Athens (0)", "1": "Athens (1)", "2": "Rome", "3": "3"}


@needs_data
def test_topology_zoo_nodes_by_label():
    g = read_topology(DATA / "topologyzoo" / "Abilene.graphml", default_capacity_bps=1e10)
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        demands = read_demands(write(Path(d), "d.json", [{"src": "Seattle", "dst": "New York", "rate_bps": "1G"}]), g)
    assert g.nodes[demands[0].src]["label"] == "Seattle" and g.nodes[demands[0].dst]["label"] == "New York"


# ----------------------------------------------------------------------------- SNDlib native format (finding 13)

SNDLIB = """?SNDlib native format; type: network; version: 1.0
# network tiny

# NODE SECTION
#
# <node_id> [(<longitude>, <latitude>)]

NODES (
  Berlin ( 13.40 52.52 )
  Hamburg ( 10.00 53.55 )
  Munich ( 11.58 48.14 )
)

# LINK SECTION
#
# <link_id> ( <source> <target> ) <pre_installed_capacity> <pre_installed_capacity_cost> <routing_cost> <setup_cost> ( {<module_capacity> <module_cost>}* )

LINKS (
  L1 ( Berlin Hamburg ) 0.00 0.00 0.00 0.00 ( 40.00 1.00 160.00 3.00 )
  L2 ( Berlin Munich ) 100.00 0.00 0.00 0.00 ( )
  L3 ( Hamburg Munich ) 0.00 0.00 0.00 0.00 ( 40.00 1.00 )
)

# DEMAND SECTION
#
# <demand_id> ( <source> <target> ) <routing_unit> <demand_value> <max_path_length>

DEMANDS (
  D1 ( Berlin Munich ) 1 64.00 UNLIMITED
  D2 ( Hamburg Munich ) 1 12.50 UNLIMITED
)

# ADMISSIBLE PATHS SECTION
#
# <demand_id> ( {<path_id> ( <link_id>+ )}+ )

ADMISSIBLE_PATHS (
)
"""


def test_sndlib_network_and_demands(tmp_path):
    path = write(tmp_path, "tiny.txt", SNDLIB)
    g = read_topology(path)
    assert sorted(g.edges(data="capacity")) == [
        ("Berlin", "Hamburg", 160e6), ("Berlin", "Munich", 100e6), ("Hamburg", "Berlin", 160e6),
        ("Hamburg", "Munich", 40e6), ("Munich", "Berlin", 100e6), ("Munich", "Hamburg", 40e6)]
    assert g.nodes["Berlin"]["Longitude"] == 13.4 and g.nodes["Berlin"]["Latitude"] == 52.52
    assert read_demands(path, g) == [Demand("D1", "Berlin", "Munich", 64e6), Demand("D2", "Hamburg", "Munich", 12.5e6)]


def test_sndlib_demand_matrix_with_a_unit(tmp_path):
    g = read_topology(write(tmp_path, "tiny.txt", SNDLIB))
    tm = write(tmp_path, "demandMatrix-tiny-20040901-0000.txt",
               "?SNDlib native format; type: demand matrix; version: 1.0\n"
               "META (\n  granularity = 5min\n  unit = GBITPERSEC\n)\n"
               "DEMANDS (\n  Berlin_Munich ( Berlin Munich ) 1 0.25 UNLIMITED\n)\n")
    assert read_demands(tm, g) == [Demand("Berlin_Munich", "Berlin", "Munich", 0.25e9)]


@pytest.mark.parametrize("old, new, message", [
    ("  L2 ( Berlin Munich ) 100.00", "  L2 ( Berlin Paris ) 100.00", "line 20: L2: unknown node 'Paris'"),
    ("  L2 ( Berlin Munich ) 100.00 0.00 0.00 0.00 ( )", "  L2 ( Berlin Munich ) 0 0 0 0 ( )",
     "line 20: L2 has no capacity"),
    ("  L3 ( Hamburg Munich ) 0.00", "  L3 Hamburg Munich 0.00", "line 21: expected '<link_id> ( <source> <target> )"),
    ("LINKS (\n", "", "line 18: text outside a section"),
    ("  Hamburg ( 10.00 53.55 )\n", "  Hamburg ( 10.00 53.55 )\n  Hamburg\n", "line 11: node 'Hamburg' is listed twice"),
])
def test_sndlib_errors_name_the_line(tmp_path, old, new, message):
    with pytest.raises(InvalidInput, match=re.escape(message)):
        read_topology(write(tmp_path, "tiny.txt", SNDLIB.replace(old, new)))


def test_sndlib_bad_demand_and_unit(tmp_path):
    g = read_topology(write(tmp_path, "tiny.txt", SNDLIB))
    with pytest.raises(InvalidInput, match=r"line 29: not a number: 'lots'"):
        read_demands(write(tmp_path, "d.txt", SNDLIB.replace("1 64.00", "1 lots")), g)
    with pytest.raises(InvalidInput, match=r"unknown unit 'PACKETS'"):
        read_demands(write(tmp_path, "d.txt", "META (\n unit = PACKETS\n)\nDEMANDS (\n)\n"), g)
    with pytest.raises(InvalidInput, match=r"d.txt: no NODES section"):
        read_topology(write(tmp_path, "d.txt", "DEMANDS (\n)\n"))


# ----------------------------------------------------------------------------- YATES (finding 13)

YATES_DOT = """digraph topology {
s1[type=switch,id=1];
s2[type=switch,id=2];
h1[type=host,ip="10.0.0.1"];
h2[type=host,ip="10.0.0.2"];
s1 -> s2 [src_port=2, dst_port=1, cost=0, capacity="1Gbps"];
s2 -> s1 [src_port=1, dst_port=2, cost=0, capacity="1Gbps"];
h1 -> s1 [capacity="10Gbps"]; s1 -> h1 [capacity="10Gbps"];
h2 -> s2 [capacity="10Gbps"]; s2 -> h2 [capacity="10Gbps"];
}
"""


def test_yates_dot_and_matrix(tmp_path):
    topo = write(tmp_path, "tiny.dot", YATES_DOT)
    write(tmp_path, "tiny.hosts", "h2\nh1\n")
    g = read_topology(topo)
    assert g["s1"]["s2"] == {"capacity": 1e9, "weight": 1.0, "src_port": "2", "dst_port": "1", "cost": "0"}
    assert g["h1"]["s1"]["capacity"] == 1e10 and g.nodes["h1"]["ip"] == "10.0.0.1"
    assert g.graph["hosts"] == ["h2", "h1"]  # the .hosts file beside the .dot gives the matrix order
    tm = write(tmp_path, "tiny.txt", "5 100 200 5\n0 3e6 4e6 0\n")
    assert read_demands(tm, g) == [Demand("h2->h1", "h2", "h1", 100.0), Demand("h1->h2", "h1", "h2", 200.0)]
    assert read_demands(tm, g, matrix_index=1) == [Demand("h2->h1", "h2", "h1", 3e6), Demand("h1->h2", "h1", "h2", 4e6)]
    with pytest.raises(InvalidInput, match=r"tiny.txt: no matrix 2: the file has 2 \(0 to 1\)"):
        read_demands(tm, g, matrix_index=2)
    with pytest.raises(InvalidInput, match=r"tiny.txt: line 1: 3 values, expected 4 \(2 hosts squared\)"):
        read_demands(write(tmp_path, "tiny.txt", "1 2 3\n"), g)
    with pytest.raises(InvalidInput, match=r"line 1: not a number: 'x'"):
        read_demands(write(tmp_path, "tiny.txt", "1 2 x 4\n"), g)


def test_matrix_index_only_for_matrices(tmp_path):
    g = graph_ab(tmp_path)
    with pytest.raises(InvalidInput, match="matrix index 3 given, but d.json is not a traffic-matrix file"):
        read_demands(write(tmp_path, "d.json", [{"src": "a", "dst": "b", "rate_bps": 1}]), g, matrix_index=3)


def test_yates_hosts_default_to_file_order_and_undirected_dot(tmp_path):
    g = read_topology(write(tmp_path, "u.dot", 'graph g { edge [capacity="2M"]; // default for every edge\n'
                                                 ' a [type=host]; c; b [type=host];\n a -- c -- b; /* a chain */ }\n'))
    assert g.graph["hosts"] == ["a", "b"] and g["c"]["a"]["capacity"] == 2e6 and g.number_of_edges() == 4


@pytest.mark.parametrize("text, message", [
    ("digraph { a -> b [capacity=\"1GB\"]; }", "link a-b: capacity: not a rate: '1GB'"),
    ("digraph { a -> b; }", "link a-b has no capacity (give --default-capacity RATE)"),
    ("digraph { a -> b [capacity=1G; }", "line 1: expected ']'"),
    ("digraph { subgraph x { a } }", "line 1: subgraphs are not supported"),
    ("strict digraph {\n a -> ", "line 2: unexpected end of file"),
])
def test_yates_dot_errors(tmp_path, text, message):
    with pytest.raises(InvalidInput, match=re.escape(message)):
        read_topology(write(tmp_path, "t.dot", text))


@needs_data
@pytest.mark.parametrize("topology, matrices, hosts, count", [
    ("yates/abilene.dot", "yates/abilene.txt", 12, 36),
    ("yates/AttMpls.dot", "yates/AttMpls_demands.txt", 25, 200),
])
def test_yates_real_files(topology, matrices, hosts, count):
    g = read_topology(DATA / topology)
    assert len(g.graph["hosts"]) == hosts
    last = read_demands(DATA / matrices, g, matrix_index=count - 1)
    assert 0 < len(last) <= hosts * (hosts - 1) and all(d.src.startswith("h") for d in last)
    with pytest.raises(InvalidInput, match=f"no matrix {count}: the file has {count}"):
        read_demands(DATA / matrices, g, matrix_index=count)


@needs_data
def test_yates_b4_topology():
    g = read_topology(DATA / "b4" / "yates_b4.dot")
    switches = [(u, v) for u, v in g.edges if u.startswith("s") and v.startswith("s")]
    assert len(switches) == 38 and g.graph["hosts"] == [f"h{i}" for i in range(1, 13)]


@needs_data
def test_te_solve_on_yates_abilene(tmp_path, capsys):
    out = tmp_path / "out.json"
    assert main(["--topology", str(DATA / "yates" / "abilene.dot"), "--demands", str(DATA / "yates" / "abilene.txt"),
                 "--matrix-index", "5", "--objective", "max-min", "--output", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert len(doc["demands"]) == 132 and doc["options"]["matrix_index"] == 5
    assert main(["--topology", str(DATA / "yates" / "abilene.dot"), "--demands", str(DATA / "yates" / "abilene.txt"),
                 "--matrix-index", "99", "--objective", "max-min"]) == 2
    assert "no matrix 99: the file has 36" in capsys.readouterr().err
