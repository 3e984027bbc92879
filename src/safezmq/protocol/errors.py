"""One exception family for everything a peer can do wrong.

Every way a peer can break ZMTP, its security mechanism or ZAP ends in a ``ProtocolError`` that
carries libzmq's ``ZMQ_PROTOCOL_ERROR_*`` code, so the engine can report it as a monitor event and
close the connection.  Messages name what was wrong; they never contain a key or a password, and
peer-supplied bytes appear only truncated and escaped.
"""

from __future__ import annotations

from ..constants import Errno, Limit, ProtocolErrorCode

#: How many bytes of peer-supplied data an error message may quote.
QUOTE_LIMIT = 32


def quote(data: bytes | bytearray | memoryview) -> str:
    """A short, escaped rendering of peer bytes, safe to put in a message or a log line."""
    raw = bytes(data[:QUOTE_LIMIT])
    suffix = "..." if len(data) > QUOTE_LIMIT else ""
    return repr(raw) + suffix


class ProtocolError(Exception):
    """The peer broke the protocol; the connection must be closed.

    ``code`` is the libzmq protocol-error code for a HANDSHAKE_FAILED_PROTOCOL event; ``errno``
    the errno libzmq would report; ``auth_status`` is set (300, 400 or 500) when the failure is an
    authentication refusal, which is reported as HANDSHAKE_FAILED_AUTH instead.
    """

    code: ProtocolErrorCode = ProtocolErrorCode.ZMTP_UNSPECIFIED
    errno: int = Errno.EPROTO
    auth_status: int | None = None
    #: Whether an ERROR command may tell the peer why (only once both greetings are exchanged).
    may_send_error: bool = True

    def __init__(self, reason: str, code: ProtocolErrorCode | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        #: Events completed by the same ``receive_data`` call before the violation.
        self.events: list[object] = []
        if code is not None:
            self.code = code

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason!r}, code={self.code.name})"


class GreetingError(ProtocolError):
    """The 64-octet greeting was unacceptable: a legacy ZMTP version, bad signature or flags.

    No ERROR command is sent: until both greetings are exchanged the peer may not speak ZMTP 3.
    """

    may_send_error = False


class MechanismMismatch(ProtocolError):
    """The peer announced a different security mechanism than ours (a downgrade attempt, or a
    misconfiguration).  Refusing it is what makes ZMTP security assertive."""

    code = ProtocolErrorCode.ZMTP_MECHANISM_MISMATCH


class MessageTooLarge(ProtocolError):
    """A frame header declared more than the configured limits allow (MAXMSGSIZE and friends).

    ``limit`` says which (a ``Limit`` value, for the LIMIT_EXCEEDED monitor event)."""

    errno = Errno.EMSGSIZE

    def __init__(self, reason: str, limit: Limit = Limit.MESSAGE_SIZE) -> None:
        super().__init__(reason)
        self.limit = limit


class AuthenticationFailed(ProtocolError):
    """The server refused the client: a ZAP status 300, 400 or 500."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason, ProtocolErrorCode.ZAP_UNSPECIFIED)
        self.auth_status = status


class ZapReplyError(ProtocolError):
    """The ZAP handler's reply was malformed.  The client is not told (it is not its fault);
    the connection is closed, and the client may retry later."""

    may_send_error = False


class PeerError(ProtocolError):
    """The peer sent an ERROR command and the connection is over.

    ``peer_reason`` holds the peer's text.  A reason of "300", "400" or "500" is a ZAP status code
    and sets ``auth_status``, as libzmq does.
    """

    may_send_error = False

    def __init__(self, peer_reason: bytes) -> None:
        super().__init__(f"the peer refused the connection: {quote(peer_reason)}")
        self.peer_reason = peer_reason
        if peer_reason in (b"300", b"400", b"500"):
            self.auth_status = int(peer_reason)
