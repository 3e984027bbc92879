"""What every security mechanism is: a small state machine of expected commands.

A mechanism is given the commands the peer sends during the handshake and answers with the
commands to send back.  Which command it expects at each step is data (``EXPECT``), so an
out-of-order or unknown command is refused in one place.  A server mechanism that needs an
authentication decision stops in the ``ZAP`` phase until the connection hands it the answer.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from ..constants import ProtocolErrorCode
from .commands import ERROR, parse_command, parse_error
from .errors import PeerError, ProtocolError, quote
from .frames import Buffer
from .limits import DEFAULT_LIMITS, Limits
from .metadata import Metadata, decode_metadata


class Phase(enum.Enum):
    HANDSHAKE = "handshake"
    #: Waiting for a ZAP decision (server side only).
    ZAP = "zap"
    DONE = "done"


class TrafficCodec:
    """How an encrypting mechanism turns frames into wire frames after the handshake."""

    #: Octets the codec adds to every frame on the wire.
    overhead: ClassVar[int] = 0

    def box(self, flags: int, body: Buffer) -> Buffer:
        raise NotImplementedError

    def box_messages(self, messages: Sequence[Any]) -> Buffer | None:
        """The wire form (frame headers included) of a batch of messages sealed together, or
        None when this codec or these messages need ``box`` frame by frame."""
        return None

    def unbox(self, body: Buffer) -> tuple[int, Buffer]:
        raise NotImplementedError

    def unbox_run(
        self, data: bytes, starts: Sequence[int], ends: Sequence[int]
    ) -> tuple[list[bytes], bytes] | None:
        """A run of whole wire frames of ``data`` (bodies ``data[starts[i]:ends[i]]``) opened
        together: the plaintext of each and its inner flags octet (bit 0 MORE, bit 1 COMMAND).
        None when this codec cannot, or when any frame of the run would fail ``unbox``; the
        caller then goes frame by frame, so errors come out exactly where they are.  Nothing
        of the codec's state changes unless the run is returned."""
        return None


Handler = Callable[[bytes], list[bytes]]


class Mechanism:
    """Base of NULL, PLAIN and CURVE, client or server side."""

    name: ClassVar[bytes]
    #: For each step, the commands accepted there and the method that handles each.
    EXPECT: ClassVar[dict[str, dict[bytes, str]]] = {}
    #: A malformed prefix a known peer uses for ERROR, accepted as ERROR (see PlainClient).
    ERROR_ALIAS: ClassVar[bytes | None] = None

    def __init__(self, as_server: bool) -> None:
        self.as_server = as_server
        self.phase = Phase.HANDSHAKE
        self.step = ""
        self.local_metadata = b""
        self.limits = DEFAULT_LIMITS
        #: What the peer announced, once its READY or INITIATE has been read.
        self.peer_metadata: Metadata | None = None
        #: The credential frames for a ZAP request, when in the ZAP phase.
        self.zap_credentials: tuple[bytes, ...] = ()

    @property
    def greeting_as_server(self) -> bool:
        """The as-server flag of our greeting (only mechanisms with roles set it)."""
        return self.as_server

    @property
    def may_send_error(self) -> bool:
        """Whether this side may send ERROR (RFC 26: a client never does)."""
        return self.as_server

    def setup(self, local_metadata: bytes, limits: Limits) -> None:
        self.local_metadata = local_metadata
        self.limits = limits

    def start(self) -> list[bytes]:
        """The commands to send once the greetings are exchanged."""
        raise NotImplementedError

    def process(self, body: bytes) -> list[bytes]:
        """Handle one handshake command from the peer; return the commands to send."""
        alias = self.ERROR_ALIAS
        if alias is not None and body.startswith(alias):
            raise PeerError(parse_error(body[len(alias) :]))
        name, data = parse_command(body)
        if name == ERROR:
            raise PeerError(parse_error(data))
        method = self.EXPECT.get(self.step, {}).get(name)
        if method is None:
            raise ProtocolError(
                f"unexpected {quote(name)} command during the {self.name.decode()} handshake "
                f"(step {self.step or 'none'!r})",
                ProtocolErrorCode.ZMTP_UNEXPECTED_COMMAND,
            )
        handler: Handler = getattr(self, method)
        return handler(data)

    def zap_accepted(self) -> list[bytes]:
        """Continue after the ZAP handler said 200; return the commands to send."""
        raise ProtocolError("this mechanism asked for no ZAP decision")

    def traffic_codec(self) -> TrafficCodec | None:
        """The codec for messages after the handshake, or None for clear text."""
        return None

    def _parse_metadata(self, data: bytes, code: ProtocolErrorCode) -> Metadata:
        try:
            return decode_metadata(
                data,
                max_size=self.limits.max_metadata_size,
                max_properties=self.limits.max_metadata_properties,
            )
        except ProtocolError as exc:
            raise ProtocolError(exc.reason, code) from None

    def __repr__(self) -> str:
        role = "server" if self.as_server else "client"
        return f"<{type(self).__name__} {role} phase={self.phase.value} step={self.step!r}>"
