"""``zmq.sugar.poll``: safezmq's Poller and select under pyzmq's module path."""

from __future__ import annotations

from ..poll import Poller, select

__all__ = ["Poller", "select"]
