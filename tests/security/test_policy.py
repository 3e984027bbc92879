"""The secure-by-default policy: each refusal, each relaxation, the audit, ipc hardening."""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Iterator

import pytest

import safezmq as zmq
from safezmq.utils.monitor import recv_monitor_message


@pytest.fixture
def secure() -> Iterator[zmq.Context]:
    ctx = zmq.Context(policy=zmq.Policy())
    yield ctx
    ctx.destroy(linger=0)


def events_until(mon: zmq.Socket, wanted: int, timeout: float = 5) -> list[dict[str, object]]:
    seen: list[dict[str, object]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if mon.poll(100):
            seen.append(recv_monitor_message(mon))
            if seen[-1]["event"] == wanted:
                return seen
    raise AssertionError(f"{wanted} not seen in {seen}")


# -- plaintext and PLAIN beyond loopback -----------------------------------------------------


@pytest.mark.parametrize("address", ["tcp://*:*", "tcp://0.0.0.0:*"])
def test_plaintext_bind_to_the_network_is_refused(secure: zmq.Context, address: str) -> None:
    sock = secure.socket(zmq.PULL)
    with pytest.raises(zmq.ZMQError) as info:
        sock.bind(address)
    assert info.value.errno == zmq.EACCES
    message = str(info.value)
    assert "CURVE" in message and "allow_plaintext_network" in message


def test_plaintext_connect_to_a_remote_host_is_refused(secure: zmq.Context) -> None:
    sock = secure.socket(zmq.PUSH)
    for address in ("tcp://192.0.2.10:5555", "tcp://example.com:5555"):
        with pytest.raises(zmq.ZMQError) as info:
            sock.connect(address)
        assert info.value.errno == zmq.EACCES


@pytest.mark.parametrize(
    "address", ["tcp://127.0.0.1:*", "tcp://localhost:*", "tcp://lo:*", "tcp://127.0.0.5:*"]
)
def test_loopback_plaintext_is_allowed(secure: zmq.Context, address: str) -> None:
    sock = secure.socket(zmq.PULL)
    sock.linger = 0
    sock.bind(address)


def test_stream_sockets_count_as_plaintext(secure: zmq.Context) -> None:
    sock = secure.socket(zmq.STREAM)
    with pytest.raises(zmq.ZMQError):
        sock.bind("tcp://*:*")


def test_plain_beyond_loopback_is_refused(secure: zmq.Context) -> None:
    server = secure.socket(zmq.REP)
    server.plain_server = 1
    with pytest.raises(zmq.ZMQError) as info:
        server.bind("tcp://*:*")
    assert "PLAIN" in str(info.value) and "allow_plain_network" in str(info.value)
    client = secure.socket(zmq.REQ)
    client.plain_username = b"u"
    client.plain_password = b"secret-password"
    with pytest.raises(zmq.ZMQError) as info:
        client.connect("tcp://192.0.2.1:5555")
    assert "secret-password" not in str(info.value)


def test_curve_may_bind_anywhere(secure: zmq.Context) -> None:
    _public, secret = zmq.curve_keypair()
    server = secure.socket(zmq.REP)
    server.linger = 0
    server.curve_server = 1
    server.curve_secretkey = secret
    server.bind("tcp://*:*")
    assert not [f for f in server.audit() if "plaintext" in f.what]


def test_relaxing_the_policy_allows_and_is_audited() -> None:
    ctx = zmq.Context(policy=zmq.Policy(allow_plaintext_network=True))
    try:
        sock = ctx.socket(zmq.PULL)
        sock.linger = 0
        sock.bind("tcp://*:*")
        findings = ctx.audit()
        whats = " | ".join(f.what for f in findings)
        assert "allow_plaintext_network" in whats
        assert any(
            f.severity == "high" and f.endpoint.startswith("tcp://0.0.0.0") for f in findings
        )
    finally:
        ctx.destroy(linger=0)


def test_environment_selects_compatible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEZMQ_POLICY", "compatible")
    ctx = zmq.Context()
    try:
        assert ctx.policy == zmq.Policy.compatible()
        sock = ctx.socket(zmq.PULL)
        sock.linger = 0
        assert sock.maxmsgsize == -1  # libzmq's default under the compatible policy
        sock.bind("tcp://*:*")
        assert sock.audit()  # unlimited MAXMSGSIZE, plaintext on the network
    finally:
        ctx.destroy(linger=0)
    monkeypatch.setenv("SAFEZMQ_POLICY", "nonsense")
    with pytest.raises(zmq.ZMQError) as info:
        zmq.Context()
    assert "secure" in str(info.value) and "compatible" in str(info.value)


def test_default_policy_is_secure_and_audit_is_quiet(secure: zmq.Context) -> None:
    assert secure.policy == zmq.Policy()
    assert zmq.Policy().relaxations() == []
    sock = secure.socket(zmq.PULL)
    sock.linger = 1000
    sock.bind("tcp://127.0.0.1:*")
    assert secure.audit() == []


# -- fail closed ----------------------------------------------------------------------------


def curve_pair(ctx: zmq.Context) -> tuple[zmq.Socket, zmq.Socket, zmq.Socket]:
    server_public, server_secret = zmq.curve_keypair()
    client_public, client_secret = zmq.curve_keypair()
    server = ctx.socket(zmq.PULL)
    server.linger = 0
    server.rcvtimeo = 3000
    server.curve_server = 1
    server.curve_secretkey = server_secret
    mon = server.get_monitor_socket()
    server.bind("tcp://127.0.0.1:*")
    client = ctx.socket(zmq.PUSH)
    client.linger = 0
    client.curve_serverkey = server_public
    client.curve_publickey = client_public
    client.curve_secretkey = client_secret
    client.connect(server.last_endpoint.decode())
    return server, client, mon


def test_curve_server_without_zap_handler_refuses(secure: zmq.Context) -> None:
    server, client, mon = curve_pair(secure)
    event = events_until(mon, zmq.EVENT_HANDSHAKE_FAILED_AUTH)[-1]
    assert event["value"] == 500
    client.send(b"must not arrive")
    with pytest.raises(zmq.Again):
        server.recv()


def test_compatible_policy_lets_any_curve_client_in_and_audit_says_so() -> None:
    ctx = zmq.Context(policy=zmq.Policy(require_zap=False))
    try:
        server, client, _ = curve_pair(ctx)
        client.send(b"encrypted, but unauthenticated")
        assert server.recv() == b"encrypted, but unauthenticated"
        assert any("accepts any client key" in f.what for f in server.audit())
    finally:
        ctx.destroy(linger=0)


def test_zap_enforce_domain_insists_even_when_relaxed() -> None:
    ctx = zmq.Context(policy=zmq.Policy(require_zap=False))
    try:
        server_public, server_secret = zmq.curve_keypair()
        server = ctx.socket(zmq.PULL)
        server.linger = 0
        server.curve_server = 1
        server.curve_secretkey = server_secret
        server.zap_enforce_domain = 1
        mon = server.get_monitor_socket()
        server.bind("tcp://127.0.0.1:*")
        public, secret = zmq.curve_keypair()
        client = ctx.socket(zmq.PUSH)
        client.linger = 0
        client.curve_serverkey = server_public
        client.curve_publickey = public
        client.curve_secretkey = secret
        client.connect(server.last_endpoint.decode())
        assert events_until(mon, zmq.EVENT_HANDSHAKE_FAILED_AUTH)[-1]["value"] == 500
    finally:
        ctx.destroy(linger=0)


def test_plain_server_never_works_without_a_handler() -> None:
    ctx = zmq.Context(policy=zmq.Policy.compatible())
    try:
        server = ctx.socket(zmq.REP)
        server.linger = 0
        server.plain_server = 1
        mon = server.get_monitor_socket()
        server.bind("tcp://127.0.0.1:*")
        client = ctx.socket(zmq.REQ)
        client.linger = 0
        client.plain_username = b"anyone"
        client.plain_password = b"anything"
        client.connect(server.last_endpoint.decode())
        assert events_until(mon, zmq.EVENT_HANDSHAKE_FAILED_AUTH)[-1]["value"] == 500
    finally:
        ctx.destroy(linger=0)


def test_zap_handler_going_away_fails_pending_handshakes(secure: zmq.Context) -> None:
    handler = secure.socket(zmq.REP)
    handler.linger = 0
    handler.bind("inproc://zeromq.zap.01")
    _server, _client, mon = curve_pair(secure)
    assert handler.poll(3000)  # the request arrived: the handshake waits for our answer
    handler.close()  # ... which never comes
    assert events_until(mon, zmq.EVENT_HANDSHAKE_FAILED_AUTH)[-1]["value"] == 500


def test_slow_zap_handler_is_bounded_by_handshake_ivl(secure: zmq.Context) -> None:
    handler = secure.socket(zmq.REP)
    handler.linger = 0
    handler.bind("inproc://zeromq.zap.01")
    server_public, server_secret = zmq.curve_keypair()
    server = secure.socket(zmq.PULL)
    server.linger = 0
    server.handshake_ivl = 300
    server.curve_server = 1
    server.curve_secretkey = server_secret
    mon = server.get_monitor_socket()
    server.bind("tcp://127.0.0.1:*")
    public, secret = zmq.curve_keypair()
    client = secure.socket(zmq.PUSH)
    client.linger = 0
    client.curve_serverkey = server_public
    client.curve_publickey = public
    client.curve_secretkey = secret
    client.connect(server.last_endpoint.decode())
    event = events_until(mon, zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL)[-1]
    assert event["value"] == zmq.ETIMEDOUT


def test_malformed_zap_reply_fails_the_handshake(secure: zmq.Context) -> None:
    handler = secure.socket(zmq.REP)
    handler.linger = 0
    handler.bind("inproc://zeromq.zap.01")

    def answer() -> None:
        if handler.poll(3000):
            request = handler.recv_multipart()
            handler.send_multipart([b"9.9", request[1], b"200", b"", b"", b""])  # bad version

    thread = threading.Thread(target=answer)
    thread.start()
    _server, _client, mon = curve_pair(secure)
    thread.join(5)
    event = events_until(mon, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)[-1]
    assert event["value"] == zmq.PROTOCOL_ERROR_ZAP_BAD_VERSION


# -- pickle --------------------------------------------------------------------------------


def test_recv_pyobj_is_opt_in(secure: zmq.Context) -> None:
    a, b = secure.socket(zmq.PAIR), secure.socket(zmq.PAIR)
    a.bind("inproc://pickle")
    b.connect("inproc://pickle")
    b.send_pyobj({"x": 1})
    with pytest.raises(zmq.ZMQError) as info:
        a.recv_pyobj()
    assert "allow_pickle" in str(info.value)
    secure.allow_pickle = True
    assert a.recv_pyobj() == {"x": 1}
    assert any("allow_pickle" in f.what for f in secure.audit())


# -- ipc hardening --------------------------------------------------------------------------


def test_ipc_socket_files_are_owner_only(secure: zmq.Context, tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "s")
    sock = secure.socket(zmq.PULL)
    sock.linger = 0
    sock.bind(f"ipc://{path}")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_ipc_mode_follows_policy(tmp_path: object) -> None:
    ctx = zmq.Context(policy=zmq.Policy(ipc_mode=0o660))
    try:
        path = os.path.join(str(tmp_path), "s")
        sock = ctx.socket(zmq.PULL)
        sock.linger = 0
        sock.bind(f"ipc://{path}")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o660
        assert any("ipc" in f.what for f in ctx.audit())
    finally:
        ctx.destroy(linger=0)


def test_ipc_never_follows_or_deletes_what_is_not_a_socket(
    secure: zmq.Context, tmp_path: object
) -> None:
    target = os.path.join(str(tmp_path), "precious")
    with open(target, "w") as f:
        f.write("keep me")
    link = os.path.join(str(tmp_path), "link")
    os.symlink(target, link)
    sock = secure.socket(zmq.PULL)
    for path in (target, link):
        with pytest.raises(zmq.ZMQError) as info:
            sock.bind(f"ipc://{path}")
        assert info.value.errno == zmq.EADDRINUSE
    with open(target) as f:
        assert f.read() == "keep me"
    assert os.path.islink(link)


@pytest.mark.parametrize("option", ["ipc_filter_uid", "ipc_filter_gid", "ipc_filter_pid"])
def test_ipc_peer_filters(secure: zmq.Context, tmp_path: object, option: str) -> None:
    mine = {
        "ipc_filter_uid": os.getuid(),
        "ipc_filter_gid": os.getgid(),
        "ipc_filter_pid": os.getpid(),
    }
    for allowed, expect_delivery in ((mine[option] + 7919, False), (mine[option], True)):
        path = os.path.join(str(tmp_path), f"f{allowed}")
        server = secure.socket(zmq.PULL)
        server.linger = 0
        server.rcvtimeo = 500 if not expect_delivery else 3000
        setattr(server, option, allowed)
        mon = server.get_monitor_socket()
        server.bind(f"ipc://{path}")
        client = secure.socket(zmq.PUSH)
        client.linger = 0
        client.connect(f"ipc://{path}")
        client.send(b"hello")
        if expect_delivery:
            assert server.recv() == b"hello"
        else:
            event = events_until(mon, zmq.EVENT_ACCEPT_FAILED)[-1]
            assert event["value"] == zmq.EACCES
            with pytest.raises(zmq.Again):
                server.recv()
