"""safezmq's protocol layer: ZMTP 3.0/3.1 without I/O.

Bytes in, events out.  Nothing here opens a socket, starts a thread, reads a clock or logs: the
engine feeds a ``Connection`` what the transport read and writes what it returns.
"""

from __future__ import annotations

from .connection import Connection, State
from .curve import CookieKeyring, CurveClient, CurveServer
from .errors import (
    AuthenticationFailed,
    GreetingError,
    MechanismMismatch,
    MessageTooLarge,
    PeerError,
    ProtocolError,
    ZapReplyError,
)
from .events import (
    Cancel,
    Event,
    HandshakeComplete,
    PingReceived,
    PongReceived,
    Subscribe,
    ZapRequestNeeded,
)
from .greeting import Greeting
from .keys import curve_keypair, curve_public
from .limits import DEFAULT_LIMITS, Limits
from .mechanism import Mechanism
from .metadata import Metadata
from .null import NullMechanism
from .plain import PlainClient, PlainServer
from .secret import Secret
from .zap import ZapReply, ZapRequest

__all__ = [
    "DEFAULT_LIMITS",
    "AuthenticationFailed",
    "Cancel",
    "Connection",
    "CookieKeyring",
    "CurveClient",
    "CurveServer",
    "Event",
    "Greeting",
    "GreetingError",
    "HandshakeComplete",
    "Limits",
    "Mechanism",
    "MechanismMismatch",
    "MessageTooLarge",
    "Metadata",
    "NullMechanism",
    "PeerError",
    "PingReceived",
    "PlainClient",
    "PlainServer",
    "PongReceived",
    "ProtocolError",
    "Secret",
    "State",
    "Subscribe",
    "ZapReply",
    "ZapReplyError",
    "ZapRequest",
    "ZapRequestNeeded",
    "curve_keypair",
    "curve_public",
]
