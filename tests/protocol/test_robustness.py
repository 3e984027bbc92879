"""Any bytes, fed whole or split anywhere, produce events or a ProtocolError: never another
exception, and never unbounded memory.

For each mechanism and role, a Connection is driven against a real peer Connection to each state
of its handshake (greeting, after the greeting, each handshake step, waiting for ZAP, traffic).
There it is fed Hypothesis-made bytes: random bytes behind a valid prefix, and mutations (bit
flips, truncations, duplications, splices, inserted frames) of the valid bytes its peer sends from
that point on; split at Hypothesis-chosen points.  After every call:

- the call returned a list of messages and events, or raised a ``ProtocolError`` that closed the
  connection (and later calls raise ``ZMQError(EFSM)``);
- ``buffered`` is at most the bytes fed since the checkpoint, and at most what the limits allow;
- the connection never sent more than it was fed (plus one handshake's worth), and an ERROR only
  when it may (never from a PLAIN/CURVE client, never after the handshake, at most one, last);
- nothing it produced or raised shows a secret.

Valid bytes split anywhere give the same events as the same bytes fed whole.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest
from fuzz.harnesses._connection import Checkpoint, answer_zap
from fuzz.harnesses._connection import walk as walk_pair
from fuzz.harnesses._util import buffer_cap
from hypothesis import given, settings
from hypothesis import strategies as st

from safezmq.constants import Errno, ProtocolErrorCode
from safezmq.error import ZMQError
from safezmq.protocol import (
    Cancel,
    Connection,
    CookieKeyring,
    CurveClient,
    CurveServer,
    GreetingError,
    HandshakeComplete,
    Limits,
    NullMechanism,
    PeerError,
    PingReceived,
    PlainClient,
    PlainServer,
    PongReceived,
    ProtocolError,
    State,
    Subscribe,
    ZapReply,
    ZapReplyError,
    ZapRequestNeeded,
)
from safezmq.protocol.commands import command
from safezmq.protocol.frames import encode_command
from safezmq.protocol.greeting import GREETING_SIZE
from safezmq.protocol.zap import reply_for

from .linkutil import (
    CLIENT_SECRET,
    PASSWORD,
    SERVER_PUBLIC,
    SERVER_SECRET,
    USERNAME,
    assert_no_secrets,
    check_error_message,
    errors_of,
    flush,
    split_frames,
    zap_frames,
)

#: Limits small enough that the memory bounds bite, large enough for every handshake here.
SMALL = Limits(
    max_message_size=400,
    max_message_frames=4,
    max_handshake_command_size=400,
    max_metadata_size=80,
    max_metadata_properties=3,
)
DEFAULT = Limits()
#: Every example builds a fresh pair (a CURVE handshake is under a millisecond).
SETTINGS = settings(max_examples=100, deadline=None)
#: A connection may send at most this much more than it was fed: its handshake replies (CURVE
#: WELCOME and READY are the largest) and one ERROR.  Everything else answers input (PONG < PING).
OUTPUT_SLACK = 512
EVENT_TYPES = (HandshakeComplete, ZapRequestNeeded, PingReceived, PongReceived, Subscribe, Cancel)


# -- scenarios: a connection under test and the real peer that drives it ---------------------------


Pair = tuple[Connection, Connection]


def null_client(limits: Limits) -> Pair:
    conn = Connection(NullMechanism(), socket_type=b"DEALER", identity=b"me", limits=limits)
    return conn, Connection(NullMechanism(True), socket_type=b"ROUTER", limits=limits)


def null_server(limits: Limits) -> Pair:
    conn = Connection(NullMechanism(True), socket_type=b"ROUTER", limits=limits)
    return conn, Connection(NullMechanism(), socket_type=b"DEALER", identity=b"p", limits=limits)


def null_server_zap(limits: Limits) -> Pair:
    conn = Connection(NullMechanism(True, zap=True), socket_type=b"SUB", limits=limits)
    return conn, Connection(NullMechanism(), socket_type=b"PUB", limits=limits)


def plain_client(limits: Limits) -> Pair:
    conn = Connection(PlainClient(USERNAME, PASSWORD), socket_type=b"DEALER", limits=limits)
    return conn, Connection(PlainServer(), socket_type=b"DEALER", limits=limits)


def plain_server(limits: Limits) -> Pair:
    conn = Connection(PlainServer(), socket_type=b"PUB", limits=limits)
    peer = Connection(PlainClient(USERNAME, PASSWORD), socket_type=b"SUB", limits=limits)
    return conn, peer


def curve_client(limits: Limits) -> Pair:
    conn = Connection(
        CurveClient(SERVER_PUBLIC, CLIENT_SECRET), socket_type=b"REQ", identity=b"r", limits=limits
    )
    return conn, Connection(CurveServer(SERVER_SECRET), socket_type=b"REP", limits=limits)


def curve_server(limits: Limits) -> Pair:
    conn = Connection(CurveServer(SERVER_SECRET), socket_type=b"ROUTER", limits=limits)
    peer = Connection(
        CurveClient(SERVER_PUBLIC, CLIENT_SECRET), socket_type=b"DEALER", limits=limits
    )
    return conn, peer


#: One keyring for every no-ZAP CURVE server: replays between connections meet a live key.
KEYRING = CookieKeyring()


def curve_server_nozap(limits: Limits) -> Pair:
    mechanism = CurveServer(SERVER_SECRET, zap=False, keyring=KEYRING)
    conn = Connection(mechanism, socket_type=b"PULL", limits=limits)
    peer = Connection(CurveClient(SERVER_PUBLIC, CLIENT_SECRET), socket_type=b"PUSH", limits=limits)
    return conn, peer


SCENARIOS: dict[str, Callable[[Limits], Pair]] = {
    "null-client": null_client,
    "null-server": null_server,
    "null-server-zap": null_server_zap,
    "plain-client": plain_client,
    "plain-server": plain_server,
    "curve-client": curve_client,
    "curve-server": curve_server,
    "curve-server-nozap": curve_server_nozap,
}


def walk(scenario: str, limits: Limits) -> Iterator[Checkpoint]:
    """Drive a fresh pair through the handshake, stopping at each state of ``conn`` (the fuzz
    harnesses' walk: see fuzz/harnesses/_connection.py)."""
    conn, peer = SCENARIOS[scenario](limits)
    yield from walk_pair(conn, peer)


def checkpoint(scenario: str, index: int, limits: Limits) -> Checkpoint:
    for i, point in enumerate(walk(scenario, limits)):
        if i == index:
            assert point.conn.buffered == 0
            assert point.conn.data_to_send() == []
            return point
    raise AssertionError(f"{scenario} has no checkpoint {index}")


def _reference(scenario: str) -> list[tuple[str, bytes]]:
    points = [(p.label, p.pending) for p in walk(scenario, DEFAULT)]
    # The valid continuation of each checkpoint: its pending bytes and all that followed.
    return [
        (label, b"".join(pending for _, pending in points[i:]))
        for i, (label, _) in enumerate(points)
    ]


REFERENCE = {name: _reference(name) for name in SCENARIOS}
CASES = [
    pytest.param(name, i, id=f"{name}-{label}")
    for name, points in REFERENCE.items()
    for i, (label, _) in enumerate(points)
]
#: Every transcript, for splicing one into another.
TRANSCRIPTS = [
    transcript for points in REFERENCE.values() for _, transcript in points if transcript
]


def test_every_state_is_visited() -> None:
    labels = {name: [label for label, _ in points] for name, points in REFERENCE.items()}
    assert labels["null-client"] == ["greeting", "handshake:ready", "traffic"]
    assert labels["null-server-zap"] == ["greeting", "handshake:ready", "zap-pending", "traffic"]
    assert labels["plain-client"] == [
        "greeting",
        "handshake:welcome",
        "handshake:ready",
        "traffic",
    ]
    assert labels["plain-server"] == [
        "greeting",
        "handshake:hello",
        "zap-pending",
        "handshake:initiate",
        "traffic",
    ]
    assert labels["curve-client"] == [
        "greeting",
        "handshake:welcome",
        "handshake:ready",
        "traffic",
    ]
    assert labels["curve-server"] == [
        "greeting",
        "handshake:hello",
        "handshake:initiate",
        "zap-pending",
        "traffic",
    ]
    assert labels["curve-server-nozap"] == [
        "greeting",
        "handshake:hello",
        "handshake:initiate",
        "traffic",
    ]


# -- feeding and checking --------------------------------------------------------------------------


def _check_events(conn: Connection, got: object, seen: list[object], was_traffic: bool) -> None:
    assert isinstance(got, list)
    limits = conn.limits
    for item in got:
        if isinstance(item, list):
            # A message: only after the handshake completed, and within the limits.
            assert conn.state is State.TRAFFIC
            assert was_traffic or any(isinstance(e, HandshakeComplete) for e in seen)
            assert 1 <= len(item) <= limits.max_message_frames
            assert all(isinstance(f, (bytes, bytearray, memoryview)) for f in item)
            assert sum(len(f) for f in item) <= limits.max_message_size
        else:
            assert isinstance(item, EVENT_TYPES), item
            if isinstance(item, HandshakeComplete):
                assert not any(isinstance(e, HandshakeComplete) for e in seen)
            if isinstance(item, ZapRequestNeeded):
                assert conn.mechanism.as_server
                assert_no_secrets(item)
        seen.append(item)


def _check_failure(conn: Connection, exc: ProtocolError, before: State, sent: bytes) -> None:
    assert conn.state is State.CLOSED
    assert isinstance(exc.code, ProtocolErrorCode)
    assert exc.auth_status in (None, 300, 400, 500)
    check_error_message(exc)  # one printable line (peer bytes escaped), no secret
    assert_no_secrets(conn, conn.mechanism)
    errors = errors_of(sent)
    assert len(errors) <= 1
    if errors:
        assert conn.mechanism.may_send_error  # never from a PLAIN or CURVE client
        assert before is not State.TRAFFIC  # never once traffic flows
        assert not isinstance(exc, (GreetingError, PeerError, ZapReplyError))
        assert sent.endswith(
            encode_command(command(b"ERROR", bytes((len(errors[0]),)) + errors[0]))
        )
        assert_no_secrets(errors[0].decode("latin-1"))


ZapAnswer = tuple[int, ZapReply | list[bytes]]


def feed_and_check(
    conn: Connection, pieces: list[bytes], zap_answer: ZapAnswer | None = None
) -> tuple[list[object], bool]:
    """Feed ``pieces`` one call each, checking every invariant; returns (events, failed).

    A ZAP request raised by the input is answered 200 at once; ``zap_answer`` = (i, reply) gives
    the pending request of a zap-pending checkpoint ``reply`` just before piece ``i``.
    """
    cap = buffer_cap(conn.limits)  # None when MAXMSGSIZE is unlimited
    fed = sent_total = 0
    events: list[object] = []
    failed = False
    for i, piece in enumerate(pieces):
        if failed:
            with pytest.raises(ZMQError) as info:
                conn.receive_data(piece)
            assert info.value.errno == Errno.EFSM
            continue
        before = conn.state
        fed += len(piece)
        try:
            if zap_answer is not None and zap_answer[0] == i and before is State.ZAP_PENDING:
                got = conn.zap_reply(zap_answer[1])
                _check_events(conn, got, events, False)
            got = conn.receive_data(piece)
        except ProtocolError as exc:
            failed = True
            sent = flush(conn)
            _check_failure(conn, exc, before, sent)
        else:
            was_traffic = before is State.TRAFFIC
            _check_events(conn, got, events, was_traffic)
            more = answer_zap(conn, got)
            _check_events(conn, more, events, was_traffic)
            sent = flush(conn)
            assert conn.state is not State.CLOSED
            assert conn.buffered <= fed
            if cap is not None:
                assert conn.buffered <= cap
        sent_total += len(sent)
        assert sent_total <= fed + OUTPUT_SLACK
    return events, failed


def _normal(events: list[object]) -> list[object]:
    return [[bytes(f) for f in e] if isinstance(e, list) else e for e in events]


# -- strategies ------------------------------------------------------------------------------------


@st.composite
def splits(draw: st.DrawFn, data: bytes) -> list[bytes]:
    """``data`` cut into pieces: whole, at chosen points, or (at first) one octet at a time."""
    how = draw(st.sampled_from(("whole", "cuts", "octets")))
    if how == "whole" or not data:
        return [data]
    if how == "octets":  # the first 512 octets one by one (the handshake and more), then the rest
        return [data[i : i + 1] for i in range(min(len(data), 512))] + [data[512:]] * (
            len(data) > 512
        )
    cuts = sorted(set(draw(st.lists(st.integers(0, len(data)), max_size=12))))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds) if b > a] or [data]


