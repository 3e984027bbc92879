"""The engine behind the six Connection harnesses (NULL, PLAIN, CURVE; client and server).

A Connection of the mechanism and role under test is driven with a real peer to one state of its
handshake (a *checkpoint*: greeting, each handshake step, waiting for ZAP, traffic), then fed the
fuzz input.  Input layout::

    0  checkpoint        which state to stop in (modulo the scenario's number of states)
    1  flags             bits 0-1 split mode (whole, octets, chunks, growing chunks)
                         bit 2 SMALL limits; bit 3 structured input (below)
                         bits 4-5 the ZAP status given to requests (200, 300, 400, 500)
                         bit 6 at the zap-pending state, answer ZAP only after the first piece
                         bit 7 at the greeting state, the peer announces ZMTP 3.0
    2  split parameter   chunk size - 1 for the chunked split modes
    3  valid prefix      how many of the peer's pending valid frames go first (255: all)
    4  variant           bits 0-1 socket-type pair, bit 2 the server uses ZAP; bit 3: deliver
                         large frame bodies through ``receive_buffer()``/``buffer_received()``
                         (the engine's zero-copy ``recv_into`` path) where offered; bit 4:
                         when the input ends inside a large frame, zeros complete it
    5… payload

Raw input: the valid prefix, then the payload bytes as they are.  Structured input: at the
traffic state, the payload is a list of frames (flags octet, sized body) that the real peer
encodes (and boxes, under CURVE); in any other state the whole handshake is played from the start
with fuzz-chosen fields (the peer's metadata for NULL and PLAIN, every HELLO, WELCOME, INITIATE
and READY field under CURVE, made with tests/protocol/curveforge.py), then such frames.

Properties, after every call: it returned a list of messages and events, or raised a
``ProtocolError`` that closed the connection (a later call raises ``ZMQError(EFSM)``); messages
respect the limits and come only after the handshake; ``buffered`` is at most what was fed and
what the limits allow; output is at most the input plus one handshake's worth; at most one ERROR
is sent, last, and only when the mechanism may send one; error messages are printable and show
no secret.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from safezmq.constants import Errno
from safezmq.error import ZMQError
from safezmq.protocol import (
    Cancel,
    Connection,
    CookieKeyring,
    CurveClient,
    CurveServer,
    HandshakeComplete,
    Limits,
    Mechanism,
    NullMechanism,
    PingReceived,
    PlainClient,
    PlainServer,
    PongReceived,
    ProtocolError,
    State,
    Subscribe,
    ZapRequestNeeded,
)
from safezmq.protocol.frames import COMMAND, MORE, encode_command
from safezmq.protocol.greeting import GREETING_SIZE, build_greeting
from safezmq.protocol.sockettypes import SENDS_IDENTITY
from safezmq.protocol.zap import reply_for

from ._util import (
    DEFAULT,
    SMALL,
    Reader,
    buffer_cap,
    check_large_allocation,
    check_protocol_error,
    feed_zero_copy,
    large_remaining,
    over_cap,
    split,
    wire_frames,
)
from ._util import wire_header as _wire_header
from .keys import CLIENT_SECRET, PASSWORD, SECRETS, SERVER_PUBLIC, SERVER_SECRET, USERNAME

#: A connection may send at most this much more than it was fed: its own handshake commands
#: (CURVE's WELCOME, INITIATE and READY are the largest) and one ERROR.
OUTPUT_SLACK = 512
EVENT_TYPES = (HandshakeComplete, ZapRequestNeeded, PingReceived, PongReceived, Subscribe, Cancel)
ZAP_STATUS = (200, 300, 400, 500)
#: (ours, the peer's): a routing pair, a pair with subscriptions, REQ/REP and the reverse.
SOCKET_PAIRS = ((b"DEALER", b"ROUTER"), (b"PUB", b"SUB"), (b"REQ", b"REP"), (b"ROUTER", b"DEALER"))
#: One cookie keyring for the CURVE servers, so that a cookie from one run meets a live key.
KEYRING = CookieKeyring()

Pair = tuple[Connection, Connection]


def flush(conn: Connection) -> bytes:
    return b"".join(bytes(b) for b in conn.data_to_send())


def _conn(mechanism: Mechanism, socket_type: bytes, limits: Limits, identity: bytes) -> Connection:
    return Connection(
        mechanism,
        socket_type=socket_type,
        identity=identity if socket_type in SENDS_IDENTITY else b"",
        limits=limits,
        peer_address=b"127.0.0.1",
    )


@dataclass(frozen=True)
class Scenario:
    """How to build the connection under test and its peer."""

    mechanism: bytes
    as_server: bool

    def pair(self, limits: Limits, variant: int) -> Pair:
        ours, theirs = SOCKET_PAIRS[variant & 3]
        zap = bool(variant & 4)
        mine: Mechanism
        peer: Mechanism
        if self.mechanism == b"NULL":
            mine = NullMechanism(self.as_server, zap=zap and self.as_server)
            peer = NullMechanism(not self.as_server, zap=zap and not self.as_server)
        elif self.mechanism == b"PLAIN":
            plain: tuple[Mechanism, Mechanism] = (PlainClient(USERNAME, PASSWORD), PlainServer(zap))
            mine, peer = plain[::-1] if self.as_server else plain
        else:
            curve: tuple[Mechanism, Mechanism] = (
                CurveClient(SERVER_PUBLIC, CLIENT_SECRET),
                CurveServer(SERVER_SECRET, zap=zap, keyring=KEYRING),
            )
            mine, peer = curve[::-1] if self.as_server else curve
        return _conn(mine, ours, limits, b"me"), _conn(peer, theirs, limits, b"peer")


@dataclass
class Checkpoint:
    label: str
    conn: Connection
    peer: Connection
    #: What the peer sent that ``conn`` has not read yet: valid input from here on.
    pending: bytes


def answer_zap(conn: Connection, events: list[object], status: int = 200) -> list[object]:
    more: list[object] = []
    for event in events:
        if isinstance(event, ZapRequestNeeded):
            more += conn.zap_reply(reply_for(event.request, status, b"", b"user"))
    return more


def send_traffic(peer: Connection) -> None:
    """What the peer says once connected (it fits the SMALL limits)."""
    peer.send_message([b"first", b"", b"z" * 300])
    peer.send_ping(30, b"ctx")
    peer.send_message([b"second"])
    if peer.socket_type == b"SUB":
        peer.send_subscribe(b"topic")
        peer.send_cancel(b"topic")


def walk(conn: Connection, peer: Connection) -> Iterator[Checkpoint]:
    """Drive the pair through the handshake, stopping at each state of ``conn``; the greeting is
    delivered alone, a ZAP request is a stop of its own, and the walk ends in traffic with the
    peer's first messages pending."""
    queue = b""
    in_traffic = False
    while True:
        out = flush(conn)
        if out:
            answer_zap(peer, peer.receive_data(out))
        queue += flush(peer)
        if conn.state is State.TRAFFIC and peer.state is State.TRAFFIC and not queue:
            send_traffic(peer)
            queue = flush(peer)
            in_traffic = True
        step = conn.mechanism.step if conn.state is State.HANDSHAKE else ""
        label = f"{conn.state.value}:{step}" if step else conn.state.value
        yield Checkpoint(label, conn, peer, queue)
        if in_traffic:
            return
        if conn.state is State.GREETING:
            chunk, queue = queue[:GREETING_SIZE], queue[GREETING_SIZE:]
        else:
            chunk, queue = queue, b""
        events = conn.receive_data(chunk)
        if any(isinstance(e, ZapRequestNeeded) for e in events):
            yield Checkpoint("zap-pending", conn, peer, queue)
        answer_zap(conn, events)


