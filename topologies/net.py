"""Start and stop a Mininet network of userspace Open vSwitch bridges.

The one place that knows how this machine runs Mininet (see README,
troubleshooting): OVS userspace datapath (no kernel module), OpenFlow 1.3
only, fail-mode secure (a bridge without its controller forwards nothing,
so no loop floods before the controller is up), TCLink with checksum and
segmentation offloads off (TCP stalls through userspace OVS otherwise).
"""
import subprocess
import time
from functools import partial

from mininet.link import TCULink
from mininet.net import Mininet
from mininet.node import OVSSwitch, RemoteController


def start_network(topo, controller_port=6653, controller_ip="127.0.0.1", protocol="tcp"):
    """Build and start ``topo``; return the started :class:`mininet.net.Mininet`.

    ``protocol="ssl"`` connects the switches with TLS (Open vSwitch's own key and certificates
    must be set first, ``ovs-vsctl set-ssl``).

    Does not wait for the controller: callers poll for what they need.
    """
    switch = partial(OVSSwitch, datapath="user", protocols="OpenFlow13", failMode="secure")
    net = Mininet(
        topo=topo,
        switch=switch,
        link=TCULink,
        controller=partial(RemoteController, ip=controller_ip, port=controller_port, protocol=protocol),
        autoSetMacs=False,
        build=False,
        waitConnected=False,
    )
    try:
        net.build()
        net.start()
        for host in net.hosts:
            # IPv6 autoconfiguration chatter would only reach the controller as noise.
            host.cmd("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1")
    except BaseException:
        stop_network(net)
        raise
    return net


def interrupt_busy_shells(net, timeout_s=2.0):
    """Interrupt host commands cut short (e.g. a ping round stopped by Ctrl-C).

    Mininet cannot stop a host whose shell is still busy, and would leave its veths behind.
    """
    for host in net.hosts:
        if host.shell is not None and host.waiting:
            host.sendInt()
            deadline = time.monotonic() + timeout_s
            while host.waiting and time.monotonic() < deadline:
                host.monitor(timeoutms=200)
            host.waiting = False


def stop_network(net):
    """Stop ``net`` and delete any of its bridges that survived (idempotent)."""
    names = [s.name for s in net.switches]
    try:
        interrupt_busy_shells(net)
        net.stop()
    finally:
        existing = subprocess.run(["ovs-vsctl", "--timeout=10", "list-br"], capture_output=True, text=True).stdout.split()
        for name in names:
            if name in existing:
                subprocess.run(["ovs-vsctl", "--timeout=10", "--if-exists", "del-br", name], capture_output=True)
