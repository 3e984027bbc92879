"""Helpers of the pattern tests: sockets that cannot hang a test, and waiting without sleeps."""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Sequence
from typing import Any

import safezmq as zmq

#: Every socket-level test that depends on the transport runs over these.
TRANSPORTS = ["tcp", "ipc", "inproc"]
#: Receive/send timeout of every test socket (ms): long enough for a loaded machine, short
#: enough that a missing message fails the test instead of hanging it.
TIMEOUT_MS = 3000

Endpoints = Callable[[str], str]


def make(ctx: zmq.Context, kind: int, **options: Any) -> zmq.Socket:
    """A socket with LINGER 0 and send/receive timeouts, plus ``options`` (by option name)."""
    sock: zmq.Socket = ctx.socket(kind)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, TIMEOUT_MS)
    sock.setsockopt(zmq.SNDTIMEO, TIMEOUT_MS)
    for name, value in options.items():
        sock.setsockopt(getattr(zmq, name.upper()), value)
    return sock


def bound(ctx: zmq.Context, kind: int, address: str, **options: Any) -> tuple[zmq.Socket, str]:
    """A socket bound at ``address`` and the endpoint to connect to."""
    sock = make(ctx, kind, **options)
    sock.bind(address)
    return sock, sock.getsockopt_string(zmq.LAST_ENDPOINT)


def wait_for(predicate: Callable[[], object], timeout: float = TIMEOUT_MS / 1000) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.002)


def peers(sock: zmq.Socket) -> int:
    """How many peers' pipes ``sock`` holds that completed their handshake (pending commands
    processed first).  Only for synchronising a test, never as what it checks."""
    sock._process_commands()  # runs the mailbox: attaches pipes, handles terminations
    return sum(1 for pipe in sock._pipes if pipe.ready)


def wait_peers(sock: zmq.Socket, count: int) -> None:
    assert wait_for(lambda: peers(sock) == count), f"expected {count} peers, have {peers(sock)}"


def queued(sock: zmq.Socket) -> int:
    """Messages waiting in ``sock``'s inbound pipes, or taken out by a SUB/REQ/REP to see
    whether it wants them (for synchronisation only)."""
    sock._process_commands()
    pattern = sock.pattern
    held = (getattr(pattern, name, None) for name in ("_prefetched", "_reply", "_request"))
    prefetched = sum(1 for item in held if item is not None)
    return prefetched + sum(pipe.inbound.depth for pipe in sock._pipes)


def wait_queued(sock: zmq.Socket, count: int) -> None:
    assert wait_for(lambda: queued(sock) >= count), f"expected {count} queued, have {queued(sock)}"


def subscriptions(pub: zmq.Socket) -> int:
    """(topic, subscriber) pairs a PUB/XPUB knows of (for synchronisation only)."""
    pub._process_commands()
    return len(pub.pattern.trie)


def wait_subscriptions(pub: zmq.Socket, count: int) -> None:
    assert wait_for(lambda: subscriptions(pub) == count), (
        f"expected {count} subscriptions, have {subscriptions(pub)}"
    )


def recv_all(sock: zmq.Socket, wait_ms: int = 50) -> list[list[bytes]]:
    """Every message that arrives within ``wait_ms`` of the previous one."""
    got: list[list[bytes]] = []
    while sock.poll(wait_ms):
        got.append(sock.recv_multipart())
    return got


def nothing_more(sock: zmq.Socket, wait_ms: int = 100) -> bool:
    """True if no message arrives within ``wait_ms``."""
    return sock.poll(wait_ms) == 0


def expect_errno(errno: int, fn: Callable[..., object], *args: Any, **kwargs: Any) -> None:
    """``fn(*args)`` raises ZMQError with ``errno``."""
    try:
        fn(*args, **kwargs)
    except zmq.ZMQError as exc:
        assert exc.errno == errno, f"expected errno {errno}, got {exc.errno} ({exc})"
    else:
        raise AssertionError(f"expected ZMQError errno {errno}")


def events(monitor: zmq.Socket, wanted: int, timeout_ms: int = TIMEOUT_MS) -> tuple[int, int]:
    """Read monitor events until one of the kinds in the mask ``wanted``; (event, value)."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        remaining = int((deadline - time.monotonic()) * 1000)
        assert remaining > 0 and monitor.poll(remaining), f"no monitor event {wanted:#x}"
        head, _endpoint = monitor.recv_multipart()
        event, value = struct.unpack("=HI", head)
        if event & wanted:
            return event, value


def send_all(sock: zmq.Socket, messages: Sequence[bytes | list[bytes]]) -> None:
    for msg in messages:
        if isinstance(msg, list):
            sock.send_multipart(msg)
        else:
            sock.send(msg)


def rebind(sock: zmq.Socket, address: str) -> None:
    """Bind ``address`` that a just-closed socket held: closing is asynchronous (as in
    libzmq), so the address may stay in use for a moment."""

    def attempt() -> bool:
        try:
            sock.bind(address)
        except zmq.ZMQError as exc:
            assert exc.errno == zmq.EADDRINUSE, exc
            return False
        return True

    assert wait_for(attempt), f"{address} stayed in use"