@functools.cache
def labels(scenario: Scenario, limits: Limits, variant: int) -> tuple[str, ...]:
    conn, peer = scenario.pair(limits, variant)
    return tuple(point.label for point in walk(conn, peer))


def checkpoint(scenario: Scenario, limits: Limits, variant: int, index: int) -> Checkpoint:
    conn, peer = scenario.pair(limits, variant)
    for i, point in enumerate(walk(conn, peer)):
        if i == index:
            assert conn.buffered == 0 and conn.data_to_send() == []
            return point
    raise AssertionError(f"no checkpoint {index}")


def valid_prefix(point: Checkpoint, frames: int) -> bytes:
    """The first ``frames`` frames of the peer's pending bytes (the greeting counts as one)."""
    pending = point.pending
    if frames == 255:
        return pending
    head = GREETING_SIZE if point.conn.state is State.GREETING else 0
    if head:
        if frames == 0:
            return b""
        frames -= 1
    end = head
    for i, (_, _, stop) in enumerate(wire_frames(pending[head:])):
        if i >= frames:
            break
        end = head + stop
    return pending[:end]


class Feeder:
    """Feeds one connection, checking every property after every call."""

    def __init__(self, conn: Connection, zap_status: int, zero_copy: bool = False) -> None:
        self.conn = conn
        self.zero_copy = zero_copy
        self.zap_status = zap_status
        self.cap = buffer_cap(conn.limits)
        self.fed = 0
        self.sent = 0
        self.failed = False
        self.events: list[object] = []

    def stopped(self) -> bool:
        """Whether the connection failed (a method, so that type checkers re-read it)."""
        return self.failed

    def zap_reply(self) -> bytes:
        """Answer the pending ZAP request; return what the connection sent."""
        conn = self.conn
        request = conn.zap_request
        if request is None or self.failed:
            return b""
        before = conn.state
        try:
            got = conn.zap_reply(reply_for(request, self.zap_status, b"", b"user"))
        except ProtocolError as exc:
            return self._failure(exc, before)
        self._check_events(got, before)
        return self._sent()

    def feed(self, piece: bytes) -> bytes:
        """Feed one piece; return what the connection sent in answer."""
        conn = self.conn
        if self.failed:
            try:
                conn.receive_data(piece)
            except ZMQError as exc:
                assert exc.errno == Errno.EFSM, exc
            else:
                raise AssertionError("a closed connection accepted more input")
            return b""
        before = conn.state
        self.fed += len(piece)
        try:
            if self.zero_copy:
                got = feed_zero_copy(conn, piece, conn.receive_data)
            else:
                got = conn.receive_data(piece)
            assert isinstance(got, list), type(got)
            self._check_events(got, before)
            more = answer_zap(conn, got, self.zap_status)
            self._check_events(more, before)
        except ProtocolError as exc:
            return self._failure(exc, before)
        assert conn.state is not State.CLOSED
        assert conn.buffered <= self.fed, (conn.buffered, self.fed)
        decoder = getattr(conn, "_decoder", None)
        check_large_allocation(decoder)
        if self.cap is not None:
            assert conn.buffered <= self.cap, over_cap(decoder, conn.buffered, self.cap)
        return self._sent()

    def _sent(self) -> bytes:
        sent = flush(self.conn)
        self.sent += len(sent)
        assert self.sent <= self.fed + OUTPUT_SLACK, (self.sent, self.fed)
        return sent

    def _check_events(self, got: list[object], before: State) -> None:
        conn = self.conn
        limits = conn.limits
        for item in got:
            if isinstance(item, list):
                assert conn.state is State.TRAFFIC
                assert before is State.TRAFFIC or any(
                    isinstance(e, HandshakeComplete) for e in self.events
                ), "a message before the handshake completed"
                assert 1 <= len(item) <= limits.max_message_frames
                assert all(isinstance(f, (bytes, bytearray, memoryview)) for f in item)
                if limits.max_message_size >= 0:
                    assert sum(len(f) for f in item) <= limits.max_message_size
            else:
                assert isinstance(item, EVENT_TYPES), repr(item)
                if isinstance(item, HandshakeComplete):
                    assert not any(isinstance(e, HandshakeComplete) for e in self.events)
                if isinstance(item, ZapRequestNeeded):
                    assert conn.mechanism.as_server
            self.events.append(item)

    def _failure(self, exc: ProtocolError, before: State) -> bytes:
        conn = self.conn
        self.failed = True
        assert conn.state is State.CLOSED, conn.state
        assert conn.zap_request is None
        check_protocol_error(exc, *SECRETS)
        sent = flush(conn)
        # Only complete, unencrypted frames: the ERROR (if any) must be the last and only one.
        errors = [
            i
            for i, (flags, start, _) in enumerate(wire_frames(sent))
            if flags & COMMAND and sent[start : start + 6] == b"\x05ERROR"
        ]
        if errors:
            assert len(errors) == 1, "more than one ERROR"
            assert errors[0] == len(list(wire_frames(sent))) - 1, "ERROR is not last"
            assert conn.mechanism.may_send_error, "a client that may not send ERROR sent one"
            assert before is not State.TRAFFIC, "ERROR after the handshake"
        self.sent += len(sent)
        assert self.sent <= self.fed + OUTPUT_SLACK, (self.sent, self.fed)
        # The closed connection refuses input and sends nothing more.
        self.feed(b"\x04\x06\x05READY")
        assert conn.data_to_send() == []
        return sent


