"""NULL mechanism: two Connections over the in-memory link, the handshake and every way it fails.

NULL has no client and server roles, so either side may explain a refusal with ERROR during the
handshake; nobody sends ERROR once traffic flows.
"""

from __future__ import annotations

import pytest

from safezmq.constants import Errno, ProtocolErrorCode
from safezmq.error import ZMQError
from safezmq.protocol import (
    Connection,
    GreetingError,
    HandshakeComplete,
    Limits,
    MechanismMismatch,
    MessageTooLarge,
    NullMechanism,
    PeerError,
    PlainClient,
    PlainServer,
    ProtocolError,
    State,
    ZapReply,
    ZapRequestNeeded,
)
from safezmq.protocol.commands import error_command
from safezmq.protocol.metadata import encode_metadata
from safezmq.protocol.zap import reply_for

from .linkutil import (
    PASSWORD,
    USERNAME,
    Link,
    assert_no_secrets,
    command_frame,
    commands_of,
    deliver,
    exchange_greetings,
    expect_failure,
    feed,
    flush,
    only,
    patch_greeting,
    raises,
)

Code = ProtocolErrorCode


def pair(
    a_type: bytes = b"DEALER",
    b_type: bytes = b"ROUTER",
    *,
    a_identity: bytes = b"",
    zap: bool = False,
    zap_domain: bytes = b"",
    peer_address: bytes = b"",
) -> tuple[Connection, Connection]:
    """A NULL client (connecting side) and server (binding side)."""
    a = Connection(NullMechanism(), socket_type=a_type, identity=a_identity)
    b = Connection(
        NullMechanism(as_server=True, zap=zap),
        socket_type=b_type,
        zap_domain=zap_domain,
        peer_address=peer_address,
    )
    return a, b


# -- success --------------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [None, 1, 5, 63, 64, 65])
def test_handshake_reports_peer_metadata(chunk: int | None) -> None:
    a, b = pair(a_identity=b"alice")
    link = Link(a, b)
    done_a, done_b = link.handshake(chunk)
    assert a.state is b.state is State.TRAFFIC
    assert a.handshake_complete and b.handshake_complete
    # The ROUTER learns the DEALER's type and routing identity; the DEALER learns the ROUTER's.
    assert done_b == HandshakeComplete((3, 1), b"NULL", done_b.peer_metadata, None)
    assert done_b.socket_type == b"DEALER"
    assert done_b.identity == b"alice"
    assert dict(done_b.peer_metadata.items()) == {"Socket-Type": b"DEALER", "Identity": b"alice"}
    assert done_a.socket_type == b"ROUTER"
    assert done_a.identity == b""
    assert done_a.user_id is None and done_b.user_id is None
    assert len(done_a.zap_metadata) == 0
    # Without ZAP no request is ever made.
    assert link.zap_requests == []
    assert a.peer_greeting is not None and a.peer_greeting.mechanism == b"NULL"
    assert a.peer_greeting.as_server is False


def test_socket_types_without_identity_announce_none() -> None:
    a, b = pair(b"PUB", b"SUB")
    done_a, done_b = Link(a, b).handshake()
    assert dict(done_b.peer_metadata.items()) == {"Socket-Type": b"PUB"}
    assert dict(done_a.peer_metadata.items()) == {"Socket-Type": b"SUB"}


def test_extra_metadata_is_announced() -> None:
    a = Connection(NullMechanism(), socket_type=b"PAIR", metadata={"X-Colour": b"blue"})
    b = Connection(NullMechanism(), socket_type=b"PAIR")
    _, done_b = Link(a, b).handshake()
    assert done_b.peer_metadata["x-colour"] == b"blue"  # names ignore case


def test_both_sides_send_ready_after_the_greeting() -> None:
    a, b = pair()
    assert flush(a)[:1] == flush(b)[:1] == b"\xff"  # the greeting is queued at once, alone
    assert flush(a) == b""
    a, b = pair()
    exchange_greetings(a, b)
    assert commands_of(flush(a))[0][:6] == b"\x05READY"
    assert commands_of(flush(b))[0][:6] == b"\x05READY"


