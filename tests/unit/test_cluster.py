"""The election and role logic (controller.ha, controller.cluster) with a fake clock and a fake etcd.

The fake etcd keeps one leader key and leases that expire by the fake clock, as etcd does; several
Cluster members share it, so the tests can check that two members never act as leader at once.
"""
import pytest

from controller.cluster import Cluster
from controller.ha import FOLLOWER, LEADER, Leadership
from controller.store import StoreError


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class FakeEtcd:
    """Leases and one leader key, expiring by ``clock``; ``down`` members cannot reach it."""

    def __init__(self, clock):
        self.clock = clock
        self.leases = {}  # id -> expiry
        self.leader = None  # (member, lease id, create revision)
        self.revision = 1
        self.next_lease = 1
        self.down = set()

    def expire(self):
        now = self.clock()
        for lease, until in list(self.leases.items()):
            if until <= now:
                del self.leases[lease]
                if self.leader and self.leader[1] == lease:
                    self.leader = None
                    self.revision += 1


class FakeMember:
    def __init__(self, etcd, member, ttl):
        self.etcd, self.member, self.ttl = etcd, member, ttl
        self.lease_id = None
        self.calls = 0

    def _reach(self):
        self.calls += 1
        if self.member in self.etcd.down:
            raise StoreError("etcd did not answer (timed out)")
        self.etcd.expire()

    def grant(self):
        self._reach()
        self.lease_id = self.etcd.next_lease
        self.etcd.next_lease += 1
        self.etcd.leases[self.lease_id] = self.etcd.clock() + self.ttl
        return self.ttl

    def keepalive(self):
        self._reach()
        if self.lease_id not in self.etcd.leases:
            return -1
        self.etcd.leases[self.lease_id] = self.etcd.clock() + self.ttl
        return self.ttl

    def leader(self):
        self._reach()
        if self.etcd.leader is None:
            return None, 0, {}
        member, lease, rev = self.etcd.leader
        if lease != self.lease_id and member == self.member:  # as controller.etcd.Member: leadership is the lease's
            member = f"{member} (lease {lease:x})"
        return member, rev, {"member": member, "rest": f"http://{member}"}

    def campaign(self):
        self._reach()
        if self.etcd.leader is None and self.lease_id in self.etcd.leases:
            self.etcd.revision += 1
            self.etcd.leader = (self.member, self.lease_id, self.etcd.revision)
        return self.leader()

    def members(self):
        self._reach()
        return [{"member": self.member}]

    def resign(self):
        self._reach()
        self.etcd.leases.pop(self.lease_id, None)
        if self.etcd.leader and self.etcd.leader[1] == self.lease_id:
            self.etcd.leader = None
            self.etcd.revision += 1
        self.lease_id = None


def _cluster(n=3, ttl=2):
    clock = Clock()
    etcd = FakeEtcd(clock)
    members = [Cluster(FakeMember(etcd, f"c{k}", ttl), ttl, clock=clock) for k in range(n)]
    return clock, etcd, members


def _run(clock, members, seconds, dt=0.2, check=True):
    """Step every member every ``dt`` for ``seconds``; never two acting leaders at one instant."""
    changes = []
    for _ in range(round(seconds / dt)):
        clock.now += dt
        for m in members:
            change = m.step()
            if change:
                changes.append((clock.now, m.name, change.role))
        if check:
            acting = [m.name for m in members if m.acting()]
            assert len(acting) <= 1, (clock.now, acting)
    return changes


def test_leadership_refresh_never_shortens_and_margin_applies():
    m = Leadership("c1", ttl=4.0)
    assert m.margin == 1.0
    m.refreshed(10.0, 4.0)
    m.refreshed(9.0, 4.0)  # a late answer to an earlier keep-alive
    assert m.valid_until == 14.0
    assert m.won(7, 10.5).role == LEADER
    assert m.acting(12.9) and not m.acting(13.0)
    assert m.tick(13.0).role == FOLLOWER
    assert m.stepdowns == 1 and m.elections == 1


