"""safezmq.auth: ZAP authenticators (base, thread, asyncio), CURVE certificates, curve_keygen.

Each decision is checked end to end (a real handshake, the client's and the server's monitor
events, the User-Id the server sees), against libzmq in both directions (pyzmq as the peer and
as the authenticator), and the handler directly with malformed and random requests.  Secrets
(passwords, secret keys) must never show in logs, reprs or exceptions.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq
import zmq.auth
import zmq.auth.thread
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import safezmq
import safezmq.asyncio as zaio
from safezmq.auth import CURVE_ALLOW_ANY, Authenticator, KeyFilePermissionError
from safezmq.auth import certs as sz_certs
from safezmq.auth.asyncio import AsyncioAuthenticator
from safezmq.auth.thread import ThreadAuthenticator
from safezmq.protocol.zap import ZapReply
from safezmq.utils.monitor import parse_monitor_message

pytestmark = pytest.mark.timeout(20)

#: Upper bound for anything that should happen promptly (a failing test fails, never hangs).
PROMPT = 5.0
PASSWORD = "s3cr3t-Pa55w0rd-do-not-log"
#: Where the safezmq under test lives (src/ of a checkout, or an installed wheel's site-packages).
SRC = str(Path(safezmq.__file__).resolve().parents[1])


# -- helpers ------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _isolated_key_file_records() -> Iterator[None]:
    """The secret-key files these tests expose on purpose must not reach other tests' audit()."""
    saved = dict(sz_certs._records)
    yield
    with sz_certs._records_lock:
        sz_certs._records.clear()
        sz_certs._records.update(saved)


@pytest.fixture
def ctx() -> Iterator[safezmq.Context]:
    context = safezmq.Context()
    yield context
    context.destroy(linger=0)


@pytest.fixture
def auth(ctx: safezmq.Context) -> Iterator[ThreadAuthenticator]:
    authenticator = ThreadAuthenticator(ctx)
    authenticator.start()
    yield authenticator
    authenticator.stop()


@pytest.fixture
def zctx() -> Iterator[zmq.Context[Any]]:
    context: zmq.Context[Any] = zmq.Context()
    yield context
    context.destroy(linger=0)


def new_socket(ctx: Any, kind: int, **options: Any) -> Any:
    sock = ctx.socket(kind)
    sock.linger = 0
    sock.rcvtimeo = int(PROMPT * 1000)
    sock.sndtimeo = int(PROMPT * 1000)
    for name, value in options.items():
        setattr(sock, name, value)
    return sock