def test_a_conforming_peer_may_send_messages_with_its_ready() -> None:
    """READY and the first messages in one chunk: the messages are delivered."""
    a, b = pair()
    exchange_greetings(a, b)
    b_ready = flush(b)
    deliver(a, b)  # b now in traffic
    b.send_message([b"early", b"bird"])
    got = a.receive_data(b_ready + flush(b))
    assert isinstance(got[0], HandshakeComplete)
    assert got[1] == [b"early", b"bird"]


def test_zap_on_null_asks_before_answering() -> None:
    a, b = pair(zap=True, zap_domain=b"global", peer_address=b"10.0.0.7")
    exchange_greetings(a, b)
    assert flush(b) == b""  # the server's READY waits for the ZAP decision
    event = only(deliver(a, b), ZapRequestNeeded)
    request = event.request
    assert_no_secrets(event, request)
    assert b.state is State.ZAP_PENDING
    assert (request.domain, request.address, request.mechanism) == (b"global", b"10.0.0.7", b"NULL")
    assert request.credentials == ()
    assert flush(b) == b""
    done = b.zap_reply(reply_for(request, 200, b"OK", b"u1", {"Role": b"ops"}))
    assert len(done) == 1 and isinstance(done[0], HandshakeComplete)
    assert done[0].user_id == b"u1"
    assert dict(done[0].zap_metadata.items()) == {"Role": b"ops"}
    assert commands_of(flush(b))[0][:6] == b"\x05READY"


# -- failures: greeting and mechanism -------------------------------------------------------------


def test_mechanism_mismatch_is_explained_by_the_null_side_only() -> None:
    a = Connection(NullMechanism(), socket_type=b"DEALER")
    c = Connection(PlainClient(USERNAME, PASSWORD), socket_type=b"DEALER")
    ga, gc = flush(a), flush(c)
    expect_failure(
        a,
        feed(a, gc),
        MechanismMismatch,
        Code.ZMTP_MECHANISM_MISMATCH,
        error=b"zmtp mechanism mismatch",
    )
    # A PLAIN client never sends ERROR, even to refuse a NULL server.
    expect_failure(c, feed(c, ga), MechanismMismatch, Code.ZMTP_MECHANISM_MISMATCH)


def test_mechanism_mismatch_against_a_plain_server() -> None:
    a = Connection(NullMechanism(), socket_type=b"DEALER")
    s = Connection(PlainServer(), socket_type=b"DEALER")
    ga, gs = flush(a), flush(s)
    exc = expect_failure(
        s,
        feed(s, ga),
        MechanismMismatch,
        Code.ZMTP_MECHANISM_MISMATCH,
        error=b"zmtp mechanism mismatch",
    )
    assert "NULL" in str(exc) and "PLAIN" in str(exc)
    expect_failure(
        a,
        feed(a, gs),
        MechanismMismatch,
        Code.ZMTP_MECHANISM_MISMATCH,
        error=b"zmtp mechanism mismatch",
    )


def test_null_peer_with_the_as_server_flag_is_refused() -> None:
    a, b = pair()
    bad = patch_greeting(flush(b), 32, 1)
    flush(a)
    expect_failure(
        a,
        feed(a, bad),
        ProtocolError,
        Code.ZMTP_MECHANISM_MISMATCH,
        error=b"zmtp mechanism mismatch",
    )


@pytest.mark.parametrize(
    ("offset", "value"),
    [(0, 0x01), (9, 0x00), (9, 0x7E), (10, 2), (10, 1), (32, 2), (12, ord("n"))],
    ids=["zmtp1", "zmtp1-long", "bad-signature", "zmtp2", "zmtp2-v1", "as-server-2", "mechanism"],
)
def test_bad_greetings_are_refused_without_error(offset: int, value: int) -> None:
    """Before both greetings are in, the peer may not speak ZMTP 3: no ERROR is sent."""
    a, b = pair()
    flush(a)
    bad = patch_greeting(flush(b), offset, value)
    expect_failure(a, feed(a, bad), GreetingError, Code.ZMTP_UNSPECIFIED)