def frame_sizes(data: bytes) -> list[int]:
    """The wire size (header and body) of each whole frame in ``data``."""
    return [(9 if flags & 0x02 else 2) + len(body) for flags, body in split_frames(data)]


def valid_prefix(point: Checkpoint) -> st.SearchStrategy[int]:
    """How much of the peer's valid bytes to keep: usually up to a frame (or greeting)
    boundary, sometimes anywhere.  Cutting inside a frame makes whatever follows part of its
    body, which is worth trying but would hide the rest if done every time."""
    pending = point.pending
    head = GREETING_SIZE if point.conn.state is State.GREETING else 0
    starts = [0] if head else []
    boundaries = starts + list(itertools.accumulate(frame_sizes(pending[head:]), initial=head))
    at_boundary = st.sampled_from(tuple(boundaries))
    return st.one_of(at_boundary, at_boundary, at_boundary, st.integers(0, len(pending)))


def wire_header(size: int, flags: int) -> bytes:
    """A frame header with any flags, reserved bits included."""
    if size > 255:
        return bytes((flags | 0x02,)) + size.to_bytes(8, "big")
    return bytes((flags, size))


COMMAND_NAMES = [
    b"READY",
    b"ERROR",
    b"HELLO",
    b"WELCOME",
    b"INITIATE",
    b"MESSAGE",
    b"PING",
    b"PONG",
    b"SUBSCRIBE",
    b"CANCEL",
    b"JOIN",
]
#: Command data: mostly short (PING, PONG, ERROR and metadata edges), sometimes handshake-sized.
COMMAND_DATA = st.one_of(st.binary(max_size=24), st.binary(min_size=150, max_size=300))