def wait_event(mon: Any, wanted: set[int], timeout: float = PROMPT) -> dict[str, Any]:
    """The first monitor event among ``wanted`` (fails after ``timeout``)."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        if mon.poll(50):
            event = parse_monitor_message(mon.recv_multipart())
            seen.append(event["event"])
            if event["event"] in wanted:
                return event
    raise AssertionError(f"none of {wanted} within {timeout}s; saw {seen}")


AUTH_OUTCOMES = {
    zmq.EVENT_HANDSHAKE_SUCCEEDED,
    zmq.EVENT_HANDSHAKE_FAILED_AUTH,
    zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL,
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL,
}


def handshake(
    ctx: Any, server_opts: dict[str, Any], client_opts: dict[str, Any], client_ctx: Any = None
) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """Connect a client PUSH to a server PULL over tcp; returns the server's and the client's
    handshake outcome and, when accepted, the first message as a Frame (else None)."""
    client_ctx = client_ctx if client_ctx is not None else ctx
    server = new_socket(ctx, zmq.PULL, **server_opts)
    server_mon = server.get_monitor_socket()
    server.bind("tcp://127.0.0.1:*")
    endpoint = server.getsockopt(zmq.LAST_ENDPOINT).decode()
    client = new_socket(client_ctx, zmq.PUSH, **client_opts)
    client_mon = client.get_monitor_socket()
    client.connect(endpoint)
    server_event = wait_event(server_mon, AUTH_OUTCOMES)
    client_event = wait_event(client_mon, AUTH_OUTCOMES)
    frame = None
    if server_event["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED:
        client.send(b"hello")
        assert server.poll(int(PROMPT * 1000))
        frame = server.recv(copy=False)
        assert frame.bytes == b"hello"
    else:
        assert server.poll(100) == 0  # nothing gets through a refused handshake
    for sock in (client, server):
        # libzmq: a socket closed while monitored can stall the next sockets' connections.
        sock.disable_monitor()
        sock.close()
    client_mon.close()
    server_mon.close()
    return server_event, client_event, frame


def assert_refused(server_event: dict[str, Any], client_event: dict[str, Any], status: int = 400):
    assert server_event["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH, server_event
    assert server_event["value"] == status
    assert client_event["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH, client_event
    assert client_event["value"] == status


def assert_accepted(server_event: dict[str, Any], client_event: dict[str, Any]) -> None:
    assert server_event["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED, server_event
    assert client_event["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED, client_event


def plain_server(domain: bytes = b"") -> dict[str, Any]:
    opts: dict[str, Any] = {"plain_server": 1}
    if domain:
        opts["zap_domain"] = domain
    return opts


def plain_client(username: str, password: str) -> dict[str, Any]:
    return {"plain_username": username.encode(), "plain_password": password.encode()}


def curve_server(keys: tuple[bytes, bytes]) -> dict[str, Any]:
    public, secret = keys
    return {"curve_server": 1, "curve_publickey": public, "curve_secretkey": secret}


def curve_client(server_public: bytes, keys: tuple[bytes, bytes]) -> dict[str, Any]:
    public, secret = keys
    return {"curve_serverkey": server_public, "curve_publickey": public, "curve_secretkey": secret}


# -- PLAIN ----------------------------------------------------------------------------------------


def test_plain_allowed_with_user_id(ctx: safezmq.Context, auth: ThreadAuthenticator) -> None:
    auth.configure_plain(domain="*", passwords={"admin": PASSWORD})
    server_event, client_event, frame = handshake(
        ctx, plain_server(), plain_client("admin", PASSWORD)
    )
    assert_accepted(server_event, client_event)
    assert frame.get("User-Id") == "admin"


@pytest.mark.parametrize(
    ("username", "password", "domain"),
    [
        ("admin", "wrong", b""),  # wrong password
        ("admin", PASSWORD[:-1], b""),  # a prefix of the password
        ("mallory", PASSWORD, b""),  # unknown user
        ("admin", PASSWORD, b"elsewhere"),  # a domain with no passwords
    ],
)
def test_plain_refused(
    ctx: safezmq.Context, auth: ThreadAuthenticator, username: str, password: str, domain: bytes
) -> None:
    auth.configure_plain(domain="*", passwords={"admin": PASSWORD})
    server_event, client_event, _ = handshake(
        ctx, plain_server(domain), plain_client(username, password)
    )
    assert_refused(server_event, client_event, 400)


def test_plain_domains_and_live_password_table(
    ctx: safezmq.Context, auth: ThreadAuthenticator
) -> None:
    users = {"bob": "one"}
    auth.configure_plain(domain="global", passwords=users)
    ok = handshake(ctx, plain_server(b"global"), plain_client("bob", "one"))
    assert_accepted(ok[0], ok[1])
    users["bob"] = "two"  # pyzmq: later changes to the mapping take effect
    old = handshake(ctx, plain_server(b"global"), plain_client("bob", "one"))
    assert_refused(old[0], old[1])
    new = handshake(ctx, plain_server(b"global"), plain_client("bob", "two"))
    assert_accepted(new[0], new[1])


def test_plain_without_passwords_is_refused(
    ctx: safezmq.Context, auth: ThreadAuthenticator
) -> None:
    server_event, client_event, _ = handshake(ctx, plain_server(), plain_client("a", "b"))
    assert_refused(server_event, client_event, 400)


# -- CURVE ----------------------------------------------------------------------------------------


def test_curve_allow_any(ctx: safezmq.Context, auth: ThreadAuthenticator) -> None:
    auth.configure_curve(domain="*", location=CURVE_ALLOW_ANY)
    server_keys = safezmq.curve_keypair()
    client_keys = safezmq.curve_keypair()
    server_event, client_event, frame = handshake(
        ctx, curve_server(server_keys), curve_client(server_keys[0], client_keys)
    )
    assert_accepted(server_event, client_event)
    assert frame.get("User-Id") == client_keys[0].decode()


def test_curve_certificate_directory(
    ctx: safezmq.Context, auth: ThreadAuthenticator, tmp_path: Path
) -> None:
    public_dir = tmp_path / "public"
    secret_dir = tmp_path / "private"
    public_dir.mkdir()
    secret_dir.mkdir()
    _, known_secret_file = safezmq.auth.create_certificates(str(secret_dir), "known")
    os.replace(secret_dir / "known.key", public_dir / "known.key")
    auth.configure_curve(domain="*", location=str(public_dir))
    known = safezmq.auth.load_certificate(known_secret_file)
    assert known[1] is not None
    server_keys = safezmq.curve_keypair()

    ok = handshake(ctx, curve_server(server_keys), curve_client(server_keys[0], known))
    assert_accepted(ok[0], ok[1])
    assert ok[2].get("User-Id") == known[0].decode()

    stranger = safezmq.curve_keypair()
    refused = handshake(ctx, curve_server(server_keys), curve_client(server_keys[0], stranger))
    assert_refused(refused[0], refused[1], 400)

    other_domain = handshake(
        ctx,
        {**curve_server(server_keys), "zap_domain": b"other"},
        curve_client(server_keys[0], known),
    )
    assert_refused(other_domain[0], other_domain[1], 400)


class Provider:
    def __init__(self, allowed: bytes) -> None:
        self.allowed = allowed
        self.calls: list[tuple[str, bytes]] = []

    def callback(self, domain: str, key: bytes) -> bool:
        self.calls.append((domain, key))
        return key == self.allowed


class AsyncProvider(Provider):
    async def callback(self, domain: str, key: bytes) -> bool:  # type: ignore[override]
        await asyncio.sleep(0)
        return super().callback(domain, key)


class SleepingProvider(Provider):
    """Awaits a timer (a real future on the running loop), as pyzmq's own test does: the
    handler must run with its thread's loop running, not just be stepped by hand."""

    async def callback(self, domain: str, key: bytes) -> bool:  # type: ignore[override]
        await asyncio.sleep(0.05)
        return super().callback(domain, key)


