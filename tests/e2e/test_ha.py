"""Several controllers on one etcd cluster (B4, 3 controllers, 3 etcd members): failover, partition, quorum loss.

Every switch connects to all three controllers; the leader is MASTER, the others SLAVE. Traffic is real
(iperf3 UDP and ping between Mininet hosts); switch roles come from OVS's Controller table, rule sets from
``ovs-ofctl`` dumps. Figures go to results/e2e/measurements.jsonl.
"""
import re
import statistics
import subprocess
import tempfile
import threading
import time

import pytest
import requests

from topologies import lab
from topologies.b4 import B4Topo
from topologies.lab.ha import HASetup, running_ha
from topologies.lab.impostor import ROLE_MASTER, LateController

TTL = 2  # ha_lease_ttl (s)
KILLS = 5
# iperf3 paces UDP by its average since the start: a sender the busy machine leaves unscheduled for a while
# then sends what it owes at once. Beyond the meter's bucket, h1's ingress meter drops it (measured with iperf3
# stopped by SIGSTOP: 100 ms -> 8-9 of the 4 Mbit/s flow's datagrams dropped by s1's meter with the default
# 50 ms bucket, 40 ms -> none; once in CI, 2 of 41,609 lost); a 250 ms bucket took 100 ms pauses without a
# loss. Beyond h1's own link queue (62,500 bytes), h1 drops it itself (400 ms -> 66 each time, all in h1's
# queue). Neither is failover: what h1's queue and its meter drop is counted apart (:func:`_at_sender`).
METER_BURST_MS = 250


def _ping(net, src, dst, seconds, interval=0.02):
    """``ping`` every ``interval`` s for ``seconds``, its output in a file (a pipe would fill up and stall it)."""
    out = tempfile.TemporaryFile()
    proc = net.get(src).popen(["ping", "-n", "-D", "-O", "-i", str(interval), "-w", str(seconds), net.get(dst).IP()],
                              stdout=out, stderr=subprocess.STDOUT)
    proc.output_file = out
    return proc


def _ping_loss(proc) -> tuple:
    """(lost, sent, Unix times of the pings that got no answer).

    ``-w`` ends ping at its deadline even when its last echo is still on the wire, and ping counts that
    echo as lost (seen in CI: 1 of 6,710 lost, and no "no answer yet" line for it, which ping prints only
    when it sends the next one). So up to two pings after the last one answered are not counted; a real
    loss would have to fall in those last 40 ms before ping's own deadline to hide there (the failover
    series ends its kills at least 2 s before).
    """
    proc.wait(timeout=200)
    proc.output_file.seek(0)
    out = proc.output_file.read()
    proc.output_file.close()
    m = re.search(rb"(\d+) packets transmitted, (\d+) received", out)
    assert m, out[-500:]
    sent, got = int(m[1]), int(m[2])
    unanswered = [float(t) for t in re.findall(rb"^\[(\d+\.\d+)\] no answer yet", out, re.M)]
    last = max((int(n) for n in re.findall(rb"icmp_seq=(\d+) ttl=", out)), default=0)
    in_flight = sent - last if 0 < sent - last <= 2 else 0  # icmp_seq counts from 1: the last sent is ``sent``
    return sent - got - in_flight, sent, unanswered


def _roles(controller) -> set:
    """The roles the switches give ``controller`` (OVS's Controller table, by its target)."""
    out = subprocess.run(["ovs-vsctl", "--format=csv", "--data=bare", "--no-headings", "--columns=target,role",
                          "list", "controller"], capture_output=True, text=True).stdout
    target = f"tcp:127.0.0.1:{controller.port}"
    return {line.split(",")[1] for line in out.splitlines() if line.split(",")[0] == target}


def _wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


def _takeover_done(setup, n, ids, after):
    """Controller ``n`` leads and has installed (or kept) every intent of ``ids`` since Unix time ``after``."""
    setup.api(n).wait_allocations(ids, timeout=30, installed_after=after)


def _check_logs(setup):
    problems = setup.log_problems()
    assert not problems, problems


def _leader_with_intents(setup, intents) -> tuple:
    """Wait for a leader and full reachability, post ``intents`` ((src, dst, rate) each) to the leader and
    wait until they are installed; returns (leader index, intent ids)."""
    leader = setup.wait_leader(30)
    lab.wait_full_reachability(setup.net, deadline_s=60)
    ids = [setup.api(leader).post_intent(src=src, dst=dst, rate_bps=rate) for src, dst, rate in intents]
    setup.api(leader).wait_allocations(ids, timeout=30)
    return leader, ids


H1_H12 = ("10.0.0.1", "10.0.0.12", 4e6)


