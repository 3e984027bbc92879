"""PLAIN mechanism: two Connections over the in-memory link, the handshake and every way it fails.

The server (binding side) explains handshake failures with ERROR; the client never sends ERROR.
The password must never show in a repr or an error message.
"""

from __future__ import annotations

import pytest

from safezmq.constants import ProtocolErrorCode
from safezmq.protocol import (
    AuthenticationFailed,
    Connection,
    HandshakeComplete,
    PeerError,
    PlainClient,
    PlainServer,
    ProtocolError,
    Secret,
    State,
    ZapReply,
    ZapRequest,
    ZapRequestNeeded,
)
from safezmq.protocol.commands import error_command
from safezmq.protocol.metadata import encode_metadata
from safezmq.protocol.zap import reply_for

from .linkutil import (
    PASSWORD,
    USERNAME,
    WRONG_PASSWORD,
    Link,
    assert_no_secrets,
    command_frame,
    commands_of,
    deliver,
    exchange_greetings,
    expect_failure,
    feed,
    flush,
    of_type,
    only,
    raises,
)

Code = ProtocolErrorCode


def pair(
    password: bytes | Secret = PASSWORD,
    client_type: bytes = b"DEALER",
    server_type: bytes = b"ROUTER",
    *,
    zap: bool = True,
    check_server_type: bool = True,
) -> tuple[Connection, Connection]:
    client = Connection(
        PlainClient(USERNAME, password), socket_type=client_type, identity=b"client-1"
    )
    server = Connection(
        PlainServer(zap=zap),
        socket_type=server_type,
        zap_domain=b"domain",
        peer_address=b"192.0.2.1",
        check_socket_type=check_server_type,
    )
    return client, server


def check_password(request: ZapRequest) -> ZapReply:
    """A ZAP handler that knows one user."""
    username, password = request.credentials
    if (username, password) == (USERNAME, PASSWORD):
        return reply_for(request, 200, b"OK", b"uid-" + username, {"Department": b"ops"})
    return reply_for(request, 400, b"bad password")


def to_zap_pending(password: bytes = PASSWORD) -> tuple[Connection, Connection, ZapRequest]:
    client, server = pair(password)
    exchange_greetings(client, server)
    flush(server)
    event = only(deliver(client, server), ZapRequestNeeded)
    assert server.state is State.ZAP_PENDING
    return client, server, event.request


def to_initiate() -> tuple[Connection, Connection]:
    """The server has sent WELCOME; the client has not seen it yet."""
    client, server, request = to_zap_pending()
    server.zap_reply(reply_for(request, 200))
    return client, server


# -- success -------------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [None, 1, 3, 17])
def test_handshake_with_zap(chunk: int | None) -> None:
    client, server = pair()
    link = Link(client, server, zap_handler=check_password)
    done_client, done_server = link.handshake(chunk)
    assert done_server == HandshakeComplete(
        (3, 1), b"PLAIN", done_server.peer_metadata, b"uid-admin", done_server.zap_metadata
    )
    assert done_server.socket_type == b"DEALER" and done_server.identity == b"client-1"
    assert dict(done_server.zap_metadata.items()) == {"Department": b"ops"}
    assert (done_client.socket_type, done_client.identity) == (b"ROUTER", b"")
    assert done_client.user_id is None and len(done_client.zap_metadata) == 0
    assert server.user_id == b"uid-admin"
    (request,) = link.zap_requests
    assert request.credentials == (USERNAME, PASSWORD)
    assert (request.domain, request.address, request.mechanism) == (
        b"domain",
        b"192.0.2.1",
        b"PLAIN",
    )
    assert_no_secrets(client, server, client.mechanism, server.mechanism, request, done_server)
    assert_no_secrets(*of_type(link.events_b, ZapRequestNeeded))
    # The password is not kept by the server mechanism once ZAP accepted it.
    assert server.mechanism.zap_credentials == ()


def test_commands_are_the_rfc_sequence() -> None:
    """C:HELLO S:WELCOME C:INITIATE S:READY, each sent only when its turn comes."""
    client, server = pair(zap=False)
    exchange_greetings(client, server)
    assert flush(server) == b""  # the server speaks only when spoken to
    (hello,) = commands_of(flush(client))
    assert (
        hello
        == b"\x05HELLO" + bytes((len(USERNAME),)) + USERNAME + bytes((len(PASSWORD),)) + PASSWORD
    )
    server.receive_data(command_frame(b"HELLO", hello[6:]))
    assert commands_of(flush(server)) == [b"\x07WELCOME"]
    client.receive_data(command_frame(b"WELCOME"))
    (initiate,) = commands_of(flush(client))
    assert initiate[:9] == b"\x08INITIATE"
    (done,) = server.receive_data(command_frame(b"INITIATE", initiate[9:]))
    assert isinstance(done, HandshakeComplete)
    (ready,) = commands_of(flush(server))
    assert ready == b"\x05READY" + encode_metadata({"Socket-Type": b"ROUTER", "Identity": b""})


