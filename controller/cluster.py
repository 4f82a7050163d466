"""One controller's membership of a cluster on etcd: lease, election, and the store the leader writes.

:class:`Cluster` joins :class:`controller.ha.Leadership` (when to lead, no I/O) to
:class:`controller.etcd.Member` (the lease and the leader key, on etcd). The Ryu app calls
:meth:`Cluster.step` every ``ha_poll_interval`` seconds from a green thread and carries out the
:class:`~controller.ha.RoleChange` it returns (OpenFlow role requests, the core's switch to leading or
following). Each step refreshes the lease when a quarter of its TTL has passed, campaigns when there is
no leader key, and reads who leads. The store (:class:`controller.etcd.EtcdStore`) is fenced with
:meth:`fence`: only a member acting as leader writes, and only while the leader key is still the one it
created.

With a fake clock and a fake member (as in ``tests/unit/test_cluster.py``), the whole election is tested
without etcd.
"""
from __future__ import annotations

import logging
import time

from .ha import FOLLOWER, LEADER, Leadership, RoleChange
from .store import StoreError

LOG = logging.getLogger("controller.cluster")


class Cluster:
    """See the module docstring.

    Parameters
    ----------
    member : controller.etcd.Member (or a fake with the same methods)
    ttl : float
        The lease TTL asked for (s).
    clock : callable
        Monotonic seconds (``time.monotonic``; a fake in tests).
    margin : float, optional
        How long before the lease could expire a leader stops acting (default ttl / 4).
    """

    def __init__(self, member, ttl: float, clock=time.monotonic, margin: float | None = None):
        self.member = member
        self.leadership = Leadership(member.member, ttl, margin)
        self.clock = clock
        self.keepalive_every = ttl / 4
        self.last_sent: float | None = None  # when the last grant or keep-alive that was answered went out
        self.reachable: bool | None = None  # whether etcd answered the last step
        self.problem: str | None = None  # why not, in one line
        self.members: list = []  # what the live members published, as last read
        self.steps = 0

    @property
    def name(self) -> str:
        return self.member.member

    def fence(self) -> tuple | None:
        """``(generation, lease id)`` to fence the store's writes with, or None when this member must not write."""
        if not self.leadership.acting(self.clock()) or self.member.lease_id is None:
            return None
        return self.leadership.generation, self.member.lease_id

    def acting(self) -> bool:
        return self.leadership.acting(self.clock())

    def step(self) -> RoleChange | None:
        """One round: lease, campaign or read the leader, then the step-down check. Never raises."""
        self.steps += 1
        changes = []
        try:
            changes.append(self._lease())
            changes.append(self._leader())
            self._reached(None)
        except StoreError as exc:
            self._reached(str(exc))
        except Exception as exc:  # an answer of an unexpected shape: this round is lost, not the loop
            LOG.exception("te: cluster round failed")
            self._reached(f"unexpected answer from etcd: {exc!r}")
        if self.steps % 10 == 1 and self.reachable:
            try:
                self.members = self.member.members()
            except (StoreError, ValueError, KeyError, TypeError):
                pass  # only shown in GET /te/v1/cluster
        changes.append(self.leadership.tick(self.clock()))
        changes = [c for c in changes if c is not None]
        for change in changes:
            (LOG.warning if change.role == FOLLOWER else LOG.info)("te: cluster member %s is now %s: %s", self.name,
                                                                   change.role, change.reason)
        return changes[-1] if changes else None

    def _lease(self) -> RoleChange | None:
        now = self.clock()
        if self.member.lease_id is None:
            ttl = self.member.grant()
            self.leadership.refreshed(now, ttl)
            self.last_sent = now
            LOG.info("te: cluster member %s has lease %x (TTL %d s)", self.name, self.member.lease_id, ttl)
            return None
        if self.last_sent is not None and now - self.last_sent < self.keepalive_every:
            return None
        ttl = self.member.keepalive()
        if ttl <= 0:
            self.member.lease_id = None  # gone: the next step asks for a new one
            return self.leadership.lease_lost(now, "lease expired in etcd")
        self.leadership.refreshed(now, ttl)
        self.last_sent = now
        return None

    def _leader(self) -> RoleChange | None:
        if self.member.lease_id is None:
            return None
        member, generation, info = self.member.leader()
        if member is None:
            member, generation, info = self.member.campaign()
        if member == self.name:
            self.leadership.leader_info = dict(info)
            return self.leadership.won(generation, self.clock())
        return self.leadership.seen_leader(member, generation, info)

    def _reached(self, problem: str | None) -> None:
        if problem != self.problem:
            if problem is None:
                LOG.info("te: cluster member %s reaches etcd again", self.name)
            else:
                LOG.warning("te: cluster member %s cannot use etcd: %s", self.name, problem)
        self.problem, self.reachable = problem, problem is None

    def resign(self, stepped_down=None) -> None:
        """Stop acting now, carry out the step-down (``stepped_down(change)``, if we led), then give the lease
        back so a standby takes over at once: on a clean stop, or when a switch refuses our claim."""
        change = self.leadership.lease_lost(self.clock(), "gave the lease back")
        if change is not None and stepped_down is not None:
            stepped_down(change)
        try:
            self.member.resign()
        except StoreError as exc:
            LOG.warning("te: could not give the lease back (standbys wait for it to expire): %s", exc)
        self.member.lease_id = None

    def as_dict(self) -> dict:
        """``GET /te/v1/cluster``, but for the store's revision (the core adds it)."""
        now = self.clock()
        body = self.leadership.as_dict(now)
        body["etcd"] = {"reachable": self.reachable, "problem": self.problem,
                        "lease_id": None if self.member.lease_id is None else f"{self.member.lease_id:x}"}
        body["members"] = sorted(self.members, key=lambda m: m.get("member", ""))
        return body


__all__ = ["Cluster", "FOLLOWER", "LEADER"]