def _start_traffic(net, seconds):
    server = lab.start_iperf_server(net.get("h12"), 5201)
    lab.wait_iperf_server(net.get("h12"), 5201)
    udp = lab.start_iperf_udp(net.get("h1"), net.get("h12").IP(), 5201, lab.goodput_of(0.8 * 4e6), seconds)
    return server, udp, _ping(net, "h3", "h10", seconds)


def test_leader_failover_kills(artifacts):
    """SIGKILL the leader five times under traffic; the last time while intents are posted to a follower.

    Once seen in CI, every process on the machine (etcd, the controllers, this test) went silent for 14 s in
    the middle of a run, and the traffic lost datagrams to it. A run during which a watchdog thread wakes more
    than 1 s late is such a stall: its figures say nothing about failover, and the series runs once more.
    """
    for attempt in (1, 2):
        with lab.StallWatch() as watch:
            r = _failover_series(artifacts / f"attempt{attempt}")
        bad = r["lost"] - r["at_sender"] or r["ping_lost"] or statistics.median(r["failovers"]) >= 3.0
        if not bad or watch.worst < 1.0 or attempt == 2:
            break
        print(f"\nthe machine stalled for {watch.worst:.1f} s during the series: measuring again")
    median = statistics.median(r["failovers"])
    lab.record("ha_failover", "new_leader_s_median", median, "s", runs=r["failovers"], udp_lost=r["lost"],
               udp_dropped_at_sender=r["at_sender"],
               udp_sent=r["sent"], pings_lost=r["ping_lost"], pings_sent=r["ping_sent"],
               unanswered_after_kill=r["unanswered_after_kill"], intents_acked_during=r["acked"],
               writes_refused_during=r["refused"], attempt=attempt, worst_stall_s=round(watch.worst, 3),
               loss_timeline=r["loss_timeline"], drops=r["drops"])
    assert r["lost"] - r["at_sender"] == 0, (f"{r['lost']} of {r['sent']} datagrams lost across {KILLS} failovers, "
                                             f"{r['at_sender']} of them at h1's queue or meter; "
                                             f"where: {r['loss_timeline']}; drops counted: {r['drops']}")
    assert r["ping_lost"] == 0, f"{r['ping_lost']} of {r['ping_sent']} pings lost"
    assert r["acked"], "no intent was acknowledged while the leader was killed"
    assert median < 3.0, r["failovers"]


def _drops(setup) -> dict:
    """The switches' drop counters (:func:`lab.drop_counts`) and what h1's own link queue dropped."""
    return lab.drop_counts(setup.bridge_names) | {"h1 queue": lab.host_queue_drops(setup.net.get("h1"))}


def _at_sender(drops) -> int:
    """Of the increases :func:`lab.count_increase` found, the datagrams dropped before they entered the
    network: by h1's own link queue, or by its ingress meter (on s1) when h1's sender went over its intent's
    rate and burst (see METER_BURST_MS)."""
    return sum(n for what, n in drops.items() if what == "h1 queue" or what.startswith("s1 meter "))


