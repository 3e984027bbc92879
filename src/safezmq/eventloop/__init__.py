"""tornado integration (pyzmq's ``zmq.eventloop``): ``ZMQStream``, future-returning sockets.

Needs the optional ``tornado`` dependency (``pip install 'safezmq[tornado]'``); ``import
safezmq`` alone never imports it.  tornado 6 runs on asyncio, so everything here sits on the
running asyncio loop.
"""

from __future__ import annotations

try:
    from tornado.ioloop import IOLoop
except ImportError as exc:  # the optional dependency is missing: say how to get it
    raise ImportError(
        "safezmq.eventloop needs tornado: install it with pip install 'safezmq[tornado]'"
    ) from exc

__all__ = ["IOLoop"]
