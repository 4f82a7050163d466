"""A fake OpenFlow 1.3 switch that claims a datapath id: what a hostile host on the OpenFlow port could do.

It says hello, answers the features request with the claimed dpid, answers echo, barrier and
multipart requests with empty replies, and counts every message type the controller sends it.
Used by the e2e test that a connection claiming a connected switch's dpid does not displace it.
"""
from __future__ import annotations

import socket
import struct
import threading
import time
from collections import Counter

OFP_VERSION = 4
HELLO, ECHO_REQUEST, ECHO_REPLY, FEATURES_REQUEST, FEATURES_REPLY = 0, 2, 3, 5, 6
FLOW_MOD, MULTIPART_REQUEST, MULTIPART_REPLY, BARRIER_REQUEST, BARRIER_REPLY = 14, 18, 19, 20, 21


def _message(kind: int, xid: int, body: bytes = b"") -> bytes:
    return struct.pack("!BBHI", OFP_VERSION, kind, 8 + len(body), xid) + body


class Impostor:
    """Connect to ``host:port`` claiming ``dpid``; runs in a thread until :meth:`close`.

    ``received`` counts the message types the controller sent; ``closed_by_peer`` is set when the
    controller closed the connection.
    """

    def __init__(self, host: str, port: int, dpid: int):
        self.dpid = dpid
        self.received: Counter = Counter()
        self.closed_by_peer = threading.Event()
        self._sock = socket.create_connection((host, port), timeout=5)
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _reply(self, kind: int, xid: int, body: bytes) -> None:
        if kind == ECHO_REQUEST:
            self._sock.sendall(_message(ECHO_REPLY, xid, body))
        elif kind == FEATURES_REQUEST:
            features = struct.pack("!QIBB2xII", self.dpid, 0, 254, 0, 0x4F, 0)
            self._sock.sendall(_message(FEATURES_REPLY, xid, features))
        elif kind == MULTIPART_REQUEST:
            mp_type = struct.unpack("!H", body[:2])[0] if len(body) >= 2 else 0
            self._sock.sendall(_message(MULTIPART_REPLY, xid, struct.pack("!HH4x", mp_type, 0)))
        elif kind == BARRIER_REQUEST:
            self._sock.sendall(_message(BARRIER_REPLY, xid))

    def _run(self) -> None:
        buf = b""
        try:
            self._sock.sendall(_message(HELLO, 1))
            while not self._stop.is_set():
                try:
                    data = self._sock.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    self.closed_by_peer.set()
                    return
                buf += data
                while len(buf) >= 8:
                    _, kind, length, xid = struct.unpack("!BBHI", buf[:8])
                    if len(buf) < length:
                        break
                    body, buf = buf[8:length], buf[length:]
                    self.received[kind] += 1
                    self._reply(kind, xid, body)
        except OSError:
            self.closed_by_peer.set()

    def wait_closed(self, timeout: float) -> bool:
        return self.closed_by_peer.wait(timeout)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()

    def __enter__(self) -> "Impostor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def wait_until(predicate, timeout: float, step: float = 0.05) -> float:
    """Poll ``predicate`` until it is true; seconds it took. AssertionError after ``timeout``."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(step)
    return time.monotonic() - start