def _failover_series(artifacts) -> dict:
    setup = HASetup("failover", B4Topo(bw=10), artifacts, controllers=3, etcd_members=3, ha_lease_ttl=TTL,
                    te_meter_burst_ms=METER_BURST_MS)
    with running_ha(setup):
        net = setup.net
        leader, ids = _leader_with_intents(setup, [H1_H12, ("10.0.0.3", "10.0.0.10", 2e6)])
        seconds = 150
        drops_before = _drops(setup)
        server, udp, ping = _start_traffic(net, seconds)
        traffic_end = time.monotonic() + seconds
        time.sleep(2)
        failovers, acked, refused, kill_times = [], [], [], []
        events = []  # (Unix time, what happened): where a lost datagram fell, should one be lost
        for run in range(KILLS):
            posting = run == KILLS - 1
            before = lab.switch_tables(setup.bridge_names)
            follower = next(n for n in range(3) if n != leader and setup.controllers[n].alive())
            stop_posting = threading.Event()
            poster = None
            if posting:
                def post(api=setup.api(follower)):
                    k = 0
                    while not stop_posting.is_set():
                        k += 1
                        body = {"src": "10.0.0.4", "dst": "10.0.0.9", "rate_bps": 1e4, "name": f"during-{k}",
                                "match": {"ip_proto": 17, "tp_dst": 6000 + k}}
                        try:
                            r = requests.post(api.base_url + "/intents", json=body, timeout=5)
                        except requests.RequestException:
                            refused.append("no answer")
                            continue
                        if r.status_code == 201:
                            acked.append((r.json()["id"], body["name"]))
                        else:
                            assert r.status_code == 503, (r.status_code, r.text)
                            refused.append(r.json()["error"])
                        time.sleep(0.05)
                poster = threading.Thread(target=post, daemon=True)
                poster.start()
                events.append((time.time(), f"run {run}: posting intents to c{follower}"))
                time.sleep(1)
            killed_at, killed_wall = time.monotonic(), time.time()
            kill_times.append(killed_wall)
            setup.kill(leader)
            events.append((killed_wall, f"run {run}: c{leader} killed"))
            new = setup.wait_leader(timeout=10, not_=leader, step=0.02)
            failovers.append(time.monotonic() - killed_at)
            events.append((time.time(), f"run {run}: c{new} leads"))
            wanted = ids + ([] if not posting else [])
            _takeover_done(setup, new, wanted, killed_wall)
            events.append((time.time(), f"run {run}: c{new} has taken over"))
            if posting:
                time.sleep(2)
                stop_posting.set()
                poster.join(10)
            else:
                body = setup.cluster(new)
                assert body["changes_sent"] == 0, f"run {run}: the new leader sent {body['changes_sent']} changes"
                assert lab.switch_tables(setup.bridge_names) == before, f"run {run}: rules changed in the takeover"
            # the killed controller comes back and follows
            setup.controllers[leader].start()
            events.append((time.time(), f"run {run}: c{leader} restarted"))
            _wait(lambda n=leader: (setup.cluster(n) or {}).get("role") == "follower", 20, "rejoined as follower")
            _wait(lambda n=leader: _roles(setup.controllers[n]) == {"slave"}, 20,
                  f"every switch has c{leader} as slave")
            events.append((time.time(), f"run {run}: c{leader} is slave everywhere"))
            assert _roles(setup.controllers[new]) == {"master"}
            leader = new
        assert time.monotonic() < traffic_end - 2, "the kills took longer than the traffic ran"
        udp_report = lab.udp_report(server, udp)
        drops = lab.count_increase(drops_before, _drops(setup))
        lost, sent = udp_report["lost"], udp_report["sent"]
        ping_lost, ping_sent, unanswered = _ping_loss(ping)
        # every acknowledged intent is there, with its id, on every controller
        for n in range(3):
            got = {i["id"]: i.get("name") for i in setup.api(n).call("GET", "/intents", expect=200).json()["intents"]}
            missing = [(i, name) for i, name in acked if got.get(i) != name]
            assert not missing, f"c{n} lacks acknowledged intents {missing}"
        _check_logs(setup)
    return {"failovers": failovers, "lost": lost, "sent": sent, "ping_lost": ping_lost, "ping_sent": ping_sent,
            "unanswered_after_kill": [round(u - max([k for k in kill_times if k <= u], default=0), 2)
                                      for u in unanswered],
            "acked": len(acked), "refused": len(refused),
            "loss_timeline": _timeline(udp_report["loss_at"], events), "drops": drops, "at_sender": _at_sender(drops)}


def _timeline(loss_at, events) -> list:
    """Each 1-second interval that lost datagrams, with the events from 3 s before it to 2 s after its start
    (seconds relative to the interval's start)."""
    return [{"lost": n, "events": [(round(t - start, 2), what) for t, what in events if -3 <= t - start <= 2]}
            for start, n in loss_at]


