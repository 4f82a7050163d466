"""te.unsplit: the same rates over the fewest paths, checked on fat-tree permutations and on B4."""
import random

import networkx as nx
import numpy as np
import pytest

import te
from te.unsplit import fewest_paths, paths_used
from topologies.b4 import b4_graph
from topologies.fattree import fattree_graph, random_permutation as permutation


def directed(description, headroom=0.1) -> nx.DiGraph:
    g = nx.DiGraph()
    for u, v, data in description.edges(data=True):
        for a, b in ((u, v), (v, u)):
            g.add_edge(a, b, capacity=data["capacity"] * (1 - headroom), weight=1.0)
    return g


def check_valid(before, after):
    """Same demands, same rates, real paths of the candidates, links within capacity."""
    assert np.allclose(after.allocated_bps, before.allocated_bps, rtol=1e-9, atol=1e-6)
    assert np.all(after.path_rate_bps >= 0)
    assert np.all(after.load_bps <= np.maximum(after.capacity_bps, before.load_bps) * (1 + 1e-6))
    assert after.paths == before.paths


@pytest.mark.parametrize("pairs", [[(i, (i + 4) % 16) for i in range(16)]] + [permutation(s) for s in range(5)],
                         ids=["stride4"] + [f"random{s}" for s in range(5)])
@pytest.mark.parametrize("objective", ["max-min", "max-throughput"])
def test_fat_tree_permutations_need_one_path_per_flow(pairs, objective):
    g = directed(fattree_graph(k=4, bw=1))
    demands = [te.Demand(f"f{s}", f"h{s + 1}", f"h{d + 1}", 1e6) for s, d in pairs]
    solution = te.solve(g, demands, objective=objective, k=4)
    best = fewest_paths(solution)
    check_valid(solution, best)
    assert paths_used(best) == len(demands) == best.stats["paths_used"]
    assert best.stats["paths_used_before"] == paths_used(solution) >= len(demands)


def test_b4_demands_that_must_split_stay_split_and_nothing_gets_worse():
    g = directed(b4_graph(bw=10))
    rng = random.Random(1)
    hosts = [f"h{i}" for i in range(1, 13)]
    demands = [te.Demand(f"d{n}", a, b, rng.choice([2e6, 5e6, 9e6])) for n, (a, b) in
               enumerate(rng.sample([(a, b) for a in hosts for b in hosts if a != b], 30))]
    solution = te.solve(g, demands, objective="max-min", k=4)
    best = fewest_paths(solution)
    check_valid(solution, best)
    assert len(demands) <= paths_used(best) <= paths_used(solution)


def test_a_solution_without_splits_is_returned_as_it_is():
    g = directed(b4_graph(bw=10))
    solution = te.solve(g, [te.Demand("d", "h1", "h12", 1e6)], objective="max-min", k=4)
    assert fewest_paths(solution).path_rate_bps.tolist() == solution.path_rate_bps.tolist()


def test_te_solve_reports_paths_used_and_takes_fewest_paths(tmp_path, capsys):
    from te.cli import main
    from topologies.base import write_description

    description = fattree_graph(k=4, bw=1)
    write_description(description, tmp_path / "fattree.json")
    demands = [{"id": f"f{s}", "src": f"h{s + 1}", "dst": f"h{d + 1}", "rate_bps": 0.9e6} for s, d in permutation(0)]
    (tmp_path / "demands.json").write_text(__import__("json").dumps(demands))
    args = ["--topology", str(tmp_path / "fattree.json"), "--demands", str(tmp_path / "demands.json"),
            "--objective", "max-min"]
    assert main(args) == 0
    split = int(capsys.readouterr().out.split("paths used ")[1].split()[0])
    assert main(args + ["--fewest-paths", "2"]) == 0
    out = capsys.readouterr().out
    assert f"paths used 16 (LP split: {split})" in out and split > 16