# -- structured input ------------------------------------------------------------------------------


def read_frames(reader: Reader, limit: int = 16) -> list[tuple[int, bytes]]:
    """(flags, body) pairs: a flags octet then a sized body, until the input ends."""
    frames: list[tuple[int, bytes]] = []
    while not reader.exhausted and len(frames) < limit:
        flags = reader.byte()
        frames.append((flags, reader.sized()))
    return frames


def encode_frames(peer: Connection, frames: list[tuple[int, bytes]]) -> bytes:
    """Frames as ``peer`` puts them on the wire.  Under CURVE, the inner flags are bits 0 and 2
    of ``flags`` (MORE, COMMAND) and the wire flags are 0 unless bit 7 is set (then bits 3-6
    are the wire's bits 0-3, reserved and LONG included); in clear text ``flags`` is the wire
    flags octet."""
    codec = peer.mechanism.traffic_codec()
    out = bytearray()
    for flags, body in frames:
        if codec is None:
            out += _wire_header(len(body), flags) + body
        else:
            boxed = codec.box(flags & (MORE | COMMAND), body)
            wire = (flags >> 3) & 0x0F if flags & 0x80 else 0
            out += _wire_header(len(boxed), wire) + boxed
    return bytes(out)


def feed_all(feeder: Feeder, data: bytes, mode: int, param: int) -> bytes:
    sent = b""
    for piece in split(data, mode, param):
        sent += feeder.feed(piece)
        if feeder.stopped():
            break
    return sent


