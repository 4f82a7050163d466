"""Traffic in the lab: iperf3 servers and clients on Mininet hosts, and the goodput they measure."""
from __future__ import annotations

import json
import re
import time

from topologies.base import HOST_MTU

UDP_PAYLOAD = 1400  # iperf3 -l: one datagram fits the hosts' 1450-byte MTU
# What a meter and a shaped link count per datagram beyond the payload: UDP 8 + IPv4 20 + Ethernet 14.
UDP_FRAME = UDP_PAYLOAD + 8 + 20 + 14


# A full TCP segment at the hosts' MTU: payload = MTU - IPv4 20 - TCP 20 - timestamps 12; frame = MTU + Ethernet 14.
TCP_PAYLOAD_SHARE = (HOST_MTU - 52) / (HOST_MTU + 14)


def goodput_of(frame_bps: float) -> float:
    """The UDP payload rate iperf3 reports when frames (what meters count) arrive at ``frame_bps``."""
    return frame_bps * UDP_PAYLOAD / UDP_FRAME


def start_iperf_server(host, port: int):
    return host.popen(["iperf3", "-s", "-1", "-J", "-p", str(port)])


def start_iperf_udp(host, server_ip: str, port: int, rate_bps: float, seconds: int, parallel: int = 1):
    """``parallel`` UDP streams (different source ports) offering ``rate_bps`` of payload in total."""
    return host.popen(["iperf3", "-c", server_ip, "-p", str(port), "-u", "-b", str(int(rate_bps / parallel)),
                       "-l", str(UDP_PAYLOAD), "-t", str(seconds), "-P", str(parallel), "-J"])


def start_iperf_tcp(host, server_ip: str, port: int, seconds: int, parallel: int = 1):
    return host.popen(["iperf3", "-c", server_ip, "-p", str(port), "-t", str(seconds), "-P", str(parallel), "-J"])


def received_goodput(server, client, skip: int = 2) -> float:
    """Mean received payload rate (bit/s) at an iperf3 server over its 1-second intervals, first ``skip`` left out.

    The first seconds carry the meter's burst and the start-up; later intervals are the steady state.
    """
    client.communicate(timeout=120)
    out, _ = server.communicate(timeout=30)
    report = json.loads(out)
    rates = [iv["sum"]["bits_per_second"] for iv in report["intervals"]]
    steady = rates[skip:-1] if len(rates) > skip + 2 else rates  # the last interval is often partial
    return sum(steady) / len(steady)


def wait_iperf_server(host, port: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while f":{port} " not in host.cmd(f"ss -lnH 'sport = :{port}'") + " ":
        if time.monotonic() > deadline:
            raise AssertionError(f"iperf3 server on {host.name}:{port} did not start")
        time.sleep(0.05)


def udp_goodputs(net, flows, seconds: int = 8) -> list:
    """Run UDP flows at the same time and measure each one's received goodput.

    ``flows``: ``[(src_name, dst_name, offered_payload_bps, parallel), ...]``.
    """
    servers, clients = [], []
    for n, (src, dst, _, _) in enumerate(flows):
        port = 5201 + n
        servers.append(start_iperf_server(net.get(dst), port))
        wait_iperf_server(net.get(dst), port)
    for n, (src, dst, rate, parallel) in enumerate(flows):
        clients.append(start_iperf_udp(net.get(src), net.get(dst).IP(), 5201 + n, rate, seconds, parallel))
    return [received_goodput(s, c) for s, c in zip(servers, clients)]


# Run inside a Mininet host: count the DSCP of the IPv4 packets arriving on its interface, per source address.
# A raw AF_PACKET socket, so the lab needs no tcpdump; prints {"10.0.0.1": {"46": 120}, ...}.
_DSCP_CAPTURE = r"""
import json, socket, sys, time
iface, seconds = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0800))
s.bind((iface, 0))
s.settimeout(0.2)
seen, end = {}, time.monotonic() + seconds
while time.monotonic() < end:
    try:
        frame, (_, _, kind, *_rest) = s.recvfrom(65535)
    except socket.timeout:
        continue
    if kind == socket.PACKET_OUTGOING or len(frame) < 34 or frame[12:14] != b"\x08\x00":
        continue
    src, dscp = socket.inet_ntoa(frame[26:30]), frame[15] >> 2
    per = seen.setdefault(src, {})
    per[str(dscp)] = per.get(str(dscp), 0) + 1
print(json.dumps(seen))
"""


def start_dscp_capture(host, seconds: float):
    """Start counting the DSCP values of IPv4 packets arriving at ``host``; :func:`dscp_counts` reads the result."""
    import sys

    return host.popen([sys.executable, "-c", _DSCP_CAPTURE, host.defaultIntf().name, str(seconds)])


def dscp_counts(capture) -> dict:
    """``{source address: {dscp: packets}}`` of a :func:`start_dscp_capture`, once it has finished."""
    out, err = capture.communicate(timeout=60)
    if capture.returncode != 0:
        raise AssertionError(f"DSCP capture failed: {err.decode(errors='replace')[-500:]}")
    return {src: {int(d): n for d, n in per.items()} for src, per in json.loads(out).items()}


def host_queue_drops(host) -> int:
    """Packets the root queue of ``host``'s interface dropped so far (a UDP sender sees them as ENOBUFS).

    Mininet shapes a host's link at the host too, with a queue of 50 ms at the link's rate (62,500 bytes at
    10 Mbit/s): an iperf3 UDP client that was not scheduled for a while sends what it owes at once, and what
    does not fit is dropped there, before any switch sees it; iperf3 still counts it sent, and lost.
    """
    out = host.cmd(f"tc -s qdisc show dev {host.defaultIntf().name} root")
    found = re.search(r"dropped (\d+)", out)
    return int(found[1]) if found else 0


def udp_loss(server, client) -> tuple:
    """``(lost, sent)`` datagrams of a finished iperf3 UDP test, as its server counted them."""
    report = udp_report(server, client)
    return report["lost"], report["sent"]


def udp_report(server, client) -> dict:
    """``{"lost", "sent", "loss_at"}`` of a finished iperf3 UDP test, as its server counted them.

    ``loss_at`` lists ``(unix_time, lost)`` for every 1-second interval of the server's report that lost
    datagrams; the time is the interval's start (iperf3 stamps the test start to the whole second).
    """
    sent_out, _ = client.communicate(timeout=120)
    out, _ = server.communicate(timeout=30)
    for report in (json.loads(out), json.loads(sent_out)):
        end = report.get("end", {})
        total = end.get("sum") or end.get("sum_received")
        if total is None and end.get("streams"):
            udp = [s["udp"] for s in end["streams"] if "udp" in s]
            total = {"lost_packets": sum(u["lost_packets"] for u in udp), "packets": sum(u["packets"] for u in udp)}
        if total is not None and "lost_packets" in total:
            started = report.get("start", {}).get("timestamp", {}).get("timesecs", 0)
            loss_at = [(started + iv["sum"]["start"], iv["sum"]["lost_packets"])
                       for iv in report.get("intervals", []) if iv.get("sum", {}).get("lost_packets")]
            return {"lost": int(total["lost_packets"]), "sent": int(total["packets"]), "loss_at": loss_at}
    raise AssertionError(f"iperf3 reported no UDP totals: server {out[-300:]!r}, client {sent_out[-300:]!r}")
