"""ZAP on every mechanism: the request a server raises, each answer it can get, and refusals.

A refusal (300/400/500, or ``refuse()``) is explained to the client with ERROR; a malformed ZAP
reply is not the client's fault and is not explained (the connection just closes).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from safezmq.constants import Errno, ProtocolErrorCode
from safezmq.error import ZMQError
from safezmq.protocol import (
    AuthenticationFailed,
    Connection,
    CurveClient,
    CurveServer,
    HandshakeComplete,
    NullMechanism,
    PeerError,
    PlainClient,
    PlainServer,
    ProtocolError,
    State,
    ZapReply,
    ZapReplyError,
    ZapRequest,
    ZapRequestNeeded,
)
from safezmq.protocol.commands import error_command
from safezmq.protocol.frames import encode_command
from safezmq.protocol.metadata import Metadata, encode_metadata
from safezmq.protocol.z85 import decode as z85_decode
from safezmq.protocol.zap import reply_for

from .linkutil import (
    CLIENT_PUBLIC,
    CLIENT_SECRET,
    PASSWORD,
    SERVER_PUBLIC,
    SERVER_SECRET,
    USERNAME,
    Link,
    assert_no_secrets,
    command_frame,
    commands_of,
    deliver,
    expect_failure,
    feed,
    flush,
    only,
    raises,
    zap_frames,
)

Code = ProtocolErrorCode
MECHANISMS = ["NULL", "PLAIN", "CURVE"]


def pair(
    mechanism: str, client_type: bytes = b"DEALER", server_type: bytes = b"ROUTER"
) -> tuple[Connection, Connection]:
    """A client and a ZAP-enabled server of ``mechanism``."""
    if mechanism == "NULL":
        client_mech: NullMechanism | PlainClient | CurveClient = NullMechanism()
        server_mech: NullMechanism | PlainServer | CurveServer = NullMechanism(True, zap=True)
    elif mechanism == "PLAIN":
        client_mech, server_mech = PlainClient(USERNAME, PASSWORD), PlainServer()
    else:
        client_mech = CurveClient(SERVER_PUBLIC, CLIENT_SECRET)
        server_mech = CurveServer(SERVER_SECRET)
    client = Connection(client_mech, socket_type=client_type, identity=b"client-id")
    server = Connection(
        server_mech,
        socket_type=server_type,
        identity=b"server-id",
        zap_domain=b"test-domain",
        peer_address=b"198.51.100.9",
    )
    return client, server


def zap_pending(mechanism: str) -> tuple[Connection, Connection, ZapRequest]:
    """Drive the pair until the server waits for ZAP; all output so far is delivered."""
    client, server = pair(mechanism)
    link = Link(client, server, zap_status=None)
    link.pump()
    assert server.state is State.ZAP_PENDING
    assert client.state is State.HANDSHAKE
    assert flush(server) == b"" and flush(client) == b""
    request = only(link.events_b, ZapRequestNeeded).request
    assert server.zap_request is request
    return client, server, request


def finish(client: Connection, server: Connection) -> tuple[HandshakeComplete, HandshakeComplete]:
    link = Link(client, server)
    link.pump()
    return only(link.events_a, HandshakeComplete), only(link.events_b, HandshakeComplete)


EXPECTED_CREDENTIALS = {
    "NULL": (),
    "PLAIN": (USERNAME, PASSWORD),
    "CURVE": (z85_decode(CLIENT_PUBLIC),),
}


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_request_fields(mechanism: str) -> None:
    _, server, request = zap_pending(mechanism)
    assert request.request_id == b"1"
    assert request.domain == b"test-domain"
    assert request.address == b"198.51.100.9"
    # As libzmq does, the identity is the server socket's own routing id.
    assert request.identity == b"server-id"
    assert request.mechanism == mechanism.encode()
    assert request.credentials == EXPECTED_CREDENTIALS[mechanism]
    assert request.to_frames() == [
        b"",
        b"1.0",
        b"1",
        b"test-domain",
        b"198.51.100.9",
        b"server-id",
        mechanism.encode(),
        *EXPECTED_CREDENTIALS[mechanism],
    ]
    assert_no_secrets(request, ZapRequestNeeded(request), server, server.mechanism)


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_accept_reports_user_id_and_metadata(mechanism: str) -> None:
    client, server, request = zap_pending(mechanism)
    got = server.zap_reply(reply_for(request, 200, b"OK", b"alice", {"Group": b"admins"}))
    assert server.zap_request is None
    assert server.user_id == b"alice"
    assert dict(server.zap_metadata.items()) == {"Group": b"admins"}
    if mechanism == "PLAIN":  # the handshake goes on (WELCOME, INITIATE, READY)
        assert got == []
        done_client, done_server = finish(client, server)
    else:
        done_server = only(got, HandshakeComplete)
        done_client = only(client.receive_data(flush(server)), HandshakeComplete)
    assert done_server.user_id == b"alice"
    assert dict(done_server.zap_metadata.items()) == {"Group": b"admins"}
    assert done_server.socket_type == b"DEALER" and done_server.identity == b"client-id"
    # The client is told nothing about the ZAP decision.
    assert done_client.user_id is None and done_client.zap_metadata == Metadata()
    assert client.state is server.state is State.TRAFFIC


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_reply_as_frames(mechanism: str) -> None:
    client, server, request = zap_pending(mechanism)
    frames = zap_frames(request, user_id=b"bob", metadata=encode_metadata({"K": b"v"}))
    server.zap_reply(frames)
    Link(client, server).pump()
    assert client.state is State.TRAFFIC
    assert server.user_id == b"bob" and server.zap_metadata["k"] == b"v"
    assert server.state is State.TRAFFIC


@pytest.mark.parametrize("mechanism", MECHANISMS)
@pytest.mark.parametrize("status", [300, 400, 500])
def test_refusal_is_explained_to_the_client(mechanism: str, status: int) -> None:
    client, server, request = zap_pending(mechanism)
    reason = str(status).encode()
    exc = expect_failure(
        server,
        lambda: server.zap_reply(reply_for(request, status, b"no entry")),
        AuthenticationFailed,
        Code.ZAP_UNSPECIFIED,
        auth_status=status,
        error=reason,
    )
    assert f"{status} no entry" in str(exc)
    # The client reads the status from the ERROR (exactly what expect_failure saw queued).
    peer = expect_failure(
        client,
        feed(client, encode_command(error_command(reason))),
        PeerError,
        Code.ZMTP_UNSPECIFIED,
        auth_status=status,
    )
    assert isinstance(peer, PeerError) and peer.peer_reason == reason


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_refusal_over_the_link(mechanism: str) -> None:
    client, server = pair(mechanism)
    link = Link(client, server, zap_status=400)
    with raises(AuthenticationFailed):
        link.pump()
    with raises(PeerError) as info:
        link.pump()
    assert info.value.auth_status == 400
    assert client.state is server.state is State.CLOSED


MALFORMED: dict[str, tuple[Callable[[ZapRequest], list[bytes]], ProtocolErrorCode]] = {
    "request-id": (lambda r: zap_frames(r, request_id=b"2"), Code.ZAP_BAD_REQUEST_ID),
    "empty-request-id": (lambda r: zap_frames(r, request_id=b""), Code.ZAP_BAD_REQUEST_ID),
    "version": (lambda r: zap_frames(r, version=b"2.0"), Code.ZAP_BAD_VERSION),
    "no-version": (lambda r: zap_frames(r, version=b""), Code.ZAP_BAD_VERSION),
    "status-201": (lambda r: zap_frames(r, status=b"201"), Code.ZAP_INVALID_STATUS_CODE),
    "status-text": (lambda r: zap_frames(r, status=b"OK"), Code.ZAP_INVALID_STATUS_CODE),
    "status-padded": (lambda r: zap_frames(r, status=b" 200"), Code.ZAP_INVALID_STATUS_CODE),
    "metadata": (lambda r: zap_frames(r, metadata=b"\x03abc\x00"), Code.ZAP_INVALID_METADATA),
    "metadata-dup": (
        lambda r: zap_frames(r, metadata=encode_metadata({"A": b""}) * 2),
        Code.ZAP_INVALID_METADATA,
    ),
    "no-delimiter": (lambda r: zap_frames(r)[1:], Code.ZAP_MALFORMED_REPLY),
    "bad-delimiter": (lambda r: [b"x", *zap_frames(r)[1:]], Code.ZAP_MALFORMED_REPLY),
    "extra-frame": (lambda r: [*zap_frames(r), b""], Code.ZAP_MALFORMED_REPLY),
    "long-user-id": (lambda r: zap_frames(r, user_id=b"u" * 256), Code.ZAP_MALFORMED_REPLY),
    "long-text": (lambda r: zap_frames(r, text=b"t" * 256), Code.ZAP_MALFORMED_REPLY),
}


@pytest.mark.parametrize("mechanism", MECHANISMS)
@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_reply_closes_without_error(mechanism: str, kind: str) -> None:
    client, server, request = zap_pending(mechanism)
    make, code = MALFORMED[kind]
    expect_failure(server, lambda: server.zap_reply(make(request)), ZapReplyError, code)
    # The client was told nothing and is still waiting.
    assert client.state is State.HANDSHAKE


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_reply_object_for_another_request(mechanism: str) -> None:
    _, server, request = zap_pending(mechanism)
    other = ZapRequest(b"77", request.domain, request.address, request.identity, b"NULL")
    expect_failure(
        server,
        lambda: server.zap_reply(reply_for(other, 200)),
        ZapReplyError,
        Code.ZAP_BAD_REQUEST_ID,
    )


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_reply_object_with_an_unknown_status_fails_closed(mechanism: str) -> None:
    """A ZapReply built by hand with a status outside 200/300/400/500 never lets the client in."""
    _, server, request = zap_pending(mechanism)
    with raises(ProtocolError):
        server.zap_reply(ZapReply(request.request_id, 201))
    assert server.state is State.CLOSED
    assert commands_of(flush(server))[-1:] != [b"\x05READY"]


@pytest.mark.parametrize("mechanism", MECHANISMS)
@pytest.mark.parametrize(
    ("status", "reason", "auth_status"),
    [(500, b"no ZAP handler", 500), (300, b"ZAP handler timed out", 300), (400, b"400", 400)],
)
def test_refuse(mechanism: str, status: int, reason: bytes, auth_status: int | None) -> None:
    """The client is told only the bare status code (libzmq reports an authentication
    failure only for a bare code); the detail stays with the server's exception."""
    client, server, _ = zap_pending(mechanism)
    exc = server.refuse(status, reason)
    assert isinstance(exc, AuthenticationFailed)
    assert exc.auth_status == status and exc.code is Code.ZAP_UNSPECIFIED
    assert reason.decode() in str(exc)
    assert server.state is State.CLOSED and server.zap_request is None
    wire_reason = str(status).encode()
    assert commands_of(flush(server)) == [error_command(wire_reason)]
    assert_no_secrets(exc, server, server.mechanism)
    with pytest.raises(ZMQError) as info:
        server.refuse(status, reason)
    assert info.value.errno == Errno.EFSM
    peer = expect_failure(
        client,
        feed(client, encode_command(error_command(wire_reason))),
        PeerError,
        Code.ZMTP_UNSPECIFIED,
        auth_status=auth_status,
    )
    assert isinstance(peer, PeerError) and peer.peer_reason == wire_reason


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_no_zap_answer_outside_zap_pending(mechanism: str) -> None:
    client, server = pair(mechanism)
    request = ZapRequest(b"1", b"", b"", b"", mechanism.encode())
    for conn in (client, server):  # before the greeting
        with pytest.raises(ZMQError) as info:
            conn.zap_reply(reply_for(request, 200))
        assert info.value.errno == Errno.EFSM
        with pytest.raises(ZMQError) as info:
            conn.refuse(400, b"")
        assert info.value.errno == Errno.EFSM
    finish(client, server)
    # In traffic, and a second reply to an answered request.
    with pytest.raises(ZMQError):
        server.zap_reply(reply_for(request, 200))
    with pytest.raises(ZMQError):
        server.refuse(500, b"late")
    assert server.state is State.TRAFFIC and flush(server) == b""


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_zap_reply_after_the_connection_closed(mechanism: str) -> None:
    _, server, request = zap_pending(mechanism)
    with raises(ProtocolError):
        server.receive_data(b"\x04\x01\x00")  # garbage while waiting
    flush(server)
    with pytest.raises(ZMQError) as info:
        server.zap_reply(reply_for(request, 200))
    assert info.value.errno == Errno.EFSM
    assert flush(server) == b"" and server.user_id is None