def test_server_without_zap_accepts_any_password() -> None:
    client, server = pair(WRONG_PASSWORD, zap=False)
    link = Link(client, server)
    _, done = link.handshake()
    assert link.zap_requests == [] and done.user_id is None


def test_password_may_be_a_secret_and_empty_credentials_work() -> None:
    client = Connection(PlainClient(b"", Secret(b"")), socket_type=b"PAIR")
    server = Connection(PlainServer(), socket_type=b"PAIR")
    link = Link(client, server)
    link.handshake()
    assert link.zap_requests[0].credentials == (b"", b"")


def test_credentials_over_255_octets_are_refused_locally() -> None:
    with pytest.raises(ValueError, match="255"):
        PlainClient(b"u" * 256, PASSWORD)
    with pytest.raises(ValueError, match="255") as info:
        PlainClient(USERNAME, b"p" * 256)
    assert "p" * 20 not in str(info.value)


# -- ZAP refusals ---------------------------------------------------------------------------------


def test_wrong_password_is_refused_with_400() -> None:
    client, server, request = to_zap_pending(WRONG_PASSWORD)
    assert request.credentials == (USERNAME, WRONG_PASSWORD)
    assert_no_secrets(request, server, server.mechanism)
    exc = expect_failure(
        server,
        lambda: server.zap_reply(check_password(request)),
        AuthenticationFailed,
        Code.ZAP_UNSPECIFIED,
        auth_status=400,
        error=b"400",
    )
    assert "bad password" in str(exc)
    # The client learns the status from the ERROR, sends nothing back, and closes.
    flush(client)
    server_error = command_frame(b"ERROR", b"\x03400")
    expect_failure(
        client, feed(client, server_error), PeerError, Code.ZMTP_UNSPECIFIED, auth_status=400
    )


def test_wrong_password_over_the_link() -> None:
    client, server = pair(WRONG_PASSWORD)
    link = Link(client, server, zap_handler=check_password)
    with raises(AuthenticationFailed) as info:
        link.pump()
    assert info.value.auth_status == 400
    assert server.state is State.CLOSED
    # Deliver the ERROR the server queued.
    with raises(PeerError) as refused:
        link.pump()
    assert refused.value.auth_status == 400 and refused.value.peer_reason == b"400"
    assert client.state is State.CLOSED and flush(client) == b""
    assert_no_secrets(info.value, refused.value, client, server, client.mechanism, server.mechanism)


@pytest.mark.parametrize("status", [300, 500])
def test_temporary_and_internal_zap_failures(status: int) -> None:
    client, server, request = to_zap_pending()
    expect_failure(
        server,
        lambda: server.zap_reply(reply_for(request, status, b"try later")),
        AuthenticationFailed,
        Code.ZAP_UNSPECIFIED,
        auth_status=status,
        error=str(status).encode(),
    )
    flush(client)
    reason = str(status).encode()
    expect_failure(
        client,
        feed(client, command_frame(b"ERROR", b"\x03" + reason)),
        PeerError,
        Code.ZMTP_UNSPECIFIED,
        auth_status=status,
    )


def test_libzmq_spelling_of_error_is_accepted_by_the_client() -> None:
    """libzmq 4.3's PLAIN server sends ERROR as "^RROR" (see PlainClient.ERROR_ALIAS)."""
    client, server = pair()
    exchange_greetings(client, server)
    flush(client)
    body = b"\x5eRROR\x03400"
    exc = expect_failure(
        client,
        feed(client, b"\x04" + bytes((len(body),)) + body),
        PeerError,
        Code.ZMTP_UNSPECIFIED,
        auth_status=400,
    )
    assert isinstance(exc, PeerError) and exc.peer_reason == b"400"


def test_refuse_without_a_zap_handler() -> None:
    client, server, _ = to_zap_pending()
    exc = server.refuse(500, b"no ZAP handler")
    assert isinstance(exc, AuthenticationFailed) and exc.auth_status == 500
    assert server.state is State.CLOSED and server.zap_request is None
    assert "no ZAP handler" in str(exc)  # the detail stays with the server
    assert commands_of(flush(server)) == [error_command(b"500")]  # the client learns the code
    assert_no_secrets(exc, server, server.mechanism)
    flush(client)
    body = error_command(b"500")
    peer = expect_failure(
        client,
        feed(client, b"\x04" + bytes((len(body),)) + body),
        PeerError,
        Code.ZMTP_UNSPECIFIED,
        auth_status=500,
    )
    assert isinstance(peer, PeerError) and peer.peer_reason == b"500"


