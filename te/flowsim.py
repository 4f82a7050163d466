"""Flow-level evaluation: the rates long-lived TCP-like flows get on fixed paths, and the link loads.

TCP flows sharing a bottleneck converge to roughly equal rates, so, as in the Hedera paper's
flow-level simulator, each flow gets its max-min fair share given the paths it was put on (by
ECMP hashing, by WCMP, or by a TE solution). Comparing those rates and loads across routings
is the offline comparison of ECMP and TE.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from te.errors import InvalidInput

__all__ = ["UnknownArc", "max_min_rates"]

# Arcs whose fair share is within this relative distance of the smallest saturate in the same step.
_RTOL = 1e-9


class UnknownArc(InvalidInput, KeyError):
    """A path uses an arc that has no capacity; the message names the arc."""

    __str__ = InvalidInput.__str__  # KeyError would print the message in quotes


def max_min_rates(paths, capacity, caps=None):
    """Max-min fair rates of flows on fixed paths, by progressive filling.

    Parameters
    ----------
    paths : sequence of tuple
        One node tuple per flow; several flows may share a path. A path of one node
        (source and destination on the same node) uses no arc.
    capacity : dict
        ``{(u, v): bit/s}`` for every arc a path uses (finite or ``inf``, >= 0).
    caps : array_like of float, optional
        Per-flow upper bound, e.g. the flow's demand (>= 0; ``inf`` = unlimited, the default).

    Returns
    -------
    rates : numpy.ndarray
        Rate of each flow, in bit/s. A flow that no capacity or cap limits (a one-node path
        with no cap, or only ``inf`` arcs) gets ``inf``.
    loads : dict
        ``{(u, v): bit/s}`` for every arc of ``capacity``, in its order.

    Raises
    ------
    UnknownArc
        A path uses an arc missing from ``capacity`` (a ``KeyError`` and a
        :class:`te.errors.InvalidInput`).
    te.errors.InvalidInput
        A negative or NaN capacity or cap, or ``caps`` of another length than ``paths``.

    Notes
    -----
    All unfrozen flows grow at the same rate. Each step finds the smallest level at which an
    arc saturates (its spare capacity over the number of unfrozen flows crossing it); flows
    whose cap is at most that level are frozen at their cap first (they cannot make any arc
    saturate earlier), otherwise the flows crossing the saturated arcs are frozen at that
    level. Each step freezes at least one flow, and every arc step freezes an arc for good,
    so there are at most ``arcs + (number of distinct cap batches)`` steps of ``O(arcs)``
    vector work plus ``O(path length)`` per frozen flow. A flow crossing an arc twice counts
    twice on it.

    Examples
    --------
    The classic example: flow 0 crosses both links, flows 1 and 2 one each. Link ``a-b``
    (1 bit/s) is the bottleneck of flows 0 and 1; flow 2 takes what flow 0 leaves on ``b-c``.

    >>> rates, loads = max_min_rates([("a", "b", "c"), ("a", "b"), ("b", "c")],
    ...                              {("a", "b"): 1.0, ("b", "c"): 2.0})
    >>> rates.tolist(), loads
    ([0.5, 0.5, 1.5], {('a', 'b'): 1.0, ('b', 'c'): 2.0})

    A cap (the flow's demand) frees capacity for the others:

    >>> max_min_rates([("a", "b"), ("a", "b")], {("a", "b"): 1.0}, caps=[0.25, 5.0])[0].tolist()
    [0.25, 0.75]
    """
    arcs = list(capacity)
    cap_arc = np.array([capacity[a] for a in arcs], dtype=float)
    if np.any(~(cap_arc >= 0)):
        bad = arcs[int(np.flatnonzero(~(cap_arc >= 0))[0])]
        raise InvalidInput(f"arc {bad} has capacity {capacity[bad]!r}; capacities must be >= 0")
    n_flows = len(paths)
    cap_flow = np.full(n_flows, np.inf) if caps is None else np.asarray(caps, dtype=float)
    if cap_flow.shape != (n_flows,):
        raise InvalidInput(f"{cap_flow.size} caps for {n_flows} flows")
    if np.any(~(cap_flow >= 0)):
        bad = int(np.flatnonzero(~(cap_flow >= 0))[0])
        raise InvalidInput(f"flow {bad} has cap {cap_flow[bad]!r}; caps must be >= 0")

    by_flow = _incidence(paths, {a: j for j, a in enumerate(arcs)})
    by_arc = by_flow.T.tocsr()
    rates = np.zeros(n_flows)
    frozen = np.zeros(n_flows, dtype=bool)
    crossing = np.asarray(by_arc.sum(axis=1)).ravel()  # unfrozen flows per arc, with multiplicity
    spare = cap_arc.copy()

    def freeze(flows, values):
        rates[flows] = values
        frozen[flows] = True
        arc_ids, owner, mult = _gather(by_flow, flows)
        np.subtract.at(crossing, arc_ids, mult)
        with np.errstate(invalid="ignore"):  # inf - inf once everything left is unlimited
            np.subtract.at(spare, arc_ids, mult * rates[owner])

    local = np.flatnonzero(np.diff(by_flow.indptr) == 0)
    freeze(local, cap_flow[local])
    cap_order = np.argsort(cap_flow, kind="stable")
    sorted_caps = cap_flow[cap_order]
    next_cap = 0  # flows cap_order[:next_cap] are frozen
    level = 0.0
    while not frozen.all():
        active = crossing > 0
        share = np.full(len(arcs), np.inf)
        share[active] = np.maximum(spare[active], 0.0) / crossing[active]
        # Levels only rise; clamping absorbs rounding in ``spare``.
        level = max(level, float(share.min()))
        stop = int(np.searchsorted(sorted_caps, level, side="right"))
        capped = cap_order[next_cap:stop]
        capped = capped[~frozen[capped]]
        next_cap = stop
        if len(capped):
            freeze(capped, cap_flow[capped])
            continue
        saturated = np.flatnonzero(active & (share <= level * (1 + _RTOL)))
        flows, _, _ = _gather(by_arc, saturated)
        flows = np.unique(flows[~frozen[flows]])
        freeze(flows, level)
    return rates, dict(zip(arcs, (by_arc @ rates).tolist()))


def _incidence(paths, arc_index):
    """``flows x arcs`` CSR matrix counting how often each flow crosses each arc."""
    ids, counts = [], []
    for f, path in enumerate(paths):
        for arc in zip(path[:-1], path[1:]):
            try:
                ids.append(arc_index[arc])
            except KeyError:
                raise UnknownArc(f"flow {f}: arc {arc} has no capacity") from None
        counts.append(max(len(path) - 1, 0))
    indptr = np.zeros(len(paths) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    matrix = sp.csr_matrix((np.ones(len(ids)), np.asarray(ids, dtype=np.int64), indptr),
                           shape=(len(paths), len(arc_index)))
    matrix.sum_duplicates()
    return matrix


def _gather(matrix, rows):
    """Column indices, their row, and values of the nonzeros of ``rows`` of a CSR matrix."""
    starts = matrix.indptr[rows]
    lengths = matrix.indptr[rows + 1] - starts
    offsets = np.cumsum(lengths) - lengths
    positions = np.repeat(starts - offsets, lengths) + np.arange(int(lengths.sum()))
    return matrix.indices[positions], np.repeat(rows, lengths), matrix.data[positions]
