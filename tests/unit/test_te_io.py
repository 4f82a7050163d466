"""Readers and te-solve's command line: formats, units, and one-line errors for bad input."""
import json
from pathlib import Path

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
    ([{"source": "a", "target": "b", "capacity": "x"}], "capacity is not a number"),
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
        read_topology(write(tmp_path, "t.txt", ""))
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
    ([{"src": "a", "dst": "b", "rate_bps": "1"}], "rate_bps is not a number"),
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
    assert main(["--topology", str(topo), "--demands", str(demands), "--objective", "max-min", "--paths", "0"]) == 2
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