@st.composite
def command_bodies(draw: st.DrawFn) -> bytes:
    """A command body: a known name (or a broken one), then data."""
    if draw(st.integers(0, 9)):
        name = draw(st.sampled_from(COMMAND_NAMES))
        return bytes((len(name),)) + name + draw(COMMAND_DATA)
    return draw(st.binary(max_size=12))


#: A PING's TTL: usually the 2 octets it must be, sometimes not.
PING_TTL = st.one_of(st.binary(min_size=2, max_size=2), st.binary(max_size=3))
#: Traffic commands, mostly well-formed at their size edges so that a stream of them goes on
#: long enough to reach every branch; the rest is anything command_bodies makes.
TRAFFIC_COMMANDS = st.one_of(
    st.builds(lambda t, c: command(b"PING", t + c), PING_TTL, st.binary(max_size=17)),
    st.builds(lambda c: command(b"PONG", c), st.binary(max_size=17)),
    st.builds(lambda t: command(b"SUBSCRIBE", t), st.binary(max_size=30)),
    st.builds(lambda t: command(b"CANCEL", t), st.binary(max_size=30)),
    st.builds(lambda r: command(b"ERROR", bytes((len(r),)) + r), st.binary(max_size=20)),
    command_bodies(),
)


@st.composite
def peer_frames(draw: st.DrawFn, peer: Connection) -> bytes:
    """Traffic frames as ``peer`` encodes them: commands and message frames of any shape, with
    the peer's real MESSAGE boxes under CURVE, so that the command parsing behind the
    decryption is reached too.  Under CURVE the wire flags are usually 0 (as libzmq sends)."""
    codec = peer.mechanism.traffic_codec()  # CURVE's shares the peer's key and nonces
    out = b""
    for _ in range(draw(st.integers(1, 8))):
        is_command = draw(st.booleans())
        body = draw(TRAFFIC_COMMANDS) if is_command else draw(st.binary(max_size=40))
        flags = 0x04 if is_command else 0
        if draw(st.integers(0, 7 if is_command else 2)) == 0:
            flags |= 0x01  # MORE: part of a message, or a command that may not have it
        if codec is None:
            out += wire_header(len(body), flags) + body
        else:
            boxed = codec.box(flags, body)
            wire_flags = draw(st.sampled_from((0, 0, 0, 0, 0x01, 0x04, 0x08)))
            out += wire_header(len(boxed), wire_flags) + boxed
    return out


