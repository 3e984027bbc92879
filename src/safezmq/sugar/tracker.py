"""``zmq.sugar.tracker``: safezmq's MessageTracker under pyzmq's module path."""

from __future__ import annotations

from ..message import _FINISHED_TRACKER, MessageTracker

__all__ = ["_FINISHED_TRACKER", "MessageTracker"]
