"""Conformance with the pattern RFCs, one test per requirement (after libzmq's test_spec_*).

Each test quotes the statements of RFC 28/REQREP, 29/PUBSUB, 30/PIPELINE or 31/EXPAIR it
checks (the ZeroMQ RFCs at https://rfc.zeromq.org).  Statements not tested here, and why:

* "SHOULD constrain queue sizes to a runtime-configurable limit" (every socket type) is a
  SHOULD; the HWM tests in the per-pattern files cover it.
* "If this peer disconnects, the (PULL, SUB, XSUB, DEALER, ROUTER, PAIR) socket SHALL destroy
  its (double) queue and SHALL discard any messages it contains": the queue is destroyed and
  what was queued *for* the peer is discarded (tested), but what had already arrived *from* it
  is still delivered — deliberately, as libzmq does (whose own test_spec_* for this are
  disabled): it was received, and losing it would depend on timing the application cannot
  see.  test_receiver_queue_of_a_connecting_peer pins that choice down.
* XSUB "When closing a connection to a publisher SHOULD send unsubscribe requests" is a SHOULD;
  the publisher forgets a departed subscriber's subscriptions either way (tested).
"""

from __future__ import annotations

from itertools import pairwise

import pytest

import safezmq as zmq

from .helpers import (
    TIMEOUT_MS,
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

#: The RFC tests run on a stream transport and on inproc (their code paths differ most).
TRANSPORTS = ["tcp", "inproc"]

#: Frames an application might send that a socket could be tempted to interpret.
ODD_FRAMES = [b"", b"\x00", b"\x01topic", b"\x00" * 3, bytes(range(256)), b""]


def fixed_address(ctx: zmq.Context, endpoints: Endpoints, transport: str) -> str:
    """A connectable address nobody is bound to yet (for connect-before-bind)."""
    address = endpoints(transport)
    if transport == "tcp":  # reserve a port, then free it
        probe = make(ctx, zmq.PAIR)
        probe.bind(address)
        address = probe.getsockopt_string(zmq.LAST_ENDPOINT)
        probe.close()
    return address


def fill(sock: zmq.Socket, prefix: bytes = b"m", limit: int = 5000) -> int:
    """Send until a send blocks for the socket's whole SNDTIMEO (so the queue is full for
    good, not for a moment); how many it took.  Bounded: tcp buffers hold a few MB at most."""
    assert sock.getsockopt(zmq.SNDTIMEO) <= 200, "a long SNDTIMEO would make this slow"
    for sent in range(limit):
        try:
            sock.send(prefix + b"%d " % sent + b"." * 65536)
        except zmq.Again:
            return sent
    raise AssertionError("the socket never pushed back")


def first_readable(socks: list[zmq.Socket]) -> int:
    """The index of a socket of ``socks`` that has a message (waiting up to TIMEOUT_MS)."""
    poller = zmq.Poller()
    for sock in socks:
        poller.register(sock, zmq.POLLIN)
    ready = dict(poller.poll(TIMEOUT_MS))
    assert ready, "no message anywhere"
    return next(n for n, sock in enumerate(socks) if sock in ready)


def numbers(messages: list[bytes]) -> list[int]:
    return [int(m.split(b" ")[0].lstrip(b"mn")) for m in messages]


# ===========================================================================================
# RFC 28/REQREP — REQ
# ===========================================================================================


def test_req_send_then_receive_exactly_one_message_at_a_time(ctx: zmq.Context) -> None:
    """REQ: "SHALL send and then receive exactly one message at a time." """
    rep, address = bound(ctx, zmq.REP, "inproc://rfc28-req-lockstep")
    req = make(ctx, zmq.REQ)
    req.connect(address)
    expect_errno(zmq.EFSM, req.recv)
    req.send(b"1")
    expect_errno(zmq.EFSM, req.send, b"2")
    assert rep.recv() == b"1"
    rep.send(b"r1")
    assert req.recv() == b"r1"
    expect_errno(zmq.EFSM, req.recv)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_req_message_format(ctx: zmq.Context, endpoints: Endpoints, transport: str) -> None:
    """REQ: "The request and reply messages SHALL have this format on the wire: A delimiter,
    consisting of an empty frame, added by the REQ socket. One or more data frames, comprising
    the message visible to the application."  "SHALL prefix the outgoing message with an empty
    delimiter frame." """
    req, address = bound(ctx, zmq.REQ, endpoints(transport))
    router = make(ctx, zmq.ROUTER)
    router.connect(address)
    req.send_multipart([b"ABC", b"DEF"])
    rid, *rest = router.recv_multipart()
    assert rid and rest == [b"", b"ABC", b"DEF"]
    router.send_multipart([rid, b"", b"GHI"])
    assert req.recv_multipart() == [b"GHI"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_req_round_robin(ctx: zmq.Context, endpoints: Endpoints, transport: str) -> None:
    """REQ: "SHALL route outgoing messages to connected peers using a round-robin strategy." """
    req = make(ctx, zmq.REQ)
    reps = []
    for _ in range(3):
        rep, address = bound(ctx, zmq.REP, endpoints(transport))
        req.connect(address)
        reps.append(rep)
    for _ in range(2):
        for n, rep in enumerate(reps):
            req.send(b"to %d" % n)
            assert rep.recv() == b"to %d" % n
            rep.send(b"from %d" % n)
            assert req.recv() == b"from %d" % n


def test_req_blocks_or_errors_without_peers(ctx: zmq.Context) -> None:
    """REQ: "SHALL block on sending, or return a suitable error, when it has no connected
    peers." """
    req = make(ctx, zmq.REQ, sndtimeo=100)
    expect_errno(zmq.EAGAIN, req.send, b"x", zmq.DONTWAIT)
    expect_errno(zmq.EAGAIN, req.send, b"x")  # blocked for SNDTIMEO
    rep, address = bound(ctx, zmq.REP, "inproc://rfc28-req-no-peer")
    req.connect(address)
    req.send(b"now")  # the refused sends did not count as requests
    assert rep.recv() == b"now"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_req_does_not_discard_messages_it_cannot_send_yet(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """REQ: "SHALL NOT discard messages that it cannot send to a connected peer." (The peer's
    queue exists from connect(); the request waits in it until the peer is there.)"""
    address = fixed_address(ctx, endpoints, transport)
    req = make(ctx, zmq.REQ)
    req.connect(address)
    req.send(b"early request")
    rep, _ = bound(ctx, zmq.REP, address)
    assert rep.recv() == b"early request"
    rep.send(b"late reply")
    assert req.recv() == b"late reply"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_req_accepts_only_the_last_peer_it_sent_to(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """REQ: "SHALL accept an incoming message only from the last peer that it sent a request
    to."  "SHALL discard silently any messages received from other peers." """
    req, address = bound(ctx, zmq.REQ, endpoints(transport), routing_id=b"R")
    routers = [make(ctx, zmq.ROUTER) for _ in range(3)]
    for router in routers:
        router.connect(address)
    wait_peers(req, 3)
    req.send(b"question")
    asked = next(r for r in routers if r.poll(TIMEOUT_MS))
    assert asked.recv_multipart() == [b"R", b"", b"question"]
    for other in routers:
        if other is not asked:
            other.send_multipart([b"R", b"", b"not asked"])
    wait_queued(req, 2)
    asked.send_multipart([b"R", b"", b"answer"])
    assert req.recv() == b"answer"


# ===========================================================================================
# RFC 28/REQREP — REP
# ===========================================================================================


def test_rep_receive_then_send_exactly_one_message_at_a_time(ctx: zmq.Context) -> None:
    """REP: "SHALL receive and then send exactly one message at a time." """
    rep, address = bound(ctx, zmq.REP, "inproc://rfc28-rep-lockstep")
    req = make(ctx, zmq.REQ)
    req.connect(address)
    expect_errno(zmq.EFSM, rep.send, b"x")
    req.send(b"q")
    assert rep.recv() == b"q"
    expect_errno(zmq.EFSM, rep.recv)
    rep.send(b"a")
    expect_errno(zmq.EFSM, rep.send, b"b")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_rep_fair_queues(ctx: zmq.Context, endpoints: Endpoints, transport: str) -> None:
    """REP: "SHALL receive incoming messages from its peers using a fair-queuing strategy." """
    rep, address = bound(ctx, zmq.REP, endpoints(transport))
    dealers = [make(ctx, zmq.DEALER) for _ in range(3)]
    for n, dealer in enumerate(dealers):
        dealer.connect(address)
        for i in range(4):
            dealer.send_multipart([b"", b"%d-%d" % (n, i)])
    wait_queued(rep, 12)
    order = []
    for _ in range(12):
        request = rep.recv()
        order.append(request)
        rep.send(b"ok")
    for k in range(0, 12, 3):  # one from each peer per round
        assert sorted(r[:1] for r in order[k : k + 3]) == [b"0", b"1", b"2"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_rep_envelope(ctx: zmq.Context, endpoints: Endpoints, transport: str) -> None:
    """REP: "The request and reply messages SHALL have this format on the wire: An address
    envelope consisting of zero or more frames, each containing one identity. A delimiter,
    consisting of an empty frame. One or more data frames."  "SHALL remove and store the address
    envelope, including the delimiter."  "SHALL pass the remaining data frames to its calling
    application."  "SHALL wait for a single reply message from its calling application."  "SHALL
    prepend the address envelope and delimiter."  "SHALL deliver this message back to the
    originating peer."  "SHALL not filter or modify outgoing or incoming messages in any way." """
    rep, address = bound(ctx, zmq.REP, endpoints(transport))
    first, second = make(ctx, zmq.DEALER), make(ctx, zmq.DEALER)
    for dealer in (first, second):
        dealer.connect(address)
    first.send_multipart([b"id-a", b"id-b", b"", *ODD_FRAMES])
    second.send_multipart([b"", b"second"])  # an empty envelope
    # The two connections are fair-queued: either request may come first.
    replies = {tuple(ODD_FRAMES): [b"reply", *ODD_FRAMES], (b"second",): [b"to second"]}
    for _ in range(2):
        request = tuple(rep.recv_multipart())
        assert request in replies, request
        rep.send_multipart(replies.pop(request))
    assert first.recv_multipart() == [b"id-a", b"id-b", b"", b"reply", *ODD_FRAMES]
    assert second.recv_multipart() == [b"", b"to second"]
    assert nothing_more(first, 20)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_rep_discards_the_reply_to_a_gone_peer(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """REP: "SHALL silently discard the reply, or return an error, if the originating peer is
    no longer connected." """
    rep, address = bound(ctx, zmq.REP, endpoints(transport))
    leaving = make(ctx, zmq.REQ)
    leaving.connect(address)
    leaving.send(b"ask and leave")
    assert rep.recv() == b"ask and leave"
    leaving.close()
    assert wait_for(lambda: peers(rep) == 0)
    rep.send(b"nobody to hear this")  # no error, no block
    staying = make(ctx, zmq.REQ)
    staying.connect(address)
    staying.send(b"next")
    assert rep.recv() == b"next"  # the REP moved on
    rep.send(b"answer")
    assert staying.recv() == b"answer"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_rep_does_not_block_on_sending(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """REP: "SHALL not block on sending." (A requester that does not read its replies.)"""
    rep, address = bound(ctx, zmq.REP, endpoints(transport), sndhwm=1, sndtimeo=TIMEOUT_MS)
    dealer = make(ctx, zmq.DEALER, rcvhwm=1)
    dealer.connect(address)
    big = b"r" * 65536
    for i in range(200):  # 13 MB of replies nobody reads: more than any buffer holds
        dealer.send_multipart([b"", b"%d" % i])
        assert rep.recv() == b"%d" % i
        rep.send(big)  # never blocks (it would time out, EAGAIN): dropped without room
    dealer.send_multipart([b"", b"still served"])
    assert rep.recv() == b"still served"


# ===========================================================================================
# RFC 28/REQREP — DEALER
# ===========================================================================================


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_dealer_round_robin_to_available_peers(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """DEALER: "SHALL route outgoing messages to available peers using a round-robin
    strategy." """
    dealer = make(ctx, zmq.DEALER)
    peers_ = []
    for _ in range(3):
        rep, address = bound(ctx, zmq.REP, endpoints(transport))
        dealer.connect(address)
        peers_.append(rep)
    for i in range(6):
        dealer.send_multipart([b"", b"%d" % i])
    for n, rep in enumerate(peers_):
        for i in (n, n + 3):
            assert rep.recv() == b"%d" % i
            rep.send(b"ok")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_dealer_fair_queues(ctx: zmq.Context, endpoints: Endpoints, transport: str) -> None:
    """DEALER: "SHALL receive incoming messages from its peers using a fair-queuing
    strategy."  "SHALL deliver these to its calling application." """
    dealer, address = bound(ctx, zmq.DEALER, endpoints(transport))
    senders = [make(ctx, zmq.DEALER) for _ in range(2)]
    for n, sender in enumerate(senders):
        sender.connect(address)
        for _ in range(5):
            sender.send(b"%d" % n)
    wait_queued(dealer, 10)
    got = [dealer.recv() for _ in range(10)]
    assert got == [b"0", b"1"] * 5 or got == [b"1", b"0"] * 5


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_dealer_router_double_queues(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """DEALER and ROUTER: "SHALL maintain a double queue for each connected peer, allowing
    outgoing and incoming messages to be queued independently." """
    router, address = bound(ctx, zmq.ROUTER, endpoints(transport))
    dealer = make(ctx, zmq.DEALER, routing_id=b"D")
    dealer.connect(address)
    dealer.send(b"hello")
    assert router.recv_multipart() == [b"D", b"hello"]
    for i in range(20):  # both directions fill up before either side reads
        router.send_multipart([b"D", b"down %d" % i])
        dealer.send(b"up %d" % i)
    assert [dealer.recv() for _ in range(20)] == [b"down %d" % i for i in range(20)]
    assert [router.recv_multipart() for _ in range(20)] == [[b"D", b"up %d" % i] for i in range(20)]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_dealer_does_not_filter_or_modify(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """DEALER: "SHALL not filter or modify outgoing or incoming messages in any way." """
    a, address = bound(ctx, zmq.DEALER, endpoints(transport))
    b = make(ctx, zmq.DEALER)
    b.connect(address)
    b.send_multipart(ODD_FRAMES)
    assert a.recv_multipart() == ODD_FRAMES
    a.send_multipart(ODD_FRAMES[::-1])
    assert b.recv_multipart() == ODD_FRAMES[::-1]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_dealer_keeps_the_queue_of_an_outgoing_connection(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """DEALER: "SHALL create a double queue when initiating an outgoing connection to a peer,
    and SHALL maintain the double queue whether or not the connection is established." """
    address = fixed_address(ctx, endpoints, transport)
    dealer = make(ctx, zmq.DEALER)
    dealer.connect(address)
    dealer.send(b"before the peer exists")
    peer, _ = bound(ctx, zmq.DEALER, address)
    assert peer.recv() == b"before the peer exists"
    if transport == "inproc":
        return  # inproc has no connection to lose
    monitor = dealer.get_monitor_socket(zmq.EVENT_DISCONNECTED)
    peer.close()
    events(monitor, zmq.EVENT_DISCONNECTED)
    dealer.send(b"while the peer is away")
    peer = make(ctx, zmq.DEALER)
    rebind(peer, address)
    assert peer.recv() == b"while the peer is away"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_dealer_discards_the_queue_of_a_peer_that_left(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """DEALER: "SHALL create a double queue when a peer connects to it. If this peer
    disconnects, the DEALER socket SHALL destroy its double queue and SHALL discard any
    messages it contains." (Outgoing: nothing queued for the departed peer goes elsewhere.)"""
    dealer, address = bound(ctx, zmq.DEALER, endpoints(transport), sndhwm=5, sndtimeo=100)
    leaving = make(ctx, zmq.DEALER, rcvhwm=5)
    leaving.connect(address)
    wait_peers(dealer, 1)
    queued_for_leaving = fill(dealer, b"m")
    assert queued_for_leaving > 0
    leaving.close()
    assert wait_for(lambda: peers(dealer) == 0)
    newcomer = make(ctx, zmq.DEALER)
    newcomer.connect(address)
    wait_peers(dealer, 1)
    dealer.send(b"n0 fresh")
    assert newcomer.recv() == b"n0 fresh"  # not one of the old ones
    assert nothing_more(newcomer, 50)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_dealer_availability_blocking_and_no_discard(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """DEALER: "SHALL consider a peer as available only when it has a outgoing queue that is
    not full."  "SHALL block on sending, or return a suitable error, when it has no available
    peers."  "SHALL not accept further messages when it has no available peers."  "SHALL NOT
    discard messages that it cannot queue." """
    dealer = make(ctx, zmq.DEALER, sndhwm=2, sndtimeo=100)
    slow, slow_address = bound(ctx, zmq.DEALER, endpoints(transport), rcvhwm=2)
    dealer.connect(slow_address)
    wait_peers(slow, 1)
    accepted = fill(dealer, b"m")
    expect_errno(zmq.EAGAIN, dealer.send, b"x")  # blocks for SNDTIMEO, then says so
    assert dealer.poll(0, zmq.POLLOUT) == 0
    fast, fast_address = bound(ctx, zmq.DEALER, endpoints(transport))
    dealer.connect(fast_address)
    for i in range(20):  # the slow peer is not available: everything goes to the other
        dealer.send(b"n%d " % i)
    assert numbers([fast.recv() for _ in range(20)]) == list(range(20))
    got = [slow.recv() for _ in range(accepted)]
    assert numbers(got) == list(range(accepted))  # all that was accepted, nothing more
    assert nothing_more(slow, 50)


def test_dealer_blocks_without_peers(ctx: zmq.Context) -> None:
    """DEALER: "SHALL block on sending, or return a suitable error, when it has no available
    peers." (none at all)"""
    dealer = make(ctx, zmq.DEALER, sndtimeo=100)
    expect_errno(zmq.EAGAIN, dealer.send, b"x", zmq.DONTWAIT)
    expect_errno(zmq.EAGAIN, dealer.send, b"x")


# ===========================================================================================
# RFC 28/REQREP — ROUTER
# ===========================================================================================


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_router_identities(ctx: zmq.Context, endpoints: Endpoints, transport: str) -> None:
    """ROUTER: "SHALL identify each double queue using a unique "identity" binary string."
    "SHOULD allow the peer to specify its identity explicitly through the Identity metadata
    property." """
    router, address = bound(ctx, zmq.ROUTER, endpoints(transport))
    named = make(ctx, zmq.DEALER, routing_id=b"\xffnamed\x00")
    anonymous = [make(ctx, zmq.DEALER) for _ in range(2)]
    for dealer in (named, *anonymous):
        dealer.connect(address)
        dealer.send(b"hello")
    ids = {router.recv_multipart()[0] for _ in range(3)}
    assert len(ids) == 3 and b"\xffnamed\x00" in ids


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_router_fair_queues_and_prefixes_the_identity(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """ROUTER: "SHALL receive incoming messages from its peers using a fair-queuing strategy."
    "SHALL prefix each incoming message with a frame containing the identity of the
    originating double queue."  "SHALL deliver the resulting messages to its calling
    application." """
    router, address = bound(ctx, zmq.ROUTER, endpoints(transport))
    for name in (b"A", b"B"):
        dealer = make(ctx, zmq.DEALER, routing_id=name)
        dealer.connect(address)
        for i in range(5):
            dealer.send_multipart([name.lower(), b"%d" % i])
    wait_queued(router, 10)
    got = [router.recv_multipart() for _ in range(10)]
    assert all(msg[1] == msg[0].lower() for msg in got)  # each under its own identity
    ids = [msg[0] for msg in got]
    assert all(x != y for x, y in pairwise(ids))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_router_routes_by_the_first_frame(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """ROUTER: "SHALL remove the first frame from each outgoing message and use this as the
    identity of a double queue."  "SHALL route the message to the outgoing queue if that queue
    exists, and has space." """
    router, address = bound(ctx, zmq.ROUTER, endpoints(transport))
    dealers = {}
    for name in (b"A", b"B", b"C"):
        dealers[name] = make(ctx, zmq.DEALER, routing_id=name)
        dealers[name].connect(address)
        dealers[name].send(b"hi")
    for _ in dealers:
        router.recv_multipart()
    for name in (b"C", b"A", b"B", b"A"):
        router.send_multipart([name, b"for " + name, *ODD_FRAMES])
    for name, dealer in dealers.items():
        count = 2 if name == b"A" else 1
        for _ in range(count):
            assert dealer.recv_multipart() == [b"for " + name, *ODD_FRAMES]
        assert nothing_more(dealer, 20)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("mandatory", [0, 1])
def test_router_drops_or_errors_when_it_cannot_route(
    ctx: zmq.Context, endpoints: Endpoints, transport: str, mandatory: int
) -> None:
    """ROUTER: "SHALL either silently drop the message, or return an error, depending on
    configuration, if the queue does not exist, or is full."  "SHALL NOT block on sending."
    (Without ROUTER_MANDATORY: dropped, never blocking; with it: EHOSTUNREACH / EAGAIN.)"""
    router, address = bound(
        ctx, zmq.ROUTER, endpoints(transport), router_mandatory=mandatory, sndhwm=2
    )
    dealer = make(ctx, zmq.DEALER, routing_id=b"slow", rcvhwm=2)
    dealer.connect(address)
    dealer.send(b"hi")
    router.recv_multipart()
    if mandatory:
        expect_errno(zmq.EHOSTUNREACH, router.send_multipart, [b"nobody", b"x"])
    else:
        router.send_multipart([b"nobody", b"x"])  # dropped without a word
    chunk = b"c" * 65536
    delivered = 0
    for i in range(600):  # 38 MB to a peer that does not read
        try:
            router.send_multipart([b"slow", b"%d" % i, chunk], zmq.DONTWAIT)
            delivered += 1
        except zmq.Again:
            assert mandatory  # only ROUTER_MANDATORY says EAGAIN on a full queue
            break
    else:
        assert not mandatory
    if mandatory:  # nothing accepted was lost
        assert [dealer.recv_multipart()[0] for _ in range(delivered)] == [
            b"%d" % i for i in range(delivered)
        ]
        assert nothing_more(dealer, 50)
    else:
        got = [m[0] for m in recv_all(dealer, 200)]
        assert 0 < len(got) < 600  # the rest was dropped


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_router_keeps_the_queue_of_an_outgoing_connection(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """ROUTER: "SHALL create a double queue when initiating an outgoing connection to a peer,
    and SHALL maintain the double queue whether or not the connection is established." """
    address = fixed_address(ctx, endpoints, transport)
    router = make(ctx, zmq.ROUTER, router_mandatory=1)
    router.setsockopt(zmq.CONNECT_ROUTING_ID, b"peer")
    router.connect(address)
    router.send_multipart([b"peer", b"before the peer exists"])  # the queue is there
    peer, _ = bound(ctx, zmq.DEALER, address)
    assert peer.recv() == b"before the peer exists"
    if transport == "inproc":
        return
    monitor = router.get_monitor_socket(zmq.EVENT_DISCONNECTED)
    peer.close()
    events(monitor, zmq.EVENT_DISCONNECTED)
    router.send_multipart([b"peer", b"while it is away"])  # still addressable
    peer = make(ctx, zmq.DEALER)
    rebind(peer, address)
    assert peer.recv() == b"while it is away"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_router_destroys_the_queue_of_a_peer_that_left(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """ROUTER: "SHALL create a double queue when a peer connects to it. If this peer
    disconnects, the ROUTER socket SHALL destroy its double queue and SHALL discard any
    messages it contains." """
    router, address = bound(ctx, zmq.ROUTER, endpoints(transport), router_mandatory=1)
    peer = make(ctx, zmq.DEALER, routing_id=b"P", rcvhwm=1)
    peer.connect(address)
    peer.send(b"hi")
    assert router.recv_multipart() == [b"P", b"hi"]
    for i in range(5):
        router.send_multipart([b"P", b"old %d" % i])
    peer.close()

    def forgotten() -> bool:
        try:
            router.send_multipart([b"P", b"old"], zmq.DONTWAIT)
        except zmq.ZMQError as exc:
            return bool(exc.errno == zmq.EHOSTUNREACH)
        return False

    assert wait_for(forgotten)  # the queue is gone
    again = make(ctx, zmq.DEALER, routing_id=b"P")
    again.connect(address)
    again.send(b"back")
    assert router.recv_multipart() == [b"P", b"back"]
    router.send_multipart([b"P", b"new"])
    assert again.recv() == b"new"  # none of the old queue's messages


# ===========================================================================================
# RFC 29/PUBSUB — PUB
# ===========================================================================================


def pub_and_subs(
    ctx: zmq.Context,
    address: str,
    n: int,
    topic: bytes = b"",
    kind: int = zmq.PUB,
    sub_options: dict[str, int] | None = None,
    **opts: int,
) -> tuple[zmq.Socket, list[zmq.Socket]]:
    """A publisher and ``n`` subscribers to ``topic`` (the first with ``sub_options``)."""
    pub, endpoint = bound(ctx, kind, address, **opts)
    subs = []
    for i in range(n):
        sub = make(ctx, zmq.SUB, **(sub_options or {} if i == 0 else {}))
        sub.setsockopt(zmq.SUBSCRIBE, topic)
        sub.connect(endpoint)
        subs.append(sub)
    wait_subscriptions(pub, n)
    return pub, subs


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pub_only_sends(ctx: zmq.Context, endpoints: Endpoints, transport: str) -> None:
    """PUB: "MAY be connected to any number of SUB or XSUB subscribers, and SHALL only send
    messages." """
    pub, (sub,) = pub_and_subs(ctx, endpoints(transport), 1)
    expect_errno(zmq.ENOTSUP, pub.recv)
    expect_errno(zmq.ENOTSUP, pub.recv, zmq.DONTWAIT)
    assert pub.poll(0, zmq.POLLIN) == 0
    pub.send(b"x")
    assert sub.recv() == b"x"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pub_does_not_modify_and_matches_the_first_frame_binary(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """PUB: "SHALL not modify outgoing messages in any way."  "SHALL perform a binary comparison
    of the subscription against the start of the first frame of the message." """
    pub, endpoint = bound(ctx, zmq.PUB, endpoints(transport))
    sub = make(ctx, zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"\x00\xffA")
    sub.connect(endpoint)
    wait_subscriptions(pub, 1)
    pub.send_multipart([b"\x00\xffA", *ODD_FRAMES])
    pub.send_multipart([b"\x00\xffa"])  # case matters: binary comparison
    pub.send_multipart([b"\x00\xff", b"A"])  # only the first frame counts
    pub.send_multipart([b"x\x00\xffA"])  # the start of the frame, not anywhere in it
    pub.send_multipart([b"\x00\xffAB", b"end"])
    assert sub.recv_multipart() == [b"\x00\xffA", *ODD_FRAMES]
    assert sub.recv_multipart() == [b"\x00\xffAB", b"end"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pub_drops_for_a_full_queue_and_does_not_block(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """PUB: "SHALL maintain a single outgoing message queue for each connected subscriber."
    "SHALL silently drop the message if the queue for a subscriber is full."  "SHALL NOT block
    on sending." """
    pub, (slow, fast) = pub_and_subs(
        ctx, endpoints(transport), 2, sub_options={"rcvhwm": 5}, sndhwm=5, sndtimeo=-1
    )
    chunk = b"p" * 65536
    for i in range(600):  # 38 MB; a blocking send would hang here (SNDTIMEO -1)
        pub.send(b"%d " % i + chunk)
        assert fast.recv().startswith(b"%d " % i)  # the other queue is unaffected
    slow_got = numbers([m[0] for m in recv_all(slow, 200)])
    assert 0 < len(slow_got) < 600 and slow_got == sorted(slow_got)


@pytest.mark.parametrize("kind", [zmq.PUB, zmq.XPUB])
def test_pub_keeps_the_queue_of_an_outgoing_connection(
    ctx: zmq.Context, endpoints: Endpoints, kind: int
) -> None:
    """PUB: "SHALL create a queue when initiating an outgoing connection to a subscriber, and
    SHALL maintain the queue whether or not the connection is established."  XPUB: "SHALL
    create a double queue when initiating an outgoing connection to a subscriber, and SHALL
    maintain the double queue whether or not the connection is established." (With its
    subscriptions: what is published while the subscriber is away waits for it.)"""
    sub, address = bound(ctx, zmq.SUB, endpoints("tcp"))
    sub.setsockopt(zmq.SUBSCRIBE, b"t")
    pub = make(ctx, kind)
    monitor = pub.get_monitor_socket(zmq.EVENT_DISCONNECTED)
    pub.connect(address)
    # (The SUB sends its subscription when it takes the connection in, at one of its calls.)
    assert wait_for(lambda: sub.poll(0) == 0 and subscriptions(pub) == 1)
    sub.close()
    events(monitor, zmq.EVENT_DISCONNECTED)
    pub.send(b"t: published while away")
    sub = make(ctx, zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"t")
    rebind(sub, address)
    assert sub.recv() == b"t: published while away"


@pytest.mark.parametrize("kind", [zmq.PUB, zmq.XPUB])
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pub_destroys_the_queue_of_a_subscriber_that_left(
    ctx: zmq.Context, endpoints: Endpoints, transport: str, kind: int
) -> None:
    """PUB: "SHALL create a queue when a subscriber connects to it. If this subscriber
    disconnects, the PUB socket SHALL destroy its queue and SHALL discard any messages it
    contains."  XPUB: "SHALL create a double queue when a subscriber connects to it. If this
    subscriber disconnects, the XPUB socket SHALL destroy its double queue and SHALL discard
    any messages it contains." """
    pub, endpoint = bound(ctx, kind, endpoints(transport), sndhwm=5)
    leaving = make(ctx, zmq.SUB, rcvhwm=5)
    leaving.setsockopt(zmq.SUBSCRIBE, b"")
    leaving.connect(endpoint)
    wait_subscriptions(pub, 1)
    for i in range(20):
        pub.send(b"m%d " % i)
    leaving.close()
    assert wait_for(lambda: peers(pub) == 0 and subscriptions(pub) == 0)
    newcomer = make(ctx, zmq.SUB)
    newcomer.setsockopt(zmq.SUBSCRIBE, b"")
    newcomer.connect(endpoint)
    wait_subscriptions(pub, 1)
    pub.send(b"n0 fresh")
    assert newcomer.recv() == b"n0 fresh"


def test_pub_discards_what_subscribers_send(ctx: zmq.Context) -> None:
    """PUB: "SHALL silently discard any messages that subscribers send it."  "SHALL receive
    subscribe and unsubscribe requests from subscribers depending on the transport protocol
    used."  "SHALL NOT deliver these commands to its calling application." """
    pub, address = bound(ctx, zmq.PUB, "tcp://127.0.0.1:*")
    xsub = make(ctx, zmq.XSUB)
    xsub.connect(address)
    xsub.send(b"\x01news")
    for i in range(50):
        xsub.send_multipart([b"chatter", b"%d" % i])
    wait_subscriptions(pub, 1)
    assert pub.poll(50, zmq.POLLIN) == 0  # neither the data nor the subscription
    pub.send(b"news")
    assert xsub.recv() == b"news"
    xsub.send(b"\x00news")
    wait_subscriptions(pub, 0)
    assert pub.poll(0, zmq.POLLIN) == 0


# ===========================================================================================
# RFC 29/PUBSUB — XPUB
# ===========================================================================================


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_xpub_delivers_subscriptions_and_data(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """XPUB: "MAY be connected to any number of SUB or XSUB subscribers, and MAY both send and
    receive messages."  "SHALL receive subscribe and unsubscribe requests from subscribers
    depending on the transport protocol used."  "SHALL deliver these commands to its calling
    application."  "SHALL deliver these messages to its calling application."  "SHALL not
    modify outgoing messages in any way." """
    xpub, address = bound(ctx, zmq.XPUB, endpoints(transport))
    xsub = make(ctx, zmq.XSUB)
    xsub.connect(address)
    xsub.send(b"\x01topic")
    assert xpub.recv() == b"\x01topic"
    xsub.send_multipart(ODD_FRAMES[1:])  # data: starts with \x00 but has several frames
    assert xpub.recv_multipart() == ODD_FRAMES[1:]
    xpub.send_multipart([b"topic", *ODD_FRAMES])
    assert xsub.recv_multipart() == [b"topic", *ODD_FRAMES]
    xsub.send(b"\x00topic")
    assert xpub.recv() == b"\x00topic"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_xpub_xsub_double_queues(ctx: zmq.Context, endpoints: Endpoints, transport: str) -> None:
    """XPUB: "SHALL maintain a double queue for each connected subscriber, allowing outgoing
    and incoming messages to be queued independently."  XSUB: "SHALL maintain a double queue
    for each connected publisher, allowing outgoing and incoming messages to be queued
    independently." """
    xpub, address = bound(ctx, zmq.XPUB, endpoints(transport))
    xsub = make(ctx, zmq.XSUB)
    xsub.connect(address)
    xsub.send(b"\x01")
    assert xpub.recv() == b"\x01"
    for i in range(20):  # both directions fill up before either side reads
        xpub.send(b"down %d" % i)
        xsub.send(b"up %d" % i)
    assert [xsub.recv() for _ in range(20)] == [b"down %d" % i for i in range(20)]
    assert [xpub.recv() for _ in range(20)] == [b"up %d" % i for i in range(20)]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_xpub_fair_queues_what_subscribers_send(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """XPUB: "SHALL receive incoming messages from its subscribers using a fair-queuing
    strategy." """
    xpub, address = bound(ctx, zmq.XPUB, endpoints(transport))
    xsubs = [make(ctx, zmq.XSUB) for _ in range(2)]
    for n, xsub in enumerate(xsubs):
        xsub.connect(address)
        for i in range(5):
            xsub.send(b"%d-%d" % (n, i))
    assert wait_for(lambda: queued_at_xpub(xpub) == 10)
    got = [xpub.recv() for _ in range(10)]
    sources = [m[:1] for m in got]
    assert all(x != y for x, y in pairwise(sources)), got


def queued_at_xpub(xpub: zmq.Socket) -> int:
    xpub._process_commands()
    return sum(p.inbound.depth + len(p.state.pending) for p in xpub._pipes)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_xpub_drops_for_a_full_queue_and_does_not_block(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """XPUB: "SHALL silently drop the message if the queue for a subscriber is full."  "SHALL
    NOT block on sending." """
    xpub, (slow,) = pub_and_subs(
        ctx, endpoints(transport), 1, kind=zmq.XPUB, sub_options={"rcvhwm": 5}, sndhwm=5
    )
    xpub.setsockopt(zmq.SNDTIMEO, -1)
    for i in range(600):  # 38 MB; a blocking send would hang here
        xpub.send(b"%d " % i + b"x" * 65536)
    got = numbers([m[0] for m in recv_all(slow, 200)])
    assert 0 < len(got) < 600 and got == sorted(got)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_xpub_unsubscribes_for_a_subscriber_that_disconnects(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """XPUB: "SHALL, if the subscriber peer disconnects prematurely, generate a suitable
    unsubscribe request for the calling application."  "SHALL create a double queue when a
    subscriber connects to it. If this subscriber disconnects, the XPUB socket SHALL destroy
    its double queue" """
    xpub, address = bound(ctx, zmq.XPUB, endpoints(transport))
    sub = make(ctx, zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"one")
    sub.setsockopt(zmq.SUBSCRIBE, b"two")
    sub.connect(address)
    assert sorted([xpub.recv(), xpub.recv()]) == [b"\x01one", b"\x01two"]
    sub.close()
    assert sorted([xpub.recv(), xpub.recv()]) == [b"\x00one", b"\x00two"]
    assert peers(xpub) == 0


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_xpub_may_normalise_subscriptions(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """XPUB: "MAY, depending on configuration, normalize commands delivered to its calling
    application so that multiple identical subscriptions result in a single command only."
    (Normalised by default; XPUB_VERBOSE passes them all.)"""
    for verbose, expected in ((0, 1), (1, 2)):
        xpub, (_, _) = pub_and_subs(
            ctx, endpoints(transport), 2, topic=b"t", kind=zmq.XPUB, xpub_verbose=verbose
        )
        assert len(recv_all(xpub, 50)) == expected
        xpub.close()


# ===========================================================================================
# RFC 29/PUBSUB — SUB
# ===========================================================================================


def test_sub_only_receives(ctx: zmq.Context) -> None:
    """SUB: "MAY be connected to any number of PUB or XPUB publishers, and SHALL only receive
    messages." """
    sub = make(ctx, zmq.SUB)
    expect_errno(zmq.ENOTSUP, sub.send, b"x")
    expect_errno(zmq.ENOTSUP, sub.send, b"\x01topic")  # not even a subscription
    assert sub.poll(0, zmq.POLLOUT) == 0


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_sub_fair_queues_publishers(ctx: zmq.Context, endpoints: Endpoints, transport: str) -> None:
    """SUB: "SHALL maintain a single incoming message queue for each connected publisher."
    "SHALL receive incoming messages from its publishers using a fair-queuing strategy."
    "SHALL deliver messages to its calling application." """
    sub = make(ctx, zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    pubs = []
    for _ in range(2):
        pub, address = bound(ctx, zmq.PUB, endpoints(transport))
        sub.connect(address)
        wait_subscriptions(pub, 1)
        pubs.append(pub)
    for n, pub in enumerate(pubs):
        for _ in range(5):
            pub.send(b"%d" % n)
    wait_queued(sub, 10)
    got = [sub.recv() for _ in range(10)]
    assert got in ([b"0", b"1"] * 5, [b"1", b"0"] * 5)


@pytest.mark.parametrize("kind", [zmq.SUB, zmq.XSUB])
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_sub_keeps_the_queue_of_an_outgoing_connection(
    ctx: zmq.Context, endpoints: Endpoints, transport: str, kind: int
) -> None:
    """SUB: "SHALL create a queue when initiating an outgoing connection to a publisher, and
    SHALL maintain the queue whether or not the connection is established."  XSUB: "SHALL
    create a double queue when initiating an outgoing connection to a publisher, and SHALL
    maintain the double queue whether or not the connection is established." (Connect before
    the publisher exists; and for a connection, across its loss: the subscription is sent
    again to the publisher that comes back.)"""
    address = fixed_address(ctx, endpoints, transport)
    sub = make(ctx, kind)
    if kind == zmq.SUB:
        sub.setsockopt(zmq.SUBSCRIBE, b"t")
    else:
        sub.send(b"\x01t")
    sub.connect(address)
    pub, _ = bound(ctx, zmq.PUB, address)
    wait_subscriptions(pub, 1)
    pub.send(b"t1")
    assert sub.recv() == b"t1"
    if transport == "inproc":
        return
    monitor = sub.get_monitor_socket(zmq.EVENT_DISCONNECTED)
    pub.close()
    events(monitor, zmq.EVENT_DISCONNECTED)
    pub = make(ctx, zmq.PUB)
    rebind(pub, address)
    assert wait_for(lambda: sub.poll(0) == 0 and subscriptions(pub) == 1)
    pub.send(b"t2")
    assert sub.recv() == b"t2"


@pytest.mark.parametrize("kind", [zmq.SUB, zmq.XSUB])
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_sub_discards_when_its_queue_is_full(
    ctx: zmq.Context, endpoints: Endpoints, transport: str, kind: int
) -> None:
    """SUB: "SHALL silently discard messages if the queue for a publisher is full."  XSUB:
    "SHALL silently discard messages if the incoming queue for a publisher is full." (The
    publisher is never held up by it.)"""
    pub, endpoint = bound(ctx, zmq.PUB, endpoints(transport), sndhwm=5)
    sub = make(ctx, kind, rcvhwm=5)
    if kind == zmq.SUB:
        sub.setsockopt(zmq.SUBSCRIBE, b"")
    else:
        sub.send(b"\x01")
    sub.connect(endpoint)
    wait_subscriptions(pub, 1)
    for i in range(600):
        pub.send(b"%d " % i + b"s" * 65536, zmq.DONTWAIT)
    got = numbers([m[0] for m in recv_all(sub, 200)])
    assert 0 < len(got) < 600 and got == sorted(got)
    pub.send(b"700 after")
    while (msg := sub.recv()) != b"700 after":  # (anything still queued comes first)
        assert numbers([msg])[0] > got[-1]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_sub_does_not_modify_and_filters_by_prefix(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """SUB: "SHALL not modify incoming messages in any way."  "MAY, depending on the transport,
    filter messages according to subscriptions, using a prefix match algorithm." """
    pub, (sub,) = pub_and_subs(ctx, endpoints(transport), 1, topic=b"\x01")
    pub.send_multipart([b"\x01", *ODD_FRAMES])
    pub.send(b"\x02no")
    pub.send(b"\x01\x02yes")
    assert sub.recv_multipart() == [b"\x01", *ODD_FRAMES]
    assert sub.recv() == b"\x01\x02yes"


@pytest.mark.parametrize("kind", [zmq.SUB, zmq.XSUB, zmq.PULL])
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_receiver_queue_of_a_connecting_peer(
    ctx: zmq.Context, endpoints: Endpoints, transport: str, kind: int
) -> None:
    """SUB: "SHALL create a queue when a publisher connects to it. If this publisher
    disconnects, the SUB socket SHALL destroy its queue and SHALL discard any messages it
    contains."  XSUB: "SHALL create a double queue when a publisher connects to it. If this
    publisher disconnects, the XSUB socket SHALL destroy its double queue and SHALL discard
    any messages it contains."  PULL: "SHALL create this queue when a peer connects to it. If
    this peer disconnects, the PULL socket SHALL destroy its queue and SHALL discard any
    messages it contains."  (Except: what had arrived before the peer left is delivered; see
    the module docstring.)"""
    receiver, address = bound(ctx, kind, endpoints(transport))
    if kind == zmq.SUB:
        receiver.setsockopt(zmq.SUBSCRIBE, b"")
    elif kind == zmq.XSUB:
        receiver.send(b"\x01")
    sender_kind = zmq.PUSH if kind == zmq.PULL else zmq.PUB

    def connect_sender() -> zmq.Socket:
        sender = make(ctx, sender_kind)
        sender.connect(address)
        wait_peers(receiver, 1)  # a queue for the peer that connected
        if sender_kind == zmq.PUB:  # (the subscription goes out when the receiver attaches)
            assert wait_for(lambda: receiver.poll(0) is not None and subscriptions(sender) == 1)
        return sender

    sender = connect_sender()
    for i in range(3):
        sender.send(b"arrived %d" % i)
    wait_queued(receiver, 3)
    sender.close()
    assert wait_for(lambda: peers(receiver) == 0)  # its queue is destroyed...
    assert [receiver.recv() for _ in range(3)] == [b"arrived %d" % i for i in range(3)]
    assert nothing_more(receiver, 20)  # ...once what had arrived is read
    sender = connect_sender()  # a new peer, a new queue
    sender.send(b"new peer")
    assert receiver.recv() == b"new peer"


# ===========================================================================================
# RFC 29/PUBSUB — XSUB
# ===========================================================================================


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_xsub_sends_to_all_publishers_unmodified(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """XSUB: "MAY be connected to any number of PUB or XPUB publishers, and MAY both send and
    receive messages."  "SHALL not modify outgoing messages in any way."  "SHALL send all
    messages to all connected publishers." """
    xsub = make(ctx, zmq.XSUB)
    xpubs = []
    for _ in range(3):
        xpub, address = bound(ctx, zmq.XPUB, endpoints(transport))
        xsub.connect(address)
        xpubs.append(xpub)
    for xpub in xpubs:
        wait_peers(xpub, 1)
    xsub.send_multipart([b"data", *ODD_FRAMES])
    for xpub in xpubs:
        assert xpub.recv_multipart() == [b"data", *ODD_FRAMES]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_xsub_drops_for_a_full_queue_and_does_not_block(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """XSUB: "SHALL maintain a double queue for each connected publisher"  "SHALL silently drop
    the message if the outgoing queue for a publisher is full."  "SHALL NOT block on
    sending." """
    xpub, address = bound(ctx, zmq.XPUB, endpoints(transport), rcvhwm=5)
    xsub = make(ctx, zmq.XSUB, sndhwm=5, sndtimeo=-1)
    xsub.connect(address)
    wait_peers(xpub, 1)
    for i in range(600):  # the XPUB application does not read; a blocking send would hang
        xsub.send(b"%d " % i + b"u" * 65536)
    got = numbers([m[0] for m in recv_all(xpub, 200)])
    assert 0 < len(got) < 600 and got == sorted(got)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_xsub_subscriptions(ctx: zmq.Context, endpoints: Endpoints, transport: str) -> None:
    """XSUB: "SHALL accept subscription commands from its calling application."  "SHALL send
    subscribe and unsubscribe requests to publishers depending on the transport protocol
    used."  "SHALL not modify incoming messages in any way."  "SHALL deliver messages to its
    calling application." """
    pub, address = bound(ctx, zmq.PUB, endpoints(transport))
    xsub = make(ctx, zmq.XSUB)
    xsub.connect(address)
    xsub.send(b"\x01a")
    wait_subscriptions(pub, 1)
    pub.send_multipart([b"a", *ODD_FRAMES])
    pub.send(b"b")
    assert xsub.recv_multipart() == [b"a", *ODD_FRAMES]
    xsub.send(b"\x00a")
    wait_subscriptions(pub, 0)
    pub.send(b"a-after")
    xsub.send(b"\x01b")
    wait_subscriptions(pub, 1)
    pub.send(b"b-after")
    assert xsub.recv() == b"b-after"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_xsub_fair_queues_publishers(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """XSUB: "SHALL receive incoming messages from its publishers using a fair-queuing
    strategy." """
    xsub = make(ctx, zmq.XSUB)
    xsub.send(b"\x01")
    pubs = []
    for _ in range(2):
        pub, address = bound(ctx, zmq.PUB, endpoints(transport))
        xsub.connect(address)
        wait_subscriptions(pub, 1)
        pubs.append(pub)
    for n, pub in enumerate(pubs):
        for _ in range(5):
            pub.send(b"%d" % n)
    wait_queued(xsub, 10)
    got = [xsub.recv() for _ in range(10)]
    assert got in ([b"0", b"1"] * 5, [b"1", b"0"] * 5)


# ===========================================================================================
# RFC 30/PIPELINE — PUSH
# ===========================================================================================


def test_push_only_sends(ctx: zmq.Context) -> None:
    """PUSH: "MAY be connected to any number of PULL peers, and SHALL only send messages." """
    push = make(ctx, zmq.PUSH)
    expect_errno(zmq.ENOTSUP, push.recv)
    expect_errno(zmq.ENOTSUP, push.recv, zmq.DONTWAIT)
    assert push.poll(0, zmq.POLLIN) == 0


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_push_does_not_filter_or_modify(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """PUSH: "SHALL not filter or modify outgoing messages in any way."  PULL: "SHALL not
    filter or modify incoming messages in any way." """
    pull, address = bound(ctx, zmq.PULL, endpoints(transport))
    push = make(ctx, zmq.PUSH)
    push.connect(address)
    for msg in ([b""], ODD_FRAMES, [b"\x01sub-like"], [b"\x00cancel-like"]):
        push.send_multipart(msg)
        assert pull.recv_multipart() == msg


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_push_keeps_the_queue_of_an_outgoing_connection(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """PUSH: "SHALL maintain an outgoing message queue for each connected peer."  "SHALL create
    this queue when initiating an outgoing connection to a peer, and SHALL maintain the queue
    whether or not the connection is established." """
    address = fixed_address(ctx, endpoints, transport)
    push = make(ctx, zmq.PUSH)
    push.connect(address)
    push.send(b"before the peer exists")
    pull, _ = bound(ctx, zmq.PULL, address)
    assert pull.recv() == b"before the peer exists"
    if transport == "inproc":
        return
    monitor = push.get_monitor_socket(zmq.EVENT_DISCONNECTED)
    pull.close()
    events(monitor, zmq.EVENT_DISCONNECTED)
    push.send(b"while it is away")
    pull = make(ctx, zmq.PULL)
    rebind(pull, address)
    assert pull.recv() == b"while it is away"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_push_destroys_the_queue_of_a_peer_that_left(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """PUSH: "SHALL create this queue when a peer connects to it. If this peer disconnects, the
    PUSH socket SHALL destroy its queue and SHALL discard any messages it contains." """
    push, address = bound(ctx, zmq.PUSH, endpoints(transport), sndhwm=5, sndtimeo=100)
    leaving = make(ctx, zmq.PULL, rcvhwm=5)
    leaving.connect(address)
    wait_peers(push, 1)
    assert fill(push, b"m") > 0
    leaving.close()
    assert wait_for(lambda: peers(push) == 0)
    newcomer = make(ctx, zmq.PULL)
    newcomer.connect(address)
    wait_peers(push, 1)
    push.send(b"n0 fresh")
    assert newcomer.recv() == b"n0 fresh"
    assert nothing_more(newcomer, 50)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_push_availability_round_robin_blocking_no_discard(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """PUSH: "SHALL consider a peer as available only when it has a outgoing queue that is not
    full."  "SHALL route outgoing messages to available peers using a round-robin strategy."
    "SHALL block on sending, or return a suitable error, when it has no available peers."
    "SHALL not accept further messages when it has no available peers."  "SHALL NOT discard
    messages that it cannot queue." """
    push = make(ctx, zmq.PUSH, sndhwm=2, sndtimeo=100)
    slow, slow_address = bound(ctx, zmq.PULL, endpoints(transport), rcvhwm=2)
    push.connect(slow_address)
    wait_peers(slow, 1)
    accepted = fill(push, b"m")
    expect_errno(zmq.EAGAIN, push.send, b"x")
    fast = []
    for _ in range(2):
        pull, address = bound(ctx, zmq.PULL, endpoints(transport))
        push.connect(address)
        fast.append(pull)
        wait_peers(pull, 1)
    takers = []
    for i in range(10):  # one at a time, so the fast peers always have room
        push.send(b"n%d " % i)
        taker = first_readable(fast)
        assert fast[taker].recv() == b"n%d " % i
        takers.append(taker)
    assert takers in ([0, 1] * 5, [1, 0] * 5)  # round robin over the two available
    assert numbers([slow.recv() for _ in range(accepted)]) == list(range(accepted))
    assert nothing_more(slow, 50)


def test_push_blocks_without_peers(ctx: zmq.Context) -> None:
    """PUSH: "SHALL block on sending, or return a suitable error, when it has no available
    peers." (none at all)"""
    push = make(ctx, zmq.PUSH, sndtimeo=100)
    expect_errno(zmq.EAGAIN, push.send, b"x", zmq.DONTWAIT)
    expect_errno(zmq.EAGAIN, push.send, b"x")


# ===========================================================================================
# RFC 30/PIPELINE — PULL
# ===========================================================================================


def test_pull_only_receives(ctx: zmq.Context) -> None:
    """PULL: "MAY be connected to any number of PUSH peers, and SHALL only receive
    messages." """
    pull = make(ctx, zmq.PULL)
    expect_errno(zmq.ENOTSUP, pull.send, b"x")
    expect_errno(zmq.ENOTSUP, pull.send, b"x", zmq.DONTWAIT)
    assert pull.poll(0, zmq.POLLOUT) == 0


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pull_keeps_the_queue_of_an_outgoing_connection(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """PULL: "SHALL maintain an incoming queue for each connected peer."  "SHALL create this
    queue when initiating an outgoing connection to a peer, and SHALL maintain the queue
    whether or not the connection is established." """
    address = fixed_address(ctx, endpoints, transport)
    pull = make(ctx, zmq.PULL)
    pull.connect(address)
    push, _ = bound(ctx, zmq.PUSH, address)
    push.send(b"to the early connector")
    assert pull.recv() == b"to the early connector"
    if transport == "inproc":
        return
    monitor = pull.get_monitor_socket(zmq.EVENT_DISCONNECTED)
    push.close()
    events(monitor, zmq.EVENT_DISCONNECTED)
    push = make(ctx, zmq.PUSH)
    rebind(push, address)
    push.send(b"after the peer came back")
    assert pull.recv() == b"after the peer came back"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pull_fair_queues(ctx: zmq.Context, endpoints: Endpoints, transport: str) -> None:
    """PULL: "SHALL receive incoming messages from its peers using a fair-queuing strategy."
    "SHALL deliver these to its calling application." """
    pull, address = bound(ctx, zmq.PULL, endpoints(transport))
    for n in range(2):
        push = make(ctx, zmq.PUSH)
        push.connect(address)
        for _ in range(5):
            push.send(b"%d" % n)
    wait_queued(pull, 10)
    got = [pull.recv() for _ in range(10)]
    assert got in ([b"0", b"1"] * 5, [b"1", b"0"] * 5)


# ===========================================================================================
# RFC 31/EXPAIR — PAIR
# ===========================================================================================


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pair_at_most_one_peer(ctx: zmq.Context, endpoints: Endpoints, transport: str) -> None:
    """PAIR: "MAY be connected to at most one PAIR peers, and MAY both send and receive
    messages."  "SHALL receive incoming messages from its single peer if it has one." """
    pair, address = bound(ctx, zmq.PAIR, endpoints(transport))
    monitor = pair.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
    peer = make(ctx, zmq.PAIR)
    peer.connect(address)
    peer.send(b"peer")
    assert pair.recv() == b"peer"
    other = make(ctx, zmq.PAIR)
    other.connect(address)
    other.send(b"other")  # queued on its side, never delivered
    if transport != "inproc":
        for _ in range(2):
            events(monitor, zmq.EVENT_HANDSHAKE_SUCCEEDED)
    assert nothing_more(pair, 100)
    pair.send(b"reply")
    assert peer.recv() == b"reply"
    assert nothing_more(other, 20)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pair_does_not_filter_or_modify(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """PAIR: "SHALL not filter or modify outgoing or incoming messages in any way."  "SHALL
    maintain a double queue for its peer, allowing outgoing and incoming messages to be queued
    independently."  "SHALL deliver these to its calling application." """
    a, address = bound(ctx, zmq.PAIR, endpoints(transport))
    b = make(ctx, zmq.PAIR)
    b.connect(address)
    for i in range(5):  # both directions queue at once
        a.send_multipart([b"a%d" % i, *ODD_FRAMES])
        b.send_multipart([b"b%d" % i, *ODD_FRAMES])
    for i in range(5):
        assert b.recv_multipart() == [b"a%d" % i, *ODD_FRAMES]
        assert a.recv_multipart() == [b"b%d" % i, *ODD_FRAMES]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pair_keeps_the_queue_of_an_outgoing_connection(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """PAIR: "SHALL create a double queue when initiating an outgoing connection to a peer, and
    SHALL maintain the double queue whether or not the connection is established." """
    address = fixed_address(ctx, endpoints, transport)
    pair = make(ctx, zmq.PAIR)
    pair.connect(address)
    pair.send(b"before the peer exists")
    peer, _ = bound(ctx, zmq.PAIR, address)
    assert peer.recv() == b"before the peer exists"
    if transport == "inproc":
        return
    monitor = pair.get_monitor_socket(zmq.EVENT_DISCONNECTED)
    peer.close()
    events(monitor, zmq.EVENT_DISCONNECTED)
    pair.send(b"while it is away")
    peer = make(ctx, zmq.PAIR)
    rebind(peer, address)
    assert peer.recv() == b"while it is away"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pair_destroys_the_queue_of_a_peer_that_left(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """PAIR: "SHALL create a double queue when a peer connects to it. If this peer disconnects,
    the PAIR socket SHALL destroy its double queue and SHALL discard any messages it
    contains." """
    pair, address = bound(ctx, zmq.PAIR, endpoints(transport), sndhwm=5, sndtimeo=100)
    leaving = make(ctx, zmq.PAIR, rcvhwm=5)
    leaving.connect(address)
    wait_peers(pair, 1)
    assert fill(pair, b"m") > 0
    leaving.close()
    assert wait_for(lambda: peers(pair) == 0)
    newcomer = make(ctx, zmq.PAIR)
    newcomer.connect(address)
    wait_peers(pair, 1)
    pair.send(b"n0 fresh")
    assert newcomer.recv() == b"n0 fresh"
    assert nothing_more(newcomer, 50)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_pair_availability_blocking_no_discard(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """PAIR: "SHALL consider its peer as available only when it has a outgoing queue that is not
    full."  "SHALL block on sending, or return a suitable error, when it has no available
    peer."  "SHALL not accept further messages when it has no available peer."  "SHALL NOT
    discard messages that it cannot queue." """
    lonely = make(ctx, zmq.PAIR, sndtimeo=100)
    expect_errno(zmq.EAGAIN, lonely.send, b"x", zmq.DONTWAIT)  # no peer at all
    expect_errno(zmq.EAGAIN, lonely.send, b"x")
    a, address = bound(ctx, zmq.PAIR, endpoints(transport), rcvhwm=2)
    b = make(ctx, zmq.PAIR, sndhwm=2, sndtimeo=100)
    b.connect(address)
    wait_peers(a, 1)
    accepted = fill(b, b"m")
    expect_errno(zmq.EAGAIN, b.send, b"x")  # blocked, then timed out: not accepted
    assert b.poll(0, zmq.POLLOUT) == 0
    assert numbers([a.recv() for _ in range(accepted)]) == list(range(accepted))
    assert nothing_more(a, 50)
    assert b.poll(TIMEOUT_MS, zmq.POLLOUT) == zmq.POLLOUT  # room again
