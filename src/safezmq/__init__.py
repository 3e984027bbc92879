"""safezmq: ZeroMQ in pure Python, wire-compatible with libzmq 4.x and secure by default.

``import safezmq as zmq`` gives pyzmq's API: Context, Socket, Poller, Frame, the constants
(``zmq.PUSH``, ``zmq.LINGER``, ``zmq.EAGAIN``, ``zmq.EVENT_CONNECTED`` ...) and the errors.
"""

from __future__ import annotations

from typing import Any

from . import constants, error
from .audit import Finding
from .constants import (
    ContextOption,
    DeviceType,
    Errno,
    Event,
    Flag,
    MessageOption,
    NormMode,
    PollEvent,
    ProtocolErrorCode,
    ReconnectStop,
    RouterNotify,
    SecurityMechanism,
    SocketOption,
    SocketType,
)
from .context import Context
from .error import (
    Again,
    ContextTerminated,
    InterruptedSystemCall,
    NotDone,
    ZMQBaseError,
    ZMQBindError,
    ZMQError,
    strerror,
)
from .message import Frame, Message, MessageTracker
from .policy import Policy
from .poll import Poller, select
from .protocol.keys import curve_keypair, curve_public
from .proxy import device, proxy, proxy_steerable
from .socket import COPY_THRESHOLD, Socket
from .transport.endpoint import MAX_IPC_PATH as IPC_PATH_MAX_LEN

__version__ = "0.1.0"
#: The libzmq version whose wire behaviour safezmq reproduces (and is tested against).
LIBZMQ_COMPAT_VERSION = (4, 3, 5)
VERSION_MAJOR, VERSION_MINOR, VERSION_PATCH = LIBZMQ_COMPAT_VERSION


def zmq_version_info() -> tuple[int, int, int]:
    """The libzmq version safezmq is compatible with."""
    return LIBZMQ_COMPAT_VERSION


def zmq_version() -> str:
    return ".".join(map(str, LIBZMQ_COMPAT_VERSION))


def pyzmq_version() -> str:
    """safezmq's own version (pyzmq code sometimes asks)."""
    return __version__


def pyzmq_version_info() -> tuple[int, ...]:
    return tuple(int(p) for p in __version__.split("."))


_CAPABILITIES = {
    "ipc": True,
    "curve": True,
    "pgm": True,  # pgm:// and epgm:// (refused by the default policy: see Policy.allow_multicast)
    "tipc": False,
    "norm": False,
    "gssapi": False,
    "draft": False,
    "ws": False,
    "wss": False,
}


def has(capability: str) -> bool:
    """Whether safezmq supports ``capability`` ("ipc", "curve", ...)."""
    return _CAPABILITIES.get(capability, False)


def _export_constants(namespace: dict[str, Any]) -> list[str]:
    names: list[str] = []
    enums: tuple[type[Any], ...] = (
        SocketType,
        SocketOption,
        ContextOption,
        Errno,
        Flag,
        PollEvent,
        MessageOption,
        SecurityMechanism,
        DeviceType,
    )
    for enum in enums:
        for name, member in enum.__members__.items():
            namespace.setdefault(name, member)
            names.append(name)
    prefixed: tuple[tuple[str, type[Any]], ...] = (
        ("EVENT_", Event),
        ("PROTOCOL_ERROR_", ProtocolErrorCode),
        ("RECONNECT_STOP_", ReconnectStop),
        ("NOTIFY_", RouterNotify),
        ("NORM_", NormMode),
    )
    for prefix, enum in prefixed:
        for name, member in enum.__members__.items():
            namespace[prefix + name] = member
            names.append(prefix + name)
    return names


_CONSTANT_NAMES = _export_constants(globals())

__all__ = [
    "COPY_THRESHOLD",
    "IPC_PATH_MAX_LEN",
    "LIBZMQ_COMPAT_VERSION",
    "Again",
    "Context",
    "Finding",
    "Policy",
    "ContextTerminated",
    "Frame",
    "InterruptedSystemCall",
    "Message",
    "MessageTracker",
    "NotDone",
    "Poller",
    "Socket",
    "ZMQBaseError",
    "ZMQBindError",
    "ZMQError",
    "__version__",
    "constants",
    "curve_keypair",
    "curve_public",
    "device",
    "error",
    "has",
    "proxy",
    "proxy_steerable",
    "pyzmq_version",
    "select",
    "strerror",
    "zmq_version",
    "zmq_version_info",
    *_CONSTANT_NAMES,
]
