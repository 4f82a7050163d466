"""Rates from byte counters polled from the switches: link loads from port counters, intent rates from meters."""
from __future__ import annotations


class ByteRates:
    """Rate per key (whose first item is a dpid) from successive byte counter samples (time passed in).

    >>> r = ByteRates()
    >>> r.update((1, 2), 0, now=10.0), r.update((1, 2), 2_500_000, now=12.0)
    (None, 10000000.0)
    >>> r.rates_bps()
    {(1, 2): 10000000.0}
    >>> r.update((1, 2), 100, now=13.0) is None  # the counter went back: the port or meter was reset
    True
    """

    def __init__(self):
        self._last: dict = {}  # key -> (bytes, time)
        self._rate: dict = {}  # key -> bit/s

    def update(self, key: tuple, byte_count: int, now: float) -> float | None:
        """Record a sample; return the rate since the previous one (None for the first, or after a reset)."""
        last = self._last.get(key)
        self._last[key] = (byte_count, now)
        if last is None or byte_count < last[0] or now <= last[1]:
            self._rate.pop(key, None)
            return None
        rate = 8.0 * (byte_count - last[0]) / (now - last[1])
        self._rate[key] = rate
        return rate

    def retain(self, dpid: int, keys) -> None:
        """Forget the keys of switch ``dpid`` not in ``keys`` (entries that are gone)."""
        keep = set(keys)
        self._last = {k: v for k, v in self._last.items() if k[0] != dpid or k in keep}
        self._rate = {k: v for k, v in self._rate.items() if k[0] != dpid or k in keep}

    def forget(self, dpid: int) -> None:
        """Drop a switch's samples (it disconnected; its counters restart)."""
        self.retain(dpid, ())

    def last(self, key: tuple) -> tuple | None:
        """``(bytes, time)`` of the latest sample of ``key``."""
        return self._last.get(key)

    def get(self, key: tuple) -> float | None:
        return self._rate.get(key)

    def rates_bps(self) -> dict:
        return dict(self._rate)


def meter_passed_bytes(byte_in: int, band_bytes) -> int:
    """Bytes a meter let through: all it saw less what its (drop) bands dropped.

    >>> meter_passed_bytes(10_000, [3_000])
    7000
    """
    return byte_in - sum(band_bytes)
