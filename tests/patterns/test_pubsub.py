"""PUB, SUB, XPUB and XSUB (RFC 29) through real sockets, over tcp, ipc and inproc.

Filtering tests never wait for "nothing arrived" alone: after the messages that must be
filtered out they publish a *fence* that matches, and since a pipe keeps order, receiving the
fence first proves the others were dropped.
"""

from __future__ import annotations

import time
import tracemalloc

import pytest

import safezmq as zmq
from safezmq.sockets import pubsub

from .helpers import (
    TIMEOUT_MS,
    TRANSPORTS,
    Endpoints,
    bound,
    events,
    expect_errno,
    make,
    nothing_more,
    peers,
    rebind,
    recv_all,
    subscriptions,
    wait_for,
    wait_peers,
    wait_queued,
    wait_subscriptions,
)

FENCE = b"fence"


def subscribe(sock: zmq.Socket, *topics: bytes) -> None:
    for topic in topics:
        sock.setsockopt(zmq.SUBSCRIBE, topic)


def unsubscribe(sock: zmq.Socket, *topics: bytes) -> None:
    for topic in topics:
        sock.setsockopt(zmq.UNSUBSCRIBE, topic)


def pub_sub(
    ctx: zmq.Context, address: str, *topics: bytes, pub_kind: int = zmq.PUB, **sub_options: int
) -> tuple[zmq.Socket, zmq.Socket]:
    """A publisher bound at ``address`` and a subscriber to ``topics`` + FENCE, both ready."""
    pub, endpoint = bound(ctx, pub_kind, address)
    sub = make(ctx, zmq.SUB, **sub_options)
    subscribe(sub, FENCE, *topics)
    sub.connect(endpoint)
    wait_subscriptions(pub, 1 + len(set(topics)))
    if pub_kind == zmq.XPUB:
        recv_all(pub, 10)
    return pub, sub


def received_before_fence(pub: zmq.Socket, sub: zmq.Socket) -> list[bytes | list[bytes]]:
    """Publish the fence, return what ``sub`` receives before it (multipart as lists)."""
    pub.send(FENCE)
    got: list[bytes | list[bytes]] = []
    while (msg := sub.recv_multipart()) != [FENCE]:
        got.append(msg[0] if len(msg) == 1 else msg)
    return got


