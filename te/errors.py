"""Errors raised by the TE engine.

One small hierarchy so that callers (the CLI, the controller's REST API) can map
every failure the engine foresees to a clear message instead of a traceback.

Examples
--------
>>> from te.errors import InvalidInput, TEError
>>> issubclass(InvalidInput, TEError)
True
>>> str(InvalidInput("topo.json: link a-b has capacity -1"))
'topo.json: link a-b has capacity -1'
"""


class TEError(Exception):
    """Base class of every error the TE engine raises on purpose."""


class InvalidInput(TEError, ValueError):
    """A topology, demand list or parameter is malformed; the message names the bad element."""


class NoPath(TEError):
    """A demand's destination cannot be reached from its source."""


class SolverError(TEError):
    """The LP solver did not reach an optimal solution (infeasible, unbounded or numerical failure)."""
