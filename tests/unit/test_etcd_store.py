"""The etcd intent store and election primitives (controller.etcd) against a real one-member etcd.

etcd (Debian's etcd-server, installed by scripts/setup.sh) runs on loopback in a temporary directory for
the module; every test uses a prefix of its own.
"""
import shutil
import threading
import time

import pytest

from controller.core import Core
from controller.etcd import EtcdStore, Member, PrefixWatch, parse_url
from controller.intents import parse_group, parse_intent
from controller.rest import forwarding
from controller.settings import Settings
from controller.store import StoreError

pytestmark = pytest.mark.skipif(shutil.which("etcd") is None, reason="etcd is not installed (scripts/setup.sh)")


@pytest.fixture(scope="module")
def etcd(tmp_path_factory):
    from topologies.lab.etcd import EtcdCluster

    cluster = EtcdCluster(tmp_path_factory.mktemp("etcd"), members=1).start()
    yield cluster
    cluster.stop()


@pytest.fixture
def url(etcd, request):
    return etcd.url("/t/" + request.node.name)


def _intent(i, rate=1e6, **extra):
    return parse_intent({"src": "10.0.0.1", "dst": f"10.0.0.{i + 1}", "rate_bps": rate, **extra}, str(i), 1)


def test_parse_url():
    assert parse_url("etcd://a:1,b:2") == ([("a", 1), ("b", 2)], "/sdn-te")
    assert parse_url("etcd://[::1]:2379/x/") == ([("::1", 2379)], "/x")
    for bad, why in (("etcd://", "empty host"), ("etcd://a:99999/p", "port"), ("etcd://a,,b/p", "empty host"),
                     ("http://a:1/p", "etcd://")):
        with pytest.raises(ValueError, match=why):
            parse_url(bad)
    with pytest.raises(ValueError, match="port 'x'"):
        Settings(intent_store="etcd://h:x/p")


def test_round_trip_order_and_delete(url):
    store = EtcdStore(url)
    empty = store.snapshot()
    assert (empty.intents, empty.groups, empty.next_id, empty.store_revision) == ([], [], None, 0)
    group = parse_group({"name": "batch", "rate_cap_bps": 5e6}, "batch", 1)
    first = store.apply([_intent(1), _intent(2), _intent(3)], next_id=4, saved_groups=[group])
    store.apply([_intent(1, rate=2e6)], deleted=["2"], next_id=4)  # replaced: keeps its place
    snap = store.snapshot()
    assert [(i.id, i.rate_bps) for i in snap.intents] == [("1", 2e6), ("3", 1e6)]
    assert [g.name for g in snap.groups] == ["batch"] and snap.next_id == 4
    assert snap.store_revision > first and snap.revision >= snap.store_revision
    assert EtcdStore(url).load() == snap.intents  # another controller reads the same


def test_fence_refuses_without_writing(url):
    store = EtcdStore(url)
    store.fence = lambda: None
    with pytest.raises(StoreError, match="not the leader"):
        store.apply([_intent(1)], next_id=2)
    store.fence = lambda: (12345, 1)  # a generation that is not the leader key's
    with pytest.raises(StoreError, match="no longer the leader"):
        store.apply([_intent(1)], next_id=2)
    assert store.snapshot().intents == []


def test_election_generation_and_fenced_write(url):
    store_a, store_b = EtcdStore(url), EtcdStore(url)
    a, b = Member(store_a, "a", 2, {"rest": "http://a"}), Member(store_b, "b", 2, {"rest": "http://b"})
    assert a.grant() == 2 and b.grant() == 2
    member, generation, info = a.campaign()
    assert member == "a" and info["rest"] == "http://a"
    assert b.campaign() == ("a", generation, {"member": "a", "rest": "http://a"})
    assert sorted(m["member"] for m in a.members()) == ["a", "b"]
    lease_a = a.lease_id
    store_a.fence = lambda: (generation, lease_a)
    store_a.apply([_intent(1)], next_id=2)
    store_b.fence = lambda: (generation, b.lease_id)  # the right generation, not the key's lease
    with pytest.raises(StoreError, match="no longer the leader"):
        store_b.apply([_intent(9)], next_id=10)
    a.resign()  # the key goes with the lease
    assert b.leader() == (None, 0, {})
    member, newer, _ = b.campaign()
    assert member == "b" and newer > generation
    with pytest.raises(StoreError, match="no longer the leader"):  # a's late write
        store_a.apply([_intent(2)], next_id=3)
    assert [i.id for i in store_b.load()] == ["1"]


