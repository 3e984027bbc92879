"""tornado's IOLoop under pyzmq's old name (``zmq.eventloop.ioloop``).

Deprecated, as in pyzmq since 17: tornado needs no special integration any more, so this module
only re-exports tornado's ``IOLoop`` (and ``ZMQIOLoop`` as an alias of it) and warns.
"""

from __future__ import annotations

import warnings


def _warn_deprecated() -> None:
    warnings.warn(
        "safezmq.eventloop.ioloop is deprecated (as zmq.eventloop.ioloop is since pyzmq 17): "
        "use tornado.ioloop.IOLoop or asyncio directly; no integration step is needed",
        DeprecationWarning,
        stacklevel=3,
    )


_warn_deprecated()

from tornado.ioloop import *  # noqa: E402,F403  (the module's whole point is this re-export)
from tornado.ioloop import IOLoop  # noqa: E402

ZMQIOLoop = IOLoop


def install() -> None:
    """Does nothing (deprecated): tornado already runs on asyncio, which safezmq uses."""
    _warn_deprecated()
