"""CURVE mechanism: Connection pairs, an independent RFC 26 peer, and every way CURVE fails.

The server explains handshake failures with ERROR; the client never sends ERROR; nobody sends
ERROR after the handshake (RFC 26: not even for an invalid MESSAGE).  Secret keys never show.
"""

from __future__ import annotations

from array import array

import nacl.bindings as sodium
import pytest

from safezmq.constants import ProtocolErrorCode
from safezmq.protocol import (
    AuthenticationFailed,
    Cancel,
    Connection,
    CookieKeyring,
    CurveClient,
    CurveServer,
    HandshakeComplete,
    MechanismMismatch,
    NullMechanism,
    PeerError,
    PingReceived,
    ProtocolError,
    Secret,
    State,
    Subscribe,
    ZapRequestNeeded,
)
from safezmq.protocol.commands import command, ping_command
from safezmq.protocol.frames import COMMAND, MORE, encode_command, frame_header
from safezmq.protocol.greeting import build_greeting
from safezmq.protocol.metadata import encode_metadata
from safezmq.protocol.z85 import decode as z85_decode
from safezmq.protocol.zap import reply_for

from .curveforge import ForgedClient, ForgedServer, metadata
from .linkutil import (
    CLIENT_PUBLIC,
    CLIENT_SECRET,
    OTHER_PUBLIC,
    OTHER_SECRET,
    SERVER_PUBLIC,
    SERVER_SECRET,
    Link,
    assert_no_secrets,
    command_frame,
    commands_of,
    exchange_greetings,
    expect_failure,
    feed,
    flush,
    messages,
    of_type,
    raises,
    split_frames,
)

Code = ProtocolErrorCode


def pair(
    server_key: bytes = SERVER_PUBLIC,
    *,
    client_type: bytes = b"DEALER",
    server_type: bytes = b"ROUTER",
    zap: bool = True,
    keyring: CookieKeyring | None = None,
    check_server_type: bool = True,
) -> tuple[Connection, Connection]:
    client = Connection(
        CurveClient(server_key, CLIENT_SECRET, CLIENT_PUBLIC),
        socket_type=client_type,
        identity=b"curve-client",
    )
    server = Connection(
        CurveServer(SERVER_SECRET, SERVER_PUBLIC, zap=zap, keyring=keyring),
        socket_type=server_type,
        check_socket_type=check_server_type,
    )
    return client, server


def body_of(data: bytes) -> bytes:
    (body,) = commands_of(data)
    return body


def to_hello(
    server_key: bytes = SERVER_PUBLIC, keyring: CookieKeyring | None = None
) -> tuple[Connection, Connection, bytes]:
    """Greetings exchanged; returns the client's HELLO body, not yet delivered."""
    client, server = pair(server_key, keyring=keyring)
    exchange_greetings(client, server)
    assert flush(server) == b""  # the server waits for HELLO
    return client, server, body_of(flush(client))


def to_initiate(keyring: CookieKeyring | None = None) -> tuple[Connection, Connection, bytes]:
    """HELLO and WELCOME done; returns the client's INITIATE body, not yet delivered."""
    client, server, hello = to_hello(keyring=keyring)
    assert server.receive_data(encode_command(hello)) == []
    client.receive_data(flush(server))
    return client, server, body_of(flush(client))


def to_traffic() -> tuple[Connection, Connection]:
    client, server = pair()
    Link(client, server).handshake()
    return client, server


def server_after_greeting(*, zap: bool = False, server_type: bytes = b"ROUTER") -> Connection:
    server = Connection(CurveServer(SERVER_SECRET, zap=zap), socket_type=server_type)
    assert server.receive_data(build_greeting(b"CURVE", False)) == []
    flush(server)
    return server


def client_after_greeting(*, client_type: bytes = b"DEALER") -> tuple[Connection, bytes]:
    client = Connection(CurveClient(SERVER_PUBLIC, CLIENT_SECRET), socket_type=client_type)
    assert client.receive_data(build_greeting(b"CURVE", True)) == []
    return client, body_of(flush(client))


def forged_client_at_initiate(*, zap: bool = False) -> tuple[ForgedClient, Connection]:
    """A ForgedClient that has sent HELLO and opened the server's WELCOME."""
    server = server_after_greeting(zap=zap)
    forged = ForgedClient(SERVER_PUBLIC, CLIENT_SECRET)
    assert server.receive_data(encode_command(forged.hello())) == []
    forged.welcome(body_of(flush(server)))
    return forged, server


def forged_server_at_ready() -> tuple[ForgedServer, Connection]:
    """A ForgedServer that has read HELLO and INITIATE from a real client."""
    client, hello = client_after_greeting()
    forged = ForgedServer(SERVER_SECRET)
    forged.hello(hello)
    assert client.receive_data(encode_command(forged.welcome())) == []
    assert forged.initiate(body_of(flush(client))) == metadata(b"DEALER", Identity=b"")
    return forged, client


def flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes((data[index] ^ 0x01,)) + data[index + 1 :]


def boxed_frame(body: bytes) -> bytes:
    """A MESSAGE body as libzmq puts it on the wire: a data frame with flags 0."""
    return frame_header(len(body)) + body