CLIENT_COMMAND_WHILE_PENDING = {
    "NULL": command_frame(b"READY", encode_metadata({"Socket-Type": b"DEALER"})),
    "PLAIN": command_frame(b"INITIATE", encode_metadata({"Socket-Type": b"DEALER"})),
    "CURVE": command_frame(b"HELLO", bytes(194)),
}


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_command_while_zap_is_pending(mechanism: str) -> None:
    _, server, _ = zap_pending(mechanism)
    expect_failure(
        server,
        feed(server, CLIENT_COMMAND_WHILE_PENDING[mechanism]),
        ProtocolError,
        Code.ZMTP_UNEXPECTED_COMMAND,
        error=b"zmtp unexpected command",
    )


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_partial_frame_while_zap_is_pending_is_only_buffered(mechanism: str) -> None:
    """Half a command is no violation yet; the ZAP answer still completes the handshake."""
    _, server, request = zap_pending(mechanism)
    assert server.receive_data(b"\x04") == []
    assert server.buffered == 1
    server.zap_reply(reply_for(request, 200))
    assert server.state in (State.HANDSHAKE, State.TRAFFIC)


@pytest.mark.parametrize("mechanism", ["NULL", "CURVE"])
def test_metadata_is_checked_before_asking_zap(mechanism: str) -> None:
    """An incompatible peer is refused before a ZAP handler ever hears of it."""
    client, server = pair(mechanism, client_type=b"PUSH", server_type=b"PUB")
    link = Link(client, server)
    with raises(ProtocolError) as info:
        link.pump()
    assert info.value.code is Code.ZMTP_INVALID_METADATA
    assert link.zap_requests == []


def test_plain_asks_zap_at_hello_before_any_metadata() -> None:
    """PLAIN's ZAP request comes with HELLO (RFC 24); metadata follows in INITIATE."""
    client, server, request = zap_pending("PLAIN")
    server.zap_reply(reply_for(request, 200))
    deliver(server, client)  # WELCOME
    initiate = flush(client)
    (done,) = server.receive_data(initiate)
    assert isinstance(done, HandshakeComplete)


def test_status_text_in_errors_is_bounded_and_escaped() -> None:
    _, server, request = zap_pending("NULL")
    text = "é\x00\n".encode() + b"x" * 200
    with raises(AuthenticationFailed) as info:
        server.zap_reply(reply_for(request, 400, text))
    message = str(info.value)
    assert len(message) < 400
    assert message.isprintable() and message.isascii()
    assert "\\x00\\n" in message  # escaped, not dropped