def test_leader_cut_off_from_etcd(artifacts):
    """Each controller talks to one etcd member; the leader's member stops. It must stop acting before a
    new leader starts; the switches refuse the deposed leader's generation; the new leader serves."""
    setup = HASetup("partition", B4Topo(bw=10), artifacts, controllers=3, etcd_members=3,
                    etcd_of=[[0], [1], [2]], ha_lease_ttl=TTL)
    with running_ha(setup):
        net = setup.net
        old, ids = _leader_with_intents(setup, [H1_H12])
        old_generation = setup.cluster(old)["generation"]
        ping = _ping(net, "h3", "h10", 25)
        # A connection to s1 that claims MASTER with the old leader's generation, as the old leader did: what a
        # deposed leader's late messages would travel on (its own connections are demoted the same way).
        late = LateController()
        target = f"tcp:127.0.0.1:{late.port}"
        try:
            subprocess.run(["ovs-vsctl", "--", "--id=@c", "create", "Controller", f'target="{target}"',
                            "--", "add", "Bridge", "s1", "controller", "@c"], check=True, capture_output=True)
            late.accept()
            first = late.claim(old_generation, ROLE_MASTER)
            time.sleep(1)
            cut = time.monotonic()
            setup.etcd.stop_member(old)
            stopped_at = new_at = None
            new = None
            while time.monotonic() - cut < 15 and (stopped_at is None or new_at is None):
                if stopped_at is None and not (setup.cluster(old, timeout=0.5) or {}).get("acting", True):
                    stopped_at = time.monotonic() - cut
                if new_at is None:
                    acting = [n for n in range(3) if n != old and (setup.cluster(n, timeout=0.5) or {}).get("acting")]
                    if acting:
                        new_at, new = time.monotonic() - cut, acting[0]
                time.sleep(0.02)
            assert stopped_at is not None and new_at is not None, (stopped_at, new_at)
            assert stopped_at < new_at, f"the old leader acted until {stopped_at:.2f} s, the new one from {new_at:.2f} s"
            assert stopped_at <= TTL + 0.5, stopped_at
            _wait(lambda: _roles(setup.controllers[new]) == {"master"} and _roles(setup.controllers[old]) == {"slave"},
                  10, "new leader master, old one slave, on every switch")
            late_mod = late.flow_mod()
            stale = late.claim(old_generation, ROLE_MASTER)
        finally:
            out = subprocess.run(["ovs-vsctl", "--bare", "--columns=_uuid", "find", "Controller", f'target="{target}"'],
                                 capture_output=True, text=True).stdout
            for uuid in out.split():
                subprocess.run(["ovs-vsctl", "remove", "Bridge", "s1", "controller", uuid], capture_output=True)
            late.close()
        assert first == ("role", ROLE_MASTER, old_generation), f"the claim as the old leader: {first}"
        assert late_mod == ("error", 1, 10), f"a late flow-mod after the new leader's claim: {late_mod}"
        assert stale == ("error", 11, 0), f"a MASTER claim with the old generation: {stale}"
        # the new leader serves; the old one refuses writes (it cannot reach etcd)
        new_id = setup.api(new).post_intent(src="10.0.0.2", dst="10.0.0.11", rate_bps=2e6)
        setup.api(new).wait_allocations([new_id], timeout=30)
        r = requests.post(setup.api(old).base_url + "/intents", json={"src": "10.0.0.2", "dst": "10.0.0.11",
                                                                      "rate_bps": 1e6}, timeout=10)
        assert r.status_code == 503 and "error" in r.json(), r.text
        # the member comes back: the old leader follows
        setup.etcd.start_member(old)
        _wait(lambda: (setup.cluster(old) or {}).get("leader") == f"c{new}", 20, "the old leader follows the new")
        ping_lost, ping_sent, _ = _ping_loss(ping)
        _check_logs(setup)
    lab.record("ha_partition", "old_leader_stopped_s", stopped_at, "s", new_leader_s=new_at, pings_lost=ping_lost)
    assert ping_lost == 0, f"{ping_lost} of {ping_sent} pings lost"


def test_etcd_quorum_lost(artifacts):
    """Two of three etcd members stop: writes get 503, traffic flows, nothing is lost; quorum back, writes resume."""
    setup = HASetup("quorum", B4Topo(bw=10), artifacts, controllers=3, etcd_members=3, ha_lease_ttl=TTL,
                    te_meter_burst_ms=METER_BURST_MS)
    with running_ha(setup):
        net = setup.net
        leader, ids = _leader_with_intents(setup, [H1_H12])
        before = lab.switch_tables(setup.bridge_names)
        drops_before = _drops(setup)
        server, udp, ping = _start_traffic(net, 20)
        time.sleep(1)
        setup.etcd.stop_member(1)
        setup.etcd.stop_member(2)
        _wait(lambda: not setup.leaders(), TTL + 1, "no controller acts as leader without a lease")
        for n in range(3):
            r = requests.post(setup.api(n).base_url + "/intents", json={"src": "10.0.0.2", "dst": "10.0.0.11",
                                                                        "rate_bps": 1e6}, timeout=10)
            assert r.status_code == 503, (n, r.status_code, r.text)
            assert "leads" in r.json()["error"] or "etcd" in r.json()["error"] or "not made" in r.json()["error"]
            assert setup.api(n).call("GET", "/intents", expect=200).json()["intents"][0]["id"] == ids[0]
        time.sleep(6)
        setup.etcd.start_member(1)
        setup.etcd.start_member(2)
        back = time.monotonic()
        leader = setup.wait_leader(30)
        lab.record("ha_quorum", "leader_after_quorum_s", time.monotonic() - back, "s")
        _takeover_done(setup, leader, ids, 0)
        assert lab.switch_tables(setup.bridge_names) == before, "rules changed across the etcd outage"
        new_id = setup.api(leader).post_intent(src="10.0.0.2", dst="10.0.0.11", rate_bps=2e6)
        setup.api(leader).wait_allocations(ids + [new_id], timeout=30)
        lost, sent = lab.udp_loss(server, udp)
        drops = lab.count_increase(drops_before, _drops(setup))
        ping_lost, ping_sent, _ = _ping_loss(ping)
        for n in range(3):
            _wait(lambda n=n: {i["id"] for i in setup.api(n).call("GET", "/intents").json()["intents"]}
                  == {ids[0], new_id}, 10, f"c{n} has both intents")
        _check_logs(setup)
    assert lost - _at_sender(drops) == 0 and ping_lost == 0, (lost, sent, ping_lost, ping_sent, drops)


if __name__ == "__main__":
    pytest.main([__file__, "-x", "-s"])
