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
Demands may share in groups (:class:`Group`, ``solve(..., groups=...)``): hierarchical max-min,
see :mod:`te.hierarchy`.
"""
__version__ = "0.1.0"  # the same as setup.cfg's (tests/unit/test_te_cli.py checks)

import importlib

# Exports load on first use (PEP 562): ``te.units`` (te-intent's rate parser) must not pull in scipy.
_EXPORTS = {
    "OBJECTIVES": "te.engine", "build": "te.engine", "candidates_for": "te.engine", "solve": "te.engine",
    "InvalidInput": "te.errors", "NoPath": "te.errors", "SolverError": "te.errors", "TEError": "te.errors",
    "read_demands": "te.io", "read_topology": "te.io", "Demand": "te.model", "Solution": "te.model",
    "Candidates": "te.paths", "candidate_paths": "te.paths", "check_solution": "te.validate",
    "Group": "te.hierarchy", "read_demand_file": "te.io",
}


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'te' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_EXPORTS])


__all__ = ["OBJECTIVES", "Candidates", "Demand", "Group", "InvalidInput", "NoPath", "Solution", "SolverError", "TEError",
           "build", "candidate_paths", "candidates_for", "check_solution", "read_demand_file", "read_demands",
           "read_topology", "solve"]
