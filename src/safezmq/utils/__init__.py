"""Utilities with pyzmq's module layout (``safezmq.utils.z85``, ``.jsonapi``, ``.monitor`` ...)."""

from __future__ import annotations

from . import garbage, interop, jsonapi, monitor, strtypes, win32, z85

__all__ = ["garbage", "interop", "jsonapi", "monitor", "strtypes", "win32", "z85"]
