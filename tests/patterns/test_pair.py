"""PAIR (RFC 31) through real sockets, over tcp, ipc and inproc."""

from __future__ import annotations

import pytest

import safezmq as zmq

from .helpers import (
    TRANSPORTS,
    Endpoints,
    bound,
    events,
    expect_errno,
    make,
    nothing_more,
    peers,
    wait_for,
    wait_peers,
)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pair_is_bidirectional(ctx: zmq.Context, endpoints: Endpoints, transport: str) -> None:
    a, address = bound(ctx, zmq.PAIR, endpoints(transport))
    b = make(ctx, zmq.PAIR)
    b.connect(address)
    for i in range(10):
        b.send_multipart([b"to a", b"%d" % i])
        a.send_multipart([b"to b", b"%d" % i])
    assert [a.recv_multipart() for _ in range(10)] == [[b"to a", b"%d" % i] for i in range(10)]
    assert [b.recv_multipart() for _ in range(10)] == [[b"to b", b"%d" % i] for i in range(10)]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pair_refuses_a_second_peer(ctx: zmq.Context, endpoints: Endpoints, transport: str) -> None:
    a, address = bound(ctx, zmq.PAIR, endpoints(transport))
    monitor = a.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
    first = make(ctx, zmq.PAIR)
    first.connect(address)
    first.send(b"first")
    assert a.recv() == b"first"
    second = make(ctx, zmq.PAIR, sndtimeo=100)
    second.connect(address)
    try:
        second.send(b"intruder", zmq.DONTWAIT)  # queued at most; never delivered
    except zmq.Again:
        pass
    if transport != "inproc":
        events(monitor, zmq.EVENT_HANDSHAKE_SUCCEEDED)  # first's connection
        events(monitor, zmq.EVENT_HANDSHAKE_SUCCEEDED)  # second's: now a is offered it
    assert nothing_more(a, 100)  # a took the offer in (and refused it) while polling
    assert peers(a) == 1
    a.send(b"only for first")
    assert first.recv() == b"only for first"
    assert nothing_more(second)
    first.send(b"first again")
    assert a.recv() == b"first again"
    assert nothing_more(a)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pair_takes_a_new_peer_after_the_first_left(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    a, address = bound(ctx, zmq.PAIR, endpoints(transport))
    first = make(ctx, zmq.PAIR)
    first.connect(address)
    first.send(b"hello")
    assert a.recv() == b"hello"
    first.close()
    assert wait_for(lambda: peers(a) == 0)
    second = make(ctx, zmq.PAIR)
    second.connect(address)
    second.send(b"replacement")
    assert a.recv() == b"replacement"
    a.send(b"welcome")
    assert second.recv() == b"welcome"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pair_blocks_when_its_peer_is_full(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    a, address = bound(ctx, zmq.PAIR, endpoints(transport), rcvhwm=1)
    b = make(ctx, zmq.PAIR, sndhwm=1, sndtimeo=100)
    b.connect(address)
    wait_peers(a, 1)
    chunk = b"p" * 65536
    sent = 0
    with pytest.raises(zmq.Again):
        for sent in range(5000):
            b.send(b"%d " % sent + chunk)
    assert sent < 4999
    expect_errno(zmq.EAGAIN, b.send, b"x", zmq.DONTWAIT)
    got = [a.recv().split(b" ")[0] for _ in range(sent)]
    assert got == [b"%d" % i for i in range(sent)]  # nothing accepted was dropped


def test_pair_without_peer_cannot_send(ctx: zmq.Context) -> None:
    lonely = make(ctx, zmq.PAIR, sndtimeo=50)
    expect_errno(zmq.EAGAIN, lonely.send, b"x", zmq.DONTWAIT)
    expect_errno(zmq.EAGAIN, lonely.send, b"x")
    assert lonely.poll(0, zmq.POLLOUT) == 0