def test_no_win_without_a_valid_lease():
    m = Leadership("c1", ttl=2.0)
    assert m.won(5, 0.0) is None and m.role == FOLLOWER  # never refreshed
    m.refreshed(0.0, 2.0)
    assert m.won(5, 1.6) is None  # inside the margin
    assert m.won(5, 1.0).generation == 5


def test_seen_other_leader_deposes():
    m = Leadership("c1", ttl=2.0)
    m.refreshed(0.0, 2.0)
    m.won(5, 0.1)
    change = m.seen_leader("c2", 9, {"rest": "http://c2"})
    assert change.role == FOLLOWER and "c2" in change.reason
    assert (m.leader, m.generation, m.leader_info) == ("c2", 9, {"rest": "http://c2"})


def test_bad_margin():
    with pytest.raises(ValueError, match="margin"):
        Leadership("c1", ttl=2.0, margin=2.0)


def test_one_leader_elected_and_fence():
    clock, etcd, members = _cluster()
    changes = _run(clock, members, 1.0)
    assert [c for c in changes if c[2] == LEADER] == [(pytest.approx(100.2), "c0", LEADER)]
    leader = members[0]
    assert leader.fence() == (etcd.leader[2], etcd.leader[1])
    assert all(m.fence() is None for m in members[1:])
    assert all(m.leadership.leader == "c0" and m.leadership.generation == etcd.leader[2] for m in members[1:])


def test_dead_leader_replaced_after_its_lease_with_higher_generation():
    clock, etcd, members = _cluster()
    _run(clock, members, 1.0)
    first = etcd.leader[2]
    dead = members.pop(0)  # stops stepping (SIGKILL): its lease runs out in etcd
    died_at = dead.last_sent
    changes = _run(clock, members, 4.0)
    (at, who, role), = [c for c in changes if c[2] == LEADER]
    assert role == LEADER and who in ("c1", "c2")
    assert at >= died_at + 2.0  # not before the lease could have expired
    assert at <= died_at + 2.0 + 0.4 + 1e-9  # within two polls of it
    assert etcd.leader[2] > first  # the switches will refuse the old generation


def test_leader_cut_off_stops_before_anyone_else_starts():
    clock, etcd, members = _cluster()
    _run(clock, members, 1.0)
    etcd.down.add("c0")
    cut = clock.now
    changes = _run(clock, members, 5.0)  # _run checks: never two acting at once
    stepped = [at for at, who, role in changes if who == "c0" and role == FOLLOWER]
    won = [at for at, who, role in changes if role == LEADER]
    assert stepped and won and stepped[0] < won[0]
    assert stepped[0] - cut <= 2.0  # before the lease (refreshed at most 2 s before the cut) can expire
    assert members[0].problem and not members[0].reachable


def test_quorum_loss_nobody_leads_and_the_leader_resumes_with_its_lease():
    clock, etcd, members = _cluster()
    _run(clock, members, 1.0)
    generation = etcd.leader[2]
    etcd.down.update({"c0", "c1", "c2"})
    last = members[0].last_sent
    changes = _run(clock, members, 2.0)
    assert not any(m.acting() for m in members)
    (at, who, role), = changes
    # acting() is false from the TTL less the margin on; the step that reports it comes within one poll
    assert (who, role) == ("c0", FOLLOWER) and at <= last + 2 - 0.5 + 0.2 + 1e-9
    # etcd renews every lease when it gets its quorum back (a new etcd leader): model it
    for lease in etcd.leases:
        etcd.leases[lease] = clock.now + 2
    etcd.down.clear()
    _run(clock, members, 0.6)
    assert members[0].acting() and members[0].fence()[0] == generation  # same key, same generation


def test_lost_lease_gets_a_new_one_and_a_follower_takes_over():
    clock, etcd, members = _cluster(n=2)
    _run(clock, members, 1.0)
    # c0's lease vanishes in etcd (e.g. revoked by an operator)
    etcd.leases.pop(members[0].member.lease_id)
    etcd.leader = None
    changes = _run(clock, members, 1.0)
    assert (members[0].member.lease_id is not None) and any(role == LEADER for _, _, role in changes)
    assert sum(m.acting() for m in members) == 1