@pytest.mark.parametrize("provider_class", [Provider, AsyncProvider, SleepingProvider])
def test_curve_callback_provider(
    ctx: safezmq.Context, auth: ThreadAuthenticator, provider_class: type[Provider]
) -> None:
    server_keys = safezmq.curve_keypair()
    good = safezmq.curve_keypair()
    provider = provider_class(good[0])
    auth.configure_curve_callback(domain="*", credentials_provider=provider)
    ok = handshake(ctx, curve_server(server_keys), curve_client(server_keys[0], good))
    assert_accepted(ok[0], ok[1])
    bad = safezmq.curve_keypair()
    refused = handshake(ctx, curve_server(server_keys), curve_client(server_keys[0], bad))
    assert_refused(refused[0], refused[1], 400)
    assert provider.calls == [("*", good[0]), ("*", bad[0])]


def test_curve_user_id_override(ctx: safezmq.Context) -> None:
    class Named(ThreadAuthenticator):
        def curve_user_id(self, client_public_key: bytes) -> str:
            assert len(client_public_key) == 32
            return "alice"

    authenticator = Named(ctx)
    authenticator.start()
    try:
        authenticator.configure_curve(location=CURVE_ALLOW_ANY)
        server_keys = safezmq.curve_keypair()
        result = handshake(
            ctx, curve_server(server_keys), curve_client(server_keys[0], safezmq.curve_keypair())
        )
        assert_accepted(result[0], result[1])
        assert result[2].get("User-Id") == "alice"
    finally:
        authenticator.stop()


