"""Rates as people write and read them: ``4M``, ``1.5 Gbit/s``, ``10Gbps`` in, ``1.000 Gbit/s`` out.

One parser for every place that reads a rate (``te-solve``'s ``--default-capacity`` and demand
files, YATES capacities, ``te-intent``), so that they all accept the same spellings.
"""
from __future__ import annotations

import math
import re

__all__ = ["parse_rate", "format_rate"]

_RATE_RE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)(?:e([+-]?\d+))?\s*([kKmMgGtT]?)(bit/s|bit|bps|b/s)?\s*$")
_PREFIX = {"": 1.0, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}
_UNITS = (("Tbit/s", 1e12), ("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3))


def parse_rate(text) -> float:
    """A rate in bit/s from ``4M``, ``4Mbit``, ``4 Mbit/s``, ``1Gbps``, ``4000000`` or ``1.5G`` (SI prefixes).

    Numbers (not bools) are taken as bit/s as they are. Bytes are not accepted: ``B`` is
    ambiguous on the command line, so ``4MB`` is an error; so is a rate too large for a float
    (``1e400``), which would otherwise be infinite.

    Raises
    ------
    ValueError
        Anything else, in one line that quotes the text.

    Examples
    --------
    >>> parse_rate("4M"), parse_rate("4Mbit"), parse_rate("1.5G"), parse_rate("4000000"), parse_rate("800 kbit/s")
    (4000000.0, 4000000.0, 1500000000.0, 4000000.0, 800000.0)
    >>> parse_rate("10Gbps"), parse_rate(2.5e9)
    (10000000000.0, 2500000000.0)
    >>> parse_rate("4MB")
    Traceback (most recent call last):
    ...
    ValueError: not a rate: '4MB' (examples: 4M, 4Mbit, 1.5G, 4000000)
    >>> parse_rate("1e400")
    Traceback (most recent call last):
    ...
    ValueError: not a rate: '1e400' (too large)
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    match = _RATE_RE.match(str(text))
    if not match:
        raise ValueError(f"not a rate: {text!r} (examples: 4M, 4Mbit, 1.5G, 4000000)")
    mantissa, exponent, prefix, _ = match.groups()
    # float() of the decimal text, not mantissa * 10.0 ** exponent: that raises OverflowError for 1e400.
    rate = float(f"{mantissa}e{exponent or 0}") * _PREFIX[prefix.lower()]
    if not math.isfinite(rate):
        raise ValueError(f"not a rate: {text!r} (too large)")
    return rate


def format_rate(bps, decimals: int = 3) -> str:
    """``bps`` with the largest SI prefix that keeps it at 1 or more *after* rounding.

    Rounding first means a value just below a unit boundary is written in the larger unit
    (``1.000 Gbit/s``, never ``1000.000 Mbit/s``). Every result has the same number of
    decimals, so a column of them lines up when right-aligned.

    Examples
    --------
    >>> format_rate(999999999.9), format_rate(999999.4), format_rate(1.5e9), format_rate(0)
    ('1.000 Gbit/s', '1.000 Mbit/s', '1.500 Gbit/s', '0.000 bit/s')
    >>> format_rate(-2.5e3), format_rate(12.3456, decimals=1), format_rate(4e15)
    ('-2.500 kbit/s', '12.3 bit/s', '4000.000 Tbit/s')
    """
    value = float(bps)
    for unit, size in _UNITS:
        if abs(round(value / size, decimals)) >= 1:
            return f"{value / size:.{decimals}f} {unit}"
    return f"{value:.{decimals}f} bit/s"
