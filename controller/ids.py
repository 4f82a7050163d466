"""Stable small integers for the things a switch names by number: MPLS labels, group and meter ids.

:class:`IdAllocator` hands out ids for hashable keys and keeps them while the keys are in
use; :class:`IdSpace` holds the five allocators of the controller with the ranges of
:mod:`controller.pipeline`, and gives a restarted controller the ids the switches still use
(:meth:`IdSpace.adopt`, hints from :func:`controller.restore.id_hints`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .pipeline import ECMP_GROUPS, ECMP_LABELS, TE_GROUPS, TE_LABELS, TE_METERS


class IdAllocator:
    """Stable small integers for hashable keys.

    A key keeps its id for as long as it is in use; fresh keys get ids that
    were not handed out recently (ids are not reused until the range wraps),
    so a label or group id of a removed entry never aliases a new one while
    the old entry may still be on a switch.

    >>> ids = IdAllocator(1, 3)
    >>> ids.get("a"), ids.get("b"), ids.get("a")
    (1, 2, 1)
    >>> ids.retain(["b"]); ids.get("c"), ids.lookup("a")
    (3, None)
    """

    def __init__(self, first: int, last: int):
        self.first, self.last = first, last
        self._ids: dict = {}
        self._used: set = set()  # the values of _ids, kept so that a fresh id costs O(1) on average
        self._next = first

    def __contains__(self, key) -> bool:
        return key in self._ids

    def get(self, key) -> int:
        if key not in self._ids:
            value = self._fresh()
            self._ids[key] = value
            self._used.add(value)
        return self._ids[key]

    def adopt(self, key, value: int) -> bool:
        """Give ``key`` the id ``value`` (found on a switch after a restart) if both are free; True if it did.

        Fresh ids continue after the highest adopted one, as they would have before the restart.

        >>> ids = IdAllocator(1, 10)
        >>> ids.adopt("a", 4), ids.adopt("b", 4), ids.get("c")
        (True, False, 5)
        """
        if key in self._ids or value in self._used or not self.first <= value <= self.last:
            return False
        self._ids[key] = value
        self._used.add(value)
        if value >= self._next:
            self._next = value + 1 if value < self.last else self.first
        return True

    def lookup(self, key) -> int | None:
        """The id of ``key``, None if it has none (without handing one out)."""
        return self._ids.get(key)

    def retain(self, keys) -> None:
        """Forget every key not in ``keys``."""
        keep = set(keys)
        self._ids = {k: v for k, v in self._ids.items() if k in keep}
        self._used = set(self._ids.values())

    def checkpoint(self) -> tuple:
        """What :meth:`rollback` needs to undo every ``get``/``retain`` after this call."""
        return dict(self._ids), self._next

    def rollback(self, checkpoint: tuple) -> None:
        """Back to a :meth:`checkpoint`: ids handed out since are free again, ids released since are back.

        >>> ids = IdAllocator(1, 9)
        >>> ids.get("a"); mark = ids.checkpoint(); ids.get("b"); ids.retain(["b"])
        1
        2
        >>> ids.rollback(mark); ids.lookup("a"), ids.lookup("b"), ids.get("c")
        (1, None, 2)
        """
        ids, self._next = checkpoint
        self._ids = dict(ids)
        self._used = set(self._ids.values())

    def _fresh(self) -> int:
        used = self._used
        span = self.last - self.first + 1
        if len(used) >= span:
            raise RuntimeError(f"all ids {self.first}..{self.last} are in use")
        while self._next in used:
            self._next = self._next + 1 if self._next < self.last else self.first
        value = self._next
        self._next = value + 1 if value < self.last else self.first
        return value


@dataclass
class IdHints:
    """Ids found on the switches, keyed as the allocators of :class:`IdSpace` key them."""

    ecmp_labels: dict = field(default_factory=dict)  # (hops, egress) -> label
    te_labels: dict = field(default_factory=dict)  # (hops, egress) -> label
    ecmp_groups: dict = field(default_factory=dict)  # egress dpid -> group id
    te_groups: dict = field(default_factory=dict)  # intent id -> group id
    te_meters: dict = field(default_factory=dict)  # intent id -> meter id
    # (ingress, egress) -> path key of every bucket of its ECMP group, in bucket order (for the
    # TunnelPlanner's slots, not an id: IdSpace.adopt leaves it alone)
    ecmp_slots: dict = field(default_factory=dict)
    te_slots: dict = field(default_factory=dict)  # intent id -> path key of every bucket of its TE group


class IdSpace:
    """The controller's allocators, one per kind of id, over the ranges of :mod:`controller.pipeline`.

    >>> ids = IdSpace()
    >>> ids.adopt(IdHints(te_meters={"7": 12}, ecmp_groups={3: 5}))
    2
    >>> ids.te_meters.lookup("7"), ids.ecmp_groups.get(4)
    (12, 6)
    """

    KINDS = ("ecmp_labels", "te_labels", "ecmp_groups", "te_groups", "te_meters")

    def __init__(self):
        self.ecmp_labels = IdAllocator(*ECMP_LABELS)  # (hops, egress) of an ECMP tunnel
        self.te_labels = IdAllocator(*TE_LABELS)  # (hops, egress) of a TE tunnel
        self.ecmp_groups = IdAllocator(*ECMP_GROUPS)  # egress dpid
        self.te_groups = IdAllocator(*TE_GROUPS)  # intent id
        self.te_meters = IdAllocator(*TE_METERS)  # intent id
        self.te_slots: dict = {}  # intent id -> path key of every bucket of its group (controller.compile_te)

    def checkpoint(self) -> dict:
        return {kind: getattr(self, kind).checkpoint() for kind in self.KINDS} | {"te_slots": dict(self.te_slots)}

    def rollback(self, checkpoint: dict) -> None:
        """Undo every id handed out or released since :meth:`checkpoint` (a plan that was discarded)."""
        for kind, mark in checkpoint.items():
            if kind == "te_slots":
                self.te_slots = dict(mark)
            else:
                getattr(self, kind).rollback(mark)

    def adopt(self, hints: IdHints) -> int:
        """Give the hinted ids to the allocators (:meth:`IdAllocator.adopt`); how many took."""
        taken = 0
        for kind in self.KINDS:
            allocator = getattr(self, kind)
            for key, value in sorted(getattr(hints, kind).items(), key=lambda kv: kv[1]):
                taken += allocator.adopt(key, value)
        self.te_slots.update(hints.te_slots)
        return taken
