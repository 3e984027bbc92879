"""A CURVE connection takes a backlog of large messages from its pipe a bounded number of octets
at a time: each message becomes a new sealed buffer, so a pipe full of 1 MiB messages must not
become that many boxes at once (it used to, a batch of up to 4,096 messages)."""

from __future__ import annotations

from typing import Any

import pytest

import safezmq
from safezmq.auth import CURVE_ALLOW_ANY
from safezmq.auth.thread import ThreadAuthenticator
from safezmq.engine import session
from safezmq.protocol.connection import Connection

SIZE = 256 * 1024
COUNT = 40


def _pair(ctx: safezmq.Context, curve: bool) -> tuple[safezmq.Socket, safezmq.Socket]:
    push = ctx.socket(safezmq.PUSH)
    pull = ctx.socket(safezmq.PULL)
    for sock in (push, pull):
        sock.linger = 0
        sock.rcvtimeo = sock.sndtimeo = 10_000
    if curve:
        server_public, server_secret = safezmq.curve_keypair()
        pull.curve_server = True
        pull.curve_secretkey = server_secret
        push.curve_publickey, push.curve_secretkey = safezmq.curve_keypair()
        push.curve_serverkey = server_public
    return push, pull


@pytest.mark.parametrize("curve", [True, False])
def test_a_backlog_of_large_messages_is_sealed_a_bounded_batch_at_a_time(
    ctx: safezmq.Context, monkeypatch: pytest.MonkeyPatch, curve: bool
) -> None:
    batches: list[int] = []  # octets of messages handed to the connection per call
    real = Connection.send_messages

    def recording(self: Connection, messages: Any, start: int = 0, shared: Any = None) -> int:
        batches.append(sum(len(frame) for msg in messages[start:] for frame in msg))
        return real(self, messages, start, shared)

    monkeypatch.setattr(Connection, "send_messages", recording)
    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.configure_curve(domain="*", location=CURVE_ALLOW_ANY)
    push, pull = _pair(ctx, curve)
    try:
        # The backlog is queued before there is a peer (the connecting PUSH has its pipe).
        push.connect(f"tcp://127.0.0.1:{_free_port()}")
        endpoint = push.last_endpoint.decode()
        payloads = [bytes([i]) * SIZE for i in range(COUNT)]
        for payload in payloads:
            push.send(payload)
        pull.bind(endpoint)
        received = [pull.recv() for _ in range(COUNT)]
        assert received == payloads
    finally:
        push.close()
        pull.close()
        auth.stop()
    assert sum(batches) == SIZE * COUNT
    if curve:
        # At most the bound, plus the one message that crossed it.
        assert max(batches) <= session.SEALED_PULL_OCTETS + SIZE
        assert len(batches) >= COUNT * SIZE // (session.SEALED_PULL_OCTETS + SIZE)
    else:
        # Views of the caller's frames: no bound is needed, the backlog goes in one batch.
        assert max(batches) == SIZE * COUNT


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_read_batch_stops_at_the_octet_bound_and_still_sees_the_end() -> None:
    from safezmq.engine.pipe import Queue

    queue = Queue(hwm=100)
    for i in range(5):
        queue.write([bytes([i]) * 100], 100)
    queue.close_write()
    first = queue.read_batch(10, 250)  # the third message crosses 250 octets
    assert [msg[0][0] for msg in first] == [0, 1, 2]
    assert not queue.terminated
    rest = queue.read_batch(10, 10_000)
    assert [msg[0][0] for msg in rest] == [3, 4]
    assert queue.terminated
    assert queue.read_batch(10, 250) == []
