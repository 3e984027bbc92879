"""Addresses of foreign objects (pyzmq's ``zmq.utils.interop``).

pyzmq passes C pointers (``Context.shadow(address)``) as ints.  safezmq has no C objects, so an
address is only ever an int here; anything else is refused."""

from __future__ import annotations

from typing import Any


def cast_int_addr(n: Any) -> int:
    """``n`` as an int address (ints only: safezmq has no cffi pointers)."""
    if isinstance(n, int) and not isinstance(n, bool):
        return n
    raise ValueError(f"cannot cast {n!r} to an int address")


__all__ = ["cast_int_addr"]
