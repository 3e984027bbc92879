"""``zmq.sugar.frame``: safezmq's Frame under pyzmq's module path."""

from __future__ import annotations

from ..message import Frame, Message

__all__ = ["Frame", "Message"]
