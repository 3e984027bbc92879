"""Every bound the protocol layer enforces, each a named default with its reason.

Hostile input is bounded before it is allocated: all checks below are made from a frame header,
before a byte of the body is stored.
"""

from __future__ import annotations

from dataclasses import dataclass

#: MAXMSGSIZE default: the sum of a message's frames.  libzmq's default is unlimited, which lets a
#: single peer claim all memory (the CVE-2019-6250 class); 64 MiB covers real workloads.
DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024

#: Frames in one multipart message.  Empty frames cost no bytes, so a byte limit alone would let a
#: peer queue millions of frame objects; 100,000 is far above any routing envelope.
DEFAULT_MAX_MESSAGE_FRAMES = 100_000

#: A security-handshake command (HELLO, WELCOME, INITIATE, READY, ERROR).  The largest legitimate
#: one is an INITIATE or READY carrying metadata; a cap stops slowloris-style memory use before
#: authentication (CVE-2019-13132 was a metadata overflow in INITIATE).
DEFAULT_MAX_HANDSHAKE_COMMAND_SIZE = 32 * 1024

#: Total size of a metadata property list (READY, INITIATE, ZAP reply).
DEFAULT_MAX_METADATA_SIZE = 16 * 1024

#: Properties in one metadata list: each costs a dict entry, whatever its size.
DEFAULT_MAX_METADATA_PROPERTIES = 64

#: A command after the handshake (PING, PONG, SUBSCRIBE, CANCEL).  Only a subscription carries
#: real data, and a subscriber may hold at most 8 MiB of topics (sockets.pubsub): a larger
#: SUBSCRIBE is refused from its header, before its body costs a byte.
DEFAULT_MAX_TRAFFIC_COMMAND_SIZE = 8 * 1024 * 1024 + 16

#: A command between the frames of a multipart message.  RFC 37's grammar has none there, but
#: libzmq sends a heartbeat (PING or PONG: at most 1 + 4 + 2 + 16 octets) wherever its timer
#: fires, even mid-message; nothing larger is accepted there, so a peer cannot make a connection
#: hold a message in progress and a large partial command at once.
MAX_MID_MESSAGE_COMMAND_SIZE = 64

#: A frame body larger than this is received into a buffer of its own that grows as bytes
#: arrive (never from the declared size), instead of through the shared read buffer.
LARGE_FRAME_THRESHOLD = 64 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """The limits of one connection.  ``max_message_size < 0`` means unlimited (libzmq's -1)."""

    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    max_message_frames: int = DEFAULT_MAX_MESSAGE_FRAMES
    max_handshake_command_size: int = DEFAULT_MAX_HANDSHAKE_COMMAND_SIZE
    max_traffic_command_size: int = DEFAULT_MAX_TRAFFIC_COMMAND_SIZE
    max_metadata_size: int = DEFAULT_MAX_METADATA_SIZE
    max_metadata_properties: int = DEFAULT_MAX_METADATA_PROPERTIES

    def __post_init__(self) -> None:
        for name in (
            "max_message_frames",
            "max_handshake_command_size",
            "max_traffic_command_size",
            "max_metadata_size",
            "max_metadata_properties",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"Limits.{name} must be positive, got {getattr(self, name)!r}")


DEFAULT_LIMITS = Limits()
