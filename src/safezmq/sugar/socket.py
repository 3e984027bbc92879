"""``zmq.sugar.socket``: safezmq's Socket under pyzmq's module path."""

from __future__ import annotations

from ..socket import Socket, SyncSocket

__all__ = ["Socket", "SyncSocket"]