# -- success ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [None, 1, 7, 100])
def test_handshake_with_zap(chunk: int | None) -> None:
    client, server = pair()
    link = Link(client, server, zap_user=b"curve-user", zap_metadata={"Tier": b"gold"})
    done_client, done_server = link.handshake(chunk)
    assert done_server.mechanism == done_client.mechanism == b"CURVE"
    assert done_server.zmtp_version == (3, 1)
    assert (done_server.socket_type, done_server.identity) == (b"DEALER", b"curve-client")
    assert (done_client.socket_type, done_client.identity) == (b"ROUTER", b"")
    assert done_server.user_id == b"curve-user"
    assert dict(done_server.zap_metadata.items()) == {"Tier": b"gold"}
    assert done_client.user_id is None
    (request,) = link.zap_requests
    raw_client_public = z85_decode(CLIENT_PUBLIC)
    assert request.mechanism == b"CURVE"
    assert request.credentials == (raw_client_public,)
    assert server.mechanism.client_key == raw_client_public  # type: ignore[attr-defined]
    assert_no_secrets(client, server, client.mechanism, server.mechanism, request, done_server)
    assert_no_secrets(*of_type(link.events_b, ZapRequestNeeded))


@pytest.mark.parametrize("form", ["z85", "raw", "secret", "str"])
def test_keys_in_every_form(form: str) -> None:
    def key(z85_key: bytes) -> bytes | str:
        if form == "raw":
            return z85_decode(z85_key)
        if form == "str":
            return z85_key.decode()
        return z85_key

    def secret(z85_key: bytes) -> bytes | str | Secret:
        return Secret(z85_key) if form == "secret" else key(z85_key)

    client = Connection(
        CurveClient(key(SERVER_PUBLIC), secret(CLIENT_SECRET), key(CLIENT_PUBLIC)),
        socket_type=b"PAIR",
    )
    server = Connection(
        CurveServer(secret(SERVER_SECRET), key(SERVER_PUBLIC), zap=False), socket_type=b"PAIR"
    )
    Link(client, server).handshake()
    assert client.state is server.state is State.TRAFFIC


def test_public_key_must_match_the_secret_key() -> None:
    with pytest.raises(ValueError, match="does not belong") as info:
        CurveClient(SERVER_PUBLIC, CLIENT_SECRET, OTHER_PUBLIC)
    assert_no_secrets(info.value)
    with pytest.raises(ValueError, match="does not belong") as info:
        CurveServer(SERVER_SECRET, CLIENT_PUBLIC)
    assert_no_secrets(info.value)


def test_bad_key_values_are_refused_without_showing_them() -> None:
    with pytest.raises(ValueError) as info:
        CurveClient(SERVER_PUBLIC, CLIENT_SECRET[:39] + b"~")
    assert_no_secrets(info.value)


def test_server_without_zap_accepts_any_client_key() -> None:
    client = Connection(CurveClient(SERVER_PUBLIC, OTHER_SECRET), socket_type=b"DEALER")
    server = Connection(CurveServer(SERVER_SECRET, zap=False), socket_type=b"DEALER")
    link = Link(client, server)
    _, done = link.handshake()
    assert link.zap_requests == [] and done.user_id is None
    assert server.mechanism.client_key == z85_decode(OTHER_PUBLIC)  # type: ignore[attr-defined]


def test_command_sizes_are_those_of_rfc_26() -> None:
    client, server, hello = to_hello()
    assert len(hello) == 200
    server.receive_data(encode_command(hello))
    welcome = body_of(flush(server))
    assert len(welcome) == 168
    client.receive_data(encode_command(welcome))
    initiate = body_of(flush(client))
    assert initiate[:9] == b"\x08INITIATE" and len(initiate) >= 257
    (event,) = server.receive_data(encode_command(initiate))
    assert isinstance(event, ZapRequestNeeded)
    assert flush(server) == b""  # nothing until ZAP says yes (RFC 26: no READY for a refused key)
    server.zap_reply(reply_for(event.request, 200))
    ready = body_of(flush(server))
    assert ready[:6] == b"\x05READY" and len(ready) >= 30


def test_handshake_with_an_independent_client() -> None:
    """A client written from RFC 26 alone (curveforge) gets in and exchanges messages."""
    forged, server = forged_client_at_initiate(zap=True)
    (event,) = server.receive_data(encode_command(forged.initiate(meta=metadata(b"DEALER"))))
    assert isinstance(event, ZapRequestNeeded)
    assert event.request.credentials == (z85_decode(CLIENT_PUBLIC),)
    (done,) = server.zap_reply(reply_for(event.request, 200))
    assert isinstance(done, HandshakeComplete) and done.socket_type == b"DEALER"
    assert forged.ready(body_of(flush(server))) == encode_metadata(
        {"Socket-Type": b"ROUTER", "Identity": b""}
    )
    # Client nonces: HELLO 1, INITIATE 2, then messages from 3.  Inner flag bit 0 is MORE.
    wire = boxed_frame(forged.message(3, 1, b"part1")) + boxed_frame(forged.message(4, 0, b"end"))
    assert server.receive_data(wire) == [[b"part1", b"end"]]
    server.send_message([b"reply", b"two"])
    server_frames = split_frames(flush(server))
    assert [flags for flags, _ in server_frames] == [0, 0]  # MORE travels inside the box
    # Server nonces: READY 1, then messages from 2.
    assert [forged.open(body) for _, body in server_frames] == [(2, 1, b"reply"), (3, 0, b"two")]
    # A command travels boxed with inner flag bit 1 set.
    assert server.send_ping(30, b"ctx")
    ((flags, body),) = split_frames(flush(server))
    assert flags == 0 and b"PING" not in body
    assert forged.open(body) == (4, 2, ping_command(30, b"ctx"))
    # And the server understands the client's boxed commands.
    (ping,) = server.receive_data(boxed_frame(forged.message(5, 2, ping_command(7, b"c"))))
    assert ping == PingReceived(0.7, b"c")
    ((_, pong),) = split_frames(flush(server))
    assert forged.open(pong) == (5, 2, command(b"PONG", b"c"))