@st.composite
def frames(draw: st.DrawFn) -> bytes:
    """Frame-shaped bytes: commands with known names, message frames with any flags, sizes
    that lie, and a frame left unfinished behind a large declared size."""
    out = b""
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(("command", "message", "partial")))
        if kind == "partial":
            flags = draw(st.sampled_from((0, 1, 4))) | 0x02
            size = draw(st.one_of(st.integers(0, 5000), st.integers(0, 2**64 - 1)))
            body = bytes(draw(st.integers(0, 1200)))
            return out + bytes((flags,)) + size.to_bytes(8, "big") + body[: max(size - 1, 0)]
        if kind == "command":
            body = draw(command_bodies())
            flags = draw(st.sampled_from((4, 4, 4, 5, 0x0C)))
        else:
            body = draw(st.binary(max_size=300))
            flags = draw(st.sampled_from((0, 1, 0, 1, 0x10, 0x80)))
        size = len(body) if draw(st.integers(0, 9)) else draw(st.integers(0, 2**64 - 1))
        if size > 255 or draw(st.booleans()):
            out += bytes((flags | 0x02,)) + size.to_bytes(8, "big") + body
        else:
            out += bytes((flags, size)) + body
    return out


#: Data sizes at the edges of RFC 24/26 handshake commands (and of short strings).
HANDSHAKE_SIZES = (0, 1, 2, 3, 23, 24, 159, 160, 161, 193, 194, 195, 247, 248, 249)