def test_lease_expires_without_keepalive(url):
    member = Member(EtcdStore(url), "a", 2)
    member.grant()
    assert member.keepalive() == 2
    time.sleep(3.1)
    assert member.keepalive() == -1


def test_watch_reports_changes(url):
    store = EtcdStore(url)
    seen, batches = [], []
    watch = PrefixWatch(store, lambda revision, events: (seen.append(revision), batches.append(events)), retry=0.1)
    thread = threading.Thread(target=watch.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while None not in seen and time.monotonic() < deadline:
        time.sleep(0.02)
    revision = store.apply([_intent(1)], next_id=2)
    while revision not in seen and time.monotonic() < deadline:
        time.sleep(0.02)
    watch.stop()
    store.apply([_intent(2)], next_id=3)  # ends the stream's wait
    thread.join(5)
    assert seen[0] is None and revision in seen
    changes = store.changes(batches[seen.index(revision)])
    assert [i.id for i in changes["saved"]] == ["1"] and changes["next_id"] == 2


def test_follower_takes_watched_changes_in_order(url):
    """Deltas from watch events give the same registry as reading the whole store."""
    store = EtcdStore(url)
    store.apply([_intent(1), _intent(2)], next_id=3)
    core = Core.open(Settings(intent_store=url, restore_timeout=0))
    got = []
    watch = PrefixWatch(EtcdStore(url), lambda rev, events: got.append(events) if events else None, retry=0.1)
    thread = threading.Thread(target=watch.run, daemon=True)
    thread.start()
    time.sleep(0.5)
    store.apply([_intent(3), _intent(1, rate=5e6)], deleted=["2"], next_id=4)
    store.apply([], saved_groups=[parse_group({"name": "g", "rate_cap_bps": 1e6}, "g", 1)])
    store.apply([], deleted_groups=["g"], deleted=["3"], next_id=9)
    deadline = time.monotonic() + 5
    while len(got) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    watch.stop()
    store.apply([], next_id=9)
    thread.join(5)
    for events in got:
        core.follow_changes(core.store.changes(events), 0)
    assert [(i.id, i.rate_bps) for i in core.intents.list()] == [(i.id, i.rate_bps) for i in store.load()]
    assert core.intents.groups() == {} and core.intents.next_id == 9
    core.close()


def test_unreachable_etcd_is_a_store_error():
    store = EtcdStore("etcd://127.0.0.1:9/p", timeout=0.5)
    with pytest.raises(StoreError, match="etcd did not answer .*127.0.0.1:9"):
        store.snapshot()


def test_core_restores_from_etcd_and_follows(url):
    EtcdStore(url).apply([_intent(1), _intent(2)], next_id=7)
    core = Core.open(Settings(intent_store=url, restore_timeout=0))
    assert [i.id for i in core.intents.list()] == ["1", "2"] and core.intents.next_id == 7
    assert not core.leading  # a cluster member starts as a follower
    writer = EtcdStore(url)
    writer.apply([_intent(3)], deleted=["1"], next_id=8)
    assert core.follow_store(core.store.snapshot())
    assert [i.id for i in core.intents.list()] == ["2", "3"]
    assert not core.follow_store(core.store.snapshot())  # nothing new: no new plan
    core.close()


class _Service:
    def __init__(self, target):
        self.target = target

    def forward_to(self):
        return self.target


def test_forwarding_decisions():
    leader = _Service(None)
    assert forwarding(leader, "POST", "/te/v1/intents", {}) is None
    follower = _Service("http://c0:8080")
    assert forwarding(follower, "POST", "/te/v1/intents", {}) == "http://c0:8080"
    assert forwarding(follower, "DELETE", "/te/v1/intents/3/", {}) == "http://c0:8080"
    assert forwarding(follower, "GET", "/te/v1/intents", {}) is None  # served here
    assert forwarding(follower, "GET", "/te/v1/allocations", {}) == "http://c0:8080"
    assert forwarding(follower, "POST", "/te/v1/intents", {"x-te-forwarded-by": "c1"}) == ""  # no second hop
    assert forwarding(_Service(""), "POST", "/te/v1/apply", {}) == ""  # no leader: 503
    assert forwarding(_Service(""), "GET", "/te/v1/allocations", {}) is None
    assert forwarding(follower, "GET", "/te/v1/allocations", {"X-TE-Forwarded-By": "c2"}) is None  # no loop
    assert forwarding(follower, "POST", "/te/v1/nothing", {}) is None  # a 404 is answered here
    assert forwarding(follower, "PATCH", "/te/v1/intents", {}) is None  # a 405 too


def test_cluster_view_of_a_single_controller(tmp_path):
    from controller.openapi import validate_response
    from controller.rest import dispatch

    core = Core.open(Settings(intent_store=str(tmp_path / "i.sqlite3"), restore_timeout=0))
    reply = dispatch(core, "GET", "/te/v1/cluster", headers={"Host": "127.0.0.1"})
    assert reply.status == 200 and reply.body["mode"] == "single" and reply.body["store"].endswith("i.sqlite3")
    validate_response("GET", "/te/v1/cluster", 200, reply.body)
    assert core.forward_to() is None and core.leading
    core.close()


def test_same_member_name_on_another_lease_is_not_us(url):
    a, b = Member(EtcdStore(url), "c1", 2), Member(EtcdStore(url), "c1", 2)
    a.grant(), b.grant()
    assert a.campaign()[0] == "c1"
    member, _, _ = b.campaign()
    assert member != "c1" and member.startswith("c1 (lease ")


def test_too_many_operations_is_refused_at_once(tmp_path):
    from topologies.lab.etcd import EtcdCluster

    with EtcdCluster(tmp_path, members=1, max_txn_ops=8) as small:
        store = EtcdStore(small.url("/p"))
        with pytest.raises(StoreError, match="refused the request.*max-txn-ops"):
            store.apply([_intent(k) for k in range(1, 20)], next_id=20)
        assert not store.doubtful and store.snapshot().intents == []


def test_unknown_outcome_reads_the_store_before_the_next_write(url):
    store = EtcdStore(url)
    store.apply([_intent(1)], next_id=2)
    taken = []
    store.resync = taken.append
    store.doubtful = True  # as after a transaction etcd did not answer
    with pytest.raises(StoreError, match="read again.*retry"):
        store.apply([_intent(2)], next_id=3)
    assert [i.id for i in taken[0].intents] == ["1"] and not store.doubtful
    store.apply([_intent(2)], next_id=3)  # the retry goes through
    assert [i.id for i in store.load()] == ["1", "2"]


def test_unreadable_stored_value_is_named(url):
    import base64

    store = EtcdStore(url)
    key = store.key("intents", "7")
    store.client.post("kv/put", {"key": base64.b64encode(key.encode()).decode(),
                                 "value": base64.b64encode(b'{"version": 1, "request": {"src": 5}}').decode()})
    with pytest.raises(StoreError, match="stored intents/7 is unreadable"):
        store.snapshot()
    event = {"kv": {"key": base64.b64encode(key.encode()).decode(), "value": base64.b64encode(b"not json").decode()}}
    with pytest.raises(StoreError, match="stored intents/7 is unreadable"):
        store.changes([event])
    assert store.changes([dict(event, type="DELETE")])["deleted"] == ["7"]  # a delete needs no value
