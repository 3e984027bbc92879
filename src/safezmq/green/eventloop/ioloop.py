"""``zmq.green.eventloop.ioloop``: the same IOLoop as ``safezmq.eventloop.ioloop``."""

from __future__ import annotations

from ...eventloop.ioloop import IOLoop, ZMQIOLoop, install

__all__ = ["IOLoop", "ZMQIOLoop", "install"]
