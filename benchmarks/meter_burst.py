"""TCP through an intent's meter: goodput over allocation against the meter burst, for 1, 4 and 16 flows.

One B4 network (10 Mbit/s links), one intent h1 -> h12 at ``--rate`` (default 4 Mbit/s). For every burst
(``te_meter_burst_ms``) the controller is restarted with it (it adopts the switches' state and changes
only the meter), then iperf3 runs ``--seconds`` with 1, 4 and 16 TCP flows. Goodput is compared with
the allocation's TCP payload share (what a meter counting whole frames lets through as payload).
The burst is also given as a multiple of rate x RTT (RTT from ping through the idle path).
Needs root and Open vSwitch (scripts/setup.sh). Usage::

    .venv/bin/python benchmarks/meter_burst.py [--bursts 50,200,1000] [--flows 1,4,16] [--seconds 10]
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import time

from topologies import lab
from topologies.b4 import B4Topo

REPO = lab.REPO


def rtt_s(net, src: str, dst: str) -> float:
    out = net.get(src).cmd(f"ping -c 20 -i 0.05 {net.get(dst).IP()}")
    return float(re.search(r"= [\d.]+/([\d.]+)/", out).group(1)) / 1000


def tcp_goodput(net, flows: int, seconds: int, port: int) -> float:
    h1, h12 = net.get("h1"), net.get("h12")
    server = lab.start_iperf_server(h12, port)
    lab.wait_iperf_server(h12, port)
    return lab.received_goodput(server, lab.start_iperf_tcp(h1, h12.IP(), port, seconds, flows))


def restart_with_burst(setup, burst_ms: float) -> None:
    conf = setup.controller.conf_path
    text = re.sub(r"^te_meter_burst_ms = .*$", f"te_meter_burst_ms = {burst_ms}", conf.read_text(), flags=re.M)
    if "te_meter_burst_ms" not in text:
        text = text.replace("[te]\n", f"[te]\nte_meter_burst_ms = {burst_ms}\n")
    conf.write_text(text)
    setup.controller.restart()


def run(bursts, flow_counts, seconds: int, rate_bps: float) -> list:
    setup = lab.Setup("meter-burst", B4Topo(bw=10), REPO / "results" / "bench" / "meter-burst",
                      restore_timeout=5.0)
    rows = []
    with lab.running(setup):
        lab.wait_full_reachability(setup.net, deadline_s=60)
        rtt = rtt_s(setup.net, "h1", "h12")
        intent = setup.api.post_intent(src="10.0.0.1", dst="10.0.0.12", rate_bps=rate_bps, name="tcp",
                                       match={"ip_proto": 6})
        port = 5301
        for burst in bursts:
            restart_with_burst(setup, burst)
            time.sleep(2.0)
            alloc = setup.api.wait_allocations([intent], timeout=60)[intent]
            expected = alloc["allocated_bps"] * lab.TCP_PAYLOAD_SHARE
            for flows in flow_counts:
                port += 1
                goodput = tcp_goodput(setup.net, flows, seconds, port)
                rows.append({"burst_ms": burst, "burst_rtts": burst / 1000 / rtt, "flows": flows,
                             "goodput_bps": goodput, "ratio": goodput / expected, "rtt_ms": 1000 * rtt})
                print(f"burst {burst:6.0f} ms ({burst / 1000 / rtt:6.1f} RTT)  flows {flows:2d}  "
                      f"goodput/allocation {goodput / expected:5.2f}", flush=True)
    return rows


def table(rows) -> str:
    flows = sorted({r["flows"] for r in rows})
    lines = ["| burst (ms) | burst / RTT | " + " | ".join(f"{f} flow{'s' if f > 1 else ''}" for f in flows) + " |",
             "|---:|---:|" + "---:|" * len(flows)]
    for burst in sorted({r["burst_ms"] for r in rows}):
        cells = {r["flows"]: r["ratio"] for r in rows if r["burst_ms"] == burst}
        rtts = statistics.mean(r["burst_rtts"] for r in rows if r["burst_ms"] == burst)
        lines.append(f"| {burst:g} | {rtts:.0f} | " + " | ".join(f"{cells[f]:.2f}" for f in flows) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bursts", default="50,100,200,500,1000", help="meter bursts to try (ms of the rate)")
    ap.add_argument("--flows", default="1,4,16", help="TCP flow counts")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--rate", type=float, default=4e6, help="the intent's rate (bit/s)")
    ap.add_argument("--json", default=str(REPO / "results" / "meter_burst.json"))
    args = ap.parse_args(argv)
    problem = lab.environment_problem()
    if problem:
        ap.exit(2, f"meter_burst: {problem}\n")
    rows = run([float(b) for b in args.bursts.split(",")], [int(f) for f in args.flows.split(",")], args.seconds,
               args.rate)
    print(table(rows))
    with open(args.json, "w") as f:
        json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
