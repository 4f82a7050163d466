"""The layout of what this controller puts on a switch: tables, priorities, cookies and id ranges.

Everything that gives a number a meaning on the switches lives here, with the encoder *and*
the decoder, so that changing a cookie bit or an id range is an edit of this file alone
(the compilers encode, :mod:`controller.restore` decodes what a restarted controller reads back).

Pipeline on every switch::

    table 0 (FABRIC)  ARP -> controller, IPv6 -> drop, MPLS label -> next hop | pop and ROUTE,
                      IPv4 -> ROUTE, anything else -> drop
    table 1 (ROUTE)   TE classifiers (PRIO_TE + match fields) above placed elephants (PRIO_ELEPHANT)
                      above the ECMP baseline (PRIO_ROUTE), multicast and broadcast dropped, a miss goes
                      to the controller
    table 2 (FLOWS)   only with adaptive TE (``te_elephants``): IPv4 from a host port is first counted
                      here (resubmit from table 0): TCP and UDP learn a per-5-tuple entry that counts
                      the flow's bytes (cookie COOKIE_COUNTED, idle timeout), the controller polls them

Cookies (64 bits)::

    63..56  MARK     0x7e: "ours" (a restarted controller reads back and removes exactly these)
    55..48  owner    OWNER_ECMP or OWNER_TE
    47..44  kind     KIND_*: control, route, tunnel (ECMP); intent, tunnel (TE)
    43..0   detail   TE intent: intent number (bits 20..43) and version (bits 0..19);
                     TE tunnel: its MPLS label; ECMP and elephants: 0

Entries the switches learn in table 2 carry COOKIE_COUNTED (mark 0x7d): not ours to read back or
remove (they expire by themselves), but ours to poll.

Examples
--------
>>> c = intent_cookie("7", 3)
>>> hex(c), decode_cookie(c)
('0x7e02100000700003', Cookie(owner=2, kind=1, intent='7', version=3, label=None))
>>> decode_cookie(tunnel_cookie(600000)).label, decode_cookie(COOKIE_ROUTE).kind == KIND_ROUTE
(600000, True)
>>> decode_cookie(0x1234) is None  # not ours
True
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

# --- tables and priorities -------------------------------------------------------------
TABLE_FABRIC = 0  # control traffic, tunnel labels (transit / egress), IPv4 -> ROUTE
TABLE_ROUTE = 1  # untagged IPv4 by destination: local host port or ingress group
TABLE_FLOWS = 2  # per-flow byte counters learned at the ingress (adaptive TE only)

PRIO_CONTROL = 1000  # ARP to the controller, IPv6 dropped
PRIO_TUNNEL = 900  # label switching
PRIO_TE = 500  # TE intent classifiers (+ number of L4 match fields: the more specific wins)
PRIO_ELEPHANT = 400  # a detected elephant (5-tuple) placed on a TE tunnel; intents win over it
PRIO_ROUTE = 100  # ECMP baseline, one rule per known host
PRIO_COUNT = 20  # IPv4 from a host port: counted in TABLE_FLOWS, then ROUTE (above PRIO_DEFAULT)
PRIO_LEARNED = 100  # TABLE_FLOWS: the learned per-5-tuple counters, above what learns them
PRIO_NOISE = 50  # IPv4 broadcast / multicast dropped
PRIO_DEFAULT = 10  # IPv4 -> ROUTE
PRIO_MISS = 0

# --- cookies ----------------------------------------------------------------------------
COOKIE_MARK = 0x7E << 56
COOKIE_MARK_MASK = 0xFF << 56
OWNER_ECMP = 1
OWNER_TE = 2

KIND_CONTROL = 1  # OWNER_ECMP
KIND_ROUTE = 2  # OWNER_ECMP
KIND_TUNNEL = 3  # OWNER_ECMP
KIND_INTENT = 1  # OWNER_TE
KIND_TE_TUNNEL = 2  # OWNER_TE
KIND_ELEPHANT = 3  # OWNER_TE: a placed elephant flow

_KIND_SHIFT = 44
_DETAIL_MASK = (1 << _KIND_SHIFT) - 1
_INTENT_SHIFT = 20
_INTENT_MASK = 0xFFFFFF
_VERSION_MASK = (1 << _INTENT_SHIFT) - 1


@dataclass(frozen=True)
class Cookie:
    """A decoded cookie of ours."""

    owner: int
    kind: int
    intent: str | None = None  # intent id (OWNER_TE, KIND_INTENT), as its number
    version: int | None = None  # intent version, modulo 2**20
    label: int | None = None  # MPLS label (OWNER_TE, KIND_TE_TUNNEL)


def cookie(owner: int, kind: int, detail: int = 0) -> int:
    """The cookie of a flow of ``owner`` (``OWNER_*``) and ``kind`` (``KIND_*``), with ``detail`` < 2**44."""
    return COOKIE_MARK | (owner << 48) | (kind << _KIND_SHIFT) | (detail & _DETAIL_MASK)


COOKIE_CONTROL = cookie(OWNER_ECMP, KIND_CONTROL)
COOKIE_ROUTE = cookie(OWNER_ECMP, KIND_ROUTE)
COOKIE_TUNNEL = cookie(OWNER_ECMP, KIND_TUNNEL)
COOKIE_ELEPHANT = cookie(OWNER_TE, KIND_ELEPHANT)
COOKIE_COUNTED = 0x7D << 56  # learned flow counters (mask COOKIE_MARK_MASK); decode_cookie says not ours


def intent_number(intent_id: str) -> int:
    """The number an intent id has in cookies: the id itself, or a CRC of a non-numeric id."""
    return int(intent_id) if intent_id.isdigit() else zlib.crc32(intent_id.encode())


def intent_cookie(intent_id: str, version: int) -> int:
    """Cookie of an intent's classifier: intent number in bits 20..43, version in bits 0..19."""
    detail = ((intent_number(intent_id) & _INTENT_MASK) << _INTENT_SHIFT) | (version & _VERSION_MASK)
    return cookie(OWNER_TE, KIND_INTENT, detail)


