"""Authentication failures against real libzmq, in both directions.

Wrong PLAIN passwords and unknown CURVE client keys are refused whichever library is the
server; a wrong CURVE server key is a cryptographic protocol error; a safezmq PLAIN/CURVE
server with no ZAP handler refuses everyone (fail closed), where libzmq would accept any CURVE
key.  The safezmq side's monitor must say exactly why: HANDSHAKE_FAILED_AUTH with the ZAP
status code, or HANDSHAKE_FAILED_PROTOCOL with ZMTP_CRYPTOGRAPHIC.  Each case runs over tcp and
ipc, with the mechanism server binding or connecting.

libzmq misbehaviour met here (safezmq is asserted to be correct regardless):
- libzmq's PLAIN client and server spell the ERROR command "^RROR": plain_common.hpp declares
  ``error_prefix[] = "\\x05ERROR"``, and the C hex escape ``\\x05E`` swallows the "E" (0x5E is
  "^").  Its PLAIN server therefore sends a malformed ERROR (name length 0x5E, name "RROR...")
  and its PLAIN client does not recognise a correct ERROR (it reports
  HANDSHAKE_FAILED_PROTOCOL / ZMTP_UNEXPECTED_COMMAND instead of HANDSHAKE_FAILED_AUTH).  Still
  in libzmq master:
  https://github.com/zeromq/libzmq/blob/master/src/plain_common.hpp (no upstream issue found).
  safezmq reads "^RROR" from a PLAIN server as the ERROR it means, and sends the correct form.
- libzmq maps an ERROR to HANDSHAKE_FAILED_AUTH only when its reason is a bare 3xx/4xx/5xx
  status (mechanism_base.cpp, handle_error_reason); any other reason yields no event at all.
- libzmq never sets the greeting's as-server octet
  (https://github.com/zeromq/libzmq/issues/3863, https://github.com/zeromq/libzmq/issues/2821).
"""

from __future__ import annotations

import itertools
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator
from zmq.utils import z85
from zmq.utils.monitor import parse_monitor_message as parse_libzmq_event

import safezmq
from safezmq.utils.monitor import parse_monitor_message as parse_safezmq_event

from .zap_handler import SafeZapHandler

TIMEOUT_MS = 3000

PLAIN_USER = b"admin"
PLAIN_PASSWORD = b"correct horse"
SERVER_PUBLIC, SERVER_SECRET = zmq.curve_keypair()

Sock = Any  # a safezmq.Socket or a zmq.Socket
_ids = itertools.count()


@dataclass
class Env:
    sz: safezmq.Context  # has a ZAP handler
    sz_no_zap: safezmq.Context  # has none
    lz: zmq.Context[Any]  # runs pyzmq's ThreadAuthenticator
    zap: SafeZapHandler
    client_public: bytes  # the one CURVE client key both sides allow
    client_secret: bytes
    ipc_dir: str
    sockets: list[Sock] = field(default_factory=list)
    monitored: list[tuple[Sock, Sock]] = field(default_factory=list)

    def socket(self, ctx: Any, socket_type: int) -> Sock:
        sock = ctx.socket(socket_type)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.RCVTIMEO, TIMEOUT_MS)
        sock.setsockopt(zmq.SNDTIMEO, TIMEOUT_MS)
        self.sockets.append(sock)
        return sock

    def monitor(self, sock: Sock) -> Sock:
        mon = sock.get_monitor_socket()
        self.monitored.append((sock, mon))
        return mon

    def address(self, transport: str) -> str:
        if transport == "tcp":
            return "tcp://127.0.0.1:*"
        return f"ipc://{os.path.join(self.ipc_dir, f's{next(_ids)}')}"

    def close_all(self) -> None:
        while self.monitored:
            sock, mon = self.monitored.pop()
            sock.disable_monitor()
            mon.close(0)
        while self.sockets:
            self.sockets.pop().close(0)


def allow(mechanism: bytes, credentials: list[bytes], client_public: bytes) -> bytes | None:
    if mechanism == b"PLAIN" and credentials == [PLAIN_USER, PLAIN_PASSWORD]:
        return PLAIN_USER
    if mechanism == b"CURVE" and credentials == [z85.decode(client_public)]:
        return b"known-client"
    return None


