"""B4 demo: plan with the TE engine, then run the controller on an emulated B4 and measure it.

1. writes the B4 topology (every link 10 Mbit/s) and a demand file between its sites;
2. runs ``te-solve`` on them (exact max-min fairness) and prints its summary;
3. starts ``ryu-manager`` with controller.app and B4 in Mininet (userspace OVS), waits for every host
   to reach every other one, and reports how long that took;
4. drives iperf3 between sites across the WAN and prints the throughput;
5. stops everything it started (also on Ctrl-C), or with ``--stay`` opens the Mininet CLI first.

Everything it writes goes to ``results/demo/`` (controller log, topology, demands, allocation).
"""
import argparse
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from topologies.b4 import B4Topo  # noqa: E402
from topologies.lab import Setup, environment_problem, wait_full_reachability  # noqa: E402

OUT = REPO / "results" / "demo"
# (source site, destination site, Mbit/s): more than the WAN can carry between the coasts.
DEMANDS = [(1, 12, 8), (2, 11, 8), (3, 10, 6), (4, 9, 4), (5, 8, 6), (6, 7, 3), (1, 8, 5), (12, 2, 7)]


def step(text):
    print(f"\n==> {text}", flush=True)


def plan(topo):
    topo_file, demand_file, out_file = OUT / "b4.json", OUT / "demands.json", OUT / "allocation.json"
    topo.write_topology_file(str(topo_file))
    demand_file.write_text(json.dumps([
        {"id": f"s{a}->s{b}", "src": f"s{a}", "dst": f"s{b}", "rate_bps": mbps * 1e6} for a, b, mbps in DEMANDS],
        indent=1))
    subprocess.run([str(REPO / ".venv" / "bin" / "te-solve"), "--topology", str(topo_file), "--demands",
                    str(demand_file), "--objective", "max-min", "--paths", "4", "--output", str(out_file)], check=True)
    return topo_file


def iperf(net, pairs, seconds):
    servers = [net.get(f"h{b}").popen(["iperf3", "-s", "-1", "-p", str(5201 + i)]) for i, (_, b) in enumerate(pairs)]
    time.sleep(0.5)
    clients = [net.get(f"h{a}").popen(["iperf3", "-c", net.get(f"h{b}").IP(), "-p", str(5201 + i), "-t", str(seconds),
                                        "-J"], stdout=subprocess.PIPE) for i, (a, b) in enumerate(pairs)]
    rows = []
    for (a, b), client in zip(pairs, clients):
        out, _ = client.communicate(timeout=seconds + 30)
        try:
            bps = json.loads(out)["end"]["sum_received"]["bits_per_second"]
        except (ValueError, KeyError):
            bps = float("nan")
        rows.append((f"h{a} -> h{b}", bps))
    for s in servers:
        if s.poll() is None:
            s.terminate()
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stay", action="store_true", help="open the Mininet CLI before stopping")
    parser.add_argument("--seconds", type=int, default=8, help="iperf3 duration (default 8)")
    args = parser.parse_args()
    problem = environment_problem()
    if problem:
        sys.exit(f"demo: {problem}")
    OUT.mkdir(parents=True, exist_ok=True)
    topo = B4Topo(bw=10)

    step("Planning B4 with the TE engine (te-solve, exact max-min, 4 candidate paths per demand)")
    plan(topo)

    step("Starting ryu-manager (controller.app) and B4 in Mininet: 12 OVS switches, 19 links at 10 Mbit/s")
    setup = Setup("demo", topo, OUT)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        setup.start()
        print(f"controller log: {setup.controller.log_path}")
        reached, rounds = wait_full_reachability(setup.net, deadline_s=90)
        print(f"all 132 host pairs reach each other {reached - setup.controller.started_at:.1f} s after the "
              f"controller started ({len(rounds)} ping rounds)")

        step(f"iperf3 across the WAN for {args.seconds} s (ECMP over equal-cost paths, TCP)")
        for name, bps in iperf(setup.net, [(1, 12), (2, 11), (3, 10)], args.seconds):
            print(f"  {name:12s} {bps / 1e6:6.2f} Mbit/s")
        if args.stay:
            from mininet.cli import CLI
            step("Mininet CLI: try 'pingall', 'h1 ping h12', 'sh ovs-ofctl -O OpenFlow13 dump-groups s1'; exit ends")
            CLI(setup.net)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
    finally:
        step("Stopping the network and the controller")
        problems = setup.stop()
        for p in problems:
            print(f"cleanup: {p}", file=sys.stderr)
    print(f"\nresults in {OUT}")


if __name__ == "__main__":
    main()
