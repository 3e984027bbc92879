"""Green devices and proxies: they run in a greenlet, which is the only thing they block."""

from __future__ import annotations

from typing import Any

import gevent
import pytest

import safezmq
import safezmq.green
from tests.green.conftest import PROMPT, Ticker, connected, socket


def test_device_with_one_socket(green: Any, gctx: Any, ticker: Ticker) -> None:
    """As pyzmq's TestDeviceGreen: a QUEUE device on one REP socket echoes requests."""
    rep, req = connected(green, gctx, green.REP, green.REQ)
    device = gevent.spawn(green.device, green.QUEUE, rep, rep)
    try:
        for i in range(5):
            req.send(b"ping %d" % i)
            receiver = gevent.spawn(req.recv)
            assert receiver.get(timeout=PROMPT) == b"ping %d" % i
        assert not device.dead
        assert ticker.count > 0
    finally:
        device.kill()


def test_queue_device_between_clients_and_workers(green: Any, gctx: Any) -> None:
    """ROUTER/DEALER queue in a greenlet; clients and workers are greenlets of the same thread,
    so the device waiting on anything but its greenlet would stop them all."""
    frontend = socket(gctx, green.ROUTER)
    frontend.bind("inproc://frontend")
    backend = socket(gctx, green.DEALER)
    backend.bind("inproc://backend")
    device = gevent.spawn(green.device, green.QUEUE, frontend, backend)

    def worker() -> None:
        rep = socket(gctx, green.REP)
        rep.connect("inproc://backend")
        try:
            while True:
                rep.send(rep.recv().upper())
        except gevent.GreenletExit:
            rep.close()
            raise

    def client(n: int) -> list[bytes]:
        req = socket(gctx, green.REQ)
        req.connect("inproc://frontend")
        replies = []
        for i in range(10):
            req.send(b"c%d-%d" % (n, i))
            replies.append(req.recv())
        req.close()
        return replies

    workers = [gevent.spawn(worker) for _ in range(3)]
    clients = [gevent.spawn(client, n) for n in range(5)]
    try:
        gevent.joinall(clients, timeout=PROMPT * 2, raise_error=True)
        for n, c in enumerate(clients):
            assert c.value == [b"C%d-%d" % (n, i) for i in range(10)]
    finally:
        gevent.killall([*workers, device])


def test_proxy_steerable_terminates(sctx: safezmq.green.Context, ticker: Ticker) -> None:
    """safezmq's proxy with green sockets: PUSH -> proxy -> PULL, a capture socket, then
    STATISTICS and TERMINATE on the control socket."""
    front_in, front = connected(safezmq.green, sctx, safezmq.PUSH, safezmq.PULL, "inproc")
    back, back_out = connected(safezmq.green, sctx, safezmq.PUSH, safezmq.PULL, "inproc")
    capture, capture_out = connected(safezmq.green, sctx, safezmq.PUB, safezmq.SUB, "inproc")
    capture_out.subscribe(b"")
    control, control_peer = connected(safezmq.green, sctx, safezmq.REP, safezmq.REQ, "inproc")
    proxy = gevent.spawn(safezmq.green.proxy_steerable, front, back, capture, control)
    for i in range(3):
        front_in.send(b"m%d" % i)
    with gevent.Timeout(PROMPT):
        assert [back_out.recv() for _ in range(3)] == [b"m0", b"m1", b"m2"]
        assert [capture_out.recv() for _ in range(3)] == [b"m0", b"m1", b"m2"]
        control_peer.send(b"STATISTICS")
        stats = [int.from_bytes(f, "little") for f in control_peer.recv_multipart()]
    assert stats[:4] == [3, 6, 0, 0]  # frontend: 3 frames, 6 bytes in; nothing out
    control_peer.send(b"TERMINATE")
    assert proxy.get(timeout=PROMPT) == 0
    assert control_peer.recv() == b""
    assert ticker.count > 0


def test_plain_proxy_ends_with_eterm() -> None:
    """proxy() in a greenlet raises ContextTerminated when another greenlet terminates."""
    ctx = safezmq.green.Context()
    front = socket(ctx, safezmq.ROUTER)
    front.bind("inproc://p-front")
    back = socket(ctx, safezmq.DEALER)
    back.bind("inproc://p-back")

    def run() -> None:
        try:
            safezmq.green.proxy(front, back)
        finally:
            front.close()
            back.close()

    proxy = gevent.spawn(run)
    gevent.sleep(0.05)
    with gevent.Timeout(PROMPT):
        ctx.term()
    with pytest.raises(safezmq.ContextTerminated):
        proxy.get(timeout=PROMPT)