def test_legacy_peer_is_refused_from_its_first_octet() -> None:
    a, _ = pair()
    flush(a)
    # A ZMTP 1.0 peer starts with an identity frame, not 0xFF: refused at once, no 64-octet wait.
    expect_failure(a, feed(a, b"\x01"), GreetingError, Code.ZMTP_UNSPECIFIED)


def test_greeting_split_byte_by_byte_is_checked_as_it_arrives() -> None:
    a, b = pair()
    flush(a)
    greeting = patch_greeting(flush(b), 10, 2)  # ZMTP 2.0
    for octet in greeting[:10]:
        assert a.receive_data(bytes((octet,))) == []
    assert a.buffered == 10
    expect_failure(a, feed(a, greeting[10:11]), GreetingError, Code.ZMTP_UNSPECIFIED)


# -- failures: the handshake ----------------------------------------------------------------------


def _after_greetings() -> tuple[Connection, Connection]:
    a, b = pair()
    exchange_greetings(a, b)
    flush(a)
    flush(b)
    return a, b


def test_malformed_ready_metadata() -> None:
    a, _ = _after_greetings()
    bad = command_frame(b"READY", b"\x0bSocket-Type\x00\x00\x00\x09DEALER")  # value truncated
    expect_failure(
        a,
        feed(a, bad),
        ProtocolError,
        Code.ZMTP_MALFORMED_COMMAND_READY,
        error=b"zmtp malformed command ready",
    )


@pytest.mark.parametrize("name", [b"HELLO", b"WELCOME", b"INITIATE", b"PING", b"SUBSCRIBE", b"X"])
def test_unexpected_command_during_handshake(name: bytes) -> None:
    a, _ = _after_greetings()
    expect_failure(
        a,
        feed(a, command_frame(name, b"\x00\x00")),
        ProtocolError,
        Code.ZMTP_UNEXPECTED_COMMAND,
        error=b"zmtp unexpected command",
    )


@pytest.mark.parametrize("body", [b"", b"\x00READY", b"\x09READY", b"\x05RE4DY"])
def test_malformed_command_name(body: bytes) -> None:
    a, _ = _after_greetings()
    expect_failure(
        a,
        feed(a, b"\x04" + bytes((len(body),)) + body),
        ProtocolError,
        Code.ZMTP_MALFORMED_COMMAND_UNSPECIFIED,
        error=b"zmtp malformed command unspecified",
    )


def test_data_frame_before_the_handshake_completes() -> None:
    a, _ = _after_greetings()
    expect_failure(
        a,
        feed(a, b"\x00\x05hello"),
        ProtocolError,
        Code.ZMTP_UNEXPECTED_COMMAND,
        error=b"zmtp unexpected command",
    )


def test_command_frame_with_more_flag() -> None:
    a, _ = _after_greetings()
    expect_failure(
        a,
        feed(a, b"\x05\x06\x05READY"),
        ProtocolError,
        Code.ZMTP_MALFORMED_COMMAND_UNSPECIFIED,
        error=b"zmtp malformed command unspecified",
    )


def test_oversized_handshake_command_is_refused_from_its_header() -> None:
    a = Connection(
        NullMechanism(), socket_type=b"DEALER", limits=Limits(max_handshake_command_size=100)
    )
    b = Connection(NullMechanism(), socket_type=b"DEALER")
    exchange_greetings(a, b)
    flush(a)
    header = b"\x06" + (101).to_bytes(8, "big")
    exc = expect_failure(
        a,
        feed(a, header),
        MessageTooLarge,
        Code.ZMTP_UNSPECIFIED,
        error=b"zmtp unspecified",
    )
    assert exc.errno == Errno.EMSGSIZE


def test_peer_error_during_handshake() -> None:
    a, _ = _after_greetings()
    exc = expect_failure(
        a,
        feed(a, b"\x04" + bytes((len(error_command(b"go away")),)) + error_command(b"go away")),
        PeerError,
        Code.ZMTP_UNSPECIFIED,
    )
    assert isinstance(exc, PeerError)
    assert exc.peer_reason == b"go away"


def test_malformed_peer_error() -> None:
    a, _ = _after_greetings()
    expect_failure(
        a,
        feed(a, command_frame(b"ERROR", b"\x09short")),
        ProtocolError,
        Code.ZMTP_MALFORMED_COMMAND_ERROR,
        error=b"zmtp malformed command error",
    )