@st.composite
def handshake_frames(draw: st.DrawFn) -> bytes:
    """Handshake commands with data of edge sizes (random content, so boxes do not open)."""
    out = b""
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from((b"HELLO", b"WELCOME", b"INITIATE", b"READY", b"ERROR")))
        size = draw(st.one_of(st.sampled_from(HANDSHAKE_SIZES), st.integers(0, 300)))
        out += encode_command(command(name, draw(st.binary(min_size=size, max_size=size))))
    return out


LIMITS = st.sampled_from((DEFAULT, SMALL))
GARBAGE = st.one_of(st.binary(max_size=600), frames(), handshake_frames())


MUTATIONS = st.sampled_from(
    ("flip", "set", "truncate", "delete", "duplicate", "insert", "splice", "frames")
)


@st.composite
def mutated(draw: st.DrawFn, transcript: bytes) -> bytes:
    """``transcript`` with a few mutations."""
    data = bytearray(transcript)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(MUTATIONS)
        at = draw(st.integers(0, len(data)))
        if op == "flip" and data:
            i = min(at, len(data) - 1)
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[min(at, len(data) - 1)] = draw(st.integers(0, 255))
        elif op == "truncate":
            del data[at:]
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif op == "duplicate":
            end = min(len(data), at + draw(st.integers(1, 400)))
            data[end:end] = data[at:end]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif op == "splice":
            other = draw(st.sampled_from(TRANSCRIPTS))
            start = draw(st.integers(0, len(other)))
            data[at:] = other[start : start + draw(st.integers(1, 1000))]
        elif op == "frames":
            data[at:at] = draw(frames())
    return bytes(data)


