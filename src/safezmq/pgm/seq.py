"""Sequence numbers modulo 2**32 (RFC 3208 section 6, RFC 1982 serial arithmetic).

PGM sequence numbers wrap: ``a`` precedes ``b`` when ``b - a`` (mod 2**32) is between 1 and
2**31 - 1.  Every comparison of two sequence numbers in safezmq.pgm goes through these functions.
"""

from __future__ import annotations

MODULUS = 1 << 32
MASK = MODULUS - 1
HALF = 1 << 31


def add(a: int, n: int) -> int:
    """``a + n`` modulo 2**32 (``n`` may be negative)."""
    return (a + n) & MASK


def diff(a: int, b: int) -> int:
    """The signed distance from ``b`` to ``a``: ``a - b`` in -2**31 .. 2**31 - 1."""
    d = (a - b) & MASK
    return d - MODULUS if d >= HALF else d


def lt(a: int, b: int) -> bool:
    return diff(a, b) < 0


def lte(a: int, b: int) -> bool:
    return diff(a, b) <= 0


def gt(a: int, b: int) -> bool:
    return diff(a, b) > 0


def gte(a: int, b: int) -> bool:
    return diff(a, b) >= 0
