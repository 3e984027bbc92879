"""``zmq.green.eventloop``: tornado's IOLoop for programs that import pyzmq's green flavour.

tornado runs on asyncio, and a ZMQStream waits on its socket's FD through the loop, so the
green flavour needs no loop of its own: these modules only give pyzmq's import paths.
"""

from __future__ import annotations

from .ioloop import IOLoop

__all__ = ["IOLoop"]
