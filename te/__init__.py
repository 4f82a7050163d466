"""Traffic-engineering engine: pure algorithms over networkx graphs (no Ryu, no Mininet, no clocks).

Typical use::

    import te
    graph = te.read_topology("b4.json")
    demands = te.read_demands("tm.json", graph)
    solution = te.solve(graph, demands, objective="max-min", k=4)
    for i, demand in enumerate(solution.demands):
        print(demand.id, solution.routes(i))

Objectives: ``max-throughput``, ``min-mlu``, ``max-min`` (exact, LP sequence), ``max-min-fast``
(water-filling) and ``ecmp`` (hashing onto equal-cost paths). All return a :class:`Solution`.
"""
from te.engine import OBJECTIVES, build, candidates_for, solve
from te.errors import InvalidInput, NoPath, SolverError, TEError
from te.io import read_demands, read_topology
from te.model import Demand, Solution
from te.paths import Candidates, candidate_paths
from te.validate import check_solution

__all__ = ["OBJECTIVES", "Candidates", "Demand", "InvalidInput", "NoPath", "Solution", "SolverError", "TEError",
           "build", "candidate_paths", "candidates_for", "check_solution", "read_demands", "read_topology", "solve"]
