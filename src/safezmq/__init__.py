"""safezmq: ZeroMQ in pure Python, wire-compatible with libzmq 4.x and secure by default."""

from __future__ import annotations

from . import constants, error
from .constants import Errno, Event, ProtocolErrorCode, SocketType
from .error import Again, ContextTerminated, ZMQBaseError, ZMQError
from .protocol.keys import curve_keypair, curve_public

__version__ = "0.1.0"

__all__ = [
    "Again",
    "ContextTerminated",
    "Errno",
    "Event",
    "ProtocolErrorCode",
    "SocketType",
    "ZMQBaseError",
    "ZMQError",
    "__version__",
    "constants",
    "curve_keypair",
    "curve_public",
    "error",
]
