"""Fixtures of the gevent tests: ``green`` is pyzmq's ``zmq.green`` (the reference, over the
real libzmq) or ``safezmq.green``; ``ticker`` is a greenlet that proves the hub keeps running."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import gevent
import pytest
import zmq.green as pyzmq_green

import safezmq.green

GREENS = [pytest.param(pyzmq_green, id="pyzmq"), pytest.param(safezmq.green, id="safezmq")]

#: Generous upper bound for "it happens promptly" (never a performance assertion).
PROMPT = 5.0


@pytest.fixture(params=GREENS)
def green(request: pytest.FixtureRequest) -> Any:
    """The module under test: pyzmq's zmq.green or safezmq.green."""
    return request.param


@pytest.fixture
def gctx(green: Any) -> Iterator[Any]:
    """A green context of ``green``, destroyed with LINGER 0 after the test."""
    context = green.Context()
    yield context
    context.destroy(linger=0)


@pytest.fixture
def sctx() -> Iterator[safezmq.green.Context]:
    """A safezmq.green context (for what only safezmq does), destroyed after the test."""
    context = safezmq.green.Context()
    yield context
    context.destroy(linger=0)


class Ticker:
    """A greenlet that wakes every millisecond and counts: if anything blocked the hub (the
    whole thread) instead of one greenlet, it would stop counting."""

    def __init__(self) -> None:
        self.count = 0
        self.max_gap = 0.0
        self._greenlet = gevent.spawn(self._run)

    def _run(self) -> None:
        last = time.monotonic()
        while True:
            gevent.sleep(0.001)
            now = time.monotonic()
            self.max_gap = max(self.max_gap, now - last)
            last = now
            self.count += 1

    def stop(self) -> None:
        self._greenlet.kill()


@pytest.fixture
def ticker() -> Iterator[Ticker]:
    t = Ticker()
    gevent.sleep(0)  # let it start
    yield t
    t.stop()


def socket(ctx: Any, kind: int) -> Any:
    """A socket with LINGER 0 (nothing waits at close or term)."""
    sock = ctx.socket(kind)
    sock.linger = 0
    return sock


def connected(green: Any, ctx: Any, a_kind: int, b_kind: int, transport: str = "tcp") -> Any:
    """(a, b): ``a`` bound, ``b`` connected to it, over tcp (loopback), ipc or inproc."""
    a = socket(ctx, a_kind)
    b = socket(ctx, b_kind)
    if transport == "tcp":
        a.bind("tcp://127.0.0.1:*")
    elif transport == "ipc":
        a.bind(f"ipc://@safezmq-green-{id(a)}")
    else:
        a.bind(f"inproc://green-{id(a)}")
    b.connect(a.getsockopt(green.LAST_ENDPOINT).decode())
    return a, b