# -- filtering -------------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_prefix_filtering(ctx: zmq.Context, endpoints: Endpoints, transport: str) -> None:
    pub, sub = pub_sub(ctx, endpoints(transport), b"ab", b"\x00\xff")
    for topic in (b"abc", b"a", b"xab", b"ab", b"Ab", b"\x00\xff\x00", b"\x00", b"", b"ba"):
        pub.send(topic)
    pub.send_multipart([b"x", b"ab"])  # only the first frame is matched
    pub.send_multipart([b"ab-multi", b"part"])
    assert received_before_fence(pub, sub) == [
        b"abc",
        b"ab",
        b"\x00\xff\x00",
        [b"ab-multi", b"part"],
    ]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_empty_subscription_receives_everything(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    pub, sub = pub_sub(ctx, endpoints(transport), b"")
    messages = [b"", b"a", b"\x00", b"anything at all", bytes(range(256))]
    for msg in messages:
        pub.send(msg)
    assert received_before_fence(pub, sub) == messages


def test_no_subscription_receives_nothing(ctx: zmq.Context) -> None:
    pub, sub = pub_sub(ctx, "inproc://no-subscription")
    pub.send(b"")
    pub.send(b"data")
    assert received_before_fence(pub, sub) == []


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_subscriptions_are_counted_at_the_subscriber(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """Subscribing twice needs two unsubscribes (the SUB counts; only the last cancel goes
    upstream)."""
    pub, sub = pub_sub(ctx, endpoints(transport), b"a")
    subscribe(sub, b"a")
    unsubscribe(sub, b"a")
    pub.send(b"a1")
    assert received_before_fence(pub, sub) == [b"a1"]
    assert subscriptions(pub) == 2  # the publisher still has "a" (and the fence)
    unsubscribe(sub, b"a")
    wait_subscriptions(pub, 1)
    pub.send(b"a2")
    assert received_before_fence(pub, sub) == []


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_unsubscribe(ctx: zmq.Context, endpoints: Endpoints, transport: str) -> None:
    pub, sub = pub_sub(ctx, endpoints(transport), b"keep", b"drop")
    pub.send(b"drop1")
    pub.send(b"keep1")
    assert received_before_fence(pub, sub) == [b"drop1", b"keep1"]
    unsubscribe(sub, b"drop")
    unsubscribe(sub, b"never subscribed")  # harmless
    wait_subscriptions(pub, 2)
    pub.send(b"drop2")
    pub.send(b"keep2")
    assert received_before_fence(pub, sub) == [b"keep2"]


def test_sub_filters_itself_too(ctx: zmq.Context) -> None:
    """Messages a publisher sends regardless (XPUB_MANUAL lets the application decide) are
    still filtered by the SUB's own subscriptions."""
    xpub, address = bound(ctx, zmq.XPUB, "inproc://sub-filters", xpub_manual=1)
    sub = make(ctx, zmq.SUB)
    subscribe(sub, b"a")
    sub.connect(address)
    assert xpub.recv() == b"\x01a"
    xpub.setsockopt(zmq.SUBSCRIBE, b"")  # the application subscribes the peer to everything
    xpub.send(b"b-not-for-sub")
    xpub.send(b"a-for-sub")
    assert sub.recv() == b"a-for-sub"


@pytest.mark.parametrize("kind", [zmq.PUB, zmq.XPUB])
def test_invert_matching_publisher_and_subscriber(ctx: zmq.Context, kind: int) -> None:
    """INVERT_MATCHING on both ends: everything *except* the subscribed prefixes."""
    pub, address = bound(ctx, kind, "inproc://invert", invert_matching=1)
    sub = make(ctx, zmq.SUB, invert_matching=1)
    subscribe(sub, b"a")
    sub.connect(address)
    wait_subscriptions(pub, 1)
    for msg in (b"a1", b"b1", b"ab", b"", b"c1"):
        pub.send(msg)
    pub.send(b"a-end")  # matches, so inverted: not delivered...
    pub.send(b"end")  # ...this one is
    assert recv_until(sub, b"end") == [b"b1", b"", b"c1", b"end"]


def recv_until(sock: zmq.Socket, last: bytes) -> list[bytes]:
    got = []
    while True:
        got.append(sock.recv())
        if got[-1] == last:
            return got


def test_invert_matching_publisher_only(ctx: zmq.Context) -> None:
    """A publisher that inverts sends what does not match; an XSUB (no filter) shows it, a
    plain SUB then filters it out again."""
    pub, address = bound(ctx, zmq.PUB, "inproc://invert-pub", invert_matching=1)
    xsub = make(ctx, zmq.XSUB)
    xsub.connect(address)
    xsub.send(b"\x01a")
    sub = make(ctx, zmq.SUB)
    subscribe(sub, b"a")
    sub.connect(address)
    wait_subscriptions(pub, 2)
    for msg in (b"a1", b"b1", b"a2", b"b2"):
        pub.send(msg)
    assert [xsub.recv() for _ in range(2)] == [b"b1", b"b2"]
    assert nothing_more(sub)  # non-inverting SUB: b1/b2 do not match "a"


def test_invert_matching_with_the_empty_prefix(ctx: zmq.Context) -> None:
    """The empty prefix takes every message (the shortcut of a publisher and a subscriber
    whose only subscription it is), so inverted it takes none, and it must not stop a longer
    prefix of the same socket from being applied."""
    pub, address = bound(ctx, zmq.PUB, "inproc://invert-empty", invert_matching=1)
    everything = make(ctx, zmq.SUB)
    subscribe(everything, b"")
    everything.connect(address)
    fence = make(ctx, zmq.XSUB)  # shows what the publisher sends it, unfiltered
    fence.connect(address)
    fence.send(b"\x01a")
    wait_subscriptions(pub, 2)
    pub.send(b"a1")  # matches both: inverted, sent to neither
    pub.send(b"b1")  # matches only the empty prefix: sent to the other one
    assert fence.recv() == b"b1"
    assert nothing_more(everything)

    # A SUB of its own that inverts, subscribed to everything, then to more.
    xpub, sub = xpub_to_inverting_sub(ctx, "inproc://invert-empty-sub", b"")
    xpub.send(b"x1")  # matches the empty prefix: inverted, dropped when it is read
    wait_queued(sub, 1)
    assert nothing_more(sub)  # poll() read it, and found nothing wanted
    unsubscribe(sub, b"")
    subscribe(sub, b"y")
    assert [xpub.recv(), xpub.recv()] == [b"\x00", b"\x01y"]
    for msg in (b"y1", b"x2"):
        xpub.send(msg)
    assert sub.recv() == b"x2"


def test_publisher_to_everyone_sees_subscribers_come_and_go(ctx: zmq.Context) -> None:
    """A PUB whose subscribers all take everything sends to the ones it has now: one that
    comes gets what follows, one that leaves is dropped from the sends, and one that trades
    the empty prefix for a longer one gets only what matches that."""
    pub, address = bound(ctx, zmq.PUB, "inproc://everyone")
    subs = []
    for _ in range(3):
        sub = make(ctx, zmq.SUB)
        subscribe(sub, b"")
        sub.connect(address)
        subs.append(sub)
        wait_subscriptions(pub, len(subs))
        pub.send(b"%d" % len(subs))
    first, second, third = subs
    assert [first.recv() for _ in range(3)] == [b"1", b"2", b"3"]
    assert [second.recv() for _ in range(2)] == [b"2", b"3"]
    assert third.recv() == b"3"

    third.close(linger=0)
    wait_peers(pub, 2)
    wait_subscriptions(pub, 2)
    pub.send(b"two left")
    assert (first.recv(), second.recv()) == (b"two left", b"two left")

    subscribe(first, b"t")
    wait_subscriptions(pub, 3)
    unsubscribe(first, b"")
    wait_subscriptions(pub, 2)
    for msg in (b"one more", b"three"):
        pub.send(msg)
    assert first.recv() == b"three"
    assert [second.recv() for _ in range(2)] == [b"one more", b"three"]


def xpub_to_inverting_sub(
    ctx: zmq.Context, address: str, topic: bytes
) -> tuple[zmq.Socket, zmq.Socket]:
    """An XPUB_MANUAL publisher that sends everything to a SUB inverting ``topic``."""
    xpub, endpoint = bound(ctx, zmq.XPUB, address, xpub_manual=1)
    sub = make(ctx, zmq.SUB, invert_matching=1)
    subscribe(sub, topic)
    sub.connect(endpoint)
    assert xpub.recv() == b"\x01" + topic
    xpub.setsockopt(zmq.SUBSCRIBE, b"")
    return xpub, sub


def test_invert_matching_subscriber_only(ctx: zmq.Context) -> None:
    """A SUB that inverts, under an XPUB_MANUAL publisher that sends it everything."""
    xpub, sub = xpub_to_inverting_sub(ctx, "inproc://invert-sub", b"a")
    for msg in (b"a1", b"b1", b"ab", b"c1"):
        xpub.send(msg)
    assert [sub.recv() for _ in range(2)] == [b"b1", b"c1"]
    assert nothing_more(sub)


# -- XPUB ---------------------------------------------------------------------------------------


def xpub_with_subs(
    ctx: zmq.Context, address: str, n: int, **xpub_options: int
) -> tuple[zmq.Socket, list[zmq.Socket]]:
    xpub, endpoint = bound(ctx, zmq.XPUB, address, **xpub_options)
    subs = [make(ctx, zmq.SUB) for _ in range(n)]
    for sub in subs:
        sub.connect(endpoint)
    wait_peers(xpub, n)
    return xpub, subs


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_xpub_receives_first_subscription_only(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    xpub, (s1, s2) = xpub_with_subs(ctx, endpoints(transport), 2)
    subscribe(s1, b"a")
    assert xpub.recv() == b"\x01a"
    subscribe(s2, b"a")  # the same topic again: not news
    subscribe(s2, b"b")
    assert xpub.recv() == b"\x01b"
    unsubscribe(s1, b"a")  # s2 still wants "a": not news either
    unsubscribe(s2, b"b")
    assert xpub.recv() == b"\x00b"
    unsubscribe(s2, b"a")  # the last one
    assert xpub.recv() == b"\x00a"
    assert nothing_more(xpub, 50)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_xpub_verbose_passes_every_subscription(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    xpub, (s1, s2) = xpub_with_subs(ctx, endpoints(transport), 2, xpub_verbose=1)
    subscribe(s1, b"a")
    assert xpub.recv() == b"\x01a"
    subscribe(s2, b"a")
    assert xpub.recv() == b"\x01a"
    unsubscribe(s1, b"a")  # XPUB_VERBOSE is about subscriptions: this cancel is not news
    unsubscribe(s2, b"a")
    assert xpub.recv() == b"\x00a"
    assert nothing_more(xpub, 50)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_xpub_verboser_passes_every_unsubscription(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """XPUB_VERBOSER alone passes every subscribe and every unsubscribe (libzmq: it implies
    XPUB_VERBOSE)."""
    xpub, (s1, s2) = xpub_with_subs(ctx, endpoints(transport), 2, xpub_verboser=1)
    subscribe(s1, b"a")
    assert xpub.recv() == b"\x01a"
    subscribe(s2, b"a")
    assert xpub.recv() == b"\x01a"
    unsubscribe(s1, b"a")
    assert xpub.recv() == b"\x00a"
    unsubscribe(s2, b"a")
    assert xpub.recv() == b"\x00a"
    assert nothing_more(xpub, 50)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_xpub_manual(ctx: zmq.Context, endpoints: Endpoints, transport: str) -> None:
    """XPUB_MANUAL: every (un)subscription is passed up and none is applied; the application
    subscribes the peer of the last one it received, to whatever it likes."""
    xpub, (s1, s2) = xpub_with_subs(ctx, endpoints(transport), 2, xpub_manual=1)
    subscribe(s1, b"a")
    subscribe(s1, b"a")
    assert [xpub.recv(), xpub.recv()] == [b"\x01a", b"\x01a"]  # not normalised
    xpub.setsockopt(zmq.SUBSCRIBE, b"")  # s1 gets everything the SUB itself accepts
    subscribe(s2, b"b")
    assert xpub.recv() == b"\x01b"
    xpub.setsockopt(zmq.SUBSCRIBE, b"b")
    for msg in (b"a1", b"b1"):
        xpub.send(msg)
    assert s1.recv() == b"a1"  # its own filter drops b1
    assert s2.recv() == b"b1"
    unsubscribe(s2, b"b")
    assert xpub.recv() == b"\x00b"
    xpub.setsockopt(zmq.UNSUBSCRIBE, b"b")
    xpub.send(b"b2")
    xpub.send(b"a2")
    assert s1.recv() == b"a2"
    assert nothing_more(s2, 50)


def test_xpub_subscribe_needs_manual(ctx: zmq.Context) -> None:
    xpub = make(ctx, zmq.XPUB)
    expect_errno(zmq.EINVAL, xpub.setsockopt, zmq.SUBSCRIBE, b"x")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_xpub_welcome_message(ctx: zmq.Context, endpoints: Endpoints, transport: str) -> None:
    xpub, address = bound(ctx, zmq.XPUB, endpoints(transport), xpub_welcome_msg=b"W-hello")
    sub = make(ctx, zmq.SUB)
    subscribe(sub, b"W")
    sub.connect(address)
    assert xpub.recv() == b"\x01W"
    assert sub.recv() == b"W-hello"
    other = make(ctx, zmq.SUB)  # each new subscriber is welcomed
    subscribe(other, b"W")
    other.connect(address)
    # The XPUB takes the new peer in (and greets it) at its next call, in its own thread.
    assert wait_for(lambda: xpub.poll(0) == 0 and other.poll(10))
    assert other.recv() == b"W-hello"
    assert nothing_more(sub, 50)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_xpub_nodrop_says_eagain_instead_of_dropping(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    xpub, address = bound(
        ctx, zmq.XPUB, endpoints(transport), xpub_nodrop=1, sndhwm=1, sndtimeo=100
    )
    sub = make(ctx, zmq.SUB, rcvhwm=1)
    subscribe(sub, b"")
    sub.connect(address)
    assert xpub.recv() == b"\x01"
    chunk = b"x" * 65536
    sent = 0
    with pytest.raises(zmq.Again):
        for sent in range(5000):
            xpub.send(b"%d " % sent + chunk)  # blocks, then times out, once nobody reads
    assert sent < 4999
    expect_errno(zmq.EAGAIN, xpub.send, b"x", zmq.DONTWAIT)
    got = [sub.recv() for _ in range(sent)]  # every accepted message arrives, in order
    assert [msg.split(b" ")[0] for msg in got] == [b"%d" % i for i in range(sent)]
    xpub.send(b"after", zmq.DONTWAIT)
    assert sub.recv() == b"after"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_xpub_gets_unsubscriptions_when_a_subscriber_leaves(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    xpub, (leaving, staying) = xpub_with_subs(ctx, endpoints(transport), 2)
    subscribe(leaving, b"mine", b"shared")
    subscribe(staying, b"shared")
    assert sorted([xpub.recv(), xpub.recv()]) == [b"\x01mine", b"\x01shared"]
    wait_subscriptions(xpub, 3)
    leaving.close()
    assert xpub.recv() == b"\x00mine"  # "shared" is still wanted by the other one
    assert nothing_more(xpub, 50)
    xpub.send(b"shared news")
    assert staying.recv() == b"shared news"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_xpub_verboser_unsubscribes_everything_of_a_leaving_subscriber(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    xpub, (leaving, staying) = xpub_with_subs(ctx, endpoints(transport), 2, xpub_verboser=1)
    subscribe(leaving, b"mine", b"shared")
    subscribe(staying, b"shared")
    wait_subscriptions(xpub, 3)
    assert sorted(xpub.recv() for _ in range(3)) == [b"\x01mine", b"\x01shared", b"\x01shared"]
    leaving.close()
    assert sorted([xpub.recv(), xpub.recv()]) == [b"\x00mine", b"\x00shared"]
    assert nothing_more(xpub, 50)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_xpub_manual_unsubscribes_a_leaving_subscriber(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """With XPUB_MANUAL the application must also learn that a subscriber left (RFC 29): it
    gets a cancel for each subscription the peer had sent (libzmq's behaviour)."""
    xpub, (leaving,) = xpub_with_subs(ctx, endpoints(transport), 1, xpub_manual=1)
    subscribe(leaving, b"a", b"b")
    unsubscribe(leaving, b"b")
    assert [xpub.recv() for _ in range(3)] == [b"\x01a", b"\x01b", b"\x00b"]
    xpub.setsockopt(zmq.SUBSCRIBE, b"a")
    leaving.close()
    assert xpub.recv() == b"\x00a"
    assert nothing_more(xpub, 50)


def test_pub_ignores_what_subscribers_send(ctx: zmq.Context) -> None:
    pub, address = bound(ctx, zmq.PUB, "inproc://pub-ignores")
    xsub = make(ctx, zmq.XSUB)
    xsub.connect(address)
    xsub.send(b"\x01")
    for i in range(100):
        xsub.send(b"data %d" % i)  # not subscriptions: dropped by the PUB
    wait_subscriptions(pub, 1)
    pub.send(b"news")
    assert xsub.recv() == b"news"
    assert pub.poll(0) == 0
    expect_errno(zmq.ENOTSUP, pub.recv)


# -- XSUB -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_xsub_sends_subscriptions_and_data_upstream(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    xpub, address = bound(ctx, zmq.XPUB, endpoints(transport))
    xsub = make(ctx, zmq.XSUB)
    xsub.connect(address)
    xsub.send(b"\x01topic")
    assert xpub.recv() == b"\x01topic"
    xsub.send_multipart([b"upstream", b"data"])  # anything else is data for the XPUB
    assert xpub.recv_multipart() == [b"upstream", b"data"]
    xpub.send(b"topic!")
    xpub.send(b"other")
    assert xsub.recv() == b"topic!"
    xsub.send(b"\x00topic")
    assert xpub.recv() == b"\x00topic"


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize("kind", [zmq.SUB, zmq.XSUB])
def test_subscriber_resubscribes_to_a_restarted_publisher(
    ctx: zmq.Context, endpoints: Endpoints, transport: str, kind: int
) -> None:
    """The subscriber keeps its connection's queue across reconnections, and must tell the new
    publisher what it wants again (libzmq: the pipe "hiccups" and XSUB resends)."""
    first, address = bound(ctx, zmq.XPUB, endpoints(transport))
    sub = make(ctx, kind)
    if kind == zmq.SUB:
        subscribe(sub, b"a", b"b")
        unsubscribe(sub, b"b")
    else:
        sub.send(b"\x01a")
        sub.send(b"\x01b")
        sub.send(b"\x00b")
    monitor = sub.get_monitor_socket(zmq.EVENT_DISCONNECTED)
    sub.connect(address)
    assert first.recv() == b"\x01a"  # what it is subscribed to when it connects
    assert nothing_more(first, 20)
    first.close()
    events(monitor, zmq.EVENT_DISCONNECTED)  # the subscriber noticed
    second = make(ctx, zmq.XPUB)
    rebind(second, address)
    # The subscriber learns of the new connection in its own thread (here: while it polls).
    assert wait_for(lambda: sub.poll(0) == 0 and second.poll(10))
    assert second.recv() == b"\x01a"  # only what is still subscribed
    assert nothing_more(second, 50)
    second.send(b"a-again")
    assert sub.recv() == b"a-again"


def test_xsub_sends_to_every_publisher(ctx: zmq.Context) -> None:
    xsub = make(ctx, zmq.XSUB)
    xpubs = []
    for i in range(3):
        xpub, address = bound(ctx, zmq.XPUB, f"inproc://xsub-every-{i}")
        xsub.connect(address)
        xpubs.append(xpub)
    xsub.send(b"\x01t")
    xsub.send(b"to all")
    for xpub in xpubs:
        assert xpub.recv_multipart() == [b"\x01t"]
        assert xpub.recv_multipart() == [b"to all"]


def test_subscribe_before_connect_reaches_later_publishers(ctx: zmq.Context) -> None:
    sub = make(ctx, zmq.SUB)
    subscribe(sub, b"x")
    pubs = []
    for i in range(2):
        pub, address = bound(ctx, zmq.PUB, f"inproc://late-pub-{i}")
        sub.connect(address)
        wait_subscriptions(pub, 1)
        pubs.append(pub)
    for i, pub in enumerate(pubs):
        pub.send(b"x from %d" % i)
    assert sorted([sub.recv(), sub.recv()]) == [b"x from 0", b"x from 1"]


# -- flow -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pub_drops_for_a_slow_subscriber_without_blocking(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    pub, address = bound(ctx, zmq.PUB, endpoints(transport), sndhwm=10)
    slow = make(ctx, zmq.SUB, rcvhwm=10)
    fast = make(ctx, zmq.SUB)
    for sub in (slow, fast):
        subscribe(sub, b"")
        sub.connect(address)
    wait_subscriptions(pub, 2)
    chunk = b"y" * 8192
    total = 2000  # 16 MB: more than the slow one's queues and socket buffers hold
    for i in range(total):
        pub.send(b"%d " % i + chunk, zmq.DONTWAIT)  # never EAGAIN
        assert fast.recv().startswith(b"%d " % i)  # the other subscriber loses nothing
    slow_got = [msg[0].split(b" ")[0] for msg in recv_all(slow, 200)]
    assert 0 < len(slow_got) < total
    numbers = [int(n) for n in slow_got]
    assert numbers == sorted(numbers)  # whole messages dropped, the rest in order
    pub.send(b"later")  # and it gets new messages once it has caught up
    assert b"later" in recv_until(slow, b"later")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_conflate_keeps_only_the_newest(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    pub, address = bound(ctx, zmq.PUB, endpoints(transport))
    sub = make(ctx, zmq.SUB, conflate=1)
    subscribe(sub, b"")
    sub.connect(address)
    wait_subscriptions(pub, 1)
    for i in range(10):
        pub.send(b"state %d" % i)
    wait_queued(sub, 10)
    assert sub.recv() == b"state 9"
    assert nothing_more(sub, 50)
    pub.send(b"state 10")
    assert sub.recv() == b"state 10"


# -- subscription limits ---------------------------------------------------------------------------


def _flood_and_check(
    ctx: zmq.Context, address: str, flood: list[bytes], expected_limit: int, kind: int
) -> None:
    """A subscriber sends ``flood``: the publisher (PUB or XPUB) drops it with a
    LIMIT_EXCEEDED event and goes on serving another subscriber."""
    pub, endpoint = bound(ctx, kind, address)
    monitor = pub.get_monitor_socket(zmq.EVENT_LIMIT_EXCEEDED)
    good = make(ctx, zmq.SUB)
    subscribe(good, b"news")
    good.connect(endpoint)
    wait_subscriptions(pub, 1)
    bad = make(ctx, zmq.SUB, reconnect_ivl=-1)
    bad.connect(endpoint)
    wait_peers(pub, 2)
    subscribe(bad, *flood)

    def publisher_busy() -> bool:
        # A publisher handles subscriptions in its own thread, at its calls; an XPUB
        # application reads what it is told (one that does not slows its subscribers down).
        while pub.poll(0):
            pub.recv()
        return bool(monitor.poll(0))

    assert wait_for(publisher_busy, timeout=20)
    event, value = events(monitor, zmq.EVENT_LIMIT_EXCEEDED)
    assert (event, value) == (zmq.EVENT_LIMIT_EXCEEDED, expected_limit)
    assert wait_for(lambda: peers(bad) == 0 and peers(pub) == 1)  # disconnected
    # What the flooder managed to subscribe is forgotten; the good subscriber keeps working.
    assert wait_for(lambda: subscriptions(pub) == 1)
    pub.send(b"news!")
    assert good.recv() == b"news!"
    subscribe(good, b"more")
    wait_subscriptions(pub, 2)
    if kind == zmq.XPUB:
        assert [b"\x01more"] in recv_all(pub, 100)


@pytest.mark.parametrize("kind", [zmq.PUB, zmq.XPUB])
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_too_many_subscriptions_disconnects_the_subscriber(
    ctx: zmq.Context,
    endpoints: Endpoints,
    transport: str,
    kind: int,
) -> None:
    ctx.policy = ctx.policy.relax(max_subscriptions=50)  # the caps are policy fields
    flood = [b"t%d" % i for i in range(51)]
    _flood_and_check(ctx, endpoints(transport), flood, pubsub.LIMIT_SUBSCRIPTIONS, kind)


@pytest.mark.parametrize("kind", [zmq.PUB, zmq.XPUB])
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_too_many_subscription_bytes_disconnects_the_subscriber(
    ctx: zmq.Context,
    endpoints: Endpoints,
    transport: str,
    kind: int,
) -> None:
    ctx.policy = ctx.policy.relax(max_subscription_bytes=1000)
    flood = [b"%03d" % i + b"z" * 97 for i in range(11)]  # 11 x 100 bytes
    _flood_and_check(ctx, endpoints(transport), flood, pubsub.LIMIT_SUBSCRIPTION_BYTES, kind)


def test_real_subscription_count_limit(ctx: zmq.Context) -> None:
    """The shipped limit, not a patched one: one subscription more than MAX_SUBSCRIPTIONS."""
    flood = [b"%d" % i for i in range(pubsub.MAX_SUBSCRIPTIONS + 1)]
    _flood_and_check(ctx, "tcp://127.0.0.1:*", flood, pubsub.LIMIT_SUBSCRIPTIONS, zmq.PUB)


def test_real_subscription_bytes_limit(ctx: zmq.Context) -> None:
    flood = [
        b"a" * (pubsub.MAX_SUBSCRIPTION_BYTES // 2),
        b"b" * (pubsub.MAX_SUBSCRIPTION_BYTES // 2),
    ]
    flood.append(b"c")  # one byte too many
    _flood_and_check(ctx, "tcp://127.0.0.1:*", flood, pubsub.LIMIT_SUBSCRIPTION_BYTES, zmq.PUB)


def test_xpub_holds_at_most_rcvhwm_unread_messages_per_peer(ctx: zmq.Context) -> None:
    """What a peer sends an XPUB (subscriptions to report, or data from an XSUB) waits for
    the application within RCVHWM: past that the peer's pipe fills (an XSUB then drops what
    it sends), instead of the XPUB holding it all.  Another peer is served in between."""
    xpub, address = bound(ctx, zmq.XPUB, "inproc://xpub-bounded", rcvhwm=10)
    chatty = make(ctx, zmq.XSUB, sndhwm=10)
    chatty.connect(address)
    quiet = make(ctx, zmq.XSUB)
    quiet.connect(address)
    wait_peers(xpub, 2)
    for i in range(1000):
        chatty.send(b"%d" % i, zmq.DONTWAIT)
        xpub.poll(0)  # the XPUB reads what it can, the application does not
    assert max(len(p.state.pending) for p in xpub._pipes) == 10
    quiet.send(b"quiet one")
    got = [xpub.recv() for _ in range(2)]
    assert b"quiet one" in got  # not behind the chatty peer's backlog
    rest = [m[0] for m in recv_all(xpub, 50)]
    numbers = [int(m) for m in got + rest if m != b"quiet one"]
    assert 10 <= len(numbers) <= 30  # RCVHWM here + the pipe's SNDHWM + RCVHWM
    assert numbers == sorted(numbers) and numbers[:10] == list(range(10))


def test_huge_topic_subscribe_and_cancel_is_cheap(ctx: zmq.Context) -> None:
    """An 8,000,000-octet topic (CVE-2021-20236: libzmq's trie recursed once per octet): it
    is stored as one edge, matched and cancelled in bounded memory and time."""
    topic = b"T" + bytes(range(256)) * 31250
    topic = topic[:8_000_000]
    pub, address = bound(ctx, zmq.XPUB, "tcp://127.0.0.1:*")
    sub = make(ctx, zmq.SUB)
    sub.connect(address)
    wait_peers(pub, 1)
    tracemalloc.start()
    try:
        started = time.monotonic()
        subscribe(sub, topic)
        assert pub.recv() == b"\x01" + topic
        pub.send(topic + b"!")  # matches
        pub.send(topic[:-1])  # one octet short: does not
        pub.send(b"T")
        assert sub.recv() == topic + b"!"
        unsubscribe(sub, topic)
        assert pub.recv() == b"\x00" + topic
        assert subscriptions(pub) == 0
        pub.send(topic + b"?")
        assert nothing_more(sub, 100)
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # A handful of copies of the topic in flight, not one node per octet (gigabytes).
    assert peak < 30 * len(topic), peak
    assert elapsed < 20, elapsed  # generous: seconds, not the minutes of a per-octet walk


def test_subscription_bomb_in_one_burst(ctx: zmq.Context) -> None:
    """Far more subscriptions than allowed, all queued before the publisher looks: it drops
    the peer once (one event), ignores the rest of the burst without recursing per message,
    and does not keep the dropped peer's pipe."""
    ctx.policy = ctx.policy.relax(max_subscriptions=5)
    pub, address = bound(ctx, zmq.XPUB, "inproc://bomb")
    monitor = pub.get_monitor_socket(zmq.EVENT_LIMIT_EXCEEDED)
    bad = make(ctx, zmq.SUB)
    bad.connect(address)
    subscribe(bad, *(b"%d" % i for i in range(1900)))  # queued in the pipe, not yet read
    good = make(ctx, zmq.SUB)
    subscribe(good, b"news")
    good.connect(address)
    got = recv_all(pub, 50)  # the publisher takes both peers in and reads the burst
    assert [b"\x01news"] in got
    assert events(monitor, zmq.EVENT_LIMIT_EXCEEDED)[0] == zmq.EVENT_LIMIT_EXCEEDED
    assert nothing_more(monitor, 50)  # once
    assert peers(pub) == 1 and subscriptions(pub) == 1
    assert wait_for(lambda: peers(bad) == 0)
    pub.send(b"news!")
    assert good.recv() == b"news!"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_sub_poll_ignores_messages_it_will_filter(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """POLLIN on a SUB means recv() has a message: not merely that one arrived which the
    SUB's own filter then drops (here sent by an XPUB_MANUAL that subscribed it to all)."""
    xpub, address = bound(ctx, zmq.XPUB, endpoints(transport), xpub_manual=1)
    sub = make(ctx, zmq.SUB)
    subscribe(sub, b"a")
    sub.connect(address)
    assert xpub.recv() == b"\x01a"
    xpub.setsockopt(zmq.SUBSCRIBE, b"")
    xpub.send(b"b1")
    xpub.send(b"b2")
    wait_queued(sub, 2)
    assert sub.poll(0) == 0
    expect_errno(zmq.EAGAIN, sub.recv, zmq.DONTWAIT)
    xpub.send(b"a1")
    assert sub.poll(TIMEOUT_MS) == zmq.POLLIN
    assert sub.recv(zmq.DONTWAIT) == b"a1"
