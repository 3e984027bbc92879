"""One ZMTP connection, without I/O: greeting, security handshake, ZAP, then traffic.

Bytes in, events out::

    conn = Connection(CurveClient(server_key, secret), socket_type=b"DEALER")
    transport.write(conn.data_to_send())       # our greeting, at once
    for event in conn.receive_data(chunk):      # messages (lists of frames) and events
        ...
    conn.send_message([b"hello"]); transport.write(conn.data_to_send())

Every violation raises a ``ProtocolError`` (with libzmq's error code) and closes the connection;
``data_to_send()`` then holds the last bytes to write before closing (an ERROR command, when the
protocol lets us explain).  The connection's states and the moves between them are the table
``TRANSITIONS`` below; nothing else changes ``state``.
"""

from __future__ import annotations

import enum
import operator
from collections.abc import Mapping, Sequence
from typing import Any

from ..constants import Errno, ProtocolErrorCode
from ..error import ZMQError
from . import commands as cmd
from .chunkpool import ChunkPool
from .errors import AuthenticationFailed, PeerError, ProtocolError, ZapReplyError
from .events import (
    Cancel,
    HandshakeComplete,
    PingReceived,
    PongReceived,
    Subscribe,
    ZapRequestNeeded,
)
from .frames import (
    COMMAND,
    MORE,
    SHORT_HEADERS,
    Buffer,
    FrameDecoder,
    encode_command,
    encode_message,
    encode_single_frame_messages,
    frame_header,
)
from .greeting import (
    GREETING_SIZE,
    VERSION_MAJOR,
    VERSION_MINOR,
    Greeting,
    build_greeting,
    check_greeting_prefix,
    check_peer_greeting,
    parse_greeting,
)
from .limits import DEFAULT_LIMITS, Limits
from .mechanism import Mechanism, Phase, TrafficCodec
from .metadata import IDENTITY, SOCKET_TYPE, Metadata, encode_metadata
from .sockettypes import SENDS_IDENTITY, compatible
from .zap import ZapReply, ZapRequest


class State(enum.Enum):
    GREETING = "greeting"  # our greeting is sent; waiting for the peer's 64 octets
    HANDSHAKE = "handshake"  # the mechanism exchanges commands
    ZAP_PENDING = "zap-pending"  # the server mechanism waits for a ZAP decision
    TRAFFIC = "traffic"  # messages and traffic commands flow both ways
    CLOSED = "closed"  # a protocol error or an ERROR ended the connection


#: Every legal move.  Any other is a bug in this module, caught by ``_enter``.
TRANSITIONS: Mapping[State, frozenset[State]] = {
    State.GREETING: frozenset({State.HANDSHAKE, State.CLOSED}),
    State.HANDSHAKE: frozenset({State.ZAP_PENDING, State.TRAFFIC, State.CLOSED}),
    State.ZAP_PENDING: frozenset({State.HANDSHAKE, State.TRAFFIC, State.CLOSED}),
    State.TRAFFIC: frozenset({State.CLOSED}),
    State.CLOSED: frozenset(),
}

#: Commands that belong to a handshake: seeing one during traffic is a protocol error.
_HANDSHAKE_COMMANDS = frozenset({b"HELLO", b"WELCOME", b"INITIATE", b"READY"})

#: The request id of our (single) ZAP request.
_ZAP_REQUEST_ID = b"1"


