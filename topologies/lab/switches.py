"""What the lab reads off the Open vSwitch bridges: tables, counters, bridges and interfaces."""
from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path


def ofctl(*args) -> str:
    return subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", *args], capture_output=True, text=True, timeout=30).stdout


def stale_interfaces(switch_names) -> list:
    """Root-namespace interfaces named like ports of ``switch_names`` (left by a network that died)."""
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    names = [line.split(": ")[1].split("@")[0] for line in out.splitlines() if ": " in line]
    return sorted(n for n in names if n.split("-eth")[0] in switch_names and "-eth" in n)


def bridges() -> set:
    out = subprocess.run(["ovs-vsctl", "--timeout=10", "list-br"], capture_output=True, text=True).stdout
    return set(out.split())


LAB_MARK = "sdn-te-lab"


def lab_mark() -> dict:
    """The ``external_ids`` a lab puts on its bridges as they are created: the lab's process id.

    Every lab holds the machine lock while its network lives; a bridge carrying the mark and seen by a
    lab holding that lock was therefore left by a lab that is gone (:func:`clear_dead_lab`).
    """
    return {LAB_MARK: str(os.getpid())}


def bridge_marks() -> dict:
    """Every bridge's lab mark: bridge name -> the process id of the lab that created it (None: not a lab's)."""
    out = subprocess.run(["ovs-vsctl", "--timeout=10", "--format=json", "--columns=name,external_ids",
                          "list", "Bridge"], capture_output=True, text=True).stdout
    marks = {}
    for name, (_, pairs) in json.loads(out or '{"data": []}')["data"]:
        marks[name] = dict(pairs).get(LAB_MARK)
    return marks


def clear_dead_lab(names) -> dict:
    """Delete the bridges among ``names`` that a lab created and left behind, and their interfaces.

    Call only with the machine lock held (:func:`topologies.lab.control.machine_lock`): a lab holds it
    while its network lives, so a marked bridge seen then is a dead lab's (killed outright, or its
    machine restarted: Open vSwitch keeps bridges in its database, the switch-to-switch veths stay in
    the root namespace). Bridges without the mark are someone else's and are not touched.
    Returns {bridge: pid of the lab that created it} for the bridges deleted.
    """
    dead = {name: pid for name, pid in bridge_marks().items() if name in names and pid}
    if dead:
        args = ["ovs-vsctl", "--timeout=10"]
        for name in sorted(dead):
            args += ["--", "--if-exists", "del-br", name]
        subprocess.run(args, capture_output=True)
        for intf in stale_interfaces(dead):  # deleting one end of a veth deletes its peer: errors expected
            subprocess.run(["ip", "link", "del", intf], capture_output=True)
    return dead