def test_command_while_zap_is_pending() -> None:
    _, server, _ = to_zap_pending()
    early_initiate = command_frame(b"INITIATE", encode_metadata({"Socket-Type": b"DEALER"}))
    expect_failure(
        server,
        feed(server, early_initiate),
        ProtocolError,
        Code.ZMTP_UNEXPECTED_COMMAND,
        error=b"zmtp unexpected command",
    )


def test_message_while_zap_is_pending() -> None:
    _, server, _ = to_zap_pending()
    expect_failure(
        server,
        feed(server, b"\x00\x02hi"),
        ProtocolError,
        Code.ZMTP_UNEXPECTED_COMMAND,
        error=b"zmtp unexpected command",
    )


def test_bytes_split_around_the_zap_request_keep_the_order() -> None:
    """HELLO arriving in pieces still raises exactly one ZAP request."""
    client, server = pair()
    exchange_greetings(client, server)
    hello = flush(client)
    events: list[object] = []
    for octet in hello:
        events += server.receive_data(bytes((octet,)))
    assert len(of_type(events, ZapRequestNeeded)) == 1
    assert server.buffered == 0


# -- malformed commands ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x05admin",  # no password size
        b"\x06admin\x00",  # user name longer than the data
        b"\x05admin\x04pw",  # password shorter than declared
        b"\x05admin\x02pw!",  # trailing octet
    ],
    ids=["empty", "no-password", "short-user", "short-password", "trailing"],
)
def test_malformed_hello(data: bytes) -> None:
    client, server = pair()
    exchange_greetings(client, server)
    flush(server)
    expect_failure(
        server,
        feed(server, command_frame(b"HELLO", data)),
        ProtocolError,
        Code.ZMTP_MALFORMED_COMMAND_HELLO,
        error=b"zmtp malformed command hello",
    )


def test_welcome_with_data() -> None:
    client, server = pair()
    exchange_greetings(client, server)
    flush(client)
    expect_failure(
        client,
        feed(client, command_frame(b"WELCOME", b"\x00")),
        ProtocolError,
        Code.ZMTP_MALFORMED_COMMAND_WELCOME,
    )


def test_malformed_initiate_metadata() -> None:
    _, server = to_initiate()
    flush(server)
    expect_failure(
        server,
        feed(server, command_frame(b"INITIATE", b"\x00")),
        ProtocolError,
        Code.ZMTP_MALFORMED_COMMAND_INITIATE,
        error=b"zmtp malformed command initiate",
    )


def test_malformed_ready_metadata() -> None:
    client, server = to_initiate()
    deliver(server, client)
    flush(client)
    expect_failure(
        client,
        feed(client, command_frame(b"READY", b"\x0bSocket-Type\x00\x00")),
        ProtocolError,
        Code.ZMTP_MALFORMED_COMMAND_READY,
    )


def test_client_hello_to_client_is_unexpected() -> None:
    client, _ = pair()
    other, _ = pair()
    exchange_greetings(client, other)
    hello = flush(other)
    flush(client)
    # Neither PLAIN client sends ERROR, even when it receives a HELLO.
    expect_failure(client, feed(client, hello), ProtocolError, Code.ZMTP_UNEXPECTED_COMMAND)


@pytest.mark.parametrize("name", [b"INITIATE", b"READY", b"WELCOME", b"PING"])
def test_out_of_order_command_at_the_server(name: bytes) -> None:
    client, server = pair()
    exchange_greetings(client, server)
    flush(server)
    expect_failure(
        server,
        feed(server, command_frame(name, encode_metadata({"Socket-Type": b"DEALER"}))),
        ProtocolError,
        Code.ZMTP_UNEXPECTED_COMMAND,
        error=b"zmtp unexpected command",
    )


@pytest.mark.parametrize("name", [b"READY", b"HELLO", b"INITIATE"])
def test_out_of_order_command_at_the_client(name: bytes) -> None:
    client, server = pair()
    exchange_greetings(client, server)
    flush(client)
    expect_failure(
        client,
        feed(client, command_frame(name, encode_metadata({"Socket-Type": b"ROUTER"}))),
        ProtocolError,
        Code.ZMTP_UNEXPECTED_COMMAND,
    )