@pytest.fixture(scope="module")
def env_module() -> Iterator[Env]:
    with tempfile.TemporaryDirectory(prefix="sz-sec-") as tmp:
        # pyzmq's authenticator checks CURVE keys against a certificate directory holding the
        # known client's public certificate (the secret one lives elsewhere).
        certs = os.path.join(tmp, "certs")
        secrets = os.path.join(tmp, "secrets")
        os.mkdir(certs)
        os.mkdir(secrets)
        public_file, secret_file = zmq.auth.create_certificates(secrets, "client")
        os.rename(public_file, os.path.join(certs, "client.key"))
        client_public, client_secret = zmq.auth.load_certificate(secret_file)
        assert client_secret is not None

        sz = safezmq.Context()
        sz_no_zap = safezmq.Context()
        lz = zmq.Context()
        zap = SafeZapHandler(sz, lambda m, c: allow(m, c, client_public)).start()
        auth = ThreadAuthenticator(lz)
        auth.start()
        auth.configure_plain("*", {PLAIN_USER.decode(): PLAIN_PASSWORD.decode()})
        auth.configure_curve("*", certs)
        yield Env(sz, sz_no_zap, lz, zap, client_public, client_secret, tmp)
        auth.stop()
        zap.stop()
        for ctx in (sz, sz_no_zap, lz):
            ctx.destroy(linger=0)


@pytest.fixture
def env(env_module: Env) -> Iterator[Env]:
    env_module.zap.requests.clear()
    try:
        yield env_module
    finally:
        env_module.close_all()


# -- helpers -------------------------------------------------------------------------------------


def is_safezmq(sock: Sock) -> bool:
    return isinstance(sock, safezmq.Socket)


