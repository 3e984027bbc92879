"""A CURVE or PLAIN server with no ZAP handler fails closed, and says so.

Refusing every client is right; refusing them silently was a bug: the client retried forever
and the server's application saw nothing.  safezmq logs a warning through the "safezmq" logger,
once per socket and endpoint (not once per attempt), naming what was refused, why, and the
fix, and never a key or a password.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
import zmq

import safezmq
from safezmq.utils.monitor import recv_monitor_message

pytestmark = pytest.mark.timeout(30)

PROMPT = 10.0


@pytest.fixture
def ctx() -> Iterator[safezmq.Context]:
    context = safezmq.Context()
    yield context
    context.destroy(linger=0)


@pytest.fixture
def zctx() -> Iterator[zmq.Context[Any]]:
    context: zmq.Context[Any] = zmq.Context()
    yield context
    context.destroy(linger=0)


def refusals(monitor: safezmq.Socket, count: int) -> None:
    """Wait until the server refused ``count`` handshakes for want of a handler."""
    seen = 0
    deadline = time.monotonic() + PROMPT
    while seen < count:
        assert time.monotonic() < deadline, f"only {seen} refusals seen"
        if monitor.poll(200):
            event = recv_monitor_message(monitor)
            if event["event"] == safezmq.EVENT_HANDSHAKE_FAILED_AUTH:
                assert event["value"] == 500
                seen += 1


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "safezmq" and r.levelno == logging.WARNING and "no ZAP handler" in r.message
    ]


def test_curve_refusal_without_handler_is_logged_once_per_socket_and_endpoint(
    ctx: safezmq.Context, zctx: zmq.Context[Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="safezmq")
    server_public, server_secret = safezmq.curve_keypair()
    client_public, client_secret = zmq.curve_keypair()
    server = ctx.socket(safezmq.ROUTER)
    server.curve_server = 1
    server.curve_secretkey = server_secret
    port_a = server.bind_to_random_port("tcp://127.0.0.1")
    port_b = server.bind_to_random_port("tcp://127.0.0.1")
    monitor = server.get_monitor_socket(safezmq.EVENT_HANDSHAKE_FAILED_AUTH)
    clients = []
    # libzmq gives up after a refusal: several clients make several attempts per endpoint.
    for port in (port_a, port_a, port_a, port_b, port_b):
        client = zctx.socket(zmq.DEALER)
        client.reconnect_ivl = 20
        client.curve_serverkey = server_public
        client.curve_publickey = client_public
        client.curve_secretkey = client_secret
        client.connect(f"tcp://127.0.0.1:{port}")
        clients.append(client)
    refusals(monitor, 5)
    records = warnings_of(caplog)
    # One per endpoint of the socket, however many attempts were refused.
    assert sorted(r.getMessage().split(" on ")[1].split(":")[0:3][2] for r in records) == sorted(
        [str(port_a), str(port_b)]
    ), [r.getMessage() for r in records]
    for record in records:
        text = record.getMessage()
        assert "refused a CURVE client" in text
        assert "ThreadAuthenticator" in text and "compatible" in text  # the fixes
        for secret in (server_secret, client_secret):
            assert secret.decode() not in text
        for public in (server_public, client_public):
            assert public.decode() not in text
    # Another socket of the same context with the same kind of endpoint warns again: the
    # warning is per socket, not per process.
    other = ctx.socket(safezmq.DEALER)
    other.curve_server = 1
    other.curve_secretkey = server_secret
    port_c = other.bind_to_random_port("tcp://127.0.0.1")
    other_monitor = other.get_monitor_socket(safezmq.EVENT_HANDSHAKE_FAILED_AUTH)
    for _ in range(2):
        client = zctx.socket(zmq.DEALER)
        client.curve_serverkey = server_public
        client.curve_publickey = client_public
        client.curve_secretkey = client_secret
        client.connect(f"tcp://127.0.0.1:{port_c}")
        clients.append(client)
    refusals(other_monitor, 2)
    assert len(warnings_of(caplog)) == 3
    for sock in clients:
        sock.close(0)


def test_plain_refusal_without_handler_is_logged(
    ctx: safezmq.Context, zctx: zmq.Context[Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="safezmq")
    password = "pa55-never-logged"
    server = ctx.socket(safezmq.REP)
    server.plain_server = 1
    port = server.bind_to_random_port("tcp://127.0.0.1")
    monitor = server.get_monitor_socket(safezmq.EVENT_HANDSHAKE_FAILED_AUTH)
    clients = []
    for _ in range(3):
        client = zctx.socket(zmq.REQ)
        client.plain_username = b"alice"
        client.plain_password = password.encode()
        client.connect(f"tcp://127.0.0.1:{port}")
        clients.append(client)
    refusals(monitor, 3)
    records = warnings_of(caplog)
    assert len(records) == 1
    text = records[0].getMessage()
    assert "refused a PLAIN client" in text and "configure_plain" in text
    assert password not in text
    for client in clients:
        client.close(0)


def test_no_warning_when_a_handler_answers(
    ctx: safezmq.Context, zctx: zmq.Context[Any], caplog: pytest.LogCaptureFixture
) -> None:
    """The warning is about a missing handler, not about refusals: a handler's "no" is quiet."""
    from safezmq.auth.thread import ThreadAuthenticator

    caplog.set_level(logging.WARNING, logger="safezmq")
    auth = ThreadAuthenticator(ctx)
    auth.start()
    try:
        server_public, server_secret = safezmq.curve_keypair()
        server = ctx.socket(safezmq.ROUTER)
        server.curve_server = 1
        server.curve_secretkey = server_secret
        port = server.bind_to_random_port("tcp://127.0.0.1")
        monitor = server.get_monitor_socket(safezmq.EVENT_HANDSHAKE_FAILED_AUTH)
        clients = []
        for _ in range(2):
            client = zctx.socket(zmq.DEALER)
            client.curve_serverkey = server_public
            client.curve_publickey, client.curve_secretkey = zmq.curve_keypair()
            client.connect(f"tcp://127.0.0.1:{port}")
            clients.append(client)
        seen = 0
        deadline = time.monotonic() + PROMPT
        while seen < 2 and time.monotonic() < deadline:
            if monitor.poll(200):
                event = recv_monitor_message(monitor)
                assert event["value"] == 400  # the authenticator's refusal, not "no handler"
                seen += 1
        assert seen == 2
        assert warnings_of(caplog) == []
        for client in clients:
            client.close(0)
    finally:
        auth.stop()
