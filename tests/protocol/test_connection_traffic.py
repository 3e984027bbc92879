"""After the handshake, on every mechanism: messages, heartbeats and subscriptions.

Each test runs on NULL, PLAIN and CURVE; bytes are fed whole, one octet at a time and in odd-size
chunks.  Failures after the handshake are never explained with ERROR.
"""

from __future__ import annotations

import pytest

from safezmq.constants import Errno, ProtocolErrorCode
from safezmq.error import ZMQError
from safezmq.protocol import (
    Cancel,
    Connection,
    CurveClient,
    CurveServer,
    HandshakeComplete,
    Limits,
    MessageTooLarge,
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
from safezmq.protocol.commands import command
from safezmq.protocol.frames import COMMAND, MORE, encode_command, frame_header
from safezmq.protocol.zap import reply_for

from .linkutil import (
    CLIENT_SECRET,
    PASSWORD,
    SERVER_PUBLIC,
    SERVER_SECRET,
    USERNAME,
    Link,
    assert_no_secrets,
    commands_of,
    expect_failure,
    feed,
    flush,
    greeting_30,
    messages,
    only,
    patch_greeting,
    raises,
    split_frames,
)

Code = ProtocolErrorCode
MECHANISMS = ["NULL", "PLAIN", "CURVE"]
DEFAULT = Limits()


def pair(
    mechanism: str,
    a_type: bytes = b"DEALER",
    b_type: bytes = b"DEALER",
    *,
    limits: Limits = DEFAULT,
) -> tuple[Connection, Connection]:
    """Client ``a`` and server ``b`` of ``mechanism`` (servers use ZAP; the link says 200)."""
    if mechanism == "NULL":
        a_mech: NullMechanism | PlainClient | CurveClient = NullMechanism()
        b_mech: NullMechanism | PlainServer | CurveServer = NullMechanism(True, zap=True)
    elif mechanism == "PLAIN":
        a_mech, b_mech = PlainClient(USERNAME, PASSWORD), PlainServer()
    else:
        a_mech, b_mech = CurveClient(SERVER_PUBLIC, CLIENT_SECRET), CurveServer(SERVER_SECRET)
    a = Connection(a_mech, socket_type=a_type, limits=limits)
    b = Connection(b_mech, socket_type=b_type, limits=limits)
    return a, b


def connected(
    mechanism: str,
    a_type: bytes = b"DEALER",
    b_type: bytes = b"DEALER",
    *,
    limits: Limits = DEFAULT,
    chunk: int | None = None,
) -> tuple[Connection, Connection]:
    a, b = pair(mechanism, a_type, b_type, limits=limits)
    Link(a, b).handshake(chunk)
    return a, b


def transfer(src: Connection, dst: Connection, chunk: int | None = None) -> list[object]:
    """Move everything ``src`` queued to ``dst`` in chunks of ``chunk`` octets."""
    data = flush(src)
    step = chunk or max(len(data), 1)
    events: list[object] = []
    for i in range(0, len(data), step):
        events += dst.receive_data(data[i : i + step])
    assert dst.buffered == 0
    return events


def wire_command(sender: Connection, body: bytes) -> bytes:
    """``body`` as ``sender`` would put a traffic command on the wire (boxed under CURVE)."""
    codec = sender.mechanism.traffic_codec()  # CURVE's shares the sender's key and nonces
    if codec is None:
        return encode_command(body)
    boxed = codec.box(COMMAND, body)
    return frame_header(len(boxed)) + boxed


MESSAGES: list[list[bytes]] = [
    [b"one"],
    [b""],
    [b"", b""],
    [b"a", b"b" * 255, b"c" * 256, b""],
    [bytes(range(256)) * 4],
    [b"routing-id", b"", b"body"],
]


# -- messages -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mechanism", MECHANISMS)
@pytest.mark.parametrize("chunk", [None, 1, 2, 7, 13, 251])
def test_multipart_both_ways(mechanism: str, chunk: int | None) -> None:
    a, b = connected(mechanism, chunk=chunk)
    for message in MESSAGES:
        a.send_message(message)
    assert messages(transfer(a, b, chunk)) == MESSAGES
    for message in reversed(MESSAGES):
        b.send_message(message)
    assert messages(transfer(b, a, chunk)) == MESSAGES[::-1]
    assert a.buffered == b.buffered == 0


@pytest.mark.parametrize("mechanism", MECHANISMS)
@pytest.mark.parametrize("chunk", [None, 1, 4093, 65537])
def test_large_frames(mechanism: str, chunk: int | None) -> None:
    """Frames above the large-frame threshold (64 KiB), alone and among small ones."""
    a, b = connected(mechanism)
    big = bytes(range(251)) * 300  # 75,300 octets
    a.send_message([big])
    a.send_message([b"head", big, b"tail"])
    assert messages(transfer(a, b, chunk)) == [[big], [b"head", big, b"tail"]]


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_frames_may_be_any_buffer(mechanism: str) -> None:
    a, b = connected(mechanism)
    a.send_message([bytearray(b"ba"), memoryview(b"mv"), b"by"])
    assert messages(transfer(a, b)) == [[b"ba", b"mv", b"by"]]


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_empty_message_is_a_value_error(mechanism: str) -> None:
    a, _ = connected(mechanism)
    with pytest.raises(ValueError):
        a.send_message([])
    assert flush(a) == b""


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_messages_in_the_same_chunk_as_the_handshake_end(mechanism: str) -> None:
    """The server may send messages right behind its READY; the client reads both at once."""
    a, b = pair(mechanism)
    while b.state is not State.TRAFFIC:
        a.receive_data(flush(b))
        for event in b.receive_data(flush(a)):
            if isinstance(event, ZapRequestNeeded):
                b.zap_reply(reply_for(event.request, 200))
    assert a.state is State.HANDSHAKE
    b.send_message([b"right", b"behind"])
    b.send_ping(5, b"p")
    got = a.receive_data(flush(b))
    assert isinstance(got[0], HandshakeComplete)
    assert got[1:] == [[b"right", b"behind"], PingReceived(0.5, b"p")]


# -- heartbeats ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mechanism", MECHANISMS)
@pytest.mark.parametrize(
    ("ttl", "seconds", "context"),
    [(0, 0.0, b""), (25, 2.5, b"ctx"), (65535, 6553.5, b"0123456789abcdef")],
)
def test_ping_pong(mechanism: str, ttl: int, seconds: float, context: bytes) -> None:
    a, b = connected(mechanism)
    assert a.send_ping(ttl, context)
    (ping,) = transfer(a, b)
    assert ping == PingReceived(seconds, context)
    # The PONG is already queued: the application does nothing.
    (pong,) = transfer(b, a)
    assert pong == PongReceived(context)
    assert flush(a) == b""  # a PONG is not answered


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_pongs_keep_order_with_messages(mechanism: str) -> None:
    a, b = connected(mechanism)
    a.send_message([b"m1"])
    a.send_ping(1, b"p1")
    a.send_message([b"m2", b"m3"])
    a.send_ping(2, b"p2")
    got = transfer(a, b, 5)
    assert got == [[b"m1"], PingReceived(0.1, b"p1"), [b"m2", b"m3"], PingReceived(0.2, b"p2")]
    b.send_message([b"reply"])
    assert transfer(b, a) == [PongReceived(b"p1"), PongReceived(b"p2"), [b"reply"]]


def test_ping_arguments_are_checked() -> None:
    a, _ = connected("NULL")
    with pytest.raises(ValueError):
        a.send_ping(65536)
    with pytest.raises(ValueError):
        a.send_ping(-1)
    with pytest.raises(ValueError):
        a.send_ping(0, b"x" * 17)
    assert flush(a) == b""


@pytest.mark.parametrize("mechanism", MECHANISMS)
@pytest.mark.parametrize(
    "body",
    [
        command(b"PING"),
        command(b"PING", b"\x00"),
        command(b"PING", b"\x00\x00" + b"c" * 17),
        command(b"PONG", b"c" * 17),
        b"",
        b"\x00",
        b"\x04PIN",
        b"\x04P1NG\x00\x00",
    ],
    ids=lambda body: repr(body)[:20],
)
def test_malformed_traffic_commands(mechanism: str, body: bytes) -> None:
    a, b = connected(mechanism)
    expect_failure(
        b,
        feed(b, wire_command(a, body)),
        ProtocolError,
        Code.ZMTP_MALFORMED_COMMAND_UNSPECIFIED,
    )


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_unknown_traffic_commands_are_ignored(mechanism: str) -> None:
    a, b = connected(mechanism)
    data = wire_command(a, command(b"JOIN", b"group"))
    a.send_message([b"still fine"])
    assert b.receive_data(data + flush(a)) == [[b"still fine"]]
    assert flush(b) == b""


def test_command_with_the_more_flag_in_traffic() -> None:
    _, b = connected("NULL")
    expect_failure(
        b,
        feed(b, frame_header(6, COMMAND | MORE) + command(b"PING", b"\x00")),
        ProtocolError,
        Code.ZMTP_MALFORMED_COMMAND_UNSPECIFIED,
    )


# -- subscriptions ------------------------------------------------------------------------------


@pytest.mark.parametrize("mechanism", MECHANISMS)
@pytest.mark.parametrize("chunk", [None, 1, 3])
def test_subscribe_and_cancel_are_commands_in_zmtp_31(mechanism: str, chunk: int | None) -> None:
    sub, pub = connected(mechanism, b"SUB", b"PUB")
    topics = [b"", b"weather.", b"\x00\x01\xff" * 20]
    for topic in topics:
        sub.send_subscribe(topic)
    sub.send_cancel(b"weather.")
    wire = flush(sub)
    if mechanism != "CURVE":  # in clear: four command frames (CURVE boxes them, tested there)
        assert [body[:7] for body in commands_of(wire)] == [b"\x09SUBSCR"] * 3 + [b"\x06CANCEL"]
        assert all(flags & COMMAND for flags, _ in split_frames(wire))
    events: list[object] = []
    step = chunk or len(wire)
    for i in range(0, len(wire), step):
        events += pub.receive_data(wire[i : i + step])
    assert events == [*(Subscribe(t) for t in topics), Cancel(b"weather.")]


def _pair_seeing_30(mechanism: str, a_type: bytes, b_type: bytes) -> tuple[Connection, Connection]:
    """``a`` receives ``b``'s greeting patched to say ZMTP 3.0; ``b`` sees a 3.1 greeting."""
    a, b = pair(mechanism, a_type, b_type)
    ga, gb = flush(a), flush(b)
    a.receive_data(greeting_30(gb))
    b.receive_data(ga)
    link = Link(a, b)
    done_a, done_b = link.handshake()
    assert done_a.zmtp_version == (3, 0) and a.zmtp_version == (3, 0)
    assert done_b.zmtp_version == (3, 1) and b.zmtp_version == (3, 1)
    return a, b


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_subscriptions_are_messages_to_a_zmtp_30_peer(mechanism: str) -> None:
    sub, pub = _pair_seeing_30(mechanism, b"SUB", b"PUB")
    sub.send_subscribe(b"news")
    sub.send_cancel(b"news")
    sub.send_subscribe(b"")
    wire = flush(sub)
    if mechanism != "CURVE":
        assert all(flags & COMMAND == 0 for flags, _ in split_frames(wire))
    assert pub.receive_data(wire) == [[b"\x01news"], [b"\x00news"], [b"\x01"]]


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_no_heartbeats_to_a_zmtp_30_peer(mechanism: str) -> None:
    a, b = _pair_seeing_30(mechanism, b"DEALER", b"DEALER")
    assert a.send_ping(10, b"x") is False
    assert flush(a) == b""
    # The 3.1 side may still ping; the 3.0-speaking side answers (it understands PING).
    assert b.send_ping(10, b"y") is True
    assert transfer(b, a) == [PingReceived(1.0, b"y")]
    assert transfer(a, b) == [PongReceived(b"y")]


@pytest.mark.parametrize("minor", [2, 255])
def test_a_newer_peer_is_spoken_to_in_31(minor: int) -> None:
    a, b = pair("NULL")
    ga, gb = flush(a), flush(b)
    a.receive_data(patch_greeting(gb, 11, minor))
    b.receive_data(ga)
    done_a, _ = Link(a, b).handshake()
    assert done_a.zmtp_version == (3, 1)
    assert a.peer_greeting is not None and a.peer_greeting.version == (3, minor)


def test_major_version_above_3_is_spoken_to_in_31() -> None:
    a, b = pair("NULL")
    ga, gb = flush(a), flush(b)
    a.receive_data(patch_greeting(gb, 10, 4))
    b.receive_data(ga)
    done_a, _ = Link(a, b).handshake()
    assert done_a.zmtp_version == (3, 1)


# -- limits --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_message_size_limit_is_per_message(mechanism: str) -> None:
    limits = Limits(max_message_size=100)
    a, b = connected(mechanism, limits=limits)
    a.send_message([b"x" * 50, b"y" * 50])  # exactly at the limit
    assert messages(transfer(a, b)) == [[b"x" * 50, b"y" * 50]]
    a.send_message([b"x" * 50, b"y" * 51])
    exc = expect_failure(b, lambda: transfer(a, b), MessageTooLarge, Code.ZMTP_UNSPECIFIED)
    assert exc.errno == Errno.EMSGSIZE


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_oversized_frame_is_refused_from_its_header(mechanism: str) -> None:
    """A header that declares too much is refused before a byte of its body arrives."""
    _, b = connected(mechanism, limits=Limits(max_message_size=1000))
    expect_failure(
        b, feed(b, b"\x02" + (10**6).to_bytes(8, "big")), MessageTooLarge, Code.ZMTP_UNSPECIFIED
    )


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_frame_count_limit(mechanism: str) -> None:
    a, b = connected(mechanism, limits=Limits(max_message_frames=3))
    a.send_message([b""] * 3)
    assert messages(transfer(a, b)) == [[b"", b"", b""]]
    a.send_message([b""] * 4)
    expect_failure(b, lambda: transfer(a, b), MessageTooLarge, Code.ZMTP_UNSPECIFIED)


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_memory_grows_with_bytes_received_not_declared(mechanism: str) -> None:
    _, b = connected(mechanism)
    header = b"\x02" + (60 * 1024 * 1024).to_bytes(8, "big")  # declares 60 MiB
    assert b.receive_data(header + b"\x00" * 1024) == []
    assert b.buffered <= len(header) + 1024
    for _ in range(10):
        b.receive_data(b"\x00" * 1000)
    assert b.buffered <= len(header) + 11024


def test_unlimited_message_size() -> None:
    a, b = connected("NULL", limits=Limits(max_message_size=-1))
    a.send_message([b"z" * 100_000])
    assert messages(transfer(a, b, 30_000)) == [[b"z" * 100_000]]


def test_traffic_secrets_never_show() -> None:
    a, b = connected("CURVE")
    assert_no_secrets(a, b, a.mechanism, b.mechanism, a.mechanism.traffic_codec())
    _, c = connected("PLAIN")
    assert_no_secrets(c, c.mechanism)


def test_closed_connection_refuses_input() -> None:
    _, b = connected("NULL")
    with raises(ProtocolError):
        b.receive_data(b"\xf8\x00")
    with pytest.raises(ZMQError) as info:
        b.receive_data(b"")
    assert info.value.errno == Errno.EFSM
    assert b.state is State.CLOSED


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_handshake_complete_once(mechanism: str) -> None:
    a, b = pair(mechanism)
    link = Link(a, b)
    link.pump(3)
    only(link.events_a, HandshakeComplete)
    only(link.events_b, HandshakeComplete)
