"""``te-intent cluster`` against the HTTP double of test_intent_cli (the real dispatcher), with the cluster
view of a follower and of a single controller."""
import json

import test_intent_cli
from test_intent_cli import ApiDouble, run

api = test_intent_cli.api  # the fixture

FOLLOWER = {"mode": "etcd", "leading": False, "member": "c1", "role": "follower", "acting": False, "leader": "c0",
            "leader_info": {"member": "c0", "rest": "http://10.0.0.5:8080"}, "generation": 41, "lease_ttl": 2,
            "lease_valid_for": 1.5, "elections_won": 0, "stepdowns": 0, "changes_sent": 0,
            "etcd": {"reachable": True, "problem": None, "lease_id": "2a"},
            "members": [{"member": "c0", "rest": "http://10.0.0.5:8080"}, {"member": "c1", "rest": "http://10.0.0.6:8080"}],
            "store": {"url": "etcd://10.0.0.9:2379/sdn-te", "revision": 77, "writes": 0}, "switches": []}


def test_cluster_of_a_follower(api, capsys, monkeypatch):
    monkeypatch.setattr(ApiDouble, "cluster_body", lambda self: FOLLOWER, raising=False)
    status, out, err = run(capsys, "cluster")
    assert (status, err) == (0, ""), err
    lines = out.splitlines()
    assert lines[0] == ("this controller: c1 (follower); leader: c0, generation 41; lease TTL 2 s, valid for 1.5 s")
    assert lines[1] == "etcd: reachable; store etcd://10.0.0.9:2379/sdn-te at revision 77"
    assert [line.split() for line in lines[2:]] == [["MEMBER", "REST", "ROLE"], ["c0", "http://10.0.0.5:8080", "leader"],
                                                    ["c1", "http://10.0.0.6:8080", "follower"]]
    status, out, _ = run(capsys, "--json", "cluster")
    assert status == 0 and json.loads(out) == FOLLOWER


def test_cluster_of_one_controller(api, capsys, monkeypatch):
    monkeypatch.setattr(ApiDouble, "cluster_body",
                        lambda self: {"mode": "single", "role": "leader", "leading": True, "store": "/x.sqlite3"},
                        raising=False)
    status, out, _ = run(capsys, "cluster")
    assert (status, out) == (0, "one controller (no cluster); intent store /x.sqlite3\n")
