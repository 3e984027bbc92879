"""pyzmq's ``zmq.backend`` names, pointing at safezmq's classes.

In pyzmq the backend is the compiled layer over libzmq (Cython or CFFI) under the Python
"sugar".  safezmq has no C layer: these are the same objects as ``safezmq.Socket`` and friends,
here so that code reaching for ``zmq.backend.Socket`` (subclassing, isinstance checks, the
backend's ``monitored_queue``) keeps working."""

from __future__ import annotations

from ..context import Context
from ..error import strerror, zmq_errno
from ..message import Frame, Message
from ..poll import zmq_poll
from ..protocol.keys import curve_keypair, curve_public
from ..proxy import _monitored_queue as monitored_queue  # noqa: F401 - pyzmq's private name
from ..proxy import proxy, proxy_steerable
from ..socket import Socket
from ..sugar.version import zmq_version_info
from ..transport.endpoint import MAX_IPC_PATH as IPC_PATH_MAX_LEN

#: pyzmq was built with libzmq's draft API; safezmq implements no draft API.
PYZMQ_DRAFT_API = False


def has(capability: str) -> bool:
    """Whether safezmq supports ``capability`` (see ``safezmq.has``)."""
    from .. import has as _has

    return _has(capability)


__all__: list[str] = [
    "IPC_PATH_MAX_LEN",
    "PYZMQ_DRAFT_API",
    "Context",
    "Frame",
    "Message",
    "Socket",
    "curve_keypair",
    "curve_public",
    "has",
    "proxy",
    "proxy_steerable",
    "strerror",
    "zmq_errno",
    "zmq_poll",
    "zmq_version_info",
]
