"""Rates, matches, tables and paths as ``te-intent`` reads and prints them."""
from __future__ import annotations

import re

from te.units import parse_rate

# parse_rate lives in te.units, the one parser of every rate (te-solve's too); te-intent imports it from here.
__all__ = ["PROTOCOLS", "format_match", "format_paths", "format_rate", "format_table", "parse_proto", "parse_rate"]

PROTOCOLS = {"icmp": 1, "tcp": 6, "udp": 17}


def parse_proto(text: str) -> int:
    """An IP protocol number from ``tcp``, ``udp``, ``icmp`` (any case) or a number written as text.

    The range (0-255) is left to the intent's validation, which names the field.

    >>> parse_proto("TCP"), parse_proto("udp"), parse_proto("icmp"), parse_proto("47")
    (6, 17, 1, 47)
    >>> parse_proto("sctp")
    Traceback (most recent call last):
    ...
    ValueError: not a protocol: 'sctp' (tcp, udp, icmp or a number)
    """
    name = text.strip().lower()
    if name in PROTOCOLS:
        return PROTOCOLS[name]
    if re.fullmatch(r"[+-]?[0-9]{1,9}", name):  # a bounded length: int() refuses 4300+ digits
        return int(name)
    raise ValueError(f"not a protocol: {text!r} (tcp, udp, icmp or a number)")


def format_rate(bps) -> str:
    """A rate for people: three significant digits and an SI prefix; ``-`` for None.

    Examples
    --------
    >>> format_rate(4e6), format_rate(1.5e9), format_rate(999999), format_rate(1234), format_rate(0), format_rate(None)
    ('4 Mbit/s', '1.5 Gbit/s', '1 Mbit/s', '1.23 kbit/s', '0 bit/s', '-')
    """
    if bps is None:
        return "-"
    value = float(f"{float(bps):.3g}")  # round first, so 999999 becomes 1 Mbit/s, not 1e+03 kbit/s
    for prefix, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}bit/s"
    return f"{value:.3g} bit/s"


def format_match(match: dict) -> str:
    """``ip_proto=6 tp_dst=80``, or ``-`` for an empty match.

    >>> format_match({"ip_proto": 6, "tp_dst": 80}), format_match({})
    ('ip_proto=6 tp_dst=80', '-')
    """
    return " ".join(f"{k}={v}" for k, v in match.items()) or "-"


def format_table(headers, rows) -> str:
    """Left-aligned columns separated by two spaces.

    >>> print(format_table(["ID", "NAME"], [["1", "web"], ["12", "-"]]))
    ID  NAME
    1   web
    12  -
    """
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells)


def format_paths(allocation: dict, names: dict | None = None) -> list:
    """One ``s1-s3-s4 2.4 Mbit/s (60%)`` per path: switches, rate and share of the allocation.

    >>> format_paths({"allocated_bps": 4e6, "paths": [
    ...     {"switches": ["0000000000000001", "000000000000000a"], "rate_bps": 3e6},
    ...     {"switches": ["0000000000000001", "0000000000000002", "000000000000000a"], "rate_bps": 1e6}]},
    ...     {"0000000000000001": "s1"})
    ['s1-a 3 Mbit/s (75%)', 's1-2-a 1 Mbit/s (25%)']
    """
    names = names or {}
    total = allocation.get("allocated_bps") or 0
    out = []
    for path in allocation.get("paths") or []:
        hops = "-".join(names.get(d) or (d.lstrip("0") or "0") for d in path.get("switches", []))
        rate = path.get("rate_bps") or 0
        share = f" ({100 * rate / total:.0f}%)" if total > 0 else ""
        out.append(f"{hops} {format_rate(rate)}{share}")
    return out
