"""Rates, sizes, DSCP values, matches, tables and paths as ``te-intent`` reads and prints them."""
from __future__ import annotations

import math
import re

from te.units import parse_rate

# parse_rate lives in te.units, the one parser of every rate (te-solve's too); te-intent imports it from here.
__all__ = ["DSCP_NAMES", "PROTOCOLS", "format_bytes", "format_dscp", "format_match", "format_paths", "format_rate",
           "format_table", "parse_bytes", "parse_dscp", "parse_proto", "parse_rate"]

PROTOCOLS = {"icmp": 1, "tcp": 6, "udp": 17}
# The standard DSCP code points by name (RFC 2474 class selectors, RFC 2597 assured forwarding, RFC 3246 EF).
DSCP_NAMES = {"EF": 46, **{f"CS{n}": 8 * n for n in range(8)},
              **{f"AF{c}{d}": 8 * c + 2 * d for c in range(1, 5) for d in range(1, 4)}}
# Like te.units' rates: a decimal number, an optional SI prefix (any case; Ki, Mi, Gi, Ti are powers of 1024),
# then optionally B or bytes. A lower-case b would read as bits: refused, as 4MB is for a rate.
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)(?:e([+-]?\d+))?\s*(?:([kKmMgGtT])(i?))?\s*(B|bytes?)?\s*$")
_SIZE_PREFIX = {"": 1, "k": 1000, "m": 1000 ** 2, "g": 1000 ** 3, "t": 1000 ** 4}


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


def parse_bytes(text) -> int:
    """A whole number of bytes from ``1514``, ``64K``, ``64KB``, ``1.5M``, ``64Ki`` or ``64KiB``.

    Prefixes are SI as for rates (``K`` is 1000, any case), ``Ki``, ``Mi``, ``Gi`` are powers of 1024;
    ``B`` (or ``bytes``) may follow. Numbers (not bools) are bytes as they are. The range is left to
    the intent's validation, which names the field.

    Raises
    ------
    ValueError
        Anything else (bits, a fraction of a byte, an infinite size), in one line that quotes the text.

    Examples
    --------
    >>> parse_bytes("1514"), parse_bytes("64K"), parse_bytes("64kB"), parse_bytes("1.5M"), parse_bytes("64KiB")
    (1514, 64000, 64000, 1500000, 65536)
    >>> parse_bytes(" 2 MiB "), parse_bytes(3000), parse_bytes(1e4)
    (2097152, 3000, 10000)
    >>> parse_bytes("64kb")
    Traceback (most recent call last):
    ...
    ValueError: not a size in bytes: '64kb' (examples: 1514, 64K, 64KiB, 1.5M; a lower-case b would be bits)
    >>> parse_bytes("1.0005K")
    Traceback (most recent call last):
    ...
    ValueError: not a whole number of bytes: '1.0005K'
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = text
    else:
        match = _SIZE_RE.match(str(text))
        if not match:
            raise ValueError(f"not a size in bytes: {text!r} (examples: 1514, 64K, 64KiB, 1.5M; "
                             "a lower-case b would be bits)")
        mantissa, exponent, prefix, binary, _ = match.groups()
        prefix = (prefix or "").lower()
        scale = 1024 ** " kmgt".index(prefix) if binary else _SIZE_PREFIX[prefix]
        value = float(f"{mantissa}e{exponent or 0}") * scale
    if not math.isfinite(value):
        raise ValueError(f"not a size in bytes: {text!r} (too large)")
    if value != int(value):
        raise ValueError(f"not a whole number of bytes: {text!r}")
    return int(value)


def format_bytes(size) -> str:
    """A size in bytes for people: exact, as it is configured; ``-`` for None.

    >>> format_bytes(64000), format_bytes(1), format_bytes(None)
    ('64000 bytes', '1 byte', '-')
    """
    if size is None:
        return "-"
    return f"{size} byte{'' if size == 1 else 's'}"


def parse_dscp(text) -> int:
    """A DSCP value from a number (``46``) or a name: ``EF``, ``AF11`` to ``AF43``, ``CS0`` to ``CS7`` (any case).

    The range (0-63) is left to the intent's validation, which names the field.

    >>> parse_dscp("EF"), parse_dscp("af41"), parse_dscp("CS1"), parse_dscp("10"), parse_dscp(34)
    (46, 34, 8, 10, 34)
    >>> parse_dscp("AF51")
    Traceback (most recent call last):
    ...
    ValueError: not a DSCP value: 'AF51' (0-63, EF, AF11-AF43 or CS0-CS7)
    """
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    name = str(text).strip().upper()
    if name in DSCP_NAMES:
        return DSCP_NAMES[name]
    if re.fullmatch(r"[+-]?[0-9]{1,9}", name):
        return int(name)
    raise ValueError(f"not a DSCP value: {text!r} (0-63, EF, AF11-AF43 or CS0-CS7)")


def format_dscp(value) -> str:
    """``46 (EF)``: the number, and its name when it has one; ``-`` for None.

    >>> format_dscp(46), format_dscp(0), format_dscp(5), format_dscp(None)
    ('46 (EF)', '0 (CS0)', '5', '-')
    """
    if value is None:
        return "-"
    names = [n for n, v in DSCP_NAMES.items() if v == value]
    return f"{value} ({names[0]})" if names else str(value)


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
