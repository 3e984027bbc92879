"""Hundreds of greenlets, each with its own sockets, all in one thread: they all finish, and a
ticker greenlet keeps running the whole time (a wait that blocked the thread instead of one
greenlet would stop it, and deadlock the peers, which are greenlets of the same thread)."""

from __future__ import annotations

import os
from typing import Any

import gevent
import pytest
from gevent.event import AsyncResult

from tests.green.conftest import PROMPT, Ticker, socket

GREENLETS = 300
ROUND_TRIPS = 5
#: Generous: the ticker sleeps 1 ms; with 600 ready greenlets a turn of the hub takes a while
#: on a loaded machine, but a blocked hub would stop it for good.
MAX_TICK_GAP = 3.0


def endpoint(green: Any, sock: Any, transport: str, n: int) -> str:
    if transport == "tcp":
        sock.bind("tcp://127.0.0.1:*")
    else:
        sock.bind(f"inproc://many-{os.getpid()}-{id(sock)}-{n}")
    return str(sock.getsockopt(green.LAST_ENDPOINT).decode())


@pytest.mark.parametrize("transport", ["tcp", "inproc"])
def test_req_rep_round_trips(green: Any, gctx: Any, ticker: Ticker, transport: str) -> None:
    def server(n: int, ready: Any) -> None:
        rep = socket(gctx, green.REP)
        ready.set(endpoint(green, rep, transport, n))
        for _ in range(ROUND_TRIPS):
            rep.send(rep.recv() + b"!")
        rep.close()

    def client(n: int, ready: Any) -> int:
        req = socket(gctx, green.REQ)
        req.connect(ready.get())
        for i in range(ROUND_TRIPS):
            req.send(b"%d:%d" % (n, i))
            assert req.recv() == b"%d:%d!" % (n, i)
        req.close()
        return n

    readies = [AsyncResult() for _ in range(GREENLETS)]
    servers = [gevent.spawn(server, n, readies[n]) for n in range(GREENLETS)]
    clients = [gevent.spawn(client, n, readies[n]) for n in range(GREENLETS)]
    before = ticker.count
    gevent.joinall([*servers, *clients], timeout=PROMPT * 12, raise_error=True)
    assert [c.value for c in clients] == list(range(GREENLETS))
    assert all(s.successful() for s in servers)
    assert ticker.count > before
    assert ticker.max_gap < MAX_TICK_GAP


@pytest.mark.parametrize("transport", ["tcp", "inproc"])
def test_push_pull(green: Any, gctx: Any, ticker: Ticker, transport: str) -> None:
    """One PULL fed by 300 PUSH greenlets, with a small HWM so senders block too."""
    pull = socket(gctx, green.PULL)
    pull.rcvhwm = 10
    address = endpoint(green, pull, transport, 0)
    per_sender = 10

    def sender(n: int) -> None:
        push = socket(gctx, green.PUSH)
        push.sndhwm = 2
        push.connect(address)
        for i in range(per_sender):
            push.send_multipart([b"%d" % n, b"%d" % i])
        push.close(linger=-1 if transport == "inproc" else 1000)

    senders = [gevent.spawn(sender, n) for n in range(GREENLETS)]
    received: dict[int, list[int]] = {}
    before = ticker.count
    with gevent.Timeout(PROMPT * 12):
        for _ in range(GREENLETS * per_sender):
            n, i = pull.recv_multipart()
            received.setdefault(int(n), []).append(int(i))
    gevent.joinall(senders, timeout=PROMPT, raise_error=True)
    assert received == {n: list(range(per_sender)) for n in range(GREENLETS)}
    assert ticker.count > before
    assert ticker.max_gap < MAX_TICK_GAP