def next_event(monitor: Sock, wanted: int, deadline_ms: int = TIMEOUT_MS) -> dict[str, Any]:
    """The first monitor event of kind ``wanted``; fails on a successful handshake before it
    (a refused peer must never get that far) or when none comes in time."""
    parse = parse_safezmq_event if is_safezmq(monitor) else parse_libzmq_event
    seen: list[tuple[int, int]] = []
    deadline = time.monotonic() + deadline_ms / 1000
    while time.monotonic() < deadline:
        if not monitor.poll(20):
            continue
        event = parse([bytes(f) for f in monitor.recv_multipart()])
        seen.append((int(event["event"]), int(event["value"])))
        if event["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            pytest.fail(f"the handshake succeeded; events: {seen!r}")
        if event["event"] == wanted:
            return dict(event)
    pytest.fail(f"no event {wanted:#x} within {deadline_ms} ms; events: {seen!r}")


def events_for(monitor: Sock, ms: int = 300) -> list[int]:
    """Every event kind the monitor reports within the next ``ms`` (a refused peer keeps
    reconnecting, so the monitor is never quiet for long)."""
    parse = parse_safezmq_event if is_safezmq(monitor) else parse_libzmq_event
    seen: list[int] = []
    deadline = time.monotonic() + ms / 1000
    while (left := deadline - time.monotonic()) > 0:
        if monitor.poll(max(1, int(left * 1000))):
            seen.append(int(parse([bytes(f) for f in monitor.recv_multipart()])["event"]))
    return seen


def connect(
    server: Sock, client: Sock, transport: str, server_binds: bool, env: Env
) -> tuple[Sock, Sock]:
    """Bind one, connect the other; return the server's and the client's monitors."""
    server_monitor, client_monitor = env.monitor(server), env.monitor(client)
    binder, connecter = (server, client) if server_binds else (client, server)
    binder.bind(env.address(transport))
    connecter.connect(bytes(binder.getsockopt(zmq.LAST_ENDPOINT)).decode())
    return server_monitor, client_monitor


def plain_server(sock: Sock) -> Sock:
    sock.setsockopt(zmq.PLAIN_SERVER, 1)
    return sock


def plain_client(sock: Sock, password: bytes) -> Sock:
    sock.setsockopt(zmq.PLAIN_USERNAME, PLAIN_USER)
    sock.setsockopt(zmq.PLAIN_PASSWORD, password)
    return sock


def curve_server(sock: Sock) -> Sock:
    sock.setsockopt(zmq.CURVE_SERVER, 1)
    sock.setsockopt(zmq.CURVE_PUBLICKEY, SERVER_PUBLIC)
    sock.setsockopt(zmq.CURVE_SECRETKEY, SERVER_SECRET)
    return sock


def curve_client(sock: Sock, keypair: tuple[bytes, bytes], server_key: bytes) -> Sock:
    sock.setsockopt(zmq.CURVE_SERVERKEY, server_key)
    sock.setsockopt(zmq.CURVE_PUBLICKEY, keypair[0])
    sock.setsockopt(zmq.CURVE_SECRETKEY, keypair[1])
    return sock


def assert_not_delivered(client: Sock, server: Sock) -> None:
    """Nothing the refused client sends reaches the server.  (A PUSH that binds has no pipe
    until a handshake completes, so it may refuse to queue at all.)"""
    try:
        client.send(b"must not arrive", zmq.DONTWAIT)
    except (zmq.Again, safezmq.Again):
        pass
    assert server.poll(100) == 0


def assert_good_client_still_works(env: Env, server: Sock, client: Sock) -> None:
    """A legitimate libzmq client connected to the same server, after the refusal, gets in."""
    client.connect(bytes(server.getsockopt(zmq.LAST_ENDPOINT)).decode())
    client.send_multipart([b"legitimate", b"message"])
    assert server.poll(TIMEOUT_MS), "the legitimate client was not let in after the refusal"
    assert server.recv_multipart() == [b"legitimate", b"message"]


MATRIX = pytest.mark.parametrize(
    ("transport", "server_binds"),
    [("tcp", True), ("tcp", False), ("ipc", True), ("ipc", False)],
    ids=["tcp-srv_binds", "tcp-srv_connects", "ipc-srv_binds", "ipc-srv_connects"],
)


# -- PLAIN: wrong password -----------------------------------------------------------------------


@MATRIX
def test_wrong_plain_password_refused_by_safezmq_server(
    env: Env, transport: str, server_binds: bool
) -> None:
    server = plain_server(env.socket(env.sz, zmq.PULL))
    client = plain_client(env.socket(env.lz, zmq.PUSH), b"wrong password")
    server_mon, client_mon = connect(server, client, transport, server_binds, env)

    event = next_event(server_mon, zmq.EVENT_HANDSHAKE_FAILED_AUTH)
    assert event["value"] == 400
    assert [b"PLAIN", PLAIN_USER, b"wrong password"] in [r[5:] for r in env.zap.requests]
    # safezmq sent a correct ERROR "400"; libzmq's PLAIN client only knows "^RROR" (module
    # docstring) and so reports a protocol error instead of an authentication failure.
    event = next_event(client_mon, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)
    assert event["value"] == zmq.PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND
    assert_not_delivered(client, server)

    if server_binds:
        good = plain_client(env.socket(env.lz, zmq.PUSH), PLAIN_PASSWORD)
        assert_good_client_still_works(env, server, good)


@MATRIX
def test_wrong_plain_password_refused_by_libzmq_server(
    env: Env, transport: str, server_binds: bool
) -> None:
    server = plain_server(env.socket(env.lz, zmq.PULL))
    client = plain_client(env.socket(env.sz, zmq.PUSH), b"wrong password")
    server_mon, client_mon = connect(server, client, transport, server_binds, env)

    # libzmq's refusal arrives as "^RROR" + "400": safezmq reads it as the ERROR it means.
    event = next_event(client_mon, zmq.EVENT_HANDSHAKE_FAILED_AUTH)
    assert event["value"] == 400
    event = next_event(server_mon, zmq.EVENT_HANDSHAKE_FAILED_AUTH)
    assert event["value"] == 400
    assert_not_delivered(client, server)


# -- CURVE: unknown client key -------------------------------------------------------------------


@MATRIX
def test_unknown_curve_client_key_refused_by_safezmq_server(
    env: Env, transport: str, server_binds: bool
) -> None:
    stranger = zmq.curve_keypair()
    server = curve_server(env.socket(env.sz, zmq.PULL))
    client = curve_client(env.socket(env.lz, zmq.PUSH), stranger, SERVER_PUBLIC)
    server_mon, client_mon = connect(server, client, transport, server_binds, env)

    event = next_event(server_mon, zmq.EVENT_HANDSHAKE_FAILED_AUTH)
    assert event["value"] == 400
    assert [b"CURVE", z85.decode(stranger[0])] in [r[5:] for r in env.zap.requests]
    # libzmq's CURVE client understands safezmq's ERROR "400".
    event = next_event(client_mon, zmq.EVENT_HANDSHAKE_FAILED_AUTH)
    assert event["value"] == 400
    assert_not_delivered(client, server)

    if server_binds:
        known = (env.client_public, env.client_secret)
        good = curve_client(env.socket(env.lz, zmq.PUSH), known, SERVER_PUBLIC)
        assert_good_client_still_works(env, server, good)


@MATRIX
def test_unknown_curve_client_key_refused_by_libzmq_server(
    env: Env, transport: str, server_binds: bool
) -> None:
    server = curve_server(env.socket(env.lz, zmq.PULL))
    client = curve_client(env.socket(env.sz, zmq.PUSH), zmq.curve_keypair(), SERVER_PUBLIC)
    server_mon, client_mon = connect(server, client, transport, server_binds, env)

    event = next_event(client_mon, zmq.EVENT_HANDSHAKE_FAILED_AUTH)
    assert event["value"] == 400
    event = next_event(server_mon, zmq.EVENT_HANDSHAKE_FAILED_AUTH)
    assert event["value"] == 400
    assert_not_delivered(client, server)


# -- CURVE: wrong server key ---------------------------------------------------------------------


@MATRIX
def test_wrong_curve_server_key_detected_by_safezmq_server(
    env: Env, transport: str, server_binds: bool
) -> None:
    """A client that encrypts to the wrong server key: the HELLO box does not open."""
    server = curve_server(env.socket(env.sz, zmq.PULL))
    known = (env.client_public, env.client_secret)
    wrong_key = zmq.curve_keypair()[0]
    client = curve_client(env.socket(env.lz, zmq.PUSH), known, wrong_key)
    server_mon, client_mon = connect(server, client, transport, server_binds, env)

    event = next_event(server_mon, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)
    assert event["value"] == zmq.PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC
    assert env.zap.requests == [], "nothing may reach ZAP before the client is authenticated"
    assert zmq.EVENT_HANDSHAKE_SUCCEEDED not in events_for(client_mon)
    assert_not_delivered(client, server)


@MATRIX
def test_wrong_curve_server_key_used_by_safezmq_client(
    env: Env, transport: str, server_binds: bool
) -> None:
    """libzmq cannot open safezmq's HELLO and hangs up without an ERROR (it has nothing it may
    say to an unauthenticated peer), so all the safezmq client can see is the disconnect."""
    server = curve_server(env.socket(env.lz, zmq.PULL))
    known = (env.client_public, env.client_secret)
    wrong_key = zmq.curve_keypair()[0]
    client = curve_client(env.socket(env.sz, zmq.PUSH), known, wrong_key)
    server_mon, client_mon = connect(server, client, transport, server_binds, env)

    event = next_event(server_mon, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)
    assert event["value"] == zmq.PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC
    client_events = events_for(client_mon)
    assert zmq.EVENT_DISCONNECTED in client_events
    assert zmq.EVENT_HANDSHAKE_SUCCEEDED not in client_events
    assert_not_delivered(client, server)


# -- fail closed: no ZAP handler -----------------------------------------------------------------


@pytest.mark.parametrize("mechanism", ["plain", "curve"])
@MATRIX
def test_safezmq_server_without_zap_handler_refuses_libzmq_client(
    env: Env, mechanism: str, transport: str, server_binds: bool
) -> None:
    """A libzmq client with perfectly good credentials is refused by a safezmq server whose
    context has no ZAP handler (libzmq itself would let any CURVE key in)."""
    server = env.socket(env.sz_no_zap, zmq.PULL)
    client = env.socket(env.lz, zmq.PUSH)
    if mechanism == "plain":
        plain_server(server)
        plain_client(client, PLAIN_PASSWORD)
    else:
        curve_server(server)
        curve_client(client, (env.client_public, env.client_secret), SERVER_PUBLIC)
    server_mon, client_mon = connect(server, client, transport, server_binds, env)

    event = next_event(server_mon, zmq.EVENT_HANDSHAKE_FAILED_AUTH)
    assert event["value"] == 500
    # safezmq answers ERROR "500", which a libzmq CURVE client reports as
    # HANDSHAKE_FAILED_AUTH 500; its PLAIN client does not recognise a correctly spelled ERROR
    # (module docstring): either way it must never complete the handshake.
    client_events = events_for(client_mon)
    assert zmq.EVENT_HANDSHAKE_SUCCEEDED not in client_events
    if mechanism == "curve":
        assert zmq.EVENT_HANDSHAKE_FAILED_AUTH in client_events
    assert_not_delivered(client, server)
