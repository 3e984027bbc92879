"""ZMTP command bodies: the name, and the commands of RFC 37 (READY, ERROR, SUBSCRIBE, CANCEL,
PING, PONG).  Mechanism-specific commands (HELLO, WELCOME, INITIATE) live with their mechanism.

A command body is a size-prefixed name of 1-255 ALPHA characters followed by command data.
"""

from __future__ import annotations

from ..constants import ProtocolErrorCode
from .errors import ProtocolError
from .frames import Buffer

READY = b"READY"
ERROR = b"ERROR"
SUBSCRIBE = b"SUBSCRIBE"
CANCEL = b"CANCEL"
PING = b"PING"
PONG = b"PONG"

#: The largest PING context a peer may send (RFC 37).
MAX_PING_CONTEXT = 16
#: The largest ERROR reason (a short-size string).
MAX_ERROR_REASON = 255


def command(name: bytes, data: Buffer = b"") -> bytes:
    """Encode a command body: size-prefixed name, then data."""
    return bytes((len(name),)) + name + bytes(data)


def parse_command(body: Buffer) -> tuple[bytes, bytes]:
    """Split a command body into (name, data), checking the name's grammar."""
    raw = bytes(body)
    if not raw:
        raise ProtocolError(
            "empty command frame", ProtocolErrorCode.ZMTP_MALFORMED_COMMAND_UNSPECIFIED
        )
    size = raw[0]
    name = raw[1 : 1 + size]
    if size == 0 or len(name) < size or not name.isalpha() or not name.isascii():
        # The body is not quoted: a mangled HELLO carries a PLAIN password, and a secret
        # must not reach an exception even when the peer garbled it.
        raise ProtocolError(
            f"malformed command name (declared {size} octets in a {len(raw)}-octet command)",
            ProtocolErrorCode.ZMTP_MALFORMED_COMMAND_UNSPECIFIED,
        )
    return name, raw[1 + size :]


def error_command(reason: bytes) -> bytes:
    """An ERROR command body.  The reason is truncated to 255 octets."""
    reason = reason[:MAX_ERROR_REASON]
    return command(ERROR, bytes((len(reason),)) + reason)


def parse_error(data: bytes) -> bytes:
    """The reason of an ERROR command's data (a short-size string filling the command)."""
    if not data or data[0] != len(data) - 1:
        raise ProtocolError(
            "malformed ERROR command", ProtocolErrorCode.ZMTP_MALFORMED_COMMAND_ERROR
        )
    return data[1:]


def ping_command(ttl_deciseconds: int, context: bytes = b"") -> bytes:
    """A PING: TTL in tenths of a second (0-65535), then up to 16 octets of context."""
    if not 0 <= ttl_deciseconds <= 0xFFFF:
        raise ValueError(f"PING TTL must be 0-65535 deciseconds, got {ttl_deciseconds}")
    if len(context) > MAX_PING_CONTEXT:
        raise ValueError(f"PING context is at most {MAX_PING_CONTEXT} octets")
    return command(PING, ttl_deciseconds.to_bytes(2, "big") + context)


def parse_ping(data: bytes) -> tuple[int, bytes]:
    """(TTL in deciseconds, context) of a PING command's data."""
    if len(data) < 2 or len(data) > 2 + MAX_PING_CONTEXT:
        raise ProtocolError(
            f"malformed PING: {len(data)} octets of data (2 to {2 + MAX_PING_CONTEXT} expected)",
            ProtocolErrorCode.ZMTP_MALFORMED_COMMAND_UNSPECIFIED,
        )
    return int.from_bytes(data[:2], "big"), data[2:]


def parse_pong(data: bytes) -> bytes:
    """The context of a PONG command's data."""
    if len(data) > MAX_PING_CONTEXT:
        raise ProtocolError(
            f"malformed PONG: {len(data)} octets of context (at most {MAX_PING_CONTEXT})",
            ProtocolErrorCode.ZMTP_MALFORMED_COMMAND_UNSPECIFIED,
        )
    return data
