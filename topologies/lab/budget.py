"""The emulator's budget: what one machine's userspace Open vSwitch forwards before figures become artefacts.

Every switch a packet crosses costs the one ovs-vswitchd thread a lookup, so the budget is in packet-hops
per second. :data:`PKT_HOPS_BUDGET` was measured by ``benchmarks/emulator_budget.py`` on this project's
machine kind (2 cores, OVS 3.1; docs/benchmarks.md): about 70,000 with one UDP stream through 3 or 5
switches. Runs with many senders share the two cores with iperf3 itself, so a run is flagged above
:data:`SAFE_SHARE` of it.

>>> offered_pkt_hops([(1e6, 5, True)]) > offered_pkt_hops([(1e6, 5, False)])  # TCP adds ACKs
True
>>> budget_warning([(5e6, 5, True)] * 16) is not None, budget_warning([(1e6, 5, True)] * 16) is None
(True, True)
"""
from __future__ import annotations

from topologies.base import HOST_MTU

PKT_HOPS_BUDGET = 70_000.0
SAFE_SHARE = 0.5
FRAME_BITS = (HOST_MTU + 14) * 8  # a full frame at the hosts' MTU
ACKS_PER_SEGMENT = 0.5  # delayed ACKs: one per two segments, each crossing the path back


def offered_pkt_hops(flows) -> float:
    """Packet-hops per second that ``flows`` (``(rate bit/s, switches on the path, is TCP)``) ask of the emulator."""
    total = 0.0
    for rate_bps, switches, tcp in flows:
        pps = rate_bps / FRAME_BITS
        total += pps * switches * (1 + (ACKS_PER_SEGMENT if tcp else 0.0))
    return total


def budget_warning(flows) -> str | None:
    """One line saying why a run's figures would be the emulator's, or None when it is within budget."""
    offered = offered_pkt_hops(flows)
    if offered <= SAFE_SHARE * PKT_HOPS_BUDGET:
        return None
    return (f"EMULATOR BUDGET EXCEEDED: this run offers {offered:,.0f} packet-hops/s, more than {SAFE_SHARE:.0%} of "
            f"the {PKT_HOPS_BUDGET:,.0f} one ovs-vswitchd forwards here (benchmarks/emulator_budget.py): "
            "measured rates would show the emulator, not the controller; lower the link speed")


def ovs_cpu_seconds() -> float:
    """CPU seconds ovs-vswitchd has used so far (all its threads), from /proc: sample before and after a run."""
    import os

    with open("/run/openvswitch/ovs-vswitchd.pid") as f:
        pid = int(f.read().strip())
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


class StallWatch:
    """A thread that wakes every ``step`` seconds and keeps how late it woke at worst (:attr:`worst`, s).

    A stall of the whole machine (every process silent for seconds: seen once in CI, with etcd warning that
    it could not send its heartbeats) shows as one late wake-up; a measurement taken across it says nothing
    about the system under test.
    """

    def __init__(self, step: float = 0.05):
        import threading

        self.step, self.worst = step, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import time

        last = time.monotonic()
        while not self._stop.wait(self.step):
            now = time.monotonic()
            self.worst = max(self.worst, now - last - self.step)
            last = now

    def __enter__(self) -> "StallWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(2)
