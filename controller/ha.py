"""Leadership of one controller among several, as plain state driven by the times of etcd's answers.

Several controllers share one network (``intent_store = etcd://...``). Exactly one is the leader: it
holds the etcd key ``<prefix>/leader``, attached to its lease, and it is the OpenFlow MASTER of every
switch, claimed with ``OFPRoleRequest(MASTER, generation_id)`` where the generation id is the etcd
revision that created the key (the *election revision*: later elections have larger ones, so a switch
refuses a deposed leader's claim as stale). The others are followers and SLAVE on the switches.

This module decides *when* a member may act as leader; :mod:`controller.etcd` talks to etcd and
:mod:`controller.app` sends the role requests. Nothing here reads a clock: every method takes the
monotonic time of the event, so the logic is tested with a fake clock.

The rule that keeps two leaders from acting at once: a member acts as leader only while it is sure its
lease is alive. A keep-alive that was *sent* at ``t`` and answered with a TTL of ``ttl`` seconds proves
the lease lives until at least ``t + ttl`` (etcd extended it after ``t``), whatever the answer's delay.
The member stops acting ``margin`` seconds before that (clocks of two processes on different machines
advance at slightly different rates; the margin absorbs it and the time a send takes), and a new
leader can only be elected after etcd lets the lease expire, at ``t + ttl`` or later.

Examples
--------
A member whose lease keeps being refreshed wins, leads, and stops leading when the refreshes stop:

>>> m = Leadership("c1", ttl=2.0, margin=0.5)
>>> m.refreshed(sent_at=0.0, ttl_left=2.0)
>>> m.won(generation=41, now=0.1)
RoleChange(role='leader', generation=41, reason='won the election (revision 41)')
>>> m.acting(1.4), m.tick(1.4)
(True, None)
>>> m.acting(1.5), m.tick(1.5)
(False, RoleChange(role='follower', generation=41, reason='lease not confirmed for 1.5 s (TTL 2 s): stepped down'))

A follower learns the current leader and the generation it claims the switches with:

>>> f = Leadership("c2", ttl=2.0)
>>> f.seen_leader("c1", 41, {"rest": "http://10.0.0.1:8080"})
>>> f.role, f.leader, f.generation
('follower', 'c1', 41)
"""
from __future__ import annotations

from dataclasses import dataclass, field

FOLLOWER, LEADER = "follower", "leader"


@dataclass(frozen=True)
class RoleChange:
    """What the member became, with the generation id to claim the switches with, and why."""

    role: str
    generation: int
    reason: str


@dataclass
class Leadership:
    """One member's view of the election (see the module docstring).

    Parameters
    ----------
    member : str
        This controller's member id (unique in the cluster).
    ttl : float
        The lease's TTL in seconds.
    margin : float, optional
        Stop acting this long before the lease could expire (default: a quarter of ``ttl``).
    """

    member: str
    ttl: float
    margin: float | None = None
    role: str = FOLLOWER
    generation: int = 0  # the election revision of the current leader (ours while we lead); 0: none seen
    leader: str | None = None  # member id of the known leader (None: nobody, as far as we know)
    leader_info: dict = field(default_factory=dict)  # what the leader published (its REST address, ...)
    valid_until: float | None = None  # our lease certainly lives until then
    elections: int = 0  # elections this member won
    stepdowns: int = 0  # times it stopped leading

    def __post_init__(self):
        if self.margin is None:
            self.margin = self.ttl / 4
        if not 0 <= self.margin < self.ttl:
            raise ValueError(f"the margin ({self.margin} s) must be less than the lease TTL ({self.ttl} s)")

    # --- the lease --------------------------------------------------------------------------
    def refreshed(self, sent_at: float, ttl_left: float) -> None:
        """A keep-alive (or the grant) sent at ``sent_at`` was answered: the lease lives ``ttl_left`` s more.

        A late answer never shortens what an earlier one proved.
        """
        until = sent_at + ttl_left
        if self.valid_until is None or until > self.valid_until:
            self.valid_until = until

    def lease_lost(self, now: float, why: str = "lease expired") -> RoleChange | None:
        """etcd says our lease is gone (or a new one must be granted): whatever we led, we lead no more."""
        self.valid_until = None
        return self._step_down(why)

    def lease_valid(self, now: float) -> bool:
        """Whether our lease is certainly alive, with the margin to spare."""
        return self.valid_until is not None and now < self.valid_until - self.margin

    # --- the election -----------------------------------------------------------------------
    def won(self, generation: int, now: float) -> RoleChange | None:
        """Our campaign put (or found) the leader key with our lease, created at revision ``generation``.

        Ignored (None) when the lease is not certainly alive now: leading on it could overlap the next leader.
        """
        if not self.lease_valid(now):
            return None
        again = self.role == LEADER and self.generation == generation
        self.role, self.generation, self.leader = LEADER, generation, self.member
        if again:
            return None
        self.elections += 1
        return RoleChange(LEADER, generation, f"won the election (revision {generation})")

    def seen_leader(self, member: str | None, generation: int, info: dict | None = None) -> RoleChange | None:
        """The leader key names ``member`` (None: there is no leader key), created at ``generation``."""
        change = None
        if member != self.member and self.role == LEADER:
            change = self._step_down(f"{member or 'nobody'} holds the leader key (revision {generation})")
        self.leader, self.leader_info = member, dict(info or {})
        if generation > self.generation or member is None:
            self.generation = max(self.generation, generation)
        return change

    def tick(self, now: float) -> RoleChange | None:
        """Called often: a leader whose lease is no longer certainly alive steps down."""
        if self.role == LEADER and not self.lease_valid(now):
            held = "never confirmed" if self.valid_until is None else \
                f"not confirmed for {now - (self.valid_until - self.ttl):.1f} s"
            return self._step_down(f"lease {held} (TTL {self.ttl:g} s): stepped down")
        return None

    def acting(self, now: float) -> bool:
        """Whether this member may act as leader now: it won, and its lease is certainly alive."""
        return self.role == LEADER and self.lease_valid(now)

    def step_down(self, reason: str) -> RoleChange | None:
        """Stop leading for ``reason`` (e.g. the takeover could not start); the lease and the key stay, so the
        next round wins again if nothing else changed."""
        return self._step_down(reason)

    def _step_down(self, reason: str) -> RoleChange | None:
        if self.role != LEADER:
            return None
        self.role = FOLLOWER
        self.stepdowns += 1
        if self.leader == self.member:
            self.leader = None
        return RoleChange(FOLLOWER, self.generation, reason)

    def as_dict(self, now: float) -> dict:
        """For ``GET /te/v1/cluster``."""
        left = None if self.valid_until is None else round(max(0.0, self.valid_until - now), 3)
        return {"member": self.member, "role": self.role, "acting": self.acting(now), "leader": self.leader,
                "leader_info": self.leader_info, "generation": self.generation, "lease_ttl": self.ttl,
                "lease_valid_for": left, "elections_won": self.elections, "stepdowns": self.stepdowns}
