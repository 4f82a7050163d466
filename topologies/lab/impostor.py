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


def _split(buf: bytes) -> tuple:
    """The whole OpenFlow messages at the start of ``buf`` as (type, xid, body), and the bytes left over.

    >>> _split(_message(HELLO, 1) + _message(ECHO_REQUEST, 2, b"hi") + b"\\x04")
    ([(0, 1, b''), (2, 2, b'hi')], b'\\x04')
    """
    out = []
    while len(buf) >= 8:
        _, kind, length, xid = struct.unpack("!BBHI", buf[:8])
        if len(buf) < length:
            break
        out.append((kind, xid, buf[8:length]))
        buf = buf[length:]
    return out, buf


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
                messages, buf = _split(buf + data)
                for kind, xid, body in messages:
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


ERROR, ROLE_REQUEST, ROLE_REPLY = 1, 24, 25
ROLE_MASTER, ROLE_SLAVE = 2, 3


class LateController:
    """A controller connection that plays a leader's and then replays what a deposed leader sends late: it
    listens on a port the lab adds to one switch's controllers, claims MASTER with a generation id, and later
    sends a flow-mod and claims MASTER again with the same, by then old, generation.

    A thread answers the switch's echo requests and keeps its answers. :meth:`claim` and :meth:`flow_mod`
    return the switch's answer: ``("role", role, generation)`` for a role reply, ``("error", type, code)``
    for an error (OFPRRFC_STALE is type 11 code 0; OFPBRC_IS_SLAVE type 1 code 10), or ``("none",)`` when
    the switch sent neither within the timeout (a flow-mod it took).
    """

    def __init__(self):
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(1)
        self.port = self._listener.getsockname()[1]
        self._sock = None
        self._xid = 100
        self._answers: dict = {}
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = None

    def accept(self, timeout: float = 10.0) -> None:
        self._listener.settimeout(timeout)
        self._sock, _ = self._listener.accept()
        self._sock.settimeout(0.2)
        self._sock.sendall(_message(HELLO, 1))
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        buf = b""
        while not self._stop.is_set():
            try:
                data = self._sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if not data:
                return
            messages, buf = _split(buf + data)
            for kind, xid, body in messages:
                if kind == ECHO_REQUEST:
                    self._sock.sendall(_message(ECHO_REPLY, xid, body))
                elif kind == ROLE_REPLY:
                    role, generation = struct.unpack("!I4xQ", body[:16])
                    self._answer_is(xid, ("role", role, generation))
                elif kind == ERROR:
                    self._answer_is(xid, ("error",) + struct.unpack("!HH", body[:4]))

    def _answer_is(self, xid: int, answer: tuple) -> None:
        with self._cond:
            self._answers[xid] = answer
            self._cond.notify_all()

    def _send(self, kind: int, body: bytes) -> int:
        self._xid += 1
        self._sock.sendall(_message(kind, self._xid, body))
        return self._xid

    def _answer(self, xid: int, timeout: float) -> tuple:
        with self._cond:
            self._cond.wait_for(lambda: xid in self._answers, timeout)
            return self._answers.get(xid, ("none",))

    def claim(self, generation: int, role: int = ROLE_MASTER, timeout: float = 3.0) -> tuple:
        return self._answer(self._send(ROLE_REQUEST, struct.pack("!I4xQ", role, generation)), timeout)

    def flow_mod(self, timeout: float = 1.0) -> tuple:
        """Add a flow that changes nothing (table 0, priority 1, cookie 0xdead, match all, no instructions)."""
        body = struct.pack("!QQBBHHHIIIH2x", 0xDEAD, 0, 0, 0, 0, 0, 1, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
        body += struct.pack("!HH4x", 1, 4)  # an empty OXM match, padded to 8 bytes
        return self._answer(self._send(FLOW_MOD, body), timeout)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        if self._sock is not None:
            self._sock.close()
        self._listener.close()
