"""One conformance suite, run over tcp, ipc and inproc."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

import safezmq as zmq
from tests.conftest import bind

TRANSPORTS = ["tcp", "ipc", "inproc"]


def pair_up(
    ctx: zmq.Context, endpoints: Callable[[str], str], transport: str, a: int, b: int
) -> tuple[zmq.Socket, zmq.Socket]:
    """a binds, b connects."""
    sa, sb = ctx.socket(a), ctx.socket(b)
    for s in (sa, sb):
        s.linger = 0
        s.rcvtimeo = 5000
        s.sndtimeo = 5000
    sb.connect(bind(sa, endpoints(transport)))
    return sa, sb


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_multipart_roundtrip_and_order(
    ctx: zmq.Context, endpoints: Callable[[str], str], transport: str
) -> None:
    pull, push = pair_up(ctx, endpoints, transport, zmq.PULL, zmq.PUSH)
    messages = [[b"head", str(i).encode(), b"", b"x" * (i * 37)] for i in range(200)]
    for msg in messages:
        push.send_multipart(msg)
    assert [pull.recv_multipart() for _ in messages] == messages


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_large_messages(ctx: zmq.Context, endpoints: Callable[[str], str], transport: str) -> None:
    a, b = pair_up(ctx, endpoints, transport, zmq.PAIR, zmq.PAIR)
    big = bytes(range(256)) * 4096 * 4  # 4 MiB
    b.send_multipart([b"small", big])
    got = a.recv_multipart()
    assert got[0] == b"small" and got[1] == big
    a.send(big)
    assert b.recv() == big


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_connect_before_bind_delivers_queued_messages(
    ctx: zmq.Context, endpoints: Callable[[str], str], transport: str
) -> None:
    address = endpoints(transport)
    if transport == "tcp":
        probe = ctx.socket(zmq.PULL)
        address = bind(probe, address)
        probe.close()
    push = ctx.socket(zmq.PUSH)
    push.linger = 0
    push.connect(address)
    for i in range(10):
        push.send(b"early %d" % i)  # queued: the peer does not exist yet
    pull = ctx.socket(zmq.PULL)
    pull.linger = 0
    pull.rcvtimeo = 5000
    pull.bind(address)
    assert [pull.recv() for _ in range(10)] == [b"early %d" % i for i in range(10)]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_high_water_mark_blocks_sender(
    ctx: zmq.Context, endpoints: Callable[[str], str], transport: str
) -> None:
    pull = ctx.socket(zmq.PULL)
    push = ctx.socket(zmq.PUSH)
    for s in (pull, push):
        s.linger = 0
        s.sndhwm = s.rcvhwm = 5
    push.connect(bind(pull, endpoints(transport)))
    sent = 0
    deadline = time.monotonic() + 5
    body = b"x" * 100_000  # big enough that kernel buffers fill quickly too
    while time.monotonic() < deadline:
        try:
            push.send(body, zmq.DONTWAIT)
            sent += 1
        except zmq.Again:
            break
        time.sleep(0.001)
    else:
        pytest.fail("the sender never hit the high-water mark")
    assert 0 < sent < 1000
    pull.rcvtimeo = 5000
    for _ in range(sent):
        assert pull.recv() == body
    push.send(body)  # room again


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_fair_queue_and_load_balance(
    ctx: zmq.Context, endpoints: Callable[[str], str], transport: str
) -> None:
    pulls = [ctx.socket(zmq.PULL) for _ in range(3)]
    addresses = [bind(p, endpoints(transport)) for p in pulls]
    push = ctx.socket(zmq.PUSH)
    push.linger = 0
    for address in addresses:
        push.connect(address)
    for p in pulls:
        p.rcvtimeo = 5000
        p.linger = 0
    time.sleep(0.2)  # let every connection complete its handshake
    for i in range(30):
        push.send(b"%d" % i)
    counts = [0, 0, 0]
    poller = zmq.Poller()
    for p in pulls:
        poller.register(p, zmq.POLLIN)
    deadline = time.monotonic() + 5
    while sum(counts) < 30 and time.monotonic() < deadline:
        for sock, _ in poller.poll(1000):
            sock.recv()
            counts[pulls.index(sock)] += 1
    assert sum(counts) == 30
    assert all(c == 10 for c in counts), counts


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_wildcard_and_last_endpoint(
    ctx: zmq.Context, endpoints: Callable[[str], str], transport: str
) -> None:
    sock = ctx.socket(zmq.PULL)
    sock.linger = 0
    address = endpoints(transport) if transport == "tcp" else "ipc://*"
    sock.bind(address)
    last = sock.last_endpoint.decode()
    assert last.startswith(f"{transport}://") and "*" not in last
    push = ctx.socket(zmq.PUSH)
    push.linger = 0
    push.connect(last)
    push.send(b"via last endpoint")
    sock.rcvtimeo = 5000
    assert sock.recv() == b"via last endpoint"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_unbind_and_disconnect(
    ctx: zmq.Context, endpoints: Callable[[str], str], transport: str
) -> None:
    pull, push = pair_up(ctx, endpoints, transport, zmq.PULL, zmq.PUSH)
    address = pull.last_endpoint.decode()
    push.send(b"one")
    assert pull.recv() == b"one"
    push.disconnect(address)
    with pytest.raises(zmq.ZMQError) as info:
        push.disconnect(address)
    assert info.value.errno == zmq.ENOENT
    pull.unbind(address)
    with pytest.raises(zmq.ZMQError) as info:
        pull.unbind(address)
    assert info.value.errno == zmq.ENOENT
    # The endpoint is free again.
    again = ctx.socket(zmq.PULL)
    again.linger = 0
    again.bind(address)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_bind_twice_is_address_in_use(
    ctx: zmq.Context, endpoints: Callable[[str], str], transport: str
) -> None:
    first = ctx.socket(zmq.PULL)
    first.linger = 0
    address = bind(first, endpoints(transport))
    second = ctx.socket(zmq.PULL)
    second.linger = 0
    with pytest.raises(zmq.ZMQError) as info:
        second.bind(address)
    assert info.value.errno == zmq.EADDRINUSE
    assert address in str(info.value) or "in use" in str(info.value) or "bound" in str(info.value)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_context_managers_undo_bind_and_connect(
    ctx: zmq.Context, endpoints: Callable[[str], str], transport: str
) -> None:
    pull = ctx.socket(zmq.PULL)
    pull.linger = 0
    bound = pull.bind(endpoints(transport))
    with bound as sock:
        address = pull.last_endpoint.decode()
        assert sock is pull and bound.addr == address  # pyzmq: the context gives the socket
        push = ctx.socket(zmq.PUSH)
        push.linger = 0
        with push.connect(address):
            push.send(b"inside")
            pull.rcvtimeo = 5000
            assert pull.recv() == b"inside"
        with pytest.raises(zmq.ZMQError):
            push.disconnect(address)
    with pytest.raises(zmq.ZMQError):
        pull.unbind(address)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_peer_threads(ctx: zmq.Context, endpoints: Callable[[str], str], transport: str) -> None:
    """A socket used from another thread than the one that created its peer."""
    pull, push = pair_up(ctx, endpoints, transport, zmq.PULL, zmq.PUSH)
    received: list[bytes] = []

    def consume() -> None:
        for _ in range(5000):
            received.append(pull.recv())

    thread = threading.Thread(target=consume)
    thread.start()
    for i in range(5000):
        push.send(b"%d" % i)
    thread.join(20)
    assert received == [b"%d" % i for i in range(5000)]