def zap_answer(data: st.DataObject, point: Checkpoint, pieces: list[bytes]) -> ZapAnswer | None:
    """At a zap-pending checkpoint, maybe answer the pending request somewhere in the input."""
    request = point.conn.zap_request
    if request is None or not data.draw(st.booleans(), label="answer zap"):
        return None
    reply: ZapReply | list[bytes] = data.draw(
        st.one_of(
            st.sampled_from((200, 300, 400, 500)).map(lambda s: reply_for(request, s)),
            st.lists(st.binary(max_size=8), max_size=8),
            st.builds(
                lambda rid, status: zap_frames(request, request_id=rid, status=status),
                st.sampled_from((b"1", b"2")),
                st.sampled_from((b"200", b"400", b"201")),
            ),
        ),
        label="zap reply",
    )
    return data.draw(st.integers(0, len(pieces)), label="answer before piece"), reply


# -- the properties --------------------------------------------------------------------------------


@pytest.mark.parametrize(("scenario", "index"), CASES)
@SETTINGS
@given(data=st.data())
def test_random_bytes(scenario: str, index: int, data: st.DataObject) -> None:
    """A valid prefix of the peer's bytes, then random bytes (or frame-shaped garbage)."""
    limits = data.draw(LIMITS, label="limits")
    point = checkpoint(scenario, index, limits)
    prefix = point.pending[: data.draw(valid_prefix(point), label="prefix")]
    garbage = data.draw(GARBAGE, label="garbage")
    pieces = data.draw(splits(prefix + garbage), label="pieces")
    feed_and_check(point.conn, pieces, zap_answer(data, point, pieces))


@pytest.mark.parametrize(("scenario", "index"), CASES)
@SETTINGS
@given(data=st.data())
def test_mutated_transcript(scenario: str, index: int, data: st.DataObject) -> None:
    """The peer's real bytes from this state on, mutated.  The first part is this run's own
    transcript (it opens under CURVE); the rest is the reference run's (it does not)."""
    limits = data.draw(LIMITS, label="limits")
    point = checkpoint(scenario, index, limits)
    _, later = REFERENCE[scenario][index + 1] if index + 1 < len(REFERENCE[scenario]) else ("", b"")
    transcript = point.pending + later
    payload = data.draw(mutated(transcript), label="payload")
    pieces = data.draw(splits(payload), label="pieces")
    feed_and_check(point.conn, pieces, zap_answer(data, point, pieces))


