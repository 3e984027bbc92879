"""ZAP (RFC 27): the request a server mechanism sends to its authentication handler and the reply.

Both are codecs only; where the handler lives and how the messages travel is the engine's affair.
On the wire a request is ``"" "1.0" request-id domain address identity mechanism credentials...``
and a reply ``"" "1.0" request-id status-code status-text user-id metadata``, the first frame
being the empty address delimiter.  A reply is checked field by field with libzmq's error codes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..constants import ProtocolErrorCode
from .errors import ProtocolError, ZapReplyError, quote
from .frames import Buffer
from .limits import DEFAULT_LIMITS, Limits
from .metadata import Metadata, decode_metadata, encode_metadata

ZAP_VERSION = b"1.0"
ZAP_ENDPOINT = "inproc://zeromq.zap.01"
#: Status codes (RFC 27): success, temporary error, authentication failure, internal error.
STATUS_CODES = (200, 300, 400, 500)
#: "All string fields are at most 255 characters."
MAX_STRING = 255


@dataclass(frozen=True, slots=True)
class ZapRequest:
    """A request for an authentication decision.  ``credentials`` are never shown in repr."""

    request_id: bytes
    domain: bytes
    address: bytes
    identity: bytes
    mechanism: bytes
    credentials: tuple[bytes, ...] = field(default=(), repr=False)

    def to_frames(self, delimiter: bool = True) -> list[bytes]:
        frames = [
            ZAP_VERSION,
            self.request_id,
            self.domain,
            self.address,
            self.identity,
            self.mechanism,
            *self.credentials,
        ]
        return [b"", *frames] if delimiter else frames

    @classmethod
    def from_frames(cls, frames: Sequence[Buffer], delimiter: bool = True) -> ZapRequest:
        """Parse a request (as a handler receives it).  Raises ValueError when malformed."""
        parts = [bytes(f) for f in frames]
        if delimiter:
            if not parts or parts[0]:
                raise ValueError("ZAP request does not start with an empty delimiter frame")
            parts = parts[1:]
        if len(parts) < 6:
            raise ValueError(f"ZAP request has {len(parts)} frames; at least 6 are required")
        if parts[0] != ZAP_VERSION:
            raise ValueError(f"ZAP request version is {quote(parts[0])}, not b'1.0'")
        return cls(parts[1], parts[2], parts[3], parts[4], parts[5], tuple(parts[6:]))


@dataclass(frozen=True, slots=True)
class ZapReply:
    """A handler's decision."""

    request_id: bytes
    status_code: int
    status_text: bytes = b""
    user_id: bytes = b""
    metadata: Metadata = field(default_factory=Metadata)

    def to_frames(self, delimiter: bool = True) -> list[bytes]:
        frames = [
            ZAP_VERSION,
            self.request_id,
            str(self.status_code).encode(),
            self.status_text,
            self.user_id,
            encode_metadata(self.metadata),
        ]
        return [b"", *frames] if delimiter else frames

    @classmethod
    def from_frames(
        cls, frames: Sequence[Buffer], delimiter: bool = True, limits: Limits = DEFAULT_LIMITS
    ) -> ZapReply:
        """Parse and check a reply; a malformed one raises ProtocolError with a ZAP code."""
        parts = [bytes(f) for f in frames]
        expected = 7 if delimiter else 6
        if len(parts) != expected:
            raise ZapReplyError(
                f"ZAP reply has {len(parts)} frames, expected {expected}",
                ProtocolErrorCode.ZAP_MALFORMED_REPLY,
            )
        if delimiter:
            if parts[0]:
                raise ZapReplyError(
                    "ZAP reply does not start with an empty delimiter frame",
                    ProtocolErrorCode.ZAP_MALFORMED_REPLY,
                )
            parts = parts[1:]
        version, request_id, status, text, user_id, metadata = parts
        if version != ZAP_VERSION:
            raise ZapReplyError(
                f"ZAP reply version is {quote(version)}, not b'1.0'",
                ProtocolErrorCode.ZAP_BAD_VERSION,
            )
        if status not in (b"200", b"300", b"400", b"500"):
            raise ZapReplyError(
                f"ZAP reply status code {quote(status)} is not 200, 300, 400 or 500",
                ProtocolErrorCode.ZAP_INVALID_STATUS_CODE,
            )
        if len(text) > MAX_STRING or len(user_id) > MAX_STRING:
            raise ZapReplyError(
                "ZAP reply status text or user id is longer than 255 octets",
                ProtocolErrorCode.ZAP_MALFORMED_REPLY,
            )
        try:
            properties = decode_metadata(
                metadata,
                max_size=limits.max_metadata_size,
                max_properties=limits.max_metadata_properties,
                code=ProtocolErrorCode.ZAP_INVALID_METADATA,
            )
        except ProtocolError as exc:
            raise ZapReplyError(exc.reason, exc.code) from None
        return cls(request_id, int(status), text, user_id, properties)


def reply_for(
    request: ZapRequest,
    status_code: int,
    status_text: bytes = b"",
    user_id: bytes = b"",
    metadata: Mapping[str, bytes] | None = None,
) -> ZapReply:
    """A reply to ``request`` (echoing its request id)."""
    if status_code not in STATUS_CODES:
        raise ValueError(f"ZAP status code must be one of {STATUS_CODES}, got {status_code}")
    return ZapReply(request.request_id, status_code, status_text, user_id, Metadata(metadata))