def play_clear(
    scenario: Scenario, limits: Limits, variant: int, reader: Reader, cfg: Config
) -> None:
    """NULL and PLAIN: the whole handshake with the peer announcing fuzz metadata, then frames."""
    conn, peer = scenario.pair(limits, variant)
    peer.mechanism.local_metadata = reader.sized()
    feeder = Feeder(conn, cfg.zap_status, cfg.zero_copy)
    answer_zap(peer, peer.receive_data(flush(conn)))
    for _ in range(8):
        pending = flush(peer)
        if cfg.zmtp30 and pending[:1] == b"\xff" and len(pending) >= GREETING_SIZE:
            pending = pending[:11] + b"\x00" + pending[12:]
        if not pending:
            break
        sent = feed_all(feeder, pending, cfg.split_mode, cfg.split_param)
        if feeder.stopped():
            return
        if sent:
            answer_zap(peer, peer.receive_data(sent))
    if conn.state is State.TRAFFIC and peer.state is State.TRAFFIC:
        feed_all(feeder, encode_frames(peer, read_frames(reader)), cfg.split_mode, cfg.split_param)


def _forge() -> tuple[type[Any], type[Any]]:
    """tests/protocol/curveforge.py's independent CurveZMQ peers (imported when first needed,
    so that the other harnesses run without the tests package)."""
    from tests.protocol.curveforge import ForgedClient, ForgedServer

    return ForgedClient, ForgedServer


