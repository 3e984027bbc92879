"""Regression tests for the bugs the chaos suite found (each names the test that found it)."""

from __future__ import annotations

import gc
import threading
import time

import safezmq


def test_connecting_to_a_numeric_address_uses_no_resolver_thread() -> None:
    """Found by test_churn (tcp, CURVE): the I/O loop's resolver pool grew a thread per
    concurrent reconnect to tcp://127.0.0.1, because every connect went through the loop's
    getaddrinfo (a thread-pool call) even for a literal address.  libzmq resolves literal
    addresses in place (tcp_address_t with no DNS lookup); so does safezmq now."""
    ctx = safezmq.Context()
    try:
        server = ctx.socket(safezmq.ROUTER)
        server.linger = 0
        server.bind("tcp://127.0.0.1:*")
        endpoint = server.getsockopt_string(safezmq.LAST_ENDPOINT)
        clients = []
        for _ in range(20):
            c = ctx.socket(safezmq.DEALER)
            c.linger = 0
            c.connect(endpoint)
            c.send(b"hi")
            clients.append(c)
        server.rcvtimeo = 5000
        for _ in clients:
            server.recv_multipart()
        names = [t.name for t in threading.enumerate() if t.name.startswith("asyncio_")]
        assert names == [], f"resolver threads started for a literal address: {names}"
    finally:
        ctx.destroy(linger=0)


def test_a_session_that_ends_drops_its_unanswered_zap_request() -> None:
    """Found by test_zap_faults (hung handler): a server session whose handshake deadline ended
    while its ZAP request was out stayed alive in the ZAP client's pending table until the
    handler answered, so a hung handler kept every dead session (and filled MAX_PENDING, after
    which all clients were refused).  libzmq's ZAP pipe belongs to the session and dies with
    it; safezmq's shared ZAP client now forgets the request when the session ends."""
    ctx = safezmq.Context()
    try:
        handler = ctx.socket(safezmq.ROUTER)  # takes requests, never answers
        handler.linger = 0
        handler.bind("inproc://zeromq.zap.01")
        public, secret = safezmq.curve_keypair()
        server = ctx.socket(safezmq.ROUTER)
        server.linger = 0
        server.curve_server = True
        server.curve_secretkey = secret
        server.handshake_ivl = 300
        server.bind("tcp://127.0.0.1:*")
        clients = []
        for _ in range(5):
            c = ctx.socket(safezmq.DEALER)
            c.linger = 0
            c.reconnect_ivl = -1  # one attempt each
            c.curve_serverkey = public
            c.curve_publickey, c.curve_secretkey = safezmq.curve_keypair()
            c.connect(server.getsockopt_string(safezmq.LAST_ENDPOINT))
            clients.append(c)
        taken = 0
        deadline = time.monotonic() + 10
        while taken < 5 and time.monotonic() < deadline:
            if handler.poll(100):
                handler.recv_multipart()
                taken += 1
        assert taken == 5
        zap = ctx._zap
        assert zap is not None
        deadline = time.monotonic() + 10
        while zap._pending and time.monotonic() < deadline:
            time.sleep(0.05)
        assert zap._pending == {}, f"{len(zap._pending)} requests of dead sessions kept"
        for c in clients:
            c.close()
    finally:
        ctx.destroy(linger=0)


def test_closed_sockets_do_not_count_towards_max_sockets() -> None:
    """Found by test_churn at 10,000 cycles: closed sockets stay in the context's WeakSet until
    the cyclic garbage collector frees them, and they were counted against MAX_SOCKETS, so a
    program that opens and closes sockets one at a time hit "too many sockets" with one open.
    libzmq frees a closed socket's slot when the socket is reaped."""
    gc.disable()  # the collector would hide the bug by freeing them in time
    ctx = safezmq.Context()
    try:
        ctx.max_sockets = 10
        server = ctx.socket(safezmq.ROUTER)
        server.bind("inproc://max-sockets")
        for _ in range(50):
            c = ctx.socket(safezmq.DEALER)
            c.connect("inproc://max-sockets")
            c.send(b"x")
            server.recv_multipart()
            c.close(0)
    finally:
        gc.enable()
        ctx.destroy(linger=0)