def test_curve_provider_that_raises_gets_500(
    ctx: safezmq.Context, auth: ThreadAuthenticator, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def callback(self, domain: str, key: bytes) -> bool:
            raise RuntimeError(f"database down; password was {PASSWORD}")

    caplog.set_level(logging.DEBUG, logger="safezmq.auth")
    auth.configure_curve_callback(credentials_provider=Broken())
    server_keys = safezmq.curve_keypair()
    first = handshake(
        ctx, curve_server(server_keys), curve_client(server_keys[0], safezmq.curve_keypair())
    )
    assert_refused(first[0], first[1], 500)
    assert auth.is_alive()  # the handler survived and still answers
    auth.configure_curve(location=CURVE_ALLOW_ANY)
    second = handshake(
        ctx, curve_server(server_keys), curve_client(server_keys[0], safezmq.curve_keypair())
    )
    assert_accepted(second[0], second[1])
    assert "RuntimeError" in caplog.text
    assert PASSWORD not in caplog.text


# -- addresses (NULL with a ZAP domain) -----------------------------------------------------------


NULL_ZAP = {"zap_domain": b"global"}


def test_null_with_zap_domain_allowed_by_default(
    ctx: safezmq.Context, auth: ThreadAuthenticator
) -> None:
    server_event, client_event, frame = handshake(ctx, NULL_ZAP, {})
    assert_accepted(server_event, client_event)
    assert frame.get("User-Id") == "anonymous"


@pytest.mark.parametrize(
    ("rule", "addresses", "accepted"),
    [
        ("allow", ["127.0.0.1"], True),
        ("allow", ["::ffff:127.0.0.1"], True),  # the same address, written as IPv6
        ("allow", ["10.9.8.7"], False),
        ("deny", ["127.0.0.1"], False),
        ("deny", ["10.9.8.7", "192.0.2.1"], True),
    ],
)
def test_address_rules_with_null(
    ctx: safezmq.Context, auth: ThreadAuthenticator, rule: str, addresses: list[str], accepted: bool
) -> None:
    getattr(auth, rule)(*addresses)
    server_event, client_event, _ = handshake(ctx, NULL_ZAP, {})
    if accepted:
        assert_accepted(server_event, client_event)
    else:
        assert_refused(server_event, client_event, 400)


def test_allowed_address_still_needs_a_password(
    ctx: safezmq.Context, auth: ThreadAuthenticator
) -> None:
    auth.allow("127.0.0.1")
    auth.configure_plain(passwords={"admin": PASSWORD})
    refused = handshake(ctx, plain_server(), plain_client("admin", "nope"))
    assert_refused(refused[0], refused[1])
    ok = handshake(ctx, plain_server(), plain_client("admin", PASSWORD))
    assert_accepted(ok[0], ok[1])


def test_denied_address_is_refused_before_credentials(
    ctx: safezmq.Context, auth: ThreadAuthenticator
) -> None:
    auth.deny("127.0.0.1")
    auth.configure_plain(passwords={"admin": PASSWORD})
    refused = handshake(ctx, plain_server(), plain_client("admin", PASSWORD))
    assert_refused(refused[0], refused[1])


def test_allow_and_deny_do_not_mix(ctx: safezmq.Context, auth: ThreadAuthenticator) -> None:
    auth.allow("127.0.0.1")
    with pytest.raises(ValueError, match="allow or deny"):
        auth.deny("10.0.0.1")  # raised in the handler thread, reported here
    with pytest.raises(TypeError):
        auth.allow(b"1234")  # type: ignore[arg-type]  # not read as the packed IP 49.50.51.52
    plain = Authenticator(ctx)
    plain.deny("10.0.0.1")
    with pytest.raises(ValueError, match="allow or deny"):
        plain.allow("127.0.0.1")


# -- the handler itself ---------------------------------------------------------------------------


class FakeSocket:
    def __init__(self) -> None:
        self.sent: list[list[bytes]] = []

    def send_multipart(self, frames: list[bytes]) -> None:
        self.sent.append(frames)

    def close(self) -> None:
        pass


def answer(authenticator: Authenticator, msg: list[bytes]) -> list[bytes]:
    fake = FakeSocket()
    authenticator.zap_socket = fake
    asyncio.run(authenticator.handle_zap_message(msg))
    assert len(fake.sent) == 1, "exactly one reply per request"
    return fake.sent[0]


def request(mechanism: bytes, *credentials: bytes, address: bytes = b"127.0.0.1") -> list[bytes]:
    return [b"1.0", b"id-7", b"", address, b"", mechanism, *credentials]


@pytest.mark.parametrize(
    ("msg", "status"),
    [
        ([], b"400"),
        ([b"1.0"], b"400"),
        ([b"1.0", b"id-7", b"", b"127.0.0.1", b""], b"400"),  # 5 frames
        ([b"2.0", b"id-7", b"", b"127.0.0.1", b"", b"NULL"], b"400"),  # version
        (request(b"PLAIN", b"admin"), b"400"),  # one credential
        (request(b"PLAIN", b"admin", PASSWORD.encode(), b"extra"), b"400"),
        (request(b"PLAIN", b"\xff\xfe", PASSWORD.encode()), b"400"),  # not UTF-8
        (request(b"CURVE"), b"400"),
        (request(b"CURVE", b"short"), b"400"),
        (request(b"NULL", b"unexpected"), b"400"),
        (request(b"GSSAPI", b"principal"), b"400"),
        (request(b"X-UNKNOWN"), b"400"),
        (request(b"PLAIN", b"admin", PASSWORD.encode()), b"200"),
        (request(b"NULL"), b"200"),
    ],
)
def test_handler_answers_every_request(
    ctx: safezmq.Context, msg: list[bytes], status: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="safezmq.auth")
    authenticator = Authenticator(ctx)
    authenticator.configure_plain(passwords={"admin": PASSWORD})
    reply = answer(authenticator, msg)
    assert reply[0] == b"1.0"
    assert reply[1] == (msg[1] if len(msg) > 1 else b"")
    assert reply[2] == status
    parsed = ZapReply.from_frames(reply, delimiter=False)  # what the server session accepts
    assert parsed.status_code == int(status)
    if status != b"200":
        assert parsed.user_id == b""
    assert PASSWORD not in caplog.text


def test_handler_gives_500_for_oversized_user_id(ctx: safezmq.Context) -> None:
    class Long(Authenticator):
        def curve_user_id(self, client_public_key: bytes) -> str:
            return "x" * 300

    authenticator = Long(ctx)
    authenticator.configure_curve(location=CURVE_ALLOW_ANY)
    reply = answer(authenticator, request(b"CURVE", os.urandom(32)))
    assert reply[2] == b"500"
    assert reply[4] == b""


def test_allowed_address_with_unknown_mechanism_is_refused(ctx: safezmq.Context) -> None:
    authenticator = Authenticator(ctx)
    authenticator.allow("127.0.0.1")
    assert answer(authenticator, request(b"NULL"))[2] == b"200"
    assert answer(authenticator, request(b"MAGIC"))[2] == b"400"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=40),
            st.sampled_from([b"1.0", b"NULL", b"PLAIN", b"CURVE", b"admin", b"127.0.0.1"]),
        ),
        max_size=10,
    )
)
def test_handler_fuzz_always_one_valid_reply(msg: list[bytes]) -> None:
    context = safezmq.Context()  # no socket: the handler is given a fake one
    try:
        authenticator = Authenticator(context)
        authenticator.configure_plain(passwords={"admin": "pw"})
        authenticator.configure_curve_callback(credentials_provider=Provider(b""))
        reply = answer(authenticator, msg)
        parsed = ZapReply.from_frames(reply, delimiter=False)
        assert parsed.status_code in (200, 400, 500)
        assert reply[1] == (msg[1] if len(msg) > 1 else b"")
    finally:
        context.term()


def test_handler_survives_malformed_requests_on_its_socket(
    ctx: safezmq.Context, auth: ThreadAuthenticator
) -> None:
    """Garbage sent straight to inproc://zeromq.zap.01 gets replies; real clients still pass."""
    auth.configure_plain(passwords={"admin": PASSWORD})
    rogue = new_socket(ctx, zmq.DEALER)
    rogue.connect("inproc://zeromq.zap.01")
    for garbage in ([b"junk"], [b"1.0", b"r1"], request(b"PLAIN", b"admin"), [b"\x00" * 300] * 9):
        rogue.send_multipart([b"", *garbage])
        reply = rogue.recv_multipart()
        assert reply[0] == b""
        assert reply[1] == b"1.0"
        assert reply[3] in (b"400", b"500")
    rogue.close()
    ok = handshake(ctx, plain_server(), plain_client("admin", PASSWORD))
    assert_accepted(ok[0], ok[1])