def _commands(data: bytes) -> list[bytes]:
    """Bodies of the command frames in ``data`` (a greeting in front is skipped)."""
    if data[:1] == b"\xff" and len(data) >= GREETING_SIZE:
        data = data[GREETING_SIZE:]
    return [data[s:e] for flags, s, e in wire_frames(data) if flags & COMMAND]


def play_curve(
    scenario: Scenario, limits: Limits, variant: int, reader: Reader, cfg: Config
) -> None:
    """CURVE: the handshake with an independent forged peer whose every field may be fuzzed."""
    forged_client, forged_server = _forge()
    conn, _ = scenario.pair(limits, variant)
    feeder = Feeder(conn, cfg.zap_status, cfg.zero_copy)
    which = reader.byte()
    split_mode, param = cfg.split_mode, cfg.split_param
    greeting = build_greeting(b"CURVE", not scenario.as_server)
    if cfg.zmtp30:
        greeting = greeting[:11] + b"\x00" + greeting[12:]
    ours = flush(conn)
    assert len(ours) == GREETING_SIZE

    def send(data: bytes) -> list[bytes]:
        return _commands(feed_all(feeder, data, split_mode, param))

    if scenario.as_server:
        client = forged_client(SERVER_PUBLIC, CLIENT_SECRET)
        version = reader.take(2) if which & 1 else b"\x01\x00"
        padding = reader.take(72) if which & 2 else bytes(72)
        nonce = reader.number(8) if which & 4 else 1
        signature = reader.sized() if which & 8 else bytes(64)
        hello = client.hello(nonce, version=version, padding=padding, signature_plaintext=signature)
        replies = send(greeting + encode_command(hello))
        if feeder.stopped() or not replies:
            return
        client.welcome(replies[0])
        kwargs: dict[str, object] = {"meta": reader.sized()}
        if which & 32:
            kwargs["vouch_plaintext"] = reader.sized()
        if which & 64:
            kwargs["claimed_key"] = reader.take(32)
        if which & 128:
            kwargs["cookie"] = reader.sized()
        nonce = reader.number(8) if which & 16 else 2
        replies = send(encode_command(client.initiate(nonce, **kwargs)))
        if feeder.stopped():
            return
        if conn.state is State.ZAP_PENDING:
            feeder.zap_reply()
        if feeder.stopped() or conn.state is not State.TRAFFIC:
            return
        peer_message = client.message
    else:
        server = forged_server(SERVER_SECRET)
        replies = send(greeting)
        if feeder.stopped() or not replies:
            return
        server.hello(replies[0])
        if which & 1:
            server.transient_public = reader.take(32)
        cookie = reader.sized() if which & 2 else None
        replies = send(encode_command(server.welcome(cookie=cookie)))
        if feeder.stopped() or not replies or which & 1:
            return  # (with a fuzzed S' the forge cannot open the INITIATE)
        meta = server.initiate(replies[0])
        assert meta == bytes(conn.mechanism.local_metadata), "INITIATE lost our metadata"
        nonce = reader.number(8) if which & 4 else 1
        send(encode_command(server.ready(nonce, meta=reader.sized())))
        if feeder.stopped() or conn.state is not State.TRAFFIC:
            return
        peer_message = server.message
    # Traffic: MESSAGE bodies with fuzz-chosen flags, nonces and payloads.
    data = bytearray()
    nonce = 2 if scenario.as_server else 1
    for flags, body in read_frames(reader):
        nonce += 1 + (flags >> 4 & 3 if flags & 0x40 else 0)
        if flags & 0x80:
            nonce = max(nonce - 2, 0)  # a replayed or reordered nonce
        boxed = peer_message(nonce, flags & 0x0F, body)
        assert isinstance(boxed, bytes)
        data += _wire_header(len(boxed), 0) + boxed
    feed_all(feeder, bytes(data), split_mode, param)