@pytest.mark.parametrize(("scenario", "index"), CASES)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_valid_bytes_split_anywhere(scenario: str, index: int, data: st.DataObject) -> None:
    """The peer's valid bytes give the same events whole or split, and raise nothing."""
    limits = data.draw(LIMITS, label="limits")
    whole = checkpoint(scenario, index, limits)
    expected, failed = feed_and_check(whole.conn, [whole.pending])
    assert not failed
    point = checkpoint(scenario, index, limits)
    events, failed = feed_and_check(point.conn, data.draw(splits(point.pending), label="pieces"))
    assert not failed
    assert _normal(events) == _normal(expected)
    assert point.conn.state is whole.conn.state
    assert point.conn.buffered == whole.conn.buffered == 0


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_traffic_frames_from_the_peer(scenario: str, data: st.DataObject) -> None:
    """In traffic, frames the real peer encoded (boxed under CURVE) carrying any command or
    message shape, behind a prefix of the peer's valid traffic."""
    limits = data.draw(LIMITS, label="limits")
    point = checkpoint(scenario, len(REFERENCE[scenario]) - 1, limits)
    keep = data.draw(valid_prefix(point), label="valid prefix")
    payload = point.pending[:keep] + data.draw(peer_frames(point.peer), label="frames")
    feed_and_check(point.conn, data.draw(splits(payload), label="pieces"))


# -- a few deterministic worst cases ---------------------------------------------------------------


@pytest.mark.parametrize(("scenario", "index"), CASES)
def test_declared_sizes_cost_nothing(scenario: str, index: int) -> None:
    """Huge declared sizes are refused from the header (SMALL), or cost only what arrives."""
    for limits in (SMALL, DEFAULT):
        for size in (2**63 - 1, 2**63, 2**64 - 1, 60 * 2**20, 65_536, 401):
            for flags in (0x02, 0x06, 0x03):
                point = checkpoint(scenario, index, limits)
                head = point.pending[:GREETING_SIZE] if point.conn.state is State.GREETING else b""
                # The body never completes: what arrived is all a peer can make us hold.
                payload = (
                    head + bytes((flags,)) + size.to_bytes(8, "big") + bytes(min(size - 1, 1500))
                )
                feed_and_check(
                    point.conn, [payload[i : i + 97] for i in range(0, len(payload), 97)]
                )


#: Data sizes worth trying for any command: empty, tiny, the PING/PONG context edges.
SHORT_SIZES = [0, 1, 2, 3, 17, 18, 19]
CONTENTS: list[Callable[[int], bytes]] = [
    bytes,
    lambda n: bytes(i % 251 for i in range(n)),
    lambda n: bytes((1, 0)) * (n // 2) + b"\x01" * (n % 2),  # small size prefixes everywhere
]


@pytest.mark.parametrize(("scenario", "index"), CASES)
def test_every_command_at_edge_sizes(scenario: str, index: int) -> None:
    """Each state meets each command name with data of edge sizes and simple contents (the
    state-by-input table of h2's tests): events or a ProtocolError, every invariant held."""
    probe = checkpoint(scenario, index, DEFAULT)
    mechanism = probe.conn.mechanism
    expected = set(mechanism.EXPECT.get(mechanism.step, {}))
    for name in [*COMMAND_NAMES, b"X" * 255]:
        sizes = HANDSHAKE_SIZES if name in expected or name == b"READY" else SHORT_SIZES
        for size in sizes:
            for content in CONTENTS:
                point = checkpoint(scenario, index, DEFAULT)
                head = point.pending[:GREETING_SIZE] if point.label == "greeting" else b""
                body = command(name, content(size))
                codec = point.peer.mechanism.traffic_codec() if point.label == "traffic" else None
                if codec is None:
                    frame = encode_command(body)
                else:  # CURVE traffic: the peer boxes it, so the command itself is tested
                    boxed = codec.box(0x04, body)
                    frame = wire_header(len(boxed), 0) + boxed
                feed_and_check(point.conn, [head + frame])


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_many_empty_frames_are_bounded(scenario: str) -> None:
    """Empty frames cost no bytes but are counted: the frame limit ends a long message."""
    point = checkpoint(scenario, len(REFERENCE[scenario]) - 1, SMALL)  # traffic
    point.peer.send_message([b""] * 1000)  # well-formed (boxed under CURVE), far too many
    events, failed = feed_and_check(point.conn, [point.pending + flush(point.peer)])
    assert failed and events == []
    assert point.conn.state is State.CLOSED