class SharedEncoding:
    """The wire form of the batches of messages that a socket's NULL/PLAIN connections encoded
    last, offered to the socket's other connections.

    A PUB or XPUB puts the *same* message objects into every subscriber's pipe, so its sessions
    pull the same messages in batches that overlap.  The first session to encode a message keeps
    the bytes here; the others find their batch (or runs of it) here, by the identity of the
    message objects, and reuse those bytes: a message is encoded once, not once per subscriber.
    Only batches of single small ``bytes`` frames (what ``encode_single_frame_messages`` takes)
    are kept, so tracked and zero-copy messages never are.  What is kept is bounded by
    ``MAX_BYTES`` of wire (the newest batch is kept whatever its size); a kept message object
    cannot be freed and its id reused while it is kept.  CURVE connections never use it (each
    seals with its own keys).  Used from one thread (the socket's I/O loop)."""

    __slots__ = ("_chunks", "_kept", "encoded", "reused")

    #: Octets of encoded wire kept for the connections that lag behind.
    MAX_BYTES = 4 << 20

    def __init__(self) -> None:
        self._chunks: list[_Chunk] = []  # oldest first
        self._kept = 0
        #: Messages encoded, and messages whose encoding was reused (for tests and profiling).
        self.encoded = 0
        self.reused = 0

    def encode(self, messages: Sequence[Any]) -> list[Buffer] | None:
        """The buffers that put ``messages`` on the wire, reusing what is kept; None if they
        are not all single small ``bytes`` frames (the caller encodes them itself)."""
        out: list[Buffer] = []
        count = len(messages)
        pos = 0
        while pos < count:
            found = self._find(messages[pos])
            if found is None:
                wire = self._encode_and_keep(messages[pos:] if pos else messages)
                if wire is None:
                    return None
                out.append(wire)
                break
            chunk, start = found
            kept = chunk.messages
            common = min(len(kept) - start, count - pos)
            if not all(map(operator.is_, kept[start : start + common], messages[pos:])):
                # A run shorter than the kept one: a differently filtered pipe.  Rare: encode.
                wire = self._encode_and_keep(messages[pos:])
                if wire is None:
                    return None
                out.append(wire)
                break
            out.append(chunk.view(start, start + common))
            self.reused += common
            pos += common
        return out

    def _find(self, msg: Any) -> tuple[_Chunk, int] | None:
        key = id(msg)
        for chunk in reversed(self._chunks):
            index = chunk.index.get(key)
            if index is not None:
                return chunk, index
        return None

    def _encode_and_keep(self, messages: Sequence[Any]) -> bytes | None:
        wire = encode_single_frame_messages(messages)
        if wire is None:
            return None
        self.encoded += len(messages)
        chunks = self._chunks
        chunks.append(_Chunk(list(messages), wire))
        self._kept += len(wire)
        while self._kept > self.MAX_BYTES and len(chunks) > 1:
            self._kept -= len(chunks.pop(0).wire)
        return wire


class _Chunk:
    """One encoded batch: its messages, where each is in it (by object id), and its wire."""

    __slots__ = ("_offsets", "index", "messages", "wire")

    def __init__(self, messages: list[Any], wire: bytes) -> None:
        self.messages = messages  # holds the objects, so their ids stay theirs
        self.wire = wire
        self.index: dict[int, int] = dict(zip(map(id, messages), range(len(messages)), strict=True))
        self._offsets: list[int] | None = None

    def view(self, start: int, stop: int) -> Buffer:
        """The wire of ``messages[start:stop]``, without a copy."""
        if start == 0 and stop == len(self.messages):
            return self.wire
        offsets = self._offsets
        if offsets is None:
            offsets = self._offsets = _wire_offsets(self.messages)
        return memoryview(self.wire)[offsets[start] : offsets[stop]]


def _wire_offsets(messages: list[Any]) -> list[int]:
    """Where each message of a batch of single-frame messages starts in its wire form, and
    where the last ends: a short frame's header is 2 octets, a long one's 9."""
    offsets = [0]
    at = 0
    for (body,) in messages:
        size = len(body)
        at += size + (2 if size < 256 else 9)
        offsets.append(at)
    return offsets