def dump_switches(names, dest: Path) -> None:
    """Flows, groups, meters and port counters of every bridge in ``names``, one file each."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in sorted(names):
        parts = []
        for what in ("dump-flows", "dump-groups", "dump-meters", "dump-ports"):
            parts.append(f"### ovs-ofctl -O OpenFlow13 {what} {name}\n{ofctl(what, name)}")
        (dest / f"{name}.txt").write_text("\n".join(parts))


_N_PACKETS = re.compile(r"n_packets=(\d+)")


def controller_packet_counts(names) -> dict:
    """Packets that matched flows sending to the controller, per kind (lldp, arp, ipv4), summed over bridges.

    These are the switches' own counts of packet-ins, independent of the controller.
    """
    counts = {"lldp": 0, "arp": 0, "ipv4": 0}
    for name in names:
        for line in ofctl("dump-flows", name).splitlines():
            if "CONTROLLER" not in line.upper().split("ACTIONS=")[-1]:
                continue
            m = _N_PACKETS.search(line)
            n = int(m.group(1)) if m else 0
            if "dl_type=0x88cc" in line:
                counts["lldp"] += n
            elif "arp" in line:
                counts["arp"] += n
            else:
                counts["ipv4"] += n
    return counts


_PORT_STATS = re.compile(r"port\s+(\S+):\s+rx pkts=(\d+), bytes=\d+, drop=(\d+), errs=(\d+).*?"
                         r"tx pkts=(\d+), bytes=\d+, drop=(\d+), errs=(\d+)", re.S)


def _port_stats(name) -> list:
    """``[(port, rx packets, rx drops + errors, tx packets, tx drops + errors), ...]`` of one bridge."""
    return [(port, int(rx), int(rx_drop) + int(rx_err), int(tx), int(tx_drop) + int(tx_err))
            for port, rx, rx_drop, rx_err, tx, tx_drop, tx_err in _PORT_STATS.findall(ofctl("dump-ports", name))]


def port_counters(name) -> dict:
    """``{port: (rx packets, tx packets)}`` of one bridge (LOCAL excluded)."""
    return {port: (rx, tx) for port, rx, _, tx, _ in _port_stats(name) if port.upper() != "LOCAL"}


_METER_DROPS = re.compile(r"meter:(\d+) .*?\n\d+: packet_count:(\d+)")


def drop_counts(names) -> dict:
    """Every place Open vSwitch counts a dropped packet: ``{"s1:2 rx": n, "s1 meter 3": n, "ovs ...": n}``.

    Per bridge in ``names``, the rx and tx drops and errors of each port and the packets each meter's band
    dropped; for the whole daemon, its coverage counters whose name says drop, and the drops of the packet
    sockets it reads ports through. Take it before and after a run; :func:`count_increase` says what grew.
    """
    counts = {}
    for name in names:
        for port, _, rx_dropped, _, tx_dropped in _port_stats(name):
            counts[f"{name}:{port} rx"], counts[f"{name}:{port} tx"] = rx_dropped, tx_dropped
        for meter, dropped in _METER_DROPS.findall(ofctl("meter-stats", name)):
            counts[f"{name} meter {meter}"] = int(dropped)
    out = subprocess.run(["ovs-appctl", "coverage/show"], capture_output=True, text=True).stdout
    for what, total in re.findall(r"^(\S*drop\S*)\s.*total: (\d+)$", out, re.M):
        if what != "datapath_drop_userspace_action_error":  # every packet sent to a controller: see README
            counts[f"ovs {what}"] = int(total)
    # The userspace datapath reads each port through a packet socket; when ovs-vswitchd falls behind, the
    # socket's buffer overflows and the kernel drops there, where no OpenFlow counter sees it.
    out = subprocess.run(["ss", "-0", "-m", "-p", "-H"], capture_output=True, text=True).stdout
    for local, drops in re.findall(r"^\S+\s+\d+\s+\d+\s+(\S+).*ovs-vswitchd.*skmem:\(.*,d(\d+)\)", out, re.M):
        counts[f"socket {local}"] = counts.get(f"socket {local}", 0) + int(drops)
    return counts


def count_increase(before: dict, after: dict) -> dict:
    """The counters that grew from ``before`` to ``after``, by how much.

    >>> count_increase({"a": 1, "b": 2}, {"a": 1, "b": 5, "c": 1})
    {'b': 3, 'c': 1}
    """
    return {k: v - before.get(k, 0) for k, v in after.items() if v > before.get(k, 0)}


def port_rx_packets(name) -> dict:
    """``{port: rx packets}`` of one bridge (LOCAL excluded)."""
    return {port: rx for port, (rx, _) in port_counters(name).items()}


def steady_packet_in_rate(switch_names, seconds: float = 10.0) -> dict:
    """Packet-ins per second by kind over ``seconds``, from the switches' flow counters."""
    before, t0 = controller_packet_counts(switch_names), time.monotonic()
    time.sleep(seconds)
    after, t1 = controller_packet_counts(switch_names), time.monotonic()
    rate = {k: (after[k] - before[k]) / (t1 - t0) for k in after}
    rate["total"] = sum(rate.values())
    return rate


def switch_tables(names) -> dict:
    """Flows (without counters), groups and meters of every bridge, sorted: for comparing states."""
    out = {}
    for name in sorted(names):
        flows = ofctl("dump-flows", "--no-stats", name).splitlines()
        groups = ofctl("dump-groups", name).splitlines()[1:]
        meters = ofctl("dump-meters", name).splitlines()[1:]
        out[name] = {"flows": sorted(flows), "groups": sorted(groups), "meters": sorted(meters)}
    return out


class PortSampler:
    """Samples the transmitted bytes of every port of the userspace datapath every ``interval`` seconds, in a
    thread (one ``ovs-appctl dpctl/show -s`` per sample: every bridge's ports at once).

    ``rates()`` gives ``[(t_end, {port name: bit/s over the interval})]`` from consecutive samples.
    """

    def __init__(self, interval: float = 0.1):
        import threading

        self.interval = interval
        self.samples: list = []  # (monotonic time, {port name: tx bytes})
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        import re
        import time

        port = re.compile(r"port \d+: (\S+)")
        tx = re.compile(r"TX bytes:(\d+)")
        while not self._stop.is_set():
            start = time.monotonic()
            out = subprocess.run(["ovs-appctl", "dpctl/show", "-s"], capture_output=True, text=True).stdout
            counts, name = {}, None
            for line in out.splitlines():
                m = port.search(line)
                if m:
                    name = m.group(1)
                m = tx.search(line)
                if m and name is not None:
                    counts[name] = int(m.group(1))
            # the counters were read somewhere during the call: date them at its middle, not its end
            self.samples.append(((start + time.monotonic()) / 2, counts))
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - start)))

    def start(self) -> "PortSampler":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def rates(self) -> list:
        out = []
        for (t0, a), (t1, b) in zip(self.samples, self.samples[1:]):
            out.append((t1, {n: 8 * (b[n] - a.get(n, b[n])) / (t1 - t0) for n in b}))
        return out