def test_second_welcome_is_unexpected() -> None:
    client, server = to_initiate()
    welcome = flush(server)
    client.receive_data(welcome)
    flush(client)
    expect_failure(client, feed(client, welcome), ProtocolError, Code.ZMTP_UNEXPECTED_COMMAND)


def test_data_frame_before_the_handshake_completes_at_the_client() -> None:
    client, server = to_initiate()
    deliver(server, client)
    flush(client)
    expect_failure(client, feed(client, b"\x00\x01x"), ProtocolError, Code.ZMTP_UNEXPECTED_COMMAND)


def test_two_plain_servers() -> None:
    a = Connection(PlainServer(), socket_type=b"DEALER")
    b = Connection(PlainServer(), socket_type=b"DEALER")
    ga, gb = flush(a), flush(b)
    expect_failure(
        a,
        feed(a, gb),
        ProtocolError,
        Code.ZMTP_MECHANISM_MISMATCH,
        error=b"zmtp mechanism mismatch",
    )
    expect_failure(
        b,
        feed(b, ga),
        ProtocolError,
        Code.ZMTP_MECHANISM_MISMATCH,
        error=b"zmtp mechanism mismatch",
    )


def test_two_plain_clients_are_stuck_on_unexpected_hellos() -> None:
    """Neither greeting claims "server": both send HELLO and both refuse the other's."""
    a, _ = pair()
    b, _ = pair()
    exchange_greetings(a, b)
    hello_a, hello_b = flush(a), flush(b)
    expect_failure(a, feed(a, hello_b), ProtocolError, Code.ZMTP_UNEXPECTED_COMMAND)
    expect_failure(b, feed(b, hello_a), ProtocolError, Code.ZMTP_UNEXPECTED_COMMAND)


# -- metadata -------------------------------------------------------------------------------------


def test_incompatible_socket_types_refused_by_the_server_with_error_only() -> None:
    """The server checks INITIATE's metadata before answering: it sends ERROR, never a READY
    that would complete the handshake for the client (RFC 24: S:READY | S:ERROR)."""
    client, server = pair(client_type=b"PUSH", server_type=b"PUB")
    client.receive_data(flush(server))
    server.receive_data(flush(client))
    server.zap_reply(reply_for(server.zap_request, 200))  # type: ignore[arg-type]
    deliver(server, client)
    expect_failure(
        server,
        lambda: deliver(client, server),
        ProtocolError,
        Code.ZMTP_INVALID_METADATA,
        error=b"zmtp invalid metadata",
    )


def test_incompatible_socket_types_refused_by_the_client() -> None:
    client, server = pair(client_type=b"PUSH", server_type=b"PUB", check_server_type=False)
    link = Link(client, server)
    with raises(ProtocolError) as info:
        link.pump()
    assert info.value.code is Code.ZMTP_INVALID_METADATA
    assert client.state is State.CLOSED
    assert server.state is State.TRAFFIC  # the server had already sent READY
    # The client never explains itself with ERROR.
    assert flush(client) == b""


def test_missing_socket_type_in_initiate() -> None:
    client, server = to_initiate()
    deliver(server, client)
    flush(client)
    expect_failure(
        server,
        feed(server, command_frame(b"INITIATE", encode_metadata({"Identity": b""}))),
        ProtocolError,
        Code.ZMTP_INVALID_METADATA,
        error=b"zmtp invalid metadata",
    )


def test_identity_over_255_octets_in_initiate() -> None:
    _, server = to_initiate()
    flush(server)
    metadata = encode_metadata({"Socket-Type": b"DEALER", "Identity": b"x" * 256})
    expect_failure(
        server,
        feed(server, command_frame(b"INITIATE", metadata)),
        ProtocolError,
        Code.ZMTP_INVALID_METADATA,
        error=b"zmtp invalid metadata",
    )


# -- after the handshake ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", [b"HELLO", b"WELCOME", b"INITIATE", b"READY"])
def test_handshake_command_after_the_handshake(name: bytes) -> None:
    client, server = pair()
    Link(client, server).handshake()
    frame = command_frame(name, b"\x05admin\x02pw")
    expect_failure(server, feed(server, frame), ProtocolError, Code.ZMTP_UNEXPECTED_COMMAND)
    expect_failure(client, feed(client, frame), ProtocolError, Code.ZMTP_UNEXPECTED_COMMAND)


def test_repr_and_errors_never_show_the_password() -> None:
    client, server, request = to_zap_pending()
    event = ZapRequestNeeded(request)
    assert_no_secrets(client, server, client.mechanism, server.mechanism, request, event)
    assert "credentials" not in repr(request)
    assert request.credentials[1] == PASSWORD  # ...while the handler still gets it
