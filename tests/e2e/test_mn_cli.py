"""The topology files work with Mininet's own ``mn --custom`` command, as the README documents.

``mn`` is Debian's /usr/bin/python3 script: the topology files re-execute it in
the venv (see topologies/mnboot.py). The network is Mininet's own here, so
teardown checks that it left no bridge behind and deletes any that it did.
"""
import re
import subprocess

from topologies import lab
import pytest

from topologies.b4 import B4Topo
from topologies.fattree import FatTreeTopo

CASES = {
    "b4": (B4Topo(bw=10), "topologies/b4.py", "b4,bw=10"),
    "fattree": (FatTreeTopo(k=4, bw=10), "topologies/fattree.py", "fattree,k=4,bw=10"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_mn_custom_pingall(name, artifacts):
    topo, custom, topo_arg = CASES[name]
    switches = set(topo.switches())
    lock, topo_file = lab.take_turn(switches, topo, artifacts)  # mn's bridges are unmarked: not cleared if left
    controller = lab.Controller(artifacts, topo_file)
    pre = artifacts / "pre.mn"
    # Give LLDP time to find the links before the first ping (the controller only
    # sends ARP out of host ports once a switch's links are known).
    pre.write_text("sh sleep 5\n")
    cmd = ["mn", "--custom", custom, "--topo", topo_arg,
           "--switch", "ovs,datapath=user,protocols=OpenFlow13",
           "--controller", f"remote,ip=127.0.0.1,port={controller.port}",
           "--link", "tcu", "--pre", str(pre), "--test", "pingall"]
    try:
        controller.start()
        run = subprocess.run(cmd, cwd=lab.REPO, capture_output=True, text=True, timeout=240,
                             stdin=subprocess.DEVNULL)
        (artifacts / "mn.out").write_text(run.stdout + run.stderr)
        output = run.stdout + run.stderr
        assert run.returncode == 0, output[-3000:]
        dropped = re.search(r"Results: (\d+)% dropped \((\d+)/(\d+) received\)", output)
        assert dropped, output[-3000:]
        assert dropped.group(1) == "0", output[-3000:]
        n = len(topo.hosts())
        assert int(dropped.group(3)) == n * (n - 1)
    finally:
        left = switches & lab.bridges()
        for bridge in sorted(left):
            subprocess.run(["ovs-vsctl", "--timeout=10", "--if-exists", "del-br", bridge], capture_output=True)
        controller.stop()
        lock.close()
    assert not left, f"mn left bridges behind: {sorted(left)}"
    problems = controller.log_problems()
    assert not problems, problems[:10]
