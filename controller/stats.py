"""Measured link loads from port counters: the transmit rate of every switch port between two polls."""
from __future__ import annotations


class PortRates:
    """Transmit rate per ``(dpid, port)`` from successive ``tx_bytes`` samples (time passed in).

    >>> r = PortRates()
    >>> r.update(1, 2, 0, now=10.0), r.update(1, 2, 2_500_000, now=12.0)
    (None, 10000000.0)
    >>> r.rates_bps()
    {(1, 2): 10000000.0}
    >>> r.update(1, 2, 100, now=13.0) is None  # counters went back: the port was reset
    True
    """

    def __init__(self):
        self._last: dict = {}  # (dpid, port) -> (tx_bytes, time)
        self._rate: dict = {}  # (dpid, port) -> bit/s

    def update(self, dpid: int, port: int, tx_bytes: int, now: float) -> float | None:
        """Record a sample; return the rate since the previous one (None for the first, or after a reset)."""
        key = (dpid, port)
        last = self._last.get(key)
        self._last[key] = (tx_bytes, now)
        if last is None or tx_bytes < last[0] or now <= last[1]:
            self._rate.pop(key, None)
            return None
        rate = 8.0 * (tx_bytes - last[0]) / (now - last[1])
        self._rate[key] = rate
        return rate

    def forget(self, dpid: int) -> None:
        """Drop a switch's samples (it disconnected; its counters restart)."""
        self._last = {k: v for k, v in self._last.items() if k[0] != dpid}
        self._rate = {k: v for k, v in self._rate.items() if k[0] != dpid}

    def rates_bps(self) -> dict:
        return dict(self._rate)
