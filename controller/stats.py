"""Rates and totals from byte counters polled from the switches: link loads from port counters, intent rates
from meters (:class:`ByteRates`, for the JSON views); byte totals that never go back (:class:`TrafficTotals`)
and the TE solve durations (:class:`Durations`), for the Prometheus counters and histogram of /metrics."""
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


def meter_sample(meter_id: int, byte_in: int, band_bytes) -> tuple:
    """``(meter_id, bytes let through, bytes dropped)`` of one meter's stats, for :meth:`Core.meter_counters`.

    Every band of a TE meter is a drop band, so what its bands counted is what it dropped.

    >>> meter_sample(7, 10_000, [3_000])
    (7, 7000, 3000)
    """
    dropped = sum(band_bytes)
    return meter_id, byte_in - dropped, dropped


class ByteTotals:
    """Totals that never go back, per key (whose first item is a dpid), from byte counters that may restart at 0.

    A sample adds what the counter grew since the previous sample of its key; a sample below the
    previous one means the counter restarted (the switch, port or meter was reset), and it adds
    the sample itself, what was counted since the restart. The first sample of a key adds all of
    it. Samples are kept when a switch disconnects, so a switch back with its counters intact
    adds only what it counted meanwhile. (A counter that restarted and grew past its previous
    value between two samples is taken as not restarted: that undercounts, it never goes back.)

    >>> t = ByteTotals()
    >>> t.update((1, 2), 1_000), t.update((1, 2), 1_500), t.update((1, 2), 200)  # restarted after 1500
    (1000, 500, 200)
    >>> t.total((1, 2)), t.total((1, 3))
    (1700, None)
    """

    def __init__(self):
        self._last: dict = {}  # key -> latest raw counter value
        self._total: dict = {}  # key -> total

    def update(self, key: tuple, byte_count: int) -> int:
        """Record a sample; return what it adds to the key's total."""
        last = self._last.get(key)
        grown = byte_count if last is None or byte_count < last else byte_count - last
        self._last[key] = byte_count
        self._total[key] = self._total.get(key, 0) + grown
        return grown

    def total(self, key: tuple) -> int | None:
        return self._total.get(key)

    def totals(self) -> dict:
        return dict(self._total)

    def retain(self, dpid: int, keys) -> None:
        """Forget the keys of switch ``dpid`` not in ``keys`` (entries deleted from the switch)."""
        keep = set(keys)
        self._last = {k: v for k, v in self._last.items() if k[0] != dpid or k in keep}
        self._total = {k: v for k, v in self._total.items() if k[0] != dpid or k in keep}


class TrafficTotals:
    """The byte counters of /metrics: per link port what it transmitted, per intent what its meter let
    through and what its drop band dropped; each only grows (see :class:`ByteTotals`).

    An intent's totals are the sum of what each of its meters added while the intent owned it, so
    they keep growing when its meter is replaced or its switch's counters restart.

    >>> t = TrafficTotals()
    >>> t.ports(1, [(2, 5_000)]); t.ports(1, [(2, 7_000)]); t.ports(1, [(2, 1_000)])  # reset after 7000
    >>> t.port_bytes()
    {(1, 2): 8000}
    >>> owners = {9: "a"}  # meter id -> intent id
    >>> t.meters(1, [(9, 3_000, 100)], owners); t.meters(1, [(9, 4_000, 150), (12, 800, 0)], owners)
    >>> t.intent_bytes("a"), t.intent_dropped_bytes("a"), t.intent_bytes("b")
    (4000, 150, None)
    >>> t.meters(1, [(9, 4_500)], owners)  # (meter id, passed) alone: what it dropped is not known
    >>> t.intent_bytes("a"), t.intent_dropped_bytes("a")
    (4500, 150)
    """

    def __init__(self):
        self._ports = ByteTotals()  # (dpid, port) -> transmitted
        self._passed = ByteTotals()  # (dpid, meter id) -> let through
        self._dropped = ByteTotals()  # (dpid, meter id) -> dropped
        self._intent_passed: dict = {}  # intent id -> bytes
        self._intent_dropped: dict = {}  # intent id -> bytes

    def ports(self, dpid: int, samples) -> None:
        """``samples``: ``(port, tx_bytes)``."""
        for port, tx_bytes in samples:
            self._ports.update((dpid, port), tx_bytes)

    def meters(self, dpid: int, samples, owners: dict) -> None:
        """``samples``: ``(meter_id, passed bytes[, dropped bytes])``; ``owners``: meter id -> intent id
        (meters of no intent are tracked, not attributed)."""
        for meter_id, passed, *dropped in samples:
            owner = owners.get(meter_id)
            grown = self._passed.update((dpid, meter_id), passed)
            if owner is not None:
                self._intent_passed[owner] = self._intent_passed.get(owner, 0) + grown
            if dropped:
                grown = self._dropped.update((dpid, meter_id), dropped[0])
                if owner is not None:
                    self._intent_dropped[owner] = self._intent_dropped.get(owner, 0) + grown

    def retain_meters(self, dpid: int, meter_ids) -> None:
        """Forget the meters of switch ``dpid`` not in ``meter_ids`` (deleted from it)."""
        keys = [(dpid, m) for m in meter_ids]
        self._passed.retain(dpid, keys)
        self._dropped.retain(dpid, keys)

    def retain_intents(self, intent_ids) -> None:
        """Forget the totals of intents not in ``intent_ids`` (deleted)."""
        keep = set(intent_ids)
        self._intent_passed = {k: v for k, v in self._intent_passed.items() if k in keep}
        self._intent_dropped = {k: v for k, v in self._intent_dropped.items() if k in keep}

    def port_bytes(self) -> dict:
        """``(dpid, port)`` -> bytes transmitted."""
        return self._ports.totals()

    def intent_bytes(self, intent_id) -> int | None:
        return self._intent_passed.get(intent_id)

    def intent_dropped_bytes(self, intent_id) -> int | None:
        return self._intent_dropped.get(intent_id)


# Upper bounds (seconds) of the TE solve duration histogram: a small max-min LP takes milliseconds, the
# fewest-paths MILP up to te_fewest_paths_seconds (1 s by default), a large network seconds.
SOLVE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Durations:
    """Every observed duration (seconds) as a histogram: a count per upper bound, their sum and their number.

    >>> d = Durations(buckets=(0.01, 0.1, 1.0))
    >>> for seconds in (0.005, 0.05, 0.05, 4.0):
    ...     d.observe(seconds)
    >>> d.snapshot()
    {'buckets': [(0.01, 1), (0.1, 3), (1.0, 3), (inf, 4)], 'sum': 4.105, 'count': 4}
    """

    def __init__(self, buckets=SOLVE_BUCKETS):
        self.bounds = tuple(sorted(float(b) for b in buckets)) + (float("inf"),)
        self._counts = [0] * len(self.bounds)  # not cumulative
        self._sum = 0.0

    def observe(self, seconds: float) -> None:
        for i, bound in enumerate(self.bounds):
            if seconds <= bound:
                self._counts[i] += 1
                break
        self._sum += seconds

    def snapshot(self) -> dict:
        """``{"buckets": [(upper bound, cumulative count), ..., (inf, count)], "sum": s, "count": n}``."""
        cumulative, running = [], 0
        for bound, count in zip(self.bounds, self._counts):
            running += count
            cumulative.append((bound, running))
        return {"buckets": cumulative, "sum": self._sum, "count": running}