# -- failures: metadata --------------------------------------------------------------------------


def test_incompatible_socket_types_fail_on_both_sides() -> None:
    a, b = pair(b"PUSH", b"PUB")
    exchange_greetings(a, b)
    ready_a, ready_b = flush(a), flush(b)
    exc = expect_failure(
        a,
        feed(a, ready_b),
        ProtocolError,
        Code.ZMTP_INVALID_METADATA,
        error=b"zmtp invalid metadata",
    )
    assert "PUSH" in str(exc) and "PUB" in str(exc)
    expect_failure(
        b,
        feed(b, ready_a),
        ProtocolError,
        Code.ZMTP_INVALID_METADATA,
        error=b"zmtp invalid metadata",
    )


def test_peer_socket_type_is_escaped_in_the_error() -> None:
    """The peer chose the Socket-Type: it reaches the message escaped and truncated."""
    a, _ = _after_greetings()
    forged = b"PUB\r\n2026-01-01 INFO login ok user=root" + b"\x00" * 10
    ready = command_frame(b"READY", encode_metadata({"Socket-Type": forged}))
    exc = expect_failure(
        a,
        feed(a, ready),
        ProtocolError,
        Code.ZMTP_INVALID_METADATA,
        error=b"zmtp invalid metadata",
    )
    assert "PUB\\r\\n" in str(exc)
    assert "root" not in str(exc)  # truncated to 20 octets


def test_unknown_local_socket_type_talks_to_nobody() -> None:
    a, b = pair(b"DEALER", b"NOSUCH")
    exchange_greetings(a, b)
    flush(b)
    expect_failure(
        b,
        lambda: deliver(a, b),
        ProtocolError,
        Code.ZMTP_INVALID_METADATA,
        error=b"zmtp invalid metadata",
    )


def test_check_socket_type_off_accepts_any_peer() -> None:
    a = Connection(NullMechanism(), socket_type=b"PUSH", check_socket_type=False)
    b = Connection(NullMechanism(), socket_type=b"PUB", check_socket_type=False)
    done_a, done_b = Link(a, b).handshake()
    assert (done_a.socket_type, done_b.socket_type) == (b"PUB", b"PUSH")


@pytest.mark.parametrize(
    "properties",
    [{}, {"Identity": b"x"}, {"X-Type": b"DEALER"}],
    ids=["empty", "identity-only", "other"],
)
def test_missing_socket_type(properties: dict[str, bytes]) -> None:
    a, _ = _after_greetings()
    ready = command_frame(b"READY", encode_metadata(properties))
    exc = expect_failure(
        a,
        feed(a, ready),
        ProtocolError,
        Code.ZMTP_INVALID_METADATA,
        error=b"zmtp invalid metadata",
    )
    assert "Socket-Type" in str(exc)


def test_missing_socket_type_is_accepted_when_not_checked() -> None:
    a = Connection(NullMechanism(), socket_type=b"DEALER", check_socket_type=False)
    b = Connection(NullMechanism(), socket_type=b"ROUTER")
    exchange_greetings(a, b)
    flush(a)
    (done,) = a.receive_data(command_frame(b"READY"))
    assert isinstance(done, HandshakeComplete)
    assert done.socket_type is None


@pytest.mark.parametrize("size", [256, 1000])
def test_identity_over_255_octets(size: int) -> None:
    a, _ = _after_greetings()
    ready = command_frame(
        b"READY", encode_metadata({"Socket-Type": b"ROUTER", "Identity": b"i" * size})
    )
    exc = expect_failure(
        a,
        feed(a, ready),
        ProtocolError,
        Code.ZMTP_INVALID_METADATA,
        error=b"zmtp invalid metadata",
    )
    assert "255" in str(exc)
    # The check holds even when socket types are not checked.
    c = Connection(NullMechanism(), socket_type=b"DEALER", check_socket_type=False)
    d = Connection(NullMechanism(), socket_type=b"ROUTER")
    exchange_greetings(c, d)
    flush(c)
    expect_failure(
        c,
        feed(c, ready),
        ProtocolError,
        Code.ZMTP_INVALID_METADATA,
        error=b"zmtp invalid metadata",
    )