def tunnel_cookie(label: int) -> int:
    """Cookie of the label-switching rules of a TE tunnel."""
    return cookie(OWNER_TE, KIND_TE_TUNNEL, label)


def decode_cookie(value: int) -> Cookie | None:
    """What a cookie read back from a switch says; None if it is not ours."""
    if value & COOKIE_MARK_MASK != COOKIE_MARK:
        return None
    owner, kind, detail = (value >> 48) & 0xFF, (value >> _KIND_SHIFT) & 0xF, value & _DETAIL_MASK
    if owner == OWNER_TE and kind == KIND_INTENT:
        return Cookie(owner, kind, intent=str(detail >> _INTENT_SHIFT), version=detail & _VERSION_MASK)
    if owner == OWNER_TE and kind == KIND_TE_TUNNEL:
        return Cookie(owner, kind, label=detail)
    return Cookie(owner, kind)


# --- id ranges --------------------------------------------------------------------------
# MPLS labels: 0-15 are reserved; ECMP tunnels take the lower half, TE tunnels the upper half,
# so ECMP recomputation never moves a label under an intent.
MPLS_LABEL_MIN = 16
TE_LABEL_MIN = 1 << 19
MPLS_LABEL_MAX = (1 << 20) - 1
# Group ids: ECMP groups (one per egress switch) below TE_GROUP_MIN, one TE group per intent above.
ECMP_GROUP_MIN = 1
TE_GROUP_MIN = 0x40000000
GROUP_ID_MAX = 0xFFFFFF00  # OFPG_MAX
# Meter ids: one per intent. OVS userspace accepts up to 262143; far more than intents per switch.
METER_ID_MIN = 1
METER_ID_MAX = 0xFFFF

ECMP_LABELS = (MPLS_LABEL_MIN, TE_LABEL_MIN - 1)
TE_LABELS = (TE_LABEL_MIN, MPLS_LABEL_MAX)
ECMP_GROUPS = (ECMP_GROUP_MIN, TE_GROUP_MIN - 1)
TE_GROUPS = (TE_GROUP_MIN, GROUP_ID_MAX)
TE_METERS = (METER_ID_MIN, METER_ID_MAX)


def is_te_label(label: int) -> bool:
    """Whether an MPLS label belongs to a TE tunnel (else to an ECMP tunnel).

    >>> is_te_label(TE_LABEL_MIN), is_te_label(TE_LABEL_MIN - 1)
    (True, False)
    """
    return label >= TE_LABEL_MIN