def test_configure_gssapi_is_not_supported(ctx: safezmq.Context) -> None:
    with pytest.raises(NotImplementedError, match="GSSAPI"):
        Authenticator(ctx).configure_gssapi()


# -- ThreadAuthenticator lifecycle ----------------------------------------------------------------


def test_thread_authenticator_start_stop_restart(ctx: safezmq.Context) -> None:
    authenticator = ThreadAuthenticator(ctx)
    assert not authenticator.is_alive()
    authenticator.start()
    assert authenticator.is_alive()
    with pytest.raises(RuntimeError, match="already running"):
        authenticator.start()
    # One handler per context: a second one cannot bind.
    second = ThreadAuthenticator(ctx)
    with pytest.raises(safezmq.ZMQError) as info:
        second.start()
    assert info.value.errno == zmq.EADDRINUSE
    assert not second.is_alive()

    authenticator.configure_plain(passwords={"admin": PASSWORD})
    ok = handshake(ctx, plain_server(), plain_client("admin", PASSWORD))
    assert_accepted(ok[0], ok[1])

    authenticator.stop()
    assert not authenticator.is_alive()
    assert authenticator.zap_socket is None
    # Stopped: no handler, so the PLAIN server fails closed.
    closed = handshake(ctx, plain_server(), plain_client("admin", PASSWORD))
    assert closed[0]["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH
    assert closed[0]["value"] == 500
    assert closed[1]["event"] != zmq.EVENT_HANDSHAKE_SUCCEEDED

    authenticator.start()  # restart keeps the configuration
    assert authenticator.is_alive()
    again = handshake(ctx, plain_server(), plain_client("admin", PASSWORD))
    assert_accepted(again[0], again[1])
    authenticator.stop()
    authenticator.stop()  # idempotent

    second.start()  # the endpoint is free again
    assert second.is_alive()
    second.stop()


def test_thread_authenticator_reports_configuration_errors(
    ctx: safezmq.Context, auth: ThreadAuthenticator, tmp_path: Path
) -> None:
    with pytest.raises(OSError, match="not a directory"):
        auth.configure_curve(location=str(tmp_path / "missing"))
    assert "*" not in auth.certs
    assert auth.is_alive()


def test_thread_authenticator_in_an_asyncio_context() -> None:
    """Its own sockets stay blocking ones even when the context makes asyncio sockets."""
    actx = zaio.Context()
    authenticator = ThreadAuthenticator(actx)
    try:
        authenticator.start()
        authenticator.configure_plain(passwords={"admin": PASSWORD})  # through the pipe
        server = actx.socket(zmq.DEALER, socket_class=safezmq.Socket)
        server.linger = 0
        server.rcvtimeo = int(PROMPT * 1000)
        server.connect("inproc://zeromq.zap.01")
        server.send_multipart([b"", *request(b"PLAIN", b"admin", PASSWORD.encode())])
        reply = server.recv_multipart()
        assert reply[1:6] == [b"1.0", b"id-7", b"200", b"OK", b"admin"]
        server.close()
    finally:
        authenticator.stop()
        actx.destroy(linger=0)


# -- AsyncioAuthenticator -------------------------------------------------------------------------


async def test_asyncio_authenticator() -> None:
    actx = zaio.Context()
    authenticator = AsyncioAuthenticator(actx)
    try:
        authenticator.start()
        authenticator.configure_plain(passwords={"admin": PASSWORD})
        server = new_socket(actx, zmq.PULL, plain_server=1)
        server.bind("tcp://127.0.0.1:*")
        endpoint = server.getsockopt(zmq.LAST_ENDPOINT).decode()

        good = new_socket(actx, zmq.PUSH, **plain_client("admin", PASSWORD))
        good.connect(endpoint)
        await asyncio.wait_for(good.send(b"async hello"), PROMPT)
        frame = await asyncio.wait_for(server.recv(copy=False), PROMPT)
        assert frame.bytes == b"async hello"
        assert frame.get("User-Id") == "admin"

        bad = new_socket(actx, zmq.PUSH, **plain_client("admin", "wrong"))
        bad_mon = bad.get_monitor_socket()
        bad.connect(endpoint)
        deadline = time.monotonic() + PROMPT
        outcome = None
        while outcome is None and time.monotonic() < deadline:
            event = parse_monitor_message(await asyncio.wait_for(bad_mon.recv_multipart(), PROMPT))
            if event["event"] in AUTH_OUTCOMES:
                outcome = event
        assert outcome is not None
        assert outcome["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH
        assert outcome["value"] == 400
        for sock in (good, bad, bad_mon, server):
            sock.close()
    finally:
        authenticator.stop()
        actx.destroy(linger=0)


def test_asyncio_authenticator_needs_a_running_loop(ctx: safezmq.Context) -> None:
    with pytest.raises(RuntimeError, match="running event loop"):
        AsyncioAuthenticator(ctx).start()


# -- interop with libzmq (pyzmq) ------------------------------------------------------------------


def test_libzmq_clients_of_safezmq_server_with_safezmq_auth(
    ctx: safezmq.Context, auth: ThreadAuthenticator, zctx: zmq.Context[Any], tmp_path: Path
) -> None:
    # CURVE with a certificate directory written by pyzmq.
    zmq.auth.create_certificates(str(tmp_path), "libzmq-client")
    os.chmod(tmp_path / "libzmq-client.key_secret", 0o600)
    client_keys = safezmq.auth.load_certificate(tmp_path / "libzmq-client.key_secret")
    auth.configure_curve(location=str(tmp_path))
    server_keys = safezmq.curve_keypair()
    server_event, client_event, frame = handshake(
        ctx,
        curve_server(server_keys),
        curve_client(server_keys[0], client_keys),  # type: ignore[arg-type]
        client_ctx=zctx,
    )
    assert_accepted(server_event, client_event)
    assert frame.get("User-Id") == client_keys[0].decode()

    stranger = zmq.curve_keypair()
    refused = handshake(
        ctx, curve_server(server_keys), curve_client(server_keys[0], stranger), client_ctx=zctx
    )
    assert_refused(refused[0], refused[1], 400)

    # PLAIN (over loopback).
    auth.configure_plain(passwords={"admin": PASSWORD})
    ok = handshake(ctx, plain_server(), plain_client("admin", PASSWORD), client_ctx=zctx)
    assert_accepted(ok[0], ok[1])
    assert ok[2].get("User-Id") == "admin"
    bad = handshake(ctx, plain_server(), plain_client("admin", "wrong"), client_ctx=zctx)
    assert bad[0]["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH
    assert bad[0]["value"] == 400
    # The libzmq PLAIN client is refused; it reports the refusal as AUTH 400 only for the
    # ERROR bytes libzmq's own PLAIN server sends, and as PROTOCOL "unexpected command" for
    # the RFC 37 ERROR that safezmq sends (an engine/wire question, reported separately).
    assert (bad[1]["event"], bad[1]["value"]) in (
        (zmq.EVENT_HANDSHAKE_FAILED_AUTH, 400),
        (zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, zmq.PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND),
    )


def test_safezmq_clients_of_libzmq_server_with_pyzmq_auth(
    ctx: safezmq.Context, zctx: zmq.Context[Any], tmp_path: Path
) -> None:
    # The certificates are written by safezmq and read by pyzmq's authenticator.
    public_file, secret_file = safezmq.auth.create_certificates(str(tmp_path), "sz-client")
    client_keys = safezmq.auth.load_certificate(secret_file)
    assert zmq.auth.load_certificate(public_file) == (client_keys[0], None)
    pyzmq_auth = zmq.auth.thread.ThreadAuthenticator(zctx)
    pyzmq_auth.start()
    try:
        pyzmq_auth.configure_curve(domain="*", location=str(tmp_path))
        pyzmq_auth.configure_plain(domain="*", passwords={"admin": PASSWORD})
        server_keys = zmq.curve_keypair()
        server_event, client_event, frame = handshake(
            zctx,
            curve_server(server_keys),
            curve_client(server_keys[0], client_keys),  # type: ignore[arg-type]
            client_ctx=ctx,
        )
        assert_accepted(server_event, client_event)
        assert frame.get("User-Id") == client_keys[0].decode()

        stranger = safezmq.curve_keypair()
        refused = handshake(
            zctx, curve_server(server_keys), curve_client(server_keys[0], stranger), client_ctx=ctx
        )
        assert_refused(refused[0], refused[1], 400)

        ok = handshake(zctx, plain_server(), plain_client("admin", PASSWORD), client_ctx=ctx)
        assert_accepted(ok[0], ok[1])
        bad = handshake(zctx, plain_server(), plain_client("admin", "nope"), client_ctx=ctx)
        assert_refused(bad[0], bad[1], 400)
    finally:
        pyzmq_auth.stop()


# -- certificates ---------------------------------------------------------------------------------


def mode_of(path: str | Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_create_certificates_format_and_modes(tmp_path: Path) -> None:
    public_file, secret_file = safezmq.auth.create_certificates(
        tmp_path, "server", metadata={"name": "server one", "email": "ops@example.org"}
    )
    assert public_file == str(tmp_path / "server.key")
    assert secret_file == str(tmp_path / "server.key_secret")
    assert mode_of(public_file) == 0o644
    assert mode_of(secret_file) == 0o600

    public, none = safezmq.auth.load_certificate(public_file)
    assert none is None
    public2, secret = safezmq.auth.load_certificate(secret_file)
    assert public2 == public and secret is not None
    assert len(public) == 40 and len(secret) == 40
    assert safezmq.curve_public(secret) == public

    public_text = Path(public_file).read_text()
    secret_text = Path(secret_file).read_text()
    assert "ZeroMQ CURVE Public Certificate" in public_text
    assert "ZeroMQ CURVE **Secret** Certificate" in secret_text
    assert secret.decode() not in public_text
    for text in (public_text, secret_text):
        lines = text.splitlines()
        assert "metadata" in lines and "curve" in lines
        assert '    name = "server one"' in lines
        assert f'    public-key = "{public.decode()}"' in lines
    assert f'    secret-key = "{secret.decode()}"' in secret_text.splitlines()
    # No temporary file left behind.
    assert sorted(os.listdir(tmp_path)) == ["server.key", "server.key_secret"]


def test_secret_file_is_created_with_mode_0600(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Created 0600 from the start (not chmod-ed afterwards), even with umask 0."""
    created: list[tuple[str, int]] = []
    real_open = os.open

    def spy_open(path: Any, flags: int, mode: int = 0o777, **kw: Any) -> int:
        if flags & os.O_CREAT:
            created.append((os.fspath(path), mode))
        return real_open(path, flags, mode, **kw)

    monkeypatch.setattr(sz_certs.os, "open", spy_open)
    old_umask = os.umask(0)
    try:
        _, secret_file = safezmq.auth.create_certificates(tmp_path, "tight")
    finally:
        os.umask(old_umask)
    assert mode_of(secret_file) == 0o600
    assert created and all(mode in (0o600, 0o644) for _, mode in created)
    secret_creations = [m for p, m in created if ".key_secret" in os.path.basename(p)]
    assert secret_creations == [0o600]


def test_create_certificates_replaces_an_exposed_file_safely(tmp_path: Path) -> None:
    old = tmp_path / "svc.key_secret"
    old.write_text("old content")
    os.chmod(old, 0o666)
    _, secret_file = safezmq.auth.create_certificates(tmp_path, "svc")
    assert mode_of(secret_file) == 0o600  # a new file, not the old one rewritten
    assert "old content" not in Path(secret_file).read_text()


@pytest.mark.parametrize(
    "metadata",
    [
        {"name": 'quote " inside'},
        {"name": "line\n    secret-key = injected"},
        {"bad name": "x"},
        {"": "x"},
    ],
)
def test_metadata_that_would_break_the_format_is_refused(
    tmp_path: Path, metadata: dict[str, str]
) -> None:
    with pytest.raises(ValueError):
        safezmq.auth.create_certificates(tmp_path, "m", metadata=metadata)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("name", ["", ".", "..", "../escape", "a/b", "nul\0"])
def test_certificate_names_are_plain_file_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError):
        safezmq.auth.create_certificates(tmp_path, name)


def test_pyzmq_reads_safezmq_certificates(tmp_path: Path) -> None:
    public_file, secret_file = safezmq.auth.create_certificates(tmp_path, "ours", {"k": "v"})
    ours = safezmq.auth.load_certificate(secret_file)
    assert zmq.auth.load_certificate(secret_file) == ours
    assert zmq.auth.load_certificate(public_file) == (ours[0], None)
    assert zmq.auth.load_certificates(str(tmp_path)) == {ours[0]: True}


def test_safezmq_reads_pyzmq_certificates_and_refuses_exposed_secrets(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)  # pyzmq writes with the umask: a 0644 secret file
    try:
        public_file, secret_file = zmq.auth.create_certificates(str(tmp_path), "theirs")
    finally:
        os.umask(old_umask)
    theirs = zmq.auth.load_certificate(secret_file)
    assert mode_of(secret_file) == 0o644

    assert safezmq.auth.load_certificate(public_file) == (theirs[0], None)
    assert safezmq.auth.load_certificates(tmp_path) == {theirs[0]: True}

    with pytest.raises(KeyFilePermissionError) as info:
        safezmq.auth.load_certificate(secret_file)
    error = info.value
    assert isinstance(error, safezmq.ZMQError) and isinstance(error, PermissionError)
    assert error.errno == errno.EACCES
    message = str(error)
    assert "chmod 600" in message and secret_file in message
    assert theirs[1] is not None and theirs[1].decode() not in message + repr(error)
    records = sz_certs._key_file_records()
    assert any(r.path == os.path.abspath(secret_file) and r.refused for r in records)
    assert os.path.abspath(secret_file) in sz_certs._loaded_key_files()

    os.chmod(secret_file, 0o600)
    assert safezmq.auth.load_certificate(secret_file) == theirs
    latest = [r for r in sz_certs._key_file_records() if r.path == os.path.abspath(secret_file)]
    assert latest == [sz_certs.KeyFileRecord(os.path.abspath(secret_file), 0o600, False)]


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o602, 0o660])
def test_any_group_or_other_access_to_a_secret_is_refused(tmp_path: Path, mode: int) -> None:
    _, secret_file = safezmq.auth.create_certificates(tmp_path, "k")
    os.chmod(secret_file, mode)
    with pytest.raises(KeyFilePermissionError, match="chmod 600"):
        safezmq.auth.load_certificate(secret_file)


def test_load_certificate_errors_never_quote_keys(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        safezmq.auth.load_certificate(tmp_path / "missing.key")
    with pytest.raises(OSError):
        safezmq.auth.load_certificates(tmp_path / "missing-dir")

    empty = tmp_path / "empty.key"
    empty.write_text("# nothing\nmetadata\ncurve\n")
    with pytest.raises(ValueError, match="no public key"):
        safezmq.auth.load_certificate(empty)

    _, secret_file = safezmq.auth.create_certificates(tmp_path, "good")
    _, secret = safezmq.auth.load_certificate(secret_file)
    assert secret is not None

    # A corrupted secret key: the error names the file, never the key.
    corrupted_secret = secret[:-1] + (b"~" if secret[-1:] != b"~" else b"0")
    bad = tmp_path / "bad.key_secret"
    bad.write_bytes(Path(secret_file).read_bytes().replace(secret, corrupted_secret))
    os.chmod(bad, 0o600)
    with pytest.raises(ValueError) as info:
        safezmq.auth.load_certificate(bad)
    assert secret.decode()[:20] not in str(info.value)

    # A secret key that does not belong to the public key.
    other_secret = safezmq.curve_keypair()[1]
    mismatch = tmp_path / "mismatch.key_secret"
    mismatch.write_bytes(Path(secret_file).read_bytes().replace(secret, other_secret))
    os.chmod(mismatch, 0o600)
    with pytest.raises(ValueError, match="does not belong") as info:
        safezmq.auth.load_certificate(mismatch)
    assert other_secret.decode() not in str(info.value)
    assert secret.decode() not in str(info.value)

    huge = tmp_path / "huge.key"
    huge.write_bytes(b"#" * (sz_certs.MAX_CERT_FILE_SIZE + 1))
    with pytest.raises(ValueError, match="too big"):
        safezmq.auth.load_certificate(huge)

    fifo = tmp_path / "fifo.key"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        safezmq.auth.load_certificate(fifo)


# -- secrets stay secret --------------------------------------------------------------------------


def test_no_secret_in_logs_reprs_or_errors(
    ctx: safezmq.Context,
    auth: ThreadAuthenticator,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="safezmq.auth")
    _, secret_file = safezmq.auth.create_certificates(tmp_path, "client")
    client_keys = safezmq.auth.load_certificate(secret_file)
    assert client_keys[1] is not None
    os.unlink(secret_file)  # keep only the public certificate in the directory
    auth.configure_plain(passwords={"admin": PASSWORD})
    auth.configure_curve(location=str(tmp_path))

    handshake(ctx, plain_server(), plain_client("admin", PASSWORD))
    handshake(ctx, plain_server(), plain_client("admin", PASSWORD + "x"))
    handshake(ctx, plain_server(), plain_client("nobody", PASSWORD))
    server_keys = safezmq.curve_keypair()
    handshake(ctx, curve_server(server_keys), curve_client(server_keys[0], client_keys))  # type: ignore[arg-type]
    asyncio.run(Authenticator(ctx).handle_zap_message(request(b"PLAIN", PASSWORD.encode())))

    logged = caplog.text
    assert "admin" in logged  # user names are logged...
    assert "DENIED" in logged and "ALLOWED" in logged
    for secret in (PASSWORD, client_keys[1].decode(), server_keys[1].decode()):
        assert secret not in logged  # ...passwords and secret keys never
        assert secret not in repr(auth) and secret not in str(auth)
        assert secret not in repr(auth.passwords) and secret not in str(auth.passwords)
    assert "redacted" in repr(auth.passwords["*"])


def test_log_lines_cannot_be_forged_by_user_names(
    ctx: safezmq.Context, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="safezmq.auth")
    authenticator = Authenticator(ctx)
    authenticator.configure_plain(passwords={"admin": PASSWORD})
    forged = b"eve\nINFO ALLOWED (PLAIN) username=admin"
    assert answer(authenticator, request(b"PLAIN", forged, b"x"))[2] == b"400"
    assert all("\n" not in record.getMessage() for record in caplog.records)


# -- curve_keygen ---------------------------------------------------------------------------------


def run_keygen(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run(
        [sys.executable, "-m", "safezmq.curve_keygen", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=15,
    )


def test_curve_keygen(tmp_path: Path) -> None:
    key_dir = tmp_path / "keys" / "nested"
    result = run_keygen("--dir", str(key_dir), "node1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    public = result.stdout.strip()
    assert len(public) == 40 and "\n" not in public
    assert mode_of(key_dir) == 0o700
    assert mode_of(key_dir / "node1.key") == 0o644
    assert mode_of(key_dir / "node1.key_secret") == 0o600
    loaded = safezmq.auth.load_certificate(key_dir / "node1.key_secret")
    assert loaded[0] == public.encode()
    assert loaded[1] is not None
    assert loaded[1].decode() not in result.stdout + result.stderr
    assert zmq.auth.load_certificate(str(key_dir / "node1.key_secret")) == loaded

    again = run_keygen("--dir", str(key_dir), "node1", cwd=tmp_path)
    assert again.returncode == 1
    assert "--force" in again.stderr
    assert safezmq.auth.load_certificate(key_dir / "node1.key_secret") == loaded

    forced = run_keygen("--dir", str(key_dir), "--force", "node1", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout.strip() != public

    here = run_keygen("local", cwd=tmp_path)  # default directory: the current one
    assert here.returncode == 0, here.stderr
    assert (tmp_path / "local.key").exists()

    bad = run_keygen("--dir", str(tmp_path / "never"), "../escape", cwd=tmp_path)
    assert bad.returncode == 1
    assert "plain file name" in bad.stderr
    assert not (tmp_path / "never").exists()
    assert not (tmp_path / "escape.key").exists()
