"""PUSH and PULL (RFC 30) through real sockets, over tcp, ipc and inproc."""

from __future__ import annotations

import pytest

import safezmq as zmq

from .helpers import (
    TRANSPORTS,
    Endpoints,
    bound,
    expect_errno,
    make,
    nothing_more,
    wait_peers,
    wait_queued,
)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_push_load_balances_round_robin(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    push = make(ctx, zmq.PUSH)
    pulls = []
    for _ in range(3):
        pull, address = bound(ctx, zmq.PULL, endpoints(transport))
        push.connect(address)
        pulls.append(pull)
    for i in range(12):
        push.send(b"%d" % i)
    for n, pull in enumerate(pulls):
        assert [pull.recv() for _ in range(4)] == [b"%d" % i for i in range(n, 12, 3)]
        assert nothing_more(pull, 20)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_push_bound_balances_over_connected_pulls(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    push, address = bound(ctx, zmq.PUSH, endpoints(transport))
    pulls = [make(ctx, zmq.PULL) for _ in range(2)]
    for pull in pulls:
        pull.connect(address)
    wait_peers(push, 2)
    for i in range(10):
        push.send(b"%d" % i)
    got = [[pull.recv() for _ in range(5)] for pull in pulls]
    assert sorted(got) == [[b"%d" % i for i in range(n, 10, 2)] for n in range(2)]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pull_fair_queues(ctx: zmq.Context, endpoints: Endpoints, transport: str) -> None:
    pull, address = bound(ctx, zmq.PULL, endpoints(transport))
    pushes = [make(ctx, zmq.PUSH) for _ in range(3)]
    for n, push in enumerate(pushes):
        push.connect(address)
        for i in range(10):
            push.send_multipart([b"%d" % n, b"%d" % i])
    wait_queued(pull, 30)  # all waiting: the fair-queue alone decides the order
    got = [pull.recv_multipart() for _ in range(30)]
    for k in range(0, 30, 3):  # every round takes one message from each peer
        assert sorted(m[0] for m in got[k : k + 3]) == [b"0", b"1", b"2"]
    for n in range(3):
        assert [m[1] for m in got if m[0] == b"%d" % n] == [b"%d" % i for i in range(10)]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_push_blocks_at_the_high_water_mark(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    pull, address = bound(ctx, zmq.PULL, endpoints(transport), rcvhwm=1)
    push = make(ctx, zmq.PUSH, sndhwm=1, sndtimeo=100)
    push.connect(address)
    wait_peers(pull, 1)
    chunk = b"z" * 65536
    sent = 0
    with pytest.raises(zmq.Again):  # nobody reads: blocks, then times out
        for sent in range(5000):
            push.send(b"%d " % sent + chunk)
    assert sent < 4999
    expect_errno(zmq.EAGAIN, push.send, b"x", zmq.DONTWAIT)
    assert push.poll(0, zmq.POLLOUT) == 0
    got = [pull.recv() for _ in range(sent)]  # nothing accepted was lost, nothing reordered
    assert [m.split(b" ")[0] for m in got] == [b"%d" % i for i in range(sent)]
    assert nothing_more(pull, 50)
    assert push.poll(1000, zmq.POLLOUT) == zmq.POLLOUT
    push.send(b"again", zmq.DONTWAIT)
    assert pull.recv() == b"again"


def test_push_with_no_peer_blocks(ctx: zmq.Context) -> None:
    push = make(ctx, zmq.PUSH, sndtimeo=50)
    expect_errno(zmq.EAGAIN, push.send, b"x", zmq.DONTWAIT)
    expect_errno(zmq.EAGAIN, push.send, b"x")


def test_pull_cannot_send_and_push_cannot_receive(ctx: zmq.Context) -> None:
    pull, address = bound(ctx, zmq.PULL, "inproc://cannot")
    push = make(ctx, zmq.PUSH)
    push.connect(address)
    expect_errno(zmq.ENOTSUP, pull.send, b"x")
    expect_errno(zmq.ENOTSUP, pull.send, b"x", zmq.DONTWAIT)
    expect_errno(zmq.ENOTSUP, push.recv)
    expect_errno(zmq.ENOTSUP, push.recv, zmq.DONTWAIT)
    assert pull.poll(0, zmq.POLLOUT) == 0
    assert push.poll(0, zmq.POLLIN) == 0
    push.send(b"still works")
    assert pull.recv() == b"still works"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_multipart_messages_are_atomic(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    pull, address = bound(ctx, zmq.PULL, endpoints(transport))
    push = make(ctx, zmq.PUSH)
    push.connect(address)
    for i in range(50):
        push.send_multipart([b"%d" % i, b"", b"x" * i, b"end"])
    for i in range(50):
        assert pull.recv_multipart() == [b"%d" % i, b"", b"x" * i, b"end"]