class Connection:
    """The protocol state of one connection.  See the module docstring."""

    def __init__(
        self,
        mechanism: Mechanism,
        *,
        socket_type: bytes,
        identity: bytes = b"",
        metadata: Mapping[str, bytes] | None = None,
        limits: Limits = DEFAULT_LIMITS,
        check_socket_type: bool = True,
        zap_domain: bytes = b"",
        peer_address: bytes = b"",
        chunk_pool: ChunkPool | None = None,
    ) -> None:
        if len(identity) > 255:
            raise ValueError("a routing identity is at most 255 octets")
        self.mechanism = mechanism
        self.socket_type = socket_type
        self.limits = limits
        self.check_socket_type = check_socket_type
        self.zap_domain = zap_domain
        self.peer_address = peer_address
        self.identity = identity
        properties: dict[str, bytes] = {SOCKET_TYPE: socket_type}
        if socket_type in SENDS_IDENTITY:
            properties[IDENTITY] = identity
        properties.update(metadata or {})
        mechanism.setup(encode_metadata(properties), limits)

        self.state = State.GREETING
        #: The peer's greeting, once received.
        self.peer_greeting: Greeting | None = None
        #: The ZMTP version spoken: the lower of ours and the peer's.
        self.zmtp_version = (VERSION_MAJOR, VERSION_MINOR)
        #: The ZAP request awaiting a reply, if any.
        self.zap_request: ZapRequest | None = None
        self.user_id: bytes | None = None
        self.zap_metadata = Metadata()
        self._codec: TrafficCodec | None = None
        self._greeting_buffer = b""
        self._out: list[Buffer] = [build_greeting(mechanism.name, mechanism.greeting_as_server)]
        self._decoder = FrameDecoder(limits, self._on_command, limits.max_handshake_command_size)
        self._decoder.chunk_pool = chunk_pool

    @property
    def seals(self) -> bool:
        """Whether each message sent becomes a new buffer (an encrypting mechanism's boxes)
        rather than a view of the caller's frames."""
        return self._codec is not None

    # -- input --------------------------------------------------------------------------------

    def receive_data(self, data: Buffer) -> list[object]:
        """Feed bytes from the peer.  Returns messages (lists of frames) and events, in order."""
        if self.state is State.CLOSED:
            raise ZMQError(Errno.EFSM, "the connection is closed; discard it")
        out: list[object] = []
        try:
            if self.state is State.GREETING:
                rest = self._receive_greeting(bytes(data))
                if rest is None:
                    return out
                data = rest
            return self._decoder.feed(data, out)
        except ProtocolError as exc:
            # What was complete before the violation happened (a finished handshake, whole
            # messages) is handed over with the error: it was accepted, and must not vanish
            # depending on how TCP happened to cut the bytes.
            exc.events = out
            self._fail(exc)
            raise

    def receive_buffer(self) -> memoryview | None:
        """A buffer to receive the next octets into directly (``recv_into``), when that saves
        a copy — the body of a large frame in progress — else None (use ``receive_data``)."""
        if self.state is not State.TRAFFIC:
            return None
        return self._decoder.receive_buffer()

    def buffer_received(self, nbytes: int) -> list[object]:
        """``nbytes`` octets were received into ``receive_buffer()``: like ``receive_data``."""
        if self.state is State.CLOSED:
            raise ZMQError(Errno.EFSM, "the connection is closed; discard it")
        out: list[object] = []
        try:
            return self._decoder.buffer_received(nbytes, out)
        except ProtocolError as exc:
            exc.events = out
            self._fail(exc)
            raise

    def _receive_greeting(self, data: bytes) -> bytes | None:
        needed = GREETING_SIZE - len(self._greeting_buffer)
        self._greeting_buffer += data[:needed]
        check_greeting_prefix(self._greeting_buffer)
        if len(self._greeting_buffer) < GREETING_SIZE:
            return None
        peer = parse_greeting(self._greeting_buffer)
        self._greeting_buffer = b""
        self.peer_greeting = peer
        self._enter(State.HANDSHAKE)
        if (peer.major, peer.minor) < self.zmtp_version:
            self.zmtp_version = (peer.major, peer.minor)
        check_peer_greeting(peer, self.mechanism.name, self.mechanism.greeting_as_server)
        self._send_commands(self.mechanism.start())
        return data[needed:]

    def _on_command(self, body: Buffer, out: list[object]) -> None:
        """Called by the decoder for each complete command frame."""
        if self.state is State.HANDSHAKE:
            replies = self.mechanism.process(bytes(body))
            # Check what the peer announced *before* queuing our answer: a PLAIN or CURVE
            # server that has just read INITIATE must answer ERROR instead of READY, not READY
            # then ERROR (that completed the handshake for the client, and under CURVE the
            # ERROR then arrived as an unencrypted command the client could not even read).
            if self.mechanism.peer_metadata is not None:
                self._check_peer_metadata(self.mechanism.peer_metadata)
            self._send_commands(replies)
            self._after_mechanism(out)
        elif self.state is State.TRAFFIC:
            self._traffic_command(bytes(body), out)
        else:  # ZAP_PENDING: a conforming peer is waiting for our answer and sends nothing
            raise ProtocolError(
                "command received while the ZAP decision is pending",
                ProtocolErrorCode.ZMTP_UNEXPECTED_COMMAND,
            )

    def _traffic_command(self, body: bytes, out: list[object]) -> None:
        name, data = cmd.parse_command(body)
        if name == cmd.PING:
            ttl, context = cmd.parse_ping(data)
            self._send_command(cmd.command(cmd.PONG, context))
            out.append(PingReceived(ttl / 10, context))
        elif name == cmd.PONG:
            out.append(PongReceived(cmd.parse_pong(data)))
        elif name == cmd.SUBSCRIBE:
            out.append(Subscribe(data))
        elif name == cmd.CANCEL:
            out.append(Cancel(data))
        elif name == cmd.ERROR:
            raise PeerError(cmd.parse_error(data))
        elif name in _HANDSHAKE_COMMANDS:
            raise ProtocolError(
                f"{name.decode()} command after the handshake",
                ProtocolErrorCode.ZMTP_UNEXPECTED_COMMAND,
            )
        # Other well-formed commands are ignored, as libzmq does, so that a future ZMTP
        # command cannot break a connection; each is bounded by the command size limit.

    def _after_mechanism(self, out: list[object]) -> None:
        """Act on the mechanism's phase after it handled a command or a ZAP answer."""
        mechanism = self.mechanism
        # The peer's metadata was checked in _on_command, when the command carrying it arrived
        # (a ZAP decision never brings new peer metadata).
        if mechanism.phase is Phase.ZAP:
            self.zap_request = ZapRequest(
                _ZAP_REQUEST_ID,
                self.zap_domain,
                self.peer_address,
                self.identity,
                mechanism.name,
                mechanism.zap_credentials,
            )
            self._enter(State.ZAP_PENDING)
            out.append(ZapRequestNeeded(self.zap_request))
        elif mechanism.phase is Phase.DONE:
            self._enter(State.TRAFFIC)
            self._start_traffic()
            assert mechanism.peer_metadata is not None
            out.append(
                HandshakeComplete(
                    self.zmtp_version,
                    mechanism.name,
                    mechanism.peer_metadata,
                    self.user_id,
                    self.zap_metadata,
                )
            )

    def _check_peer_metadata(self, metadata: Metadata) -> None:
        invalid = ProtocolErrorCode.ZMTP_INVALID_METADATA
        if len(metadata.get(IDENTITY, b"")) > 255:
            raise ProtocolError("the peer's Identity is longer than 255 octets", invalid)
        if not self.check_socket_type:
            return
        peer_type = metadata.get(SOCKET_TYPE)
        if peer_type is None:
            raise ProtocolError("the peer did not announce its Socket-Type", invalid)
        if not compatible(self.socket_type, peer_type):
            # The peer chose these bytes: escaped (repr), so no control character reaches a log.
            raise ProtocolError(
                f"a {self.socket_type.decode()} socket cannot talk to a "
                f"{repr(peer_type[:20])[2:-1]} peer",
                invalid,
            )

    def _start_traffic(self) -> None:
        decoder = self._decoder
        max_message = self.limits.max_message_size
        command_limit = self.limits.max_traffic_command_size
        if max_message >= 0:
            command_limit = min(command_limit, max_message)
        decoder.command_limit = command_limit
        decoder.accept_messages = True
        codec = self._codec = self.mechanism.traffic_codec()
        if codec is not None:
            decoder.box_overhead = codec.overhead
            decoder.unbox = codec.unbox
            if type(codec).unbox_run is not TrafficCodec.unbox_run:
                decoder.unbox_run = codec.unbox_run  # else reads would be scanned for nothing

    # -- ZAP ----------------------------------------------------------------------------------

    def zap_reply(self, reply: ZapReply | Sequence[Buffer]) -> list[object]:
        """Give the ZAP handler's answer (a ZapReply, or its frames as received, delimiter
        first).  Returns the events it causes; a refusal raises AuthenticationFailed."""
        if self.state is not State.ZAP_PENDING or self.zap_request is None:
            raise ZMQError(Errno.EFSM, "no ZAP request is pending on this connection")
        out: list[object] = []
        try:
            if not isinstance(reply, ZapReply):
                reply = ZapReply.from_frames(reply, limits=self.limits)
            if reply.request_id != self.zap_request.request_id:
                raise ZapReplyError(
                    "ZAP reply answers another request", ProtocolErrorCode.ZAP_BAD_REQUEST_ID
                )
            if reply.status_code != 200:
                # The handler's text may echo what the client sent (a user name...): keep it
                # short and escaped, so that it cannot put control characters or forged log
                # lines into the error message (errors.py: peer bytes only truncated, escaped).
                text = repr(reply.status_text[:80])[2:-1]
                raise AuthenticationFailed(
                    reply.status_code,
                    f"the ZAP handler refused the client ({reply.status_code} {text})".strip(),
                )
            self.user_id = reply.user_id
            self.zap_metadata = reply.metadata
            self.zap_request = None
            self._enter(State.HANDSHAKE)
            self._send_commands(self.mechanism.zap_accepted())
            self._after_mechanism(out)
        except ProtocolError as exc:
            self._fail(exc)
            raise
        return out

    def refuse(self, status: int, reason: bytes) -> AuthenticationFailed:
        """Refuse the client without a ZAP reply (no handler, handler gone or too slow).

        Queues an ERROR whose reason is the bare status code (e.g. "500": libzmq reports an
        authentication failure only for a bare code, and the client need not learn our
        internals), closes the connection, and returns the exception that describes it, with
        ``reason``, for the engine's monitor event and logs."""
        if self.state is not State.ZAP_PENDING:
            raise ZMQError(Errno.EFSM, "no ZAP request is pending on this connection")
        exc = AuthenticationFailed(status, reason.decode("ascii", "replace"))
        self._fail(exc)
        return exc

    # -- output -------------------------------------------------------------------------------

    def data_to_send(self) -> list[Buffer]:
        """Everything queued for the peer since the last call, as a list of buffers."""
        out = self._out
        self._out = []
        return out

    def send_message(self, frames: Sequence[Buffer]) -> None:
        """Queue a message (one or more frames)."""
        if self.state is not State.TRAFFIC:
            raise ZMQError(Errno.EFSM, f"cannot send a message in state {self.state.value}")
        if not frames:
            raise ValueError("a message has at least one frame")
        codec = self._codec
        if codec is None:
            self._out += encode_message(frames)
            return
        last = len(frames) - 1
        for i, frame in enumerate(frames):
            boxed = codec.box(MORE if i < last else 0, frame)
            self._out += (frame_header(len(boxed)), boxed)

    def send_messages(
        self, messages: Sequence[Any], start: int = 0, shared: SharedEncoding | None = None
    ) -> int:
        """Queue ``messages[start:]`` up to the first that is not a plain ``list`` (a special
        kind the caller handles itself); return its index, or ``len(messages)``.  The hot path
        of a session: one call per batch rather than one per message.  ``shared``, when given,
        lets connections that send the same messages (a PUB's) encode them once between them;
        a CURVE connection ignores it."""
        if self.state is not State.TRAFFIC:
            raise ZMQError(Errno.EFSM, f"cannot send a message in state {self.state.value}")
        count = len(messages)
        codec = self._codec
        if codec is not None:
            if start == 0 and count > 8:
                sealed = codec.box_messages(messages)
                if sealed is not None:  # every message one small frame: sealed in one buffer
                    self._out.append(sealed)
                    return count
            for index in range(start, count):
                frames = messages[index]
                if type(frames) is not list:
                    return index
                self.send_message(frames)
            return count
        out = self._out
        if start == 0 and count > 8:
            if shared is not None:
                wires = shared.encode(messages)
                if wires is not None:  # every message one small frame, encoded once per socket
                    out += wires
                    return count
            else:
                wire = encode_single_frame_messages(messages)
                if wire is not None:  # every message one small frame: encoded in one buffer
                    out.append(wire)
                    return count
        append = out.append
        short = SHORT_HEADERS
        for index in range(start, count):
            frames = messages[index]
            if type(frames) is not list:
                return index
            if len(frames) == 1:  # the common case, inlined: one frame, no MORE
                body = frames[0]
                size = body.nbytes if isinstance(body, memoryview) else len(body)
                append(short[0][size] if size < 256 else frame_header(size, 0))
                append(body)
            elif frames:
                out += encode_message(frames)
            else:
                raise ValueError("a message has at least one frame")
        return count

    def send_subscribe(self, topic: bytes) -> None:
        """Subscribe: a SUBSCRIBE command in ZMTP 3.1, a ``\\x01topic`` message in 3.0."""
        self._send_subscription(cmd.SUBSCRIBE, b"\x01", topic)

    def send_cancel(self, topic: bytes) -> None:
        """Cancel: a CANCEL command in ZMTP 3.1, a ``\\x00topic`` message in 3.0."""
        self._send_subscription(cmd.CANCEL, b"\x00", topic)

    def _send_subscription(self, name: bytes, legacy: bytes, topic: bytes) -> None:
        if self.zmtp_version >= (3, 1):
            self._send_traffic_command(cmd.command(name, topic))
        else:
            self.send_message([legacy + topic])

    def send_ping(self, ttl_deciseconds: int = 0, context: bytes = b"") -> bool:
        """Queue a PING.  Returns False (and sends nothing) to a ZMTP 3.0 peer, which has no
        heartbeats."""
        if self.zmtp_version < (3, 1):
            return False
        self._send_traffic_command(cmd.ping_command(ttl_deciseconds, context))
        return True

    def _send_traffic_command(self, body: bytes) -> None:
        if self.state is not State.TRAFFIC:
            raise ZMQError(Errno.EFSM, f"cannot send a command in state {self.state.value}")
        self._send_command(body)

    def _send_command(self, body: bytes) -> None:
        codec = self._codec
        if codec is None:
            self._out.append(encode_command(body))
        else:
            boxed = codec.box(COMMAND, body)
            self._out += (frame_header(len(boxed)), boxed)

    def _send_commands(self, bodies: list[bytes]) -> None:
        for body in bodies:
            self._out.append(encode_command(body))

    # -- state --------------------------------------------------------------------------------

    @property
    def received_bytes(self) -> int:
        """Body octets of the messages the last ``receive_data`` returned."""
        return self._decoder.delivered_bytes

    @property
    def received_messages(self) -> int:
        """How many of the items the last ``receive_data`` returned are messages."""
        return self._decoder.delivered_messages

    @property
    def handshake_complete(self) -> bool:
        return self.state is State.TRAFFIC

    @property
    def buffered(self) -> int:
        """Bytes held for partial input (frames and the message in progress)."""
        return len(self._greeting_buffer) + self._decoder.buffered

    def _enter(self, state: State) -> None:
        if state not in TRANSITIONS[self.state]:
            raise AssertionError(f"illegal transition {self.state.value} -> {state.value}")
        self.state = state

    def _fail(self, exc: ProtocolError, reason: bytes | None = None) -> None:
        """Close after ``exc``: queue an ERROR when the peer may be told, then drop input."""
        explain = (
            exc.may_send_error
            and self.state in (State.HANDSHAKE, State.ZAP_PENDING)
            and self.mechanism.may_send_error
        )
        if explain:
            if reason is None:
                if exc.auth_status is not None:
                    reason = str(exc.auth_status).encode()
                else:
                    reason = exc.code.name.lower().replace("_", " ").encode()
            self._out.append(encode_command(cmd.error_command(reason)))
        self.state = State.CLOSED
        self.zap_request = None

    def __repr__(self) -> str:
        return (
            f"<Connection {self.socket_type.decode()} {self.mechanism.name.decode()} "
            f"state={self.state.value}>"
        )
