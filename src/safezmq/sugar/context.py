"""``zmq.sugar.context``: safezmq's Context under pyzmq's module path."""

from __future__ import annotations

from ..context import Context, SyncContext

__all__ = ["Context", "SyncContext"]
