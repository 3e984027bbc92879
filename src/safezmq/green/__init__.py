"""safezmq.green: safezmq for gevent, whose blocking calls block only the calling greenlet.

``import safezmq.green as zmq`` (pyzmq: ``import zmq.green as zmq``) gives every name of
safezmq, with Context, Socket, Poller, select, zmq_poll and MessageTracker replaced by green
versions (whose waits block only the calling greenlet); the devices and proxies wait in the
hub when their sockets are green.  Works with and without gevent's monkey-patching.  Needs
gevent (``pip install safezmq[green]``); ``import safezmq`` alone never imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import safezmq as _zmq

try:
    import gevent as _gevent  # type: ignore[import-untyped]  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "safezmq.green needs gevent: install it with pip install 'safezmq[green]'"
    ) from exc

if TYPE_CHECKING:
    from safezmq import *  # noqa: F403
else:
    # Every safezmq name, as pyzmq's zmq.green re-exports zmq's.
    globals().update({name: getattr(_zmq, name) for name in _zmq.__all__ if hasattr(_zmq, name)})

from .core import Context, MessageTracker, Socket
from .device import device, proxy, proxy_steerable
from .poll import Poller, select, zmq_poll

__all__ = [
    "Context",
    "MessageTracker",
    "Poller",
    "Socket",
    "device",
    "proxy",
    "proxy_steerable",
    "select",
    "zmq_poll",
]
__all__ += [name for name in _zmq.__all__ if name not in __all__]
