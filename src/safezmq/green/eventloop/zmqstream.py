"""``zmq.green.eventloop.zmqstream``: a ZMQStream that defaults to the current IOLoop.

The stream itself is safezmq's (it waits on the socket's FD through the loop, so a green
socket works as well as a plain one); only pyzmq's import path and default loop are kept.
"""

from __future__ import annotations

from typing import Any

from ...eventloop import zmqstream
from .ioloop import IOLoop


class ZMQStream(zmqstream.ZMQStream):
    def __init__(self, socket: Any, io_loop: IOLoop | None = None) -> None:
        super().__init__(socket, io_loop=io_loop or IOLoop.current())


__all__ = ["ZMQStream"]
