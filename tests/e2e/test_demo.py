"""The README's demo (scripts/demo.py, without the set-up) runs to the end on its own and shows real numbers."""
import re
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numpy as np

from controller.client.intent_file import read_intent_file

REPO = Path(__file__).resolve().parents[2]
DEMO_OUT = REPO / "results" / "demo"
# ... REQUESTED  ALLOCATED  MEASURED  MEAS/ALLOC  [CTL-MEASURED]  STATE  PATHS
RATES = re.compile(r"\s(\d+\.\d\d)\s+(\d+\.\d\d)\s+(\d+\.\d\d)\s+(\d+\.\d\d|-)\s+(?:(?:\d+\.\d\d|-)\s+)?"
                   r"(installed|partial)\s+s\d+-s\d+")


def test_demo_runs_to_completion_and_reports_every_intent():
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "demo.py"), "--seconds", "8"], cwd=REPO,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    assert "demo: cleanup" not in output and "demo: error" not in output, output[-4000:]

    intents = read_intent_file(str(REPO / "examples" / "b4-intents.yaml"))
    rows = {}
    for intent in intents:
        row = re.search(rf"^{re.escape(intent.name)}\s+{re.escape(intent.src)} -> {re.escape(intent.dst)}\s.*$",
                        proc.stdout, re.M)
        assert row, f"no table row for {intent.name}:\n{proc.stdout[-4000:]}"
        rates = RATES.search(row.group(0))
        assert rates, row.group(0)
        requested, allocated, measured = (float(x) for x in rates.groups()[:3])
        rows[intent.name] = (requested, allocated, measured, rates.group(5))
        assert requested == round(intent.rate_bps / 1e6, 2), row.group(0)
        assert 0 < allocated <= requested and measured > 0, row.group(0)
        assert measured <= 1.15 * allocated, f"the meter should hold {intent.name} to its allocation: {row.group(0)}"
    assert any(state == "partial" for *_, state in rows.values()), "the sample intents over-subscribe some links"
    assert re.search(r"\d+/\d+\] .*\(t=\d+\.\d s\)", proc.stdout), "progress lines with timings"

    for name in ("utilization_map.png", "utilization_planned.png", "intent_rates.png"):
        path = DEMO_OUT / name
        assert str(path.relative_to(REPO)) in proc.stdout
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000, path
        pixels = matplotlib.image.imread(path)[:, :, :3]
        colours = np.unique((pixels * 255).round().astype(int).reshape(-1, 3), axis=0)
        assert len(colours) > 50, f"{path} looks blank ({len(colours)} colours)"


def test_demo_ha_survives_the_leader_being_killed():
    """``demo.sh --ha``: three controllers on etcd; the leader dies mid-traffic and every intent still gets
    what it was allocated (measured by iperf3), with no OpenFlow change from the new leader."""
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "demo.py"), "--ha", "--seconds", "10"], cwd=REPO,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    killed = re.search(r"c(\d) \(the leader\) was SIGKILLed .*: c(\d) led (\d+\.\d+) s later and sent (\d+) OpenFlow",
                       proc.stdout)
    assert killed, proc.stdout[-3000:]
    assert killed[1] != killed[2] and float(killed[3]) < 5 and killed[4] == "0", killed.group(0)
    for intent in read_intent_file(str(REPO / "examples" / "b4-intents.yaml")):
        row = re.search(rf"^{re.escape(intent.name)}\s+{re.escape(intent.src)} -> .*$", proc.stdout, re.M)
        assert row, f"no row for {intent.name}"
        requested, allocated, measured = (float(x) for x in RATES.search(row.group(0)).groups()[:3])
        assert 0.9 * allocated <= measured <= 1.15 * allocated, row.group(0)