def test_handshake_with_an_independent_server() -> None:
    forged, client = forged_server_at_ready()
    (done,) = client.receive_data(encode_command(forged.ready(meta=metadata(b"ROUTER"))))
    assert isinstance(done, HandshakeComplete) and done.socket_type == b"ROUTER"
    client.send_message([b"a", b"b"])
    frames = split_frames(flush(client))
    assert [forged.open(body) for _, body in frames] == [(3, 1, b"a"), (4, 0, b"b")]
    got = client.receive_data(
        boxed_frame(forged.message(2, 1, b"x"))
        + boxed_frame(forged.message(3, 0, b"y"))
        + boxed_frame(forged.message(9, 2, command(b"SUBSCRIBE", b"topic")))
    )
    assert got == [[b"x", b"y"], Subscribe(b"topic")]


# -- wrong keys ------------------------------------------------------------------------------------


def test_wrong_server_key() -> None:
    """The client's HELLO box does not open at the server: CRYPTOGRAPHIC, explained by ERROR."""
    client, server, hello = to_hello(server_key=OTHER_PUBLIC)
    exc = expect_failure(
        server,
        feed(server, encode_command(hello)),
        ProtocolError,
        Code.ZMTP_CRYPTOGRAPHIC,
        error=b"zmtp cryptographic",
    )
    assert "server key" in str(exc)
    error = encode_command(command(b"ERROR", b"\x12zmtp cryptographic"))
    peer = expect_failure(client, feed(client, error), PeerError, Code.ZMTP_UNSPECIFIED)
    assert isinstance(peer, PeerError) and peer.peer_reason == b"zmtp cryptographic"


def test_welcome_from_an_impostor_server() -> None:
    """A server without S's secret key cannot make a WELCOME the client opens."""
    client, hello = client_after_greeting()
    impostor = ForgedServer(OTHER_SECRET)
    impostor.client_transient = hello[6 + 74 : 6 + 106]
    expect_failure(
        client,
        feed(client, encode_command(impostor.welcome())),
        ProtocolError,
        Code.ZMTP_CRYPTOGRAPHIC,
    )


#: Curve25519 points of small order: a shared key with any of them is all zeros, which libsodium
#: refuses.  Zero, one, and a point of order 8.
LOW_ORDER = [
    bytes(32),
    (1).to_bytes(32, "little"),
    bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
]


@pytest.mark.parametrize("point", LOW_ORDER, ids=["zero", "one", "order-8"])
def test_low_order_server_transient_key(point: bytes) -> None:
    """A WELCOME (genuinely from S) carrying a low-order S' ends in a ProtocolError, not in
    PyNaCl's RuntimeError escaping receive_data with the connection left open."""
    client, hello = client_after_greeting()
    forged = ForgedServer(SERVER_SECRET)
    forged.hello(hello)
    forged.transient_public = point
    expect_failure(
        client,
        feed(client, encode_command(forged.welcome())),
        ProtocolError,
        Code.ZMTP_KEY_EXCHANGE,
    )


@pytest.mark.parametrize("point", LOW_ORDER, ids=["zero", "one", "order-8"])
def test_low_order_client_transient_key(point: bytes) -> None:
    server = server_after_greeting()
    forged = ForgedClient(SERVER_PUBLIC, CLIENT_SECRET)
    forged.transient_public = point  # the box was made with another key: it cannot open
    expect_failure(
        server,
        feed(server, encode_command(forged.hello())),
        ProtocolError,
        Code.ZMTP_CRYPTOGRAPHIC,
        error=b"zmtp cryptographic",
    )


@pytest.mark.parametrize("point", LOW_ORDER, ids=["zero", "one", "order-8"])
def test_low_order_client_permanent_key(point: bytes) -> None:
    forged, server = forged_client_at_initiate()
    expect_failure(
        server,
        feed(server, encode_command(forged.initiate(claimed_key=point))),
        ProtocolError,
        Code.ZMTP_CRYPTOGRAPHIC,
        error=b"zmtp cryptographic",
    )


@pytest.mark.parametrize("point", LOW_ORDER, ids=["zero", "one", "order-8"])
def test_low_order_server_key_is_refused_when_the_client_is_made(point: bytes) -> None:
    """A low-order server key is a configuration error, found before anything is sent (the
    engine reports it as one), although the client's own crypto waits for start()."""
    with pytest.raises(ValueError, match="not a usable Curve25519 public key") as caught:
        CurveClient(point, CLIENT_SECRET)
    assert_no_secrets(str(caught.value))


def test_client_makes_its_transient_key_in_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """C' and the key of (S, C') are made when HELLO is, not when the connection is: a client
    connecting to a busy or absent server spends no Curve25519 work on it before then."""
    import safezmq.protocol.curve as curve

    made: list[int] = []
    real = curve.sodium.crypto_box_keypair

    def counting() -> tuple[bytes, bytes]:
        made.append(1)
        return real()

    monkeypatch.setattr(curve.sodium, "crypto_box_keypair", counting)
    client = CurveClient(SERVER_PUBLIC, CLIENT_SECRET)
    assert made == []
    hello = client.start()
    assert made == [1]
    assert len(hello) == 1 and bytes(hello[0]).startswith(b"\x05HELLO")


