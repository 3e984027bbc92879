"""What a Connection reports, besides messages (which are plain lists of frames).

Events are frozen, slotted dataclasses; each says one thing that happened on the connection.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .metadata import Metadata
from .zap import ZapRequest


@dataclass(frozen=True, slots=True)
class HandshakeComplete:
    """The security handshake succeeded; messages may flow.

    ``peer_metadata`` is what the peer announced (READY or INITIATE); ``zap_metadata`` and
    ``user_id`` come from the ZAP reply, when one was asked for.
    """

    zmtp_version: tuple[int, int]
    mechanism: bytes
    peer_metadata: Metadata
    user_id: bytes | None = None
    zap_metadata: Metadata = field(default_factory=Metadata)

    @property
    def socket_type(self) -> bytes | None:
        return self.peer_metadata.get("Socket-Type")

    @property
    def identity(self) -> bytes:
        return self.peer_metadata.get("Identity", b"")


@dataclass(frozen=True, slots=True)
class ZapRequestNeeded:
    """The server mechanism needs a ZAP decision; answer with ``Connection.zap_reply``."""

    request: ZapRequest


@dataclass(frozen=True, slots=True)
class PingReceived:
    """The peer sent PING (a PONG is already queued).  ``ttl`` is in seconds, 0 for none."""

    ttl: float
    context: bytes


@dataclass(frozen=True, slots=True)
class PongReceived:
    context: bytes


@dataclass(frozen=True, slots=True)
class Subscribe:
    """The peer subscribed to ``topic`` (ZMTP 3.1 SUBSCRIBE command)."""

    topic: bytes


@dataclass(frozen=True, slots=True)
class Cancel:
    """The peer cancelled a subscription to ``topic`` (ZMTP 3.1 CANCEL command)."""

    topic: bytes


Event = HandshakeComplete | ZapRequestNeeded | PingReceived | PongReceived | Subscribe | Cancel
