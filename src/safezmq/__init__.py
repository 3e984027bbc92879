"""safezmq: ZeroMQ in pure Python, wire-compatible with libzmq 4.x and secure by default.

``import safezmq as zmq`` gives pyzmq's API: Context, Socket, Poller, Frame, the constants
(``zmq.PUSH``, ``zmq.LINGER``, ``zmq.EAGAIN``, ``zmq.EVENT_CONNECTED`` ...) and the errors,
with pyzmq's module layout (``zmq.sugar``, ``zmq.backend``, ``zmq.utils.jsonapi`` ...).
"""

from __future__ import annotations

import os

from . import constants, error
from ._version import __version__  # the one place the version is written
from .audit import Finding
from .constants import *  # noqa: F403 - every constant and enum, as pyzmq exports them
from .constants import Limit, ProtocolErrorCode
from .context import Context, SyncContext
from .error import (
    Again,
    ContextTerminated,
    DraftFDWarning,
    InterruptedSystemCall,
    NotDone,
    ZMQBaseError,
    ZMQBindError,
    ZMQError,
    ZMQVersionError,
    strerror,
    zmq_errno,
)
from .message import _FINISHED_TRACKER, Frame, Message, MessageTracker
from .policy import Policy
from .poll import Poller, select, zmq_poll
from .protocol.keys import curve_keypair, curve_public
from .proxy import device, proxy, proxy_steerable
from .socket import COPY_THRESHOLD, Socket, SyncSocket
from .transport.endpoint import MAX_IPC_PATH as IPC_PATH_MAX_LEN

#: The libzmq version whose wire behaviour safezmq reproduces (and is tested against).
LIBZMQ_COMPAT_VERSION = (4, 3, 5)
VERSION_MAJOR, VERSION_MINOR, VERSION_PATCH = LIBZMQ_COMPAT_VERSION

# These read __version__ and LIBZMQ_COMPAT_VERSION, so they come after them.
from . import backend, sugar, utils  # noqa: E402
from .sugar.stopwatch import Stopwatch  # noqa: E402
from .sugar.version import (  # noqa: E402
    __revision__,
    pyzmq_version,
    pyzmq_version_info,
    zmq_version,
    zmq_version_info,
)

#: safezmq implements none of libzmq's draft API (SERVER/CLIENT, RADIO/DISH, Frame.group ...):
#: pyzmq code checks these before using it.
DRAFT_API = False
PYZMQ_DRAFT_API = False

#: What ``has()`` answers, for every capability libzmq's zmq_has() knows.
_CAPABILITIES = {
    "ipc": True,
    "curve": True,
    "pgm": True,  # pgm:// and epgm:// (refused by the default policy: see Policy.allow_multicast)
    "tipc": False,
    "vmci": False,
    "norm": False,
    "gssapi": False,
    "draft": False,
    "ws": False,
    "wss": False,
}


def has(capability: str) -> bool:
    """Whether safezmq supports ``capability`` ("ipc", "curve", "pgm", "draft" ...)."""
    return _CAPABILITIES.get(capability, False)


def install_as_zmq() -> None:
    """Make ``import zmq`` give safezmq in this process (see ``safezmq.aszmq``)."""
    from .aszmq import install_as_zmq as install

    install()


def get_includes() -> list[str]:
    """pyzmq gives Cython code its include directories here.  safezmq has no C headers; it
    answers with the same shape (the package's parent, then its utils) so build scripts that
    ask do not break, though there is nothing in them to include."""
    package = os.path.dirname(os.path.abspath(__file__))
    return [os.path.dirname(package), os.path.join(package, "utils")]


def get_library_dirs() -> list[str]:
    """pyzmq gives the directory of its bundled libzmq here; safezmq has no library to link
    against, so this is the package's own directory."""
    return [os.path.dirname(os.path.abspath(__file__))]


__all__: list[str] = [
    "COPY_THRESHOLD",
    "DRAFT_API",
    "IPC_PATH_MAX_LEN",
    "LIBZMQ_COMPAT_VERSION",
    "PYZMQ_DRAFT_API",
    "_FINISHED_TRACKER",
    "Again",
    "Context",
    "ContextTerminated",
    "DraftFDWarning",
    "Finding",
    "Frame",
    "InterruptedSystemCall",
    "Limit",
    "Message",
    "MessageTracker",
    "NotDone",
    "Policy",
    "Poller",
    "ProtocolErrorCode",
    "Socket",
    "Stopwatch",
    "SyncContext",
    "SyncSocket",
    "ZMQBaseError",
    "ZMQBindError",
    "ZMQError",
    "ZMQVersionError",
    "__revision__",
    "__version__",
    "backend",
    "constants",
    "curve_keypair",
    "curve_public",
    "device",
    "error",
    "get_includes",
    "get_library_dirs",
    "has",
    "install_as_zmq",
    "proxy",
    "proxy_steerable",
    "pyzmq_version",
    "pyzmq_version_info",
    "select",
    "strerror",
    "sugar",
    "utils",
    "zmq_errno",
    "zmq_poll",
    "zmq_version",
    "zmq_version_info",
]
# Every constant and enum, as pyzmq exports them, and its sugar and backend names (each once).
__all__ += [name for name in constants.__all__ if name not in __all__]
__all__ += [name for name in (*sugar.__all__, *backend.__all__) if name not in __all__]