# -- the harness -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    checkpoint: int
    split_mode: int
    small: bool
    structured: bool
    zap_status: int
    zap_late: bool
    zmtp30: bool
    split_param: int
    prefix: int
    variant: int
    zero_copy: bool
    complete: bool

    @classmethod
    def read(cls, reader: Reader) -> Config:
        index, flags, param, prefix, variant = (reader.byte() for _ in range(5))
        return cls(
            checkpoint=index,
            split_mode=flags & 3,
            small=bool(flags & 4),
            structured=bool(flags & 8),
            zap_status=ZAP_STATUS[(flags >> 4) & 3],
            zap_late=bool(flags & 0x40),
            zmtp30=bool(flags & 0x80),
            split_param=param,
            prefix=prefix,
            variant=variant & 7,
            zero_copy=bool(variant & 8),
            complete=bool(variant & 16),
        )


def header(
    checkpoint: int = 0,
    *,
    split_mode: int = 0,
    small: bool = False,
    structured: bool = False,
    zap: int = 0,
    zap_late: bool = False,
    zmtp30: bool = False,
    split_param: int = 0,
    prefix: int = 0,
    variant: int = 0,
) -> bytes:
    """The 5-octet header of an input (for writing seeds)."""
    flags = split_mode | small << 2 | structured << 3 | zap << 4 | zap_late << 6 | zmtp30 << 7
    return bytes((checkpoint, flags, split_param, prefix, variant))


def run(scenario: Scenario, data: bytes) -> None:
    reader = Reader(data)
    cfg = Config.read(reader)
    limits = SMALL if cfg.small else DEFAULT
    names = labels(scenario, limits, cfg.variant)
    index = cfg.checkpoint % len(names)
    if cfg.structured and names[index] != "traffic":
        if scenario.mechanism == b"CURVE":
            play_curve(scenario, limits, cfg.variant, reader, cfg)
        else:
            play_clear(scenario, limits, cfg.variant, reader, cfg)
        return
    point = checkpoint(scenario, limits, cfg.variant, index)
    conn = point.conn
    feeder = Feeder(conn, cfg.zap_status, cfg.zero_copy)
    # Structured, in traffic: frames the real peer encodes.
    payload = encode_frames(point.peer, read_frames(reader)) if cfg.structured else reader.rest()
    pending = point.pending
    if cfg.zmtp30 and conn.state is State.GREETING:
        pending = pending[:11] + b"\x00" + pending[12:]
        point.pending = pending
    data = valid_prefix(point, cfg.prefix) + payload
    pieces = split(data, cfg.split_mode, cfg.split_param)
    if conn.state is State.ZAP_PENDING and not cfg.zap_late:
        feeder.zap_reply()
    for i, piece in enumerate(pieces):
        feeder.feed(piece)
        if feeder.stopped():
            break
        if i == 0 and conn.state is State.ZAP_PENDING and cfg.zap_late:
            feeder.zap_reply()
    if cfg.complete and not feeder.stopped():
        # A large frame (64 KiB or more) cannot arrive whole in a fuzz input: finish it.
        need = large_remaining(getattr(conn, "_decoder", None))
        if 0 < need <= 1 << 20:
            for piece in split(bytes(need), 2, need // 4):
                feeder.feed(piece)
                if feeder.stopped():
                    break


NULL_CLIENT = Scenario(b"NULL", False)
NULL_SERVER = Scenario(b"NULL", True)
PLAIN_CLIENT = Scenario(b"PLAIN", False)
PLAIN_SERVER = Scenario(b"PLAIN", True)
CURVE_CLIENT = Scenario(b"CURVE", False)
CURVE_SERVER = Scenario(b"CURVE", True)