def test_resign_hands_over_at_once():
    clock, etcd, members = _cluster(n=2)
    _run(clock, members, 1.0)
    members[0].resign()
    members.pop(0)
    changes = _run(clock, members, 0.4)
    assert [(who, role) for _, who, role in changes] == [("c1", LEADER)]


def test_as_dict():
    clock, etcd, members = _cluster(n=2)
    _run(clock, members, 0.4)
    body = members[1].as_dict()
    assert body["role"] == FOLLOWER and body["leader"] == "c0" and body["leader_info"]["rest"] == "http://c0"
    assert body["etcd"]["reachable"] is True and body["lease_ttl"] == 2


def test_same_name_on_two_controllers_never_two_leaders():
    """Two members configured with one ha_member: the key's lease decides, not the name."""
    clock = Clock()
    etcd = FakeEtcd(clock)
    twins = [Cluster(FakeMember(etcd, "c1", 2), 2, clock=clock) for _ in range(2)]
    _run(clock, twins, 3.0)  # _run checks: never two acting at once
    assert sum(m.acting() for m in twins) == 1


def test_resign_steps_down_before_revoking():
    clock, etcd, members = _cluster(n=2)
    _run(clock, members, 1.0)
    seen = []

    def stepped_down(change):
        seen.append((change.role, members[0].acting(), members[0].member.lease_id in etcd.leases))

    members[0].resign(stepped_down)
    assert seen == [(FOLLOWER, False, True)]  # not acting, and the lease still held, when the step-down ran
    assert members[0].member.lease_id is None and etcd.leader is None


def test_unexpected_answer_costs_a_round_not_the_loop():
    clock, etcd, members = _cluster(n=1)
    _run(clock, members, 0.4)

    def broken():
        raise KeyError("header")

    members[0].member.leader = broken
    clock.now += 0.2
    assert members[0].step() is None and members[0].reachable is False and "unexpected" in members[0].problem


# --- the core's side: following, taking over -------------------------------------------------------------

def _two_switches(core, now=0.0):
    from controller.core import PARTS

    for dpid in (1, 2):
        core.switch_connected(dpid, [1, 2], now)
        for part in PARTS:
            core.readback(dpid, part, [], True, now)
    core.link_added(1, 1, 2, 1, now + 0.1)
    core.link_added(2, 1, 1, 1, now + 0.1)
    core.fabric.learn_host("10.0.0.1", "00:00:00:00:00:01", 1, 2)
    core.fabric.learn_host("10.0.0.2", "00:00:00:00:00:02", 2, 2)


def test_follower_plans_but_sends_nothing_then_takes_over_like_a_restart():
    from controller.core import PARTS, Core
    from controller.settings import Settings

    core = Core(Settings(intent_store="", restore_timeout=0))
    core.leading = False  # as a cluster member starts
    _two_switches(core)
    assert core.recompute(0.2).sends == []
    assert core.forward_to() is None  # no cluster object: answered here
    dpids = core.become_leader(1.0)
    assert dpids == [1, 2] and set(core.reading) == {1, 2} and core.restoring
    assert core.recompute(1.0).sends == []  # nothing before the read-backs
    for dpid in dpids:
        for part in PARTS:
            core.readback(dpid, part, [], True, 1.1)
    batch = core.recompute(1.2)
    assert len(batch.sends) == 22  # the empty switches get the baseline, as in controller.core's doctest
    core.confirm(batch, batch.sends, True, 1.3)
    core.become_follower(2.0)
    assert not core.leading and core.recompute(2.1).sends == []


def test_stale_readback_timer_does_not_clear_a_newer_readback():
    from controller.core import Core
    from controller.settings import Settings

    core = Core(Settings(intent_store="", restore_timeout=0))
    core.switch_connected(1, [1], 0.0)
    old = core.reading[1]
    core.resync(1)  # a new read-back of the same switch (a takeover does the same)
    assert not core.readback_timed_out(1, 5.0, old)
    assert 1 in core.reading and core.readback_timed_out(1, 5.0, core.reading[1])
