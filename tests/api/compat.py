"""Helpers for running one snippet against pyzmq (libzmq) and safezmq.

The ``lib`` and ``lib_ctx`` fixtures (tests/api/conftest.py) are built on ``LIBS``: a test that
takes ``lib`` runs twice: once with ``zmq`` (pyzmq over the real libzmq, the
reference) and once with ``safezmq``.  Both runs assert the same thing, so a passing pyzmq run
shows the expectation is libzmq's behaviour and the safezmq run shows we match it.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import zmq as pyzmq

import safezmq

LIBS = [pytest.param(pyzmq, id="pyzmq"), pytest.param(safezmq, id="safezmq")]

#: Generous upper bound for "it happens promptly" (never a performance assertion).
PROMPT = 5.0


def socket(ctx: Any, kind: int) -> Any:
    """A socket with LINGER 0, so nothing ever waits at close or term."""
    sock = ctx.socket(kind)
    sock.linger = 0
    return sock


def inproc_pair(lib: Any, ctx: Any, name: str) -> tuple[Any, Any]:
    """Two connected PAIR sockets over inproc."""
    a = socket(ctx, lib.PAIR)
    b = socket(ctx, lib.PAIR)
    a.bind(f"inproc://{name}")
    b.connect(f"inproc://{name}")
    return a, b


def tcp_pipeline(lib: Any, ctx: Any) -> tuple[Any, Any]:
    """(push, pull) connected over tcp on loopback, the connection established."""
    pull = socket(ctx, lib.PULL)
    pull.bind("tcp://127.0.0.1:*")
    push = socket(ctx, lib.PUSH)
    push.connect(pull.getsockopt(lib.LAST_ENDPOINT).decode())
    push.send(b"warm-up")
    assert pull.poll(PROMPT * 1000), "the tcp connection never came up"
    assert pull.recv() == b"warm-up"
    return push, pull


def wait_until(predicate: Any, timeout: float = PROMPT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return bool(predicate())
