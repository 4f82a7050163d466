"""Hedera's two algorithms for flows nobody declared: natural demand estimation and global first fit.

From Al-Fares et al., *Hedera: Dynamic Flow Scheduling for Data Center Networks* (NSDI 2010), section 4:

* :func:`estimate_demands`: what every large flow would send if only the hosts' NICs limited it
  (max-min fair between the flows of a sender, then between those of a receiver, repeated until
  nothing changes). A measured rate says what a flow *gets*, under whatever collisions it suffers;
  this says what it *wants*, and is what placement should reserve.
* :func:`global_first_fit`: each flow in turn takes the first of its candidate paths whose every
  arc still has room for its demand, and reserves it there; a flow that fits nowhere is left
  where it is (on ECMP).

Both are plain functions of plain values (no graph library, no clock), in bit/s; the controller
(:mod:`controller.elephants`) calls them with what it measured.
"""
from __future__ import annotations

_EPS = 1e-9


def estimate_demands(flows, nic_bps) -> list:
    """Natural demand (bit/s) of every flow, limited only by the senders' and receivers' NICs.

    Parameters
    ----------
    flows : sequence of (src, dst)
        One entry per flow (two flows between the same hosts are two entries).
    nic_bps : mapping or float
        Each host's NIC rate (``{host: bit/s}``), or one rate for every host.

    Returns
    -------
    list of float
        Demand per flow, in ``flows`` order.

    Examples
    --------
    Hedera's figure 8 in spirit: host A sends to B and C, D sends to B. A splits its NIC between
    its two flows; B cannot take A's half *and* all of D, so B's two flows get half each and A's
    flow to C takes what A has left:

    >>> estimate_demands([("A", "B"), ("A", "C"), ("D", "B")], 1.0)
    [0.5, 0.5, 0.5]

    Three senders into one receiver share its NIC; a lone flow gets its whole NIC:

    >>> [round(d, 3) for d in estimate_demands([("A", "D"), ("B", "D"), ("C", "D"), ("E", "F")], 1.0)]
    [0.333, 0.333, 0.333, 1.0]
    """
    flows = list(flows)
    cap = (lambda h: float(nic_bps.get(h, 0.0))) if hasattr(nic_bps, "get") else (lambda h: float(nic_bps))
    demand = [0.0] * len(flows)
    converged = [False] * len(flows)
    by_src, by_dst = {}, {}
    for i, (s, d) in enumerate(flows):
        by_src.setdefault(s, []).append(i)
        by_dst.setdefault(d, []).append(i)
    for _ in range(4 * len(flows) + 4):  # converges in at most a few rounds per flow
        before = list(demand), list(converged)
        for src, out in by_src.items():
            fixed = sum(demand[i] for i in out if converged[i])
            free = [i for i in out if not converged[i]]
            if free:
                share = max(0.0, cap(src) - fixed) / len(free)
                for i in free:
                    demand[i] = share
        for dst, into in by_dst.items():
            total = sum(demand[i] for i in into)
            if total <= cap(dst) + _EPS:
                continue
            limited, share, small = set(into), cap(dst) / len(into), 0.0
            while True:  # flows below the fair share keep their demand; the rest share what is left
                below = {i for i in limited if demand[i] < share - _EPS}
                if not below:
                    break
                small += sum(demand[i] for i in below)
                limited -= below
                if not limited:
                    break
                share = (cap(dst) - small) / len(limited)
            for i in limited:
                demand[i] = share
                converged[i] = True
        if (demand, converged) == before:
            break
    return demand


def global_first_fit(demands, candidates, residual: dict) -> list:
    """Place each flow on the first candidate path with room for its demand (Hedera's global first fit).

    Parameters
    ----------
    demands : sequence of float
        Demand per flow (bit/s), in the order flows are placed.
    candidates : sequence of sequence of paths
        Per flow, its candidate paths, each a sequence of arcs (any hashable).
    residual : dict
        Arc -> capacity left (bit/s). Reservations are subtracted from it in place.

    Returns
    -------
    list of int or None
        Per flow, the index of the path it was placed on, or None where no path had room.

    Examples
    --------
    Two flows of 0.6 and two paths of capacity 1: the second cannot join the first.

    >>> res = {"a": 1.0, "b": 1.0}
    >>> global_first_fit([0.6, 0.6, 0.6], [[["a"], ["b"]]] * 3, res)
    [0, 1, None]
    >>> res
    {'a': 0.4, 'b': 0.4}
    """
    placed = []
    for demand, paths in zip(demands, candidates):
        choice = None
        for n, path in enumerate(paths):
            if all(residual.get(arc, 0.0) >= demand * (1 - 1e-6) for arc in path):
                choice = n
                for arc in path:
                    residual[arc] = residual.get(arc, 0.0) - demand
                break
        placed.append(choice)
    return placed


__all__ = ["estimate_demands", "global_first_fit"]