def test_identity_of_255_octets_is_accepted() -> None:
    a, _ = _after_greetings()
    ready = command_frame(
        b"READY", encode_metadata({"Socket-Type": b"ROUTER", "Identity": b"i" * 255})
    )
    (done,) = a.receive_data(ready)
    assert isinstance(done, HandshakeComplete) and done.identity == b"i" * 255


def test_own_identity_over_255_octets_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="255"):
        Connection(NullMechanism(), socket_type=b"DEALER", identity=b"x" * 256)


def test_duplicate_metadata_names_are_refused() -> None:
    a, _ = _after_greetings()
    body = encode_metadata({"Socket-Type": b"ROUTER"}) + encode_metadata({"socket-type": b"PUB"})
    expect_failure(
        a,
        feed(a, command_frame(b"READY", body)),
        ProtocolError,
        Code.ZMTP_MALFORMED_COMMAND_READY,
        error=b"zmtp malformed command ready",
    )


# -- after the handshake ---------------------------------------------------------------------------


def _traffic() -> tuple[Connection, Connection]:
    a, b = pair()
    Link(a, b).handshake()
    return a, b


@pytest.mark.parametrize("name", [b"READY", b"HELLO", b"WELCOME", b"INITIATE"])
def test_handshake_command_after_the_handshake(name: bytes) -> None:
    a, _ = _traffic()
    ready = command_frame(name, encode_metadata({"Socket-Type": b"ROUTER"}))
    expect_failure(a, feed(a, ready), ProtocolError, Code.ZMTP_UNEXPECTED_COMMAND)


def test_peer_error_after_the_handshake_gets_no_answer() -> None:
    a, _ = _traffic()
    body = error_command(b"shutting down")
    exc = expect_failure(
        a, feed(a, b"\x04" + bytes((len(body),)) + body), PeerError, Code.ZMTP_UNSPECIFIED
    )
    assert isinstance(exc, PeerError) and exc.peer_reason == b"shutting down"
    assert exc.auth_status is None


def test_reserved_frame_flags_after_the_handshake() -> None:
    a, _ = _traffic()
    expect_failure(a, feed(a, b"\x08\x01x"), ProtocolError, Code.ZMTP_UNSPECIFIED)


def test_unknown_commands_after_the_handshake_are_ignored() -> None:
    a, b = _traffic()
    b.send_message([b"after"])
    got = a.receive_data(command_frame(b"JOIN", b"group") + flush(b))
    assert got == [[b"after"]]
    assert flush(a) == b""


def test_message_too_large_after_the_handshake() -> None:
    limits = Limits(max_message_size=10)
    a = Connection(NullMechanism(), socket_type=b"DEALER", limits=limits)
    b = Connection(NullMechanism(), socket_type=b"DEALER")
    Link(a, b).handshake()
    b.send_message([b"123456", b"78901"])  # 11 octets in two frames: the limit is per message
    exc = expect_failure(a, lambda: deliver(b, a), MessageTooLarge, Code.ZMTP_UNSPECIFIED)
    assert exc.errno == Errno.EMSGSIZE


def test_closed_connection_refuses_sends() -> None:
    a, _ = _traffic()
    with raises(ProtocolError):
        a.receive_data(b"\x08\x00")
    for action in (
        lambda: a.send_message([b"x"]),
        lambda: a.send_subscribe(b"t"),
        lambda: a.send_ping(),
        lambda: a.zap_reply(ZapReply(b"1", 200)),
    ):
        with pytest.raises(ZMQError) as info:
            action()
        assert info.value.errno == Errno.EFSM
    assert flush(a) == b""


def test_nothing_is_sent_before_traffic() -> None:
    a, b = pair()
    for action in (
        lambda: a.send_message([b"x"]),
        lambda: a.send_cancel(b"t"),
        lambda: a.send_ping(),
    ):
        with pytest.raises(ZMQError) as info:
            action()
        assert info.value.errno == Errno.EFSM
    assert_no_secrets(a, b, a.mechanism, b.mechanism)