def test_one_secret_key_derives_its_public_key_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mechanisms made from one Secret (a socket's option, shared by all its connections)
    work out its public key once; each still has the right one."""
    import safezmq.protocol.curve as curve

    calls: list[bytes] = []
    real = curve.public_from_secret

    def counting(secret: bytes) -> bytes:
        calls.append(secret)
        return real(secret)

    monkeypatch.setattr(curve, "public_from_secret", counting)
    shared = Secret(z85_decode(CLIENT_SECRET), "CURVE secret key")
    clients = [CurveClient(SERVER_PUBLIC, shared) for _ in range(3)]
    servers = [CurveServer(Secret(z85_decode(SERVER_SECRET))) for _ in range(2)]
    assert len(calls) == 1 + 2  # once for the shared Secret, once per fresh one
    assert {c.public_key for c in clients} == {z85_decode(CLIENT_PUBLIC)}
    assert {s.public_key for s in servers} == {z85_decode(SERVER_PUBLIC)}
    with pytest.raises(ValueError, match="does not belong"):
        CurveClient(SERVER_PUBLIC, shared, OTHER_PUBLIC)  # still checked against the cache


def test_hello_signature_of_non_zero_octets() -> None:
    server = server_after_greeting()
    forged = ForgedClient(SERVER_PUBLIC, CLIENT_SECRET)
    hello = forged.hello(signature_plaintext=b"\x01" + bytes(63))
    expect_failure(
        server,
        feed(server, encode_command(hello)),
        ProtocolError,
        Code.ZMTP_CRYPTOGRAPHIC,
        error=b"zmtp cryptographic",
    )


# -- cookies ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "index", [9, 9 + 15, 9 + 16, 9 + 95], ids=["nonce", "nonce-end", "box", "mac"]
)
def test_tampered_cookie(index: int) -> None:
    _, server, initiate = to_initiate()
    expect_failure(
        server,
        feed(server, encode_command(flip(initiate, index))),
        ProtocolError,
        Code.ZMTP_CRYPTOGRAPHIC,
        error=b"zmtp cryptographic",
    )


def test_garbled_cookie_in_welcome_is_refused_at_initiate() -> None:
    """The client cannot check the cookie; the server refuses what comes back."""
    forged = ForgedServer(SERVER_SECRET)
    client, hello = client_after_greeting()
    forged.hello(hello)
    client.receive_data(encode_command(forged.welcome(cookie=bytes(96))))
    initiate = body_of(flush(client))
    assert initiate[9:105] == bytes(96)  # the client returns whatever cookie it got
    server = server_after_greeting()
    server.receive_data(encode_command(ForgedClient(SERVER_PUBLIC, CLIENT_SECRET).hello()))
    flush(server)
    expect_failure(
        server,
        feed(server, encode_command(initiate)),
        ProtocolError,
        Code.ZMTP_CRYPTOGRAPHIC,
        error=b"zmtp cryptographic",
    )


@pytest.mark.parametrize("shared_keyring", [True, False], ids=["same-keyring", "other-keyring"])
def test_initiate_replayed_onto_another_connection(shared_keyring: bool) -> None:
    """A recorded INITIATE (cookie and all) does not open a second connection."""
    keyring = CookieKeyring()
    _, _, initiate_1 = to_initiate(keyring=keyring)
    _, server_2, _ = to_initiate(keyring=keyring if shared_keyring else None)
    code = Code.ZMTP_KEY_EXCHANGE if shared_keyring else Code.ZMTP_CRYPTOGRAPHIC
    expect_failure(
        server_2,
        feed(server_2, encode_command(initiate_1)),
        ProtocolError,
        code,
        error=code.name.lower().replace("_", " ").encode(),
    )


@pytest.mark.parametrize("shared_keyring", [True, False], ids=["same-keyring", "other-keyring"])
def test_whole_client_transcript_replayed(shared_keyring: bool) -> None:
    """Replaying HELLO then INITIATE: HELLO is accepted (it may be), INITIATE is not."""
    keyring = CookieKeyring()
    # Record what a client sent on a first connection.
    client_1, server_1, hello_1 = to_hello(keyring=keyring)
    server_1.receive_data(encode_command(hello_1))
    client_1.receive_data(flush(server_1))
    initiate_1 = body_of(flush(client_1))
    # Replay both onto a fresh server connection.
    _, victim, _ = to_hello(keyring=keyring if shared_keyring else None)
    assert victim.receive_data(encode_command(hello_1)) == []
    assert commands_of(flush(victim))[0][:8] == b"\x07WELCOME"
    code = Code.ZMTP_KEY_EXCHANGE if shared_keyring else Code.ZMTP_CRYPTOGRAPHIC
    expect_failure(
        victim,
        feed(victim, encode_command(initiate_1)),
        ProtocolError,
        code,
        error=code.name.lower().replace("_", " ").encode(),
    )


@pytest.mark.parametrize(("rotations", "ok"), [(0, True), (1, True), (2, False), (5, False)])
def test_cookie_keyring_rotation(rotations: int, ok: bool) -> None:
    """A cookie opens with the current or the previous key: older than two lifetimes, never."""
    keyring = CookieKeyring()
    client, server, initiate = to_initiate(keyring=keyring)
    for _ in range(rotations):
        keyring.rotate()
    if ok:
        (event,) = server.receive_data(encode_command(initiate))
        assert isinstance(event, ZapRequestNeeded)
        server.zap_reply(reply_for(event.request, 200))
        (done,) = client.receive_data(flush(server))
        assert isinstance(done, HandshakeComplete)
    else:
        exc = expect_failure(
            server,
            feed(server, encode_command(initiate)),
            ProtocolError,
            Code.ZMTP_CRYPTOGRAPHIC,
            error=b"zmtp cryptographic",
        )
        assert "cookie" in str(exc)
    assert repr(keyring) == "<CookieKeyring: redacted>"


def test_one_keyring_serves_many_connections() -> None:
    keyring = CookieKeyring()
    for _ in range(3):
        client, server = pair(keyring=keyring)
        Link(client, server).handshake()
        assert server.state is State.TRAFFIC


# -- malformed handshake commands ------------------------------------------------------------------


@pytest.mark.parametrize(
    "mutate",
    [
        lambda h: h[:-1],
        lambda h: h + b"\x00",
        lambda h: h[:6],
        lambda h: h[:6] + b"\x02\x00" + h[8:],
        lambda h: h[:6] + b"\x01\x01" + h[8:],
        lambda h: h[:8] + b"\x01" + h[9:],
        lambda h: h[:79] + b"\x80" + h[80:],
    ],
    ids=["short", "long", "empty", "version-2.0", "version-1.1", "padding-first", "padding-last"],
)
def test_malformed_hello(mutate: object) -> None:
    _, server, hello = to_hello()
    bad = mutate(hello)  # type: ignore[operator]
    assert bad[:6] == b"\x05HELLO"
    expect_failure(
        server,
        feed(server, encode_command(bad)),
        ProtocolError,
        Code.ZMTP_MALFORMED_COMMAND_HELLO,
        error=b"zmtp malformed command hello",
    )


def test_forged_hello_version_and_padding() -> None:
    for kwargs in ({"version": b"\x00\x01"}, {"padding": b"\x00" * 71 + b"\x01"}):
        server = server_after_greeting()
        hello = ForgedClient(SERVER_PUBLIC, CLIENT_SECRET).hello(**kwargs)  # type: ignore[arg-type]
        expect_failure(
            server,
            feed(server, encode_command(hello)),
            ProtocolError,
            Code.ZMTP_MALFORMED_COMMAND_HELLO,
            error=b"zmtp malformed command hello",
        )


@pytest.mark.parametrize("size", [0, 159, 161, 300])
def test_malformed_welcome(size: int) -> None:
    client, _ = client_after_greeting()
    expect_failure(
        client,
        feed(client, command_frame(b"WELCOME", bytes(size))),
        ProtocolError,
        Code.ZMTP_MALFORMED_COMMAND_WELCOME,
    )


def test_tampered_welcome() -> None:
    client, server, hello = to_hello()
    server.receive_data(encode_command(hello))
    welcome = body_of(flush(server))
    expect_failure(
        client,
        feed(client, encode_command(flip(welcome, 100))),
        ProtocolError,
        Code.ZMTP_CRYPTOGRAPHIC,
    )


@pytest.mark.parametrize("keep", [0, 9, 9 + 96, 9 + 96 + 8 + 143, 256])
def test_initiate_too_short(keep: int) -> None:
    _, server, initiate = to_initiate()
    expect_failure(
        server,
        feed(server, encode_command(b"\x08INITIATE" + initiate[9:keep])),
        ProtocolError,
        Code.ZMTP_MALFORMED_COMMAND_INITIATE,
        error=b"zmtp malformed command initiate",
    )


@pytest.mark.parametrize("index", [9 + 96 + 8, 9 + 96 + 8 + 20, -1], ids=["mac", "box", "last"])
def test_tampered_initiate_box(index: int) -> None:
    _, server, initiate = to_initiate()
    expect_failure(
        server,
        feed(server, encode_command(flip(initiate, index % len(initiate)))),
        ProtocolError,
        Code.ZMTP_CRYPTOGRAPHIC,
        error=b"zmtp cryptographic",
    )


@pytest.mark.parametrize("nonce", [0, 1])
def test_initiate_nonce_not_above_hello(nonce: int) -> None:
    forged, server = forged_client_at_initiate()
    expect_failure(
        server,
        feed(server, encode_command(forged.initiate(nonce))),
        ProtocolError,
        Code.ZMTP_INVALID_SEQUENCE,
        error=b"zmtp invalid sequence",
    )


def test_initiate_nonce_may_skip_ahead() -> None:
    forged, server = forged_client_at_initiate()
    (done,) = server.receive_data(encode_command(forged.initiate(1000)))
    assert isinstance(done, HandshakeComplete)
    forged.ready(body_of(flush(server)))
    # ...but then messages must go on above 1000.
    expect_failure(
        server,
        feed(server, boxed_frame(forged.message(1000, 0, b"x"))),
        ProtocolError,
        Code.ZMTP_INVALID_SEQUENCE,
    )


def test_vouch_for_another_server() -> None:
    forged, server = forged_client_at_initiate()
    wrong = forged.transient_public + z85_decode(OTHER_PUBLIC)
    expect_failure(
        server,
        feed(server, encode_command(forged.initiate(vouch_plaintext=wrong))),
        ProtocolError,
        Code.ZMTP_KEY_EXCHANGE,
        error=b"zmtp key exchange",
    )


def test_vouch_for_another_transient_key() -> None:
    forged, server = forged_client_at_initiate()
    other_transient, _ = sodium.crypto_box_keypair()
    wrong = other_transient + forged.server_key
    expect_failure(
        server,
        feed(server, encode_command(forged.initiate(vouch_plaintext=wrong))),
        ProtocolError,
        Code.ZMTP_KEY_EXCHANGE,
        error=b"zmtp key exchange",
    )


def test_client_key_claimed_without_its_secret() -> None:
    """INITIATE claims key C but the vouch was made with another secret key."""
    forged, server = forged_client_at_initiate()
    initiate = forged.initiate(vouch_secret=z85_decode(OTHER_SECRET))
    expect_failure(
        server,
        feed(server, encode_command(initiate)),
        ProtocolError,
        Code.ZMTP_CRYPTOGRAPHIC,
        error=b"zmtp cryptographic",
    )


@pytest.mark.parametrize(
    ("meta", "code"),
    [
        (b"\x0bSocket-Type", Code.ZMTP_MALFORMED_COMMAND_INITIATE),
        (encode_metadata({"Identity": b""}), Code.ZMTP_INVALID_METADATA),
        (metadata(b"PUSH"), Code.ZMTP_INVALID_METADATA),
        (metadata(b"DEALER", Identity=b"i" * 256), Code.ZMTP_INVALID_METADATA),
    ],
    ids=["malformed", "no-socket-type", "incompatible", "long-identity"],
)
def test_bad_initiate_metadata(meta: bytes, code: ProtocolErrorCode) -> None:
    """Bad metadata is refused with ERROR only: no READY first (also without ZAP)."""
    for zap in (True, False):
        forged, server = forged_client_at_initiate(zap=zap)
        expect_failure(
            server,
            feed(server, encode_command(forged.initiate(meta=meta))),
            ProtocolError,
            code,
            error=code.name.lower().replace("_", " ").encode(),
        )


@pytest.mark.parametrize("size", [0, 8, 23])
def test_ready_too_short(size: int) -> None:
    _, client = forged_server_at_ready()
    expect_failure(
        client,
        feed(client, command_frame(b"READY", bytes(size))),
        ProtocolError,
        Code.ZMTP_MALFORMED_COMMAND_READY,
    )


def test_tampered_ready() -> None:
    forged, client = forged_server_at_ready()
    expect_failure(
        client,
        feed(client, encode_command(flip(forged.ready(), 20))),
        ProtocolError,
        Code.ZMTP_CRYPTOGRAPHIC,
    )


@pytest.mark.parametrize(
    ("meta", "code"),
    [
        (b"\x00", Code.ZMTP_MALFORMED_COMMAND_READY),
        (b"", Code.ZMTP_INVALID_METADATA),
        (metadata(b"PUB"), Code.ZMTP_INVALID_METADATA),
        (metadata(b"ROUTER", Identity=b"i" * 300), Code.ZMTP_INVALID_METADATA),
    ],
    ids=["malformed", "no-socket-type", "incompatible", "long-identity"],
)
def test_bad_ready_metadata(meta: bytes, code: ProtocolErrorCode) -> None:
    forged, client = forged_server_at_ready()
    expect_failure(
        client, feed(client, encode_command(forged.ready(meta=meta))), ProtocolError, code
    )


def test_incompatible_socket_types_over_the_link() -> None:
    client, server = pair(client_type=b"PUSH", server_type=b"PUB")
    link = Link(client, server)
    with raises(ProtocolError) as info:
        link.pump()
    assert info.value.code is Code.ZMTP_INVALID_METADATA
    assert link.zap_requests == []  # refused before any ZAP request
    # The client gets the ERROR in clear, as a handshake command it can read.
    with raises(PeerError) as refused:
        link.pump()
    assert refused.value.peer_reason == b"zmtp invalid metadata"


def test_incompatible_socket_types_refused_by_the_client() -> None:
    client, server = pair(client_type=b"PUSH", server_type=b"PUB", check_server_type=False)
    link = Link(client, server)
    with raises(ProtocolError) as info:
        link.pump()
    assert info.value.code is Code.ZMTP_INVALID_METADATA
    assert client.state is State.CLOSED and flush(client) == b""


# -- out of order -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [b"INITIATE", b"READY", b"WELCOME", b"MESSAGE", b"PING"])
def test_out_of_order_at_the_server(name: bytes) -> None:
    _, server, _ = to_hello()
    expect_failure(
        server,
        feed(server, command_frame(name, bytes(300))),
        ProtocolError,
        Code.ZMTP_UNEXPECTED_COMMAND,
        error=b"zmtp unexpected command",
    )


def test_second_hello_is_unexpected() -> None:
    _, server, hello = to_hello()
    server.receive_data(encode_command(hello))
    flush(server)
    expect_failure(
        server,
        feed(server, encode_command(hello)),
        ProtocolError,
        Code.ZMTP_UNEXPECTED_COMMAND,
        error=b"zmtp unexpected command",
    )


@pytest.mark.parametrize("name", [b"READY", b"HELLO", b"INITIATE"])
def test_out_of_order_at_the_client(name: bytes) -> None:
    client, _ = client_after_greeting()
    expect_failure(
        client,
        feed(client, command_frame(name, bytes(200))),
        ProtocolError,
        Code.ZMTP_UNEXPECTED_COMMAND,
    )


def test_data_frame_during_the_handshake() -> None:
    _, server, _ = to_initiate()
    expect_failure(
        server,
        feed(server, b"\x00\x05hello"),
        ProtocolError,
        Code.ZMTP_UNEXPECTED_COMMAND,
        error=b"zmtp unexpected command",
    )


def test_mechanism_mismatch_and_two_servers() -> None:
    client, _ = pair()
    null = Connection(NullMechanism(), socket_type=b"DEALER")
    g_client, g_null = flush(client), flush(null)
    expect_failure(client, feed(client, g_null), MechanismMismatch, Code.ZMTP_MECHANISM_MISMATCH)
    expect_failure(
        null,
        feed(null, g_client),
        MechanismMismatch,
        Code.ZMTP_MECHANISM_MISMATCH,
        error=b"zmtp mechanism mismatch",
    )
    _, a = pair()
    _, b = pair()
    flush(a)
    expect_failure(
        a,
        feed(a, flush(b)),
        ProtocolError,
        Code.ZMTP_MECHANISM_MISMATCH,
        error=b"zmtp mechanism mismatch",
    )


def test_zap_refusal() -> None:
    client, server, initiate = to_initiate()
    (event,) = server.receive_data(encode_command(initiate))
    assert isinstance(event, ZapRequestNeeded)
    expect_failure(
        server,
        lambda: server.zap_reply(reply_for(event.request, 400, b"unknown key")),
        AuthenticationFailed,
        Code.ZAP_UNSPECIFIED,
        auth_status=400,
        error=b"400",
    )
    expect_failure(
        client,
        feed(client, command_frame(b"ERROR", b"\x03400")),
        PeerError,
        Code.ZMTP_UNSPECIFIED,
        auth_status=400,
    )


# -- traffic ---------------------------------------------------------------------------------------


def test_traffic_commands_travel_boxed() -> None:
    client, server = to_traffic()
    client.send_subscribe(b"secret-topic")
    client.send_cancel(b"secret-topic")
    assert client.send_ping(12, b"ping-ctx")
    client.send_message([b"plaintext-body", b"second-part"])
    wire = flush(client)
    for clear in (b"SUBSCRIBE", b"CANCEL", b"PING", b"secret-topic", b"ping-ctx", b"plaintext"):
        assert clear not in wire
    frames = split_frames(wire)
    assert len(frames) == 5
    assert all(flags == 0 and body[:8] == b"\x07MESSAGE" for flags, body in frames)
    got = server.receive_data(wire)
    assert got[:3] == [
        Subscribe(b"secret-topic"),
        Cancel(b"secret-topic"),
        PingReceived(1.2, b"ping-ctx"),
    ]
    assert messages(got) == [[b"plaintext-body", b"second-part"]]
    pong = flush(server)
    assert b"PONG" not in pong and b"ping-ctx" not in pong


def test_replayed_message_nonce() -> None:
    client, server = to_traffic()
    client.send_message([b"pay 100"])
    wire = flush(client)
    assert server.receive_data(wire) == [[b"pay 100"]]
    exc = expect_failure(server, feed(server, wire), ProtocolError, Code.ZMTP_INVALID_SEQUENCE)
    assert "replayed" in str(exc)


def test_old_message_nonce() -> None:
    client, server = to_traffic()
    client.send_message([b"first"])
    first = flush(client)
    client.send_message([b"second"])
    second = flush(client)
    assert server.receive_data(second) == [[b"second"]]
    expect_failure(server, feed(server, first), ProtocolError, Code.ZMTP_INVALID_SEQUENCE)


def test_replayed_message_to_the_client() -> None:
    client, server = to_traffic()
    server.send_message([b"x"])
    wire = flush(server)
    client.receive_data(wire)
    expect_failure(client, feed(client, wire), ProtocolError, Code.ZMTP_INVALID_SEQUENCE)


def test_replayed_handshake_nonce_in_traffic() -> None:
    """A MESSAGE reusing the INITIATE nonce (2) is a replay too."""
    forged, server = forged_client_at_initiate()
    server.receive_data(encode_command(forged.initiate()))
    flush(server)
    expect_failure(
        server,
        feed(server, boxed_frame(forged.message(2, 0, b"x"))),
        ProtocolError,
        Code.ZMTP_INVALID_SEQUENCE,
    )


@pytest.mark.parametrize("index", [16, 20, -1], ids=["mac", "body", "last"])
def test_tampered_message_box(index: int) -> None:
    client, server = to_traffic()
    client.send_message([b"hello world"])
    ((_, body),) = split_frames(flush(client))
    bad = flip(body, index % len(body))
    expect_failure(server, feed(server, boxed_frame(bad)), ProtocolError, Code.ZMTP_CRYPTOGRAPHIC)


def test_tampered_message_nonce() -> None:
    """A nonce changed upwards passes the sequence check but not the box."""
    client, server = to_traffic()
    client.send_message([b"hello world"])
    ((_, body),) = split_frames(flush(client))
    expect_failure(
        server, feed(server, boxed_frame(flip(body, 8))), ProtocolError, Code.ZMTP_CRYPTOGRAPHIC
    )


def test_reflected_message() -> None:
    """The server's own MESSAGE sent back to it does not open (the nonce prefix differs)."""
    _, server = to_traffic()
    for _ in range(3):  # server nonces 2, 3, 4: above the client's last one (2, INITIATE)
        server.send_message([b"echo"])
    *_, (_, last) = split_frames(flush(server))
    expect_failure(server, feed(server, boxed_frame(last)), ProtocolError, Code.ZMTP_CRYPTOGRAPHIC)


@pytest.mark.parametrize("size", [8, 16, 32])
def test_message_too_short(size: int) -> None:
    _, server = to_traffic()
    body = (b"\x07MESSAGE" + bytes(32))[:size]
    expect_failure(
        server, feed(server, boxed_frame(body)), ProtocolError, Code.ZMTP_MALFORMED_COMMAND_MESSAGE
    )


@pytest.mark.parametrize("inner", [4, 0x80, 0xFF])
def test_message_with_reserved_flags(inner: int) -> None:
    forged, server = forged_client_at_initiate()
    server.receive_data(encode_command(forged.initiate()))
    flush(server)
    expect_failure(
        server,
        feed(server, boxed_frame(forged.message(3, inner, b"x"))),
        ProtocolError,
        Code.ZMTP_MALFORMED_COMMAND_MESSAGE,
    )


def test_encrypted_frame_with_wire_more_flag() -> None:
    client, server = to_traffic()
    client.send_message([b"x"])
    ((_, body),) = split_frames(flush(client))
    expect_failure(
        server,
        feed(server, frame_header(len(body), MORE) + body),
        ProtocolError,
        Code.ZMTP_MALFORMED_COMMAND_MESSAGE,
    )


@pytest.mark.parametrize(
    "frame",
    [b"\x00\x05hello", command_frame(b"PING", b"\x00\x00"), command_frame(b"READY")],
    ids=["clear-message", "clear-ping", "clear-ready"],
)
def test_clear_text_after_the_handshake(frame: bytes) -> None:
    _, server = to_traffic()
    expect_failure(server, feed(server, frame), ProtocolError, Code.ZMTP_UNEXPECTED_COMMAND)


@pytest.mark.parametrize("name", [b"READY", b"HELLO", b"WELCOME", b"INITIATE"])
def test_boxed_handshake_command_after_the_handshake(name: bytes) -> None:
    client, server = to_traffic()
    codec = client.mechanism.traffic_codec()  # shares the client's key and nonce counter
    assert codec is not None
    boxed = codec.box(COMMAND, command(name, b"\x00" * 40))
    expect_failure(
        server, feed(server, boxed_frame(boxed)), ProtocolError, Code.ZMTP_UNEXPECTED_COMMAND
    )


def test_boxed_peer_error_after_the_handshake() -> None:
    client, server = to_traffic()
    codec = server.mechanism.traffic_codec()
    assert codec is not None
    boxed = codec.box(COMMAND, command(b"ERROR", b"\x04gone"))
    exc = expect_failure(client, feed(client, boxed_frame(boxed)), PeerError, Code.ZMTP_UNSPECIFIED)
    assert isinstance(exc, PeerError) and exc.peer_reason == b"gone"


def test_secrets_never_show() -> None:
    client, server, initiate = to_initiate()
    (event,) = server.receive_data(encode_command(initiate))
    server.zap_reply(reply_for(event.request, 200))  # type: ignore[attr-defined]
    client.receive_data(flush(server))
    codec = client.mechanism.traffic_codec()
    assert_no_secrets(client, server, client.mechanism, server.mechanism, event, codec)
    assert "redacted" in repr(client.mechanism) and "redacted" in repr(codec)


# -- MESSAGE boxes: libsodium called directly, and PyNaCl's public API as the fallback ---------


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 70_000])
def test_message_boxes_are_the_same_through_libsodium_directly_and_pynacl(
    monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    """CurveCodec seals and opens with libsodium's crypto_secretbox_easy in buffers of its own;
    without PyNaCl's private binding it falls back to crypto_box_*_afternm.  Both must put the
    same octets on the wire (RFC 26's MESSAGE), open each other's boxes, and refuse a box with
    one bit changed."""
    from safezmq.protocol import curve

    key = bytes(range(32))
    body = bytes(i * 7 % 256 for i in range(size))

    def codecs() -> tuple[curve.CurveCodec, curve.CurveCodec]:
        return (
            curve.CurveCodec(key, curve.NonceCounter(), as_server=False),
            curve.CurveCodec(key, curve.NonceCounter(), as_server=True),
        )

    client, server = codecs()
    direct = [bytes(client.box(flags, body)) for flags in (MORE, 0, COMMAND)]
    assert [server.unbox(box) for box in direct] == [(MORE, body), (0, body), (COMMAND, body)]

    monkeypatch.setattr(curve, "_secretbox_easy", None)
    monkeypatch.setattr(curve, "_secretbox_open_easy", None)
    client, fallback_server = codecs()
    public = [bytes(client.box(flags, body)) for flags in (MORE, 0, COMMAND)]
    assert public == direct  # the same nonces, the same key: the same octets
    assert [fallback_server.unbox(box) for box in direct] == [
        (MORE, body),
        (0, body),
        (COMMAND, body),
    ]
    monkeypatch.undo()

    _, server = codecs()
    assert server.unbox(bytearray(public[0])) == (MORE, body)
    # A view whose items are not octets (copy=False with an array of ints): every octet is
    # sealed, none is left in clear after the box, and it opens to the same octets.
    ints = array("i", range(size // 4 + 1))
    client, server = codecs()
    boxed = bytes(client.box(0, memoryview(ints)))
    assert len(boxed) == curve.CurveCodec.overhead + len(ints) * ints.itemsize
    assert server.unbox(boxed) == (0, ints.tobytes())
    assert ints.tobytes()[-8:] not in boxed[curve.CurveCodec.overhead :]
    for position in (0, 16, 31, 32, len(public[1]) - 1):
        _, server = codecs()
        server.unbox(public[0])  # nonce 1 taken; nonce 2 is next
        tampered = bytearray(public[1])
        tampered[position] ^= 0x01
        with pytest.raises(ProtocolError):
            server.unbox(bytes(tampered))
