"""Start and stop a Mininet network of userspace Open vSwitch bridges.

The one place that knows how this machine runs Mininet (see README,
troubleshooting): OVS userspace datapath (no kernel module), OpenFlow 1.3
only, fail-mode secure (a bridge without its controller forwards nothing,
so no loop floods before the controller is up), TCLink with checksum and
segmentation offloads off (TCP stalls through userspace OVS otherwise), and every shaped
link's queue bounded to :data:`QUEUE_MS` of its rate (:func:`bound_queues`).
"""
import codecs
import subprocess
import time
from functools import partial

from mininet.link import TCULink
from mininet.net import Mininet
from mininet.node import OVSSwitch, RemoteController

# A shaped link queues this long at its rate, at least QUEUE_MIN_FRAMES full frames (a switch-like
# shallow buffer). Mininet's TCLink leaves the interface's 1000 packets behind the htb shaper: 12 s at
# 1 Mbit/s, where TCP flows fill it and the ACKs of every other flow on that link wait seconds behind
# them (bandwidth tests then measure stalls, not allocations). Its max_queue_size needs netem, which
# this kernel lacks; a bfifo under the htb class does the same.
QUEUE_MS = 50.0
QUEUE_MIN_FRAMES = 10
FRAME_BYTES = 1514


def queue_bytes(bw_mbps: float, queue_ms: float = QUEUE_MS) -> int:
    """The queue limit of a link of ``bw_mbps``.

    >>> queue_bytes(1), queue_bytes(10), queue_bytes(1000)
    (15140, 62500, 6250000)
    """
    return max(QUEUE_MIN_FRAMES * FRAME_BYTES, round(bw_mbps * 1e6 * queue_ms / 1000 / 8))


def bound_queues(net, queue_ms: float = QUEUE_MS) -> None:
    """Put a bfifo of :func:`queue_bytes` under the htb class of every shaped interface of ``net``."""
    for link in net.links:
        for intf in (link.intf1, link.intf2):
            bw = (getattr(intf, "params", None) or {}).get("bw")
            if bw:
                intf.tc(f"%s qdisc replace dev %s parent 5:1 handle 10: bfifo limit {queue_bytes(bw, queue_ms)}")


def lenient_controller_probe():
    """Make Mininet's check of a remote controller read its answer leniently.

    ``RemoteController.checkListening`` pipes ``telnet`` to the controller's port and decodes what
    comes back (the controller's OpenFlow HELLO) as UTF-8; the HELLO's random xid bytes make that fail
    at random (``UnicodeDecodeError`` in ``Node.read``), and ``mn`` then cleans up and kills every
    ``ryu-manager``. Undecodable bytes become U+FFFD instead; the check still warns when nothing listens.
    Used by the lab and, through :mod:`topologies.mnboot`, by ``mn --custom``.
    """
    if getattr(RemoteController, "_lenient_probe", False):
        return
    original = RemoteController.checkListening

    def checkListening(self):
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        return original(self)

    RemoteController.checkListening = checkListening
    RemoteController._lenient_probe = True


class _OVSSwitch(OVSSwitch):
    """Mininet's OVS switch whose bridge is created with ``external_ids`` (in the same ``ovs-vsctl`` call)."""

    def __init__(self, name, external_ids=None, **params):
        super().__init__(name, **params)
        self.external_ids = dict(external_ids or {})

    def bridgeOpts(self):
        return super().bridgeOpts() + "".join(f" external_ids:{k}={v}" for k, v in self.external_ids.items())


def start_network(topo, controller_port=6653, controller_ip="127.0.0.1", protocol="tcp", controller_ports=(),
                  external_ids=None):
    """Build and start ``topo``; return the started :class:`mininet.net.Mininet`.

    ``controller_ports``: several controllers (on ``controller_ip``), every switch connected to each of them
    (``ovs-vsctl set-controller`` with all their targets), instead of the one at ``controller_port``.

    ``protocol="ssl"`` connects the switches with TLS (Open vSwitch's own key and certificates
    must be set first, ``ovs-vsctl set-ssl``).

    ``external_ids``: keys and values set on every bridge as it is created (the lab marks its bridges so
    that a later lab can tell them from someone else's, see :func:`topologies.lab.switches.clear_dead_lab`).

    Does not wait for the controller: callers poll for what they need.
    """
    lenient_controller_probe()
    switch = partial(_OVSSwitch, datapath="user", protocols="OpenFlow13", failMode="secure",
                     external_ids=external_ids)
    ports = list(controller_ports) or [controller_port]
    net = Mininet(
        topo=topo,
        switch=switch,
        link=TCULink,
        controller=None,
        autoSetMacs=False,
        build=False,
        waitConnected=False,
    )
    for n, port in enumerate(ports):
        net.addController(RemoteController(f"c{n}", ip=controller_ip, port=port, protocol=protocol))
    try:
        net.build()
        net.start()
        bound_queues(net)
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
