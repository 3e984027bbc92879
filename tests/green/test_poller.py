"""The green Poller, select and zmq_poll: waiting blocks only the calling greenlet."""

from __future__ import annotations

import socket as pysocket
import time
from collections.abc import Iterator
from typing import Any

import gevent
import pytest

import safezmq
import safezmq.green
from tests.green.conftest import PROMPT, Ticker, connected, socket


@pytest.fixture
def socketpair() -> Iterator[tuple[pysocket.socket, pysocket.socket]]:
    left, right = pysocket.socketpair()
    yield left, right
    left.close()
    right.close()


def test_poll_timeout_blocks_only_the_greenlet(green: Any, gctx: Any, ticker: Ticker) -> None:
    _a, b = connected(green, gctx, green.PAIR, green.PAIR)
    poller = green.Poller()
    poller.register(b, green.POLLIN)
    before, start = ticker.count, time.monotonic()
    assert poller.poll(150) == []
    assert 0.14 <= time.monotonic() - start < PROMPT
    assert ticker.count > before
    assert poller.poll(0) == []


def test_poll_wakes_for_any_registered_socket(green: Any, gctx: Any, ticker: Ticker) -> None:
    a1, b1 = connected(green, gctx, green.PAIR, green.PAIR)
    a2, b2 = connected(green, gctx, green.PUSH, green.PULL, "inproc")
    poller = green.Poller()
    poller.register(b1, green.POLLIN)
    poller.register(b2, green.POLLIN)
    gevent.spawn_later(0.05, a2.send, b"second")
    before = ticker.count
    assert poller.poll(PROMPT * 1000) == [(b2, green.POLLIN)]
    assert ticker.count > before
    assert b2.recv() == b"second"
    gevent.spawn_later(0.05, a1.send, b"first")
    assert poller.poll(PROMPT * 1000) == [(b1, green.POLLIN)]
    # POLLOUT is ready at once on a connected PAIR.
    poller.register(a1, green.POLLOUT)
    assert dict(poller.poll(0)) == {b1: green.POLLIN, a1: green.POLLOUT}


def test_poll_raw_descriptors(
    green: Any, gctx: Any, ticker: Ticker, socketpair: tuple[pysocket.socket, pysocket.socket]
) -> None:
    left, right = socketpair
    _a, b = connected(green, gctx, green.PAIR, green.PAIR)
    poller = green.Poller()
    poller.register(b, green.POLLIN)
    poller.register(left, green.POLLIN)
    gevent.spawn_later(0.05, right.send, b"raw")
    before = ticker.count
    assert poller.poll(PROMPT * 1000) == [(left.fileno(), green.POLLIN)]
    assert ticker.count > before
    assert left.recv(10) == b"raw"
    poller.register(right.fileno(), green.POLLOUT)
    assert poller.poll(PROMPT * 1000) == [(right.fileno(), green.POLLOUT)]


def test_select(sctx: safezmq.green.Context, ticker: Ticker) -> None:
    """safezmq only: pyzmq's zmq.green exports zmq.select unchanged, which blocks the whole
    thread (the sender below would never run and it would time out with nothing)."""
    a, b = connected(safezmq.green, sctx, safezmq.PAIR, safezmq.PAIR)
    gevent.spawn_later(0.05, a.send, b"sel")
    before = ticker.count
    assert safezmq.green.select([b], [], [], PROMPT) == ([b], [], [])
    assert ticker.count > before
    assert b.recv() == b"sel"
    assert safezmq.green.select([b], [a], [], 0.05) == ([], [a], [])


def test_many_pollers_on_one_socket(sctx: safezmq.green.Context) -> None:
    """Several greenlets poll one socket; one message wakes all of them."""
    a, b = connected(safezmq.green, sctx, safezmq.PAIR, safezmq.PAIR)

    def wait() -> int:
        return b.poll(PROMPT * 1000)

    pollers = [gevent.spawn(wait) for _ in range(5)]
    gevent.sleep(0.05)
    a.send(b"for everyone")
    assert [p.get(timeout=PROMPT) for p in pollers] == [safezmq.POLLIN] * 5


def test_poller_and_recv_on_one_socket(sctx: safezmq.green.Context) -> None:
    """A greenlet waits in recv() and another polls the same socket: the receiver's look at
    the socket drains its FD, so the poller must be woken by the receiver, not the FD."""
    a, b = connected(safezmq.green, sctx, safezmq.PAIR, safezmq.PAIR, "inproc")
    receiver = gevent.spawn(b.recv)
    poller = gevent.spawn(b.poll, PROMPT * 1000)
    gevent.sleep(0.02)
    a.send(b"one")
    a.send(b"two")
    assert receiver.get(timeout=PROMPT) == b"one"
    assert poller.get(timeout=PROMPT) == safezmq.POLLIN
    assert b.recv() == b"two"


def test_plain_socket_in_a_green_poller(sctx: safezmq.green.Context, ticker: Ticker) -> None:
    """A plain safezmq socket (another context's) is waited for through its FD too."""
    with safezmq.Context() as plain_ctx:
        pull = socket(plain_ctx, safezmq.PULL)
        pull.bind("inproc://plain")
        push = socket(plain_ctx, safezmq.PUSH)
        push.connect("inproc://plain")
        poller = safezmq.green.Poller()
        poller.register(pull, safezmq.POLLIN)
        assert poller.poll(50) == []
        gevent.spawn_later(0.05, push.send, b"plain")
        before = ticker.count
        assert poller.poll(PROMPT * 1000) == [(pull, safezmq.POLLIN)]
        assert ticker.count > before
        assert pull.recv() == b"plain"
        pull.close()
        push.close()


def test_zmq_poll_and_errors(sctx: safezmq.green.Context) -> None:
    a, b = connected(safezmq.green, sctx, safezmq.PAIR, safezmq.PAIR)
    assert safezmq.green.zmq_poll([(b, safezmq.POLLIN)], 20) == []
    a.send(b"x")
    assert safezmq.green.zmq_poll([(b, safezmq.POLLIN)], PROMPT * 1000) == [(b, safezmq.POLLIN)]
    poller = safezmq.green.Poller()
    poller.register(b, safezmq.POLLIN)
    b.close()
    with pytest.raises(safezmq.ZMQError) as info:
        poller.poll(0)
    assert info.value.errno == safezmq.ENOTSOCK


def test_a_call_that_changes_the_state_wakes_a_poller(sctx: safezmq.green.Context) -> None:
    """A REQ awaiting its reply cannot send; a poller waits for POLLOUT while another greenlet
    waits for the reply.  The reply's wake-up reaches the poller first, when the REQ still
    cannot send; only the receive makes it writable, with no wake-up from the FD: the
    receiving greenlet must wake the poller itself."""
    rep, req = connected(safezmq.green, sctx, safezmq.REP, safezmq.REQ, "inproc")
    req.send(b"question")
    poller = gevent.spawn(req.poll, -1, safezmq.POLLOUT)
    gevent.sleep(0.02)
    receiver = gevent.spawn(req.recv)
    gevent.sleep(0.02)
    rep.send(rep.recv() + b"?")
    assert receiver.get(timeout=PROMPT) == b"question?"
    assert poller.get(timeout=PROMPT) == safezmq.POLLOUT
