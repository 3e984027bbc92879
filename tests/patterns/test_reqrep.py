"""REQ, REP, DEALER and ROUTER (RFC 28) through real sockets, over tcp, ipc and inproc."""

from __future__ import annotations

import struct
from itertools import pairwise

import pytest
import zmq as pyzmq

import safezmq as zmq

from .helpers import (
    TIMEOUT_MS,
    TRANSPORTS,
    Endpoints,
    bound,
    expect_errno,
    make,
    nothing_more,
    peers,
    wait_for,
    wait_peers,
    wait_queued,
)

# -- REQ ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_req_rep_round_trips(ctx: zmq.Context, endpoints: Endpoints, transport: str) -> None:
    rep, address = bound(ctx, zmq.REP, endpoints(transport))
    req = make(ctx, zmq.REQ)
    req.connect(address)
    for i in range(20):
        req.send_multipart([b"question", b"%d" % i])
        assert rep.recv_multipart() == [b"question", b"%d" % i]
        rep.send_multipart([b"answer", b"%d" % i])
        assert req.recv_multipart() == [b"answer", b"%d" % i]


def test_req_strict_alternation(ctx: zmq.Context) -> None:
    rep, address = bound(ctx, zmq.REP, "inproc://req-alternation")
    req = make(ctx, zmq.REQ)
    req.connect(address)
    expect_errno(zmq.EFSM, req.recv)  # nothing asked yet
    req.send(b"one")
    expect_errno(zmq.EFSM, req.send, b"two")  # the reply to "one" comes first
    assert req.poll(0, zmq.POLLOUT) == 0  # and the socket says so
    assert rep.recv() == b"one"
    rep.send(b"reply")
    assert req.recv() == b"reply"
    expect_errno(zmq.EFSM, req.recv)  # one reply per request
    req.send(b"three")  # back to the start: sending is allowed again
    assert rep.recv() == b"three"


def test_rep_strict_alternation(ctx: zmq.Context) -> None:
    rep, address = bound(ctx, zmq.REP, "inproc://rep-alternation")
    req = make(ctx, zmq.REQ)
    req.connect(address)
    expect_errno(zmq.EFSM, rep.send, b"unasked")
    req.send(b"q")
    assert rep.recv() == b"q"
    expect_errno(zmq.EFSM, rep.recv)  # must answer first
    rep.send(b"a")
    expect_errno(zmq.EFSM, rep.send, b"again")  # one reply per request
    assert req.recv() == b"a"


def test_req_relaxed_resends_to_another_peer_and_drops_the_late_reply(ctx: zmq.Context) -> None:
    """REQ_RELAXED: a new request may be sent without waiting; the reply to the abandoned
    request, from the peer that had it, is dropped (only the last peer is listened to)."""
    req = make(ctx, zmq.REQ, req_relaxed=1)
    slow, slow_address = bound(ctx, zmq.REP, "inproc://relaxed-slow")
    fast, fast_address = bound(ctx, zmq.REP, "inproc://relaxed-fast")
    req.connect(slow_address)
    req.connect(fast_address)
    req.send(b"first")  # round robin: to the slow peer
    assert slow.recv() == b"first"
    req.send(b"second")  # no EFSM with REQ_RELAXED; round robin: to the fast peer
    assert fast.recv() == b"second"
    slow.send(b"late reply to first")  # the abandoned request's answer arrives first...
    wait_queued(req, 1)
    fast.send(b"reply to second")
    assert req.recv() == b"reply to second"  # ...and is dropped
    req.send(b"third")
    assert slow.recv() == b"third"
    slow.send(b"reply to third")
    assert req.recv() == b"reply to third"


def test_req_without_relaxed_cannot_recover_from_a_silent_peer(ctx: zmq.Context) -> None:
    """The counterpart of REQ_RELAXED: strict REQ refuses the second request."""
    req = make(ctx, zmq.REQ)
    _rep, address = bound(ctx, zmq.REP, "inproc://strict-silent")
    req.connect(address)
    req.send(b"lost")
    expect_errno(zmq.EFSM, req.send, b"retry")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_req_correlate_drops_stale_replies(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """REQ_CORRELATE + REQ_RELAXED: replies carry the request id; one to an older request of
    the same peer is dropped."""
    router, address = bound(ctx, zmq.ROUTER, endpoints(transport))
    req = make(ctx, zmq.REQ, req_relaxed=1, req_correlate=1)
    req.connect(address)
    req.send(b"first")
    rid, first_id, delimiter, body = router.recv_multipart()
    assert (len(first_id), delimiter, body) == (4, b"", b"first")
    req.send(b"second")
    rid2, second_id, delimiter, body = router.recv_multipart()
    assert (rid2, delimiter, body) == (rid, b"", b"second")
    assert second_id != first_id
    # The ids are consecutive (libzmq's native-order uint32 counter).
    assert struct.unpack("=I", second_id)[0] == (struct.unpack("=I", first_id)[0] + 1) % 2**32
    router.send_multipart([rid, first_id, b"", b"stale"])
    router.send_multipart([rid, second_id, b"", b"fresh"])
    assert req.recv() == b"fresh"
    # A reply without the id (or with a wrong delimiter) is dropped as well.
    req.send(b"third")
    _, third_id, _, _ = router.recv_multipart()
    router.send_multipart([rid, b"", b"no id"])
    router.send_multipart([rid, third_id, b"not empty", b"bad delimiter"])
    router.send_multipart([rid, third_id, b"", b"good"])
    assert req.recv() == b"good"


def test_req_without_correlate_takes_any_reply_of_its_peer(ctx: zmq.Context) -> None:
    """Without REQ_CORRELATE a relaxed REQ cannot tell an old reply from the new one: the first
    well-formed reply of the current peer is taken (libzmq behaves the same)."""
    router, address = bound(ctx, zmq.ROUTER, "inproc://uncorrelated")
    req = make(ctx, zmq.REQ, req_relaxed=1)
    req.connect(address)
    req.send(b"first")
    req.send(b"second")
    rid, delimiter, body = router.recv_multipart()
    assert (delimiter, body) == (b"", b"first")
    router.recv_multipart()
    router.send_multipart([rid, b"", b"reply to first"])
    assert req.recv() == b"reply to first"


def test_req_drops_replies_without_delimiter(ctx: zmq.Context) -> None:
    router, address = bound(ctx, zmq.ROUTER, "inproc://req-malformed-reply")
    req = make(ctx, zmq.REQ)
    req.connect(address)
    req.send(b"q")
    rid, _, _ = router.recv_multipart()
    router.send_multipart([rid, b"no delimiter"])
    router.send_multipart([rid, b"x", b"first frame not empty"])
    router.send_multipart([rid, b"", b"ok"])
    assert req.recv() == b"ok"


def test_req_only_accepts_the_reply_from_the_peer_it_asked(ctx: zmq.Context) -> None:
    """Messages of other peers are dropped.  (Only those that arrive while the request is
    out: one queued before a later request to its sender would be taken as the reply to it;
    REQ_CORRELATE exists for that, as in libzmq.)"""
    req = make(ctx, zmq.REQ, routing_id=b"R")
    address = "inproc://req-current-peer"
    req.bind(address)
    routers = [make(ctx, zmq.ROUTER) for _ in range(3)]
    for router in routers:
        router.connect(address)
    wait_peers(req, 3)
    req.send(b"request")
    asked = next(r for r in routers if r.poll(TIMEOUT_MS))
    assert asked.recv_multipart() == [b"R", b"", b"request"]
    for other in routers:
        if other is not asked:
            other.send_multipart([b"R", b"", b"WRONG"])
    wait_queued(req, 2)  # the wrong replies are there first
    asked.send_multipart([b"R", b"", b"GOOD"])
    assert req.recv() == b"GOOD"


# -- REP ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_rep_envelopes_through_a_router_dealer_broker(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """REQ -> ROUTER | DEALER -> REP: the broker sees the envelope, the ends do not."""
    frontend, front_address = bound(ctx, zmq.ROUTER, endpoints(transport))
    backend, back_address = bound(ctx, zmq.DEALER, endpoints(transport))
    client = make(ctx, zmq.REQ, routing_id=b"client")
    client.connect(front_address)
    service = make(ctx, zmq.REP)
    service.connect(back_address)

    client.send_multipart([b"hello", b"world"])
    request = frontend.recv_multipart()
    assert request == [b"client", b"", b"hello", b"world"]
    backend.send_multipart(request)
    assert service.recv_multipart() == [b"hello", b"world"]  # the envelope is kept by REP
    service.send_multipart([b"reply"])
    reply = backend.recv_multipart()
    assert reply == [b"client", b"", b"reply"]  # ...and put back in front of the reply
    frontend.send_multipart(reply)
    assert client.recv_multipart() == [b"reply"]


def test_rep_keeps_a_multi_hop_envelope(ctx: zmq.Context) -> None:
    rep, address = bound(ctx, zmq.REP, "inproc://rep-multihop")
    dealer = make(ctx, zmq.DEALER)
    dealer.connect(address)
    dealer.send_multipart([b"hop1", b"hop2", b"\x00\x01", b"", b"body", b"more"])
    assert rep.recv_multipart() == [b"body", b"more"]
    rep.send(b"reply")
    assert dealer.recv_multipart() == [b"hop1", b"hop2", b"\x00\x01", b"", b"reply"]
    # An empty envelope (just the delimiter) works too.
    dealer.send_multipart([b"", b"plain"])
    assert rep.recv() == b"plain"
    rep.send(b"r")
    assert dealer.recv_multipart() == [b"", b"r"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_rep_drops_malformed_requests(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    rep, address = bound(ctx, zmq.REP, endpoints(transport))
    dealer = make(ctx, zmq.DEALER)
    dealer.connect(address)
    dealer.send(b"no delimiter at all")
    dealer.send_multipart([b"hop", b"still no delimiter"])
    dealer.send_multipart([b"hop", b""])  # a delimiter but no body
    dealer.send(b"")  # only a delimiter
    dealer.send_multipart([b"", b"valid"])
    assert rep.recv() == b"valid"
    rep.send(b"reply")
    assert dealer.recv_multipart() == [b"", b"reply"]  # answered, not the malformed ones
    assert nothing_more(dealer)


def test_rep_replies_to_the_peer_that_asked(ctx: zmq.Context) -> None:
    rep, address = bound(ctx, zmq.REP, "inproc://rep-origin")
    clients = [make(ctx, zmq.REQ) for _ in range(3)]
    for client in clients:
        client.connect(address)
    for i, client in enumerate(clients):
        client.send(b"from %d" % i)
    for _ in clients:
        request = rep.recv()
        rep.send(request + b" answered")
    for i, client in enumerate(clients):
        assert client.recv() == b"from %d answered" % i


# -- DEALER ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_dealer_round_robin(ctx: zmq.Context, endpoints: Endpoints, transport: str) -> None:
    dealer = make(ctx, zmq.DEALER)
    routers = []
    for _ in range(3):
        router, address = bound(ctx, zmq.ROUTER, endpoints(transport))
        dealer.connect(address)
        routers.append(router)
    for i in range(9):
        dealer.send(b"%d" % i)
    for n, router in enumerate(routers):
        got = [router.recv_multipart()[1] for _ in range(3)]
        assert got == [b"%d" % i for i in range(n, 9, 3)]
        assert nothing_more(router, 20)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_dealer_fair_queues(ctx: zmq.Context, endpoints: Endpoints, transport: str) -> None:
    dealer, address = bound(ctx, zmq.DEALER, endpoints(transport))
    senders = [make(ctx, zmq.DEALER) for _ in range(2)]
    for sender in senders:
        sender.connect(address)
    for n, sender in enumerate(senders):
        for i in range(10):
            sender.send_multipart([b"%d" % n, b"%d" % i])
    wait_queued(dealer, 20)  # everything is waiting: now the fair-queue decides the order
    got = [dealer.recv_multipart() for _ in range(20)]
    sources = [msg[0] for msg in got]
    assert all(a != b for a, b in pairwise(sources)), sources  # strict alternation
    for n in range(2):  # and each peer's messages in order
        assert [m[1] for m in got if m[0] == b"%d" % n] == [b"%d" % i for i in range(10)]


def test_dealer_skips_a_full_peer(ctx: zmq.Context) -> None:
    dealer = make(ctx, zmq.DEALER, sndhwm=1)
    full, full_address = bound(ctx, zmq.DEALER, "inproc://dealer-full", rcvhwm=1)
    free, free_address = bound(ctx, zmq.DEALER, "inproc://dealer-free")
    dealer.connect(full_address)
    dealer.connect(free_address)
    for i in range(10):
        dealer.send(b"%d" % i, zmq.DONTWAIT)  # never blocks: the free peer takes the rest
    from_full = [full.recv() for _ in range(2)]  # inproc: SNDHWM + RCVHWM = 2 messages
    assert from_full == [b"0", b"2"]
    assert [free.recv() for _ in range(8)] == [b"1", b"3", b"4", b"5", b"6", b"7", b"8", b"9"]


def test_dealer_with_no_peer_blocks_then_times_out(ctx: zmq.Context) -> None:
    dealer = make(ctx, zmq.DEALER, sndtimeo=100)
    expect_errno(zmq.EAGAIN, dealer.send, b"x", zmq.DONTWAIT)
    expect_errno(zmq.EAGAIN, dealer.send, b"x")
    assert dealer.poll(0, zmq.POLLOUT) == 0


# -- ROUTER ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_router_uses_the_peer_identity(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    router, address = bound(ctx, zmq.ROUTER, endpoints(transport))
    named = make(ctx, zmq.DEALER, routing_id=b"alice")
    named.connect(address)
    named.send(b"hi")
    assert router.recv_multipart() == [b"alice", b"hi"]
    router.send_multipart([b"alice", b"hello alice"])
    assert named.recv() == b"hello alice"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_router_generates_ids_for_anonymous_peers(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    router, address = bound(ctx, zmq.ROUTER, endpoints(transport))
    anonymous = [make(ctx, zmq.DEALER) for _ in range(3)]
    for n, dealer in enumerate(anonymous):
        dealer.connect(address)
        dealer.send(b"%d" % n)
    ids = {}
    for _ in anonymous:
        rid, body = router.recv_multipart()
        assert len(rid) == 5 and rid[0] == 0  # libzmq's form: 0x00 + a 32-bit counter
        ids[body] = rid
    assert len(set(ids.values())) == 3  # unique
    for n, dealer in enumerate(anonymous):
        router.send_multipart([ids[b"%d" % n], b"for %d" % n])
        assert dealer.recv() == b"for %d" % n


def test_router_replaces_a_peer_identity_starting_with_zero(ctx: zmq.Context) -> None:
    """Ids starting with 0x00 are the ROUTER's own (RFC 37): safezmq refuses to set one, and a
    ROUTER given one on the wire (here by libzmq) generates its own instead."""
    expect_errno(zmq.EINVAL, make(ctx, zmq.DEALER).setsockopt, zmq.ROUTING_ID, b"\x00abc")
    router, address = bound(ctx, zmq.ROUTER, "tcp://127.0.0.1:*")
    with pyzmq.Context() as other:
        dealer = other.socket(pyzmq.DEALER)
        dealer.linger = 0
        dealer.rcvtimeo = 3000
        dealer.setsockopt(pyzmq.ROUTING_ID, b"\x00abc")
        dealer.connect(address)
        dealer.send(b"hi")
        rid, body = router.recv_multipart()
        assert body == b"hi" and rid != b"\x00abc" and len(rid) == 5 and rid[0] == 0
        router.send_multipart([rid, b"back"])
        assert dealer.recv() == b"back"
        dealer.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_router_connect_routing_id(ctx: zmq.Context, endpoints: Endpoints, transport: str) -> None:
    """CONNECT_ROUTING_ID names the peer of the next connect(); the ROUTER can address it at
    once, before the connection is even established (as libzmq)."""
    server, address = bound(ctx, zmq.ROUTER, endpoints(transport), routing_id=b"server")
    client = make(ctx, zmq.ROUTER, routing_id=b"client", router_mandatory=1)
    client.setsockopt(zmq.CONNECT_ROUTING_ID, b"chosen")
    client.connect(address)
    client.send_multipart([b"chosen", b"ping"])
    assert server.recv_multipart() == [b"client", b"ping"]
    server.send_multipart([b"client", b"pong"])
    assert client.recv_multipart() == [b"chosen", b"pong"]  # our name, not its Identity
    # The option applies to one connect() only: the next peer gets the Identity it sends.
    other, other_address = bound(ctx, zmq.ROUTER, endpoints(transport), routing_id=b"other")
    client.connect(other_address)
    assert wait_for(lambda: _sendable(client, b"other"))
    assert other.recv_multipart() == [b"client", b"probe"]


def _sendable(router: zmq.Socket, rid: bytes) -> bool:
    """Whether a ROUTER_MANDATORY router can route to ``rid`` now (sends b"probe")."""
    try:
        router.send_multipart([rid, b"probe"], zmq.DONTWAIT)
    except zmq.ZMQError as exc:
        assert exc.errno == zmq.EHOSTUNREACH
        return False
    return True


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_connect_routing_id_does_not_name_peers_of_a_bind(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """CONNECT_ROUTING_ID set before a bind() names nobody: the peers that connect to the
    bound endpoint get their own ids (libzmq), not all the same one (then all but the first
    would be refused as duplicates)."""
    router = make(ctx, zmq.ROUTER)
    router.setsockopt(zmq.CONNECT_ROUTING_ID, b"for-a-connect")
    router.bind(endpoints(transport))
    address = router.getsockopt_string(zmq.LAST_ENDPOINT)
    for i in range(2):
        dealer = make(ctx, zmq.DEALER)
        dealer.connect(address)
        dealer.send(b"hi %d" % i)
    got = sorted(router.recv_multipart() for _ in range(2))
    assert [body for _, body in got] == [b"hi 0", b"hi 1"]
    assert all(rid != b"for-a-connect" for rid, _ in got)


def test_router_connect_routing_id_can_address_a_peer_not_yet_bound(ctx: zmq.Context) -> None:
    client = make(ctx, zmq.ROUTER, router_mandatory=1)
    client.setsockopt(zmq.CONNECT_ROUTING_ID, b"later")
    client.connect("inproc://router-bound-later")
    client.send_multipart([b"later", b"queued"])  # no EHOSTUNREACH: the queue exists
    server, _ = bound(ctx, zmq.ROUTER, "inproc://router-bound-later")
    rid, body = server.recv_multipart()
    assert body == b"queued" and rid[0] == 0


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_router_mandatory_unknown_peer(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    router, address = bound(ctx, zmq.ROUTER, endpoints(transport), router_mandatory=1)
    dealer = make(ctx, zmq.DEALER, routing_id=b"known")
    dealer.connect(address)
    dealer.send(b"hi")
    assert router.recv_multipart() == [b"known", b"hi"]
    expect_errno(zmq.EHOSTUNREACH, router.send_multipart, [b"unknown", b"x"])
    expect_errno(zmq.EHOSTUNREACH, router.send_multipart, [b"unknown", b"x"], zmq.DONTWAIT)
    router.send_multipart([b"known", b"fine"])
    assert dealer.recv() == b"fine"
    # Once the peer is gone, its id is unknown again.
    dealer.close()
    assert wait_for(lambda: not _sendable(router, b"known"))


def test_router_without_mandatory_drops_unroutable_silently(ctx: zmq.Context) -> None:
    router, address = bound(ctx, zmq.ROUTER, "inproc://router-drop")
    dealer = make(ctx, zmq.DEALER, routing_id=b"known")
    dealer.connect(address)
    router.send_multipart([b"unknown", b"lost"])  # no error
    router.send_multipart([b"known", b"kept"])
    assert dealer.recv() == b"kept"
    assert nothing_more(dealer)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_router_mandatory_full_pipe_eagain_and_block(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    router, address = bound(
        ctx, zmq.ROUTER, endpoints(transport), router_mandatory=1, sndhwm=1, sndtimeo=100
    )
    dealer = make(ctx, zmq.DEALER, routing_id=b"slow", rcvhwm=1)
    dealer.connect(address)
    dealer.send(b"hi")
    router.recv_multipart()
    chunk = b"x" * 65536
    sent = 0
    with pytest.raises(zmq.Again):  # the peer does not read: its queue fills up...
        for sent in range(5000):  # noqa: B007 - bounded: tcp buffers hold a few MB at most
            router.send_multipart([b"slow", chunk])  # ...blocks, then times out (100 ms)
    assert sent < 4999
    expect_errno(zmq.EAGAIN, router.send_multipart, [b"slow", chunk], zmq.DONTWAIT)
    # Reading makes room again; nothing accepted was dropped.
    got = 0
    while dealer.poll(200):
        dealer.recv()
        got += 1
    assert got == sent
    router.send_multipart([b"slow", b"after"], zmq.DONTWAIT)
    assert dealer.recv() == b"after"


def test_router_without_mandatory_drops_on_full_pipe(ctx: zmq.Context) -> None:
    router, address = bound(ctx, zmq.ROUTER, "inproc://router-full-drop", sndhwm=1)
    dealer = make(ctx, zmq.DEALER, routing_id=b"slow", rcvhwm=1)
    dealer.connect(address)
    for i in range(100):
        router.send_multipart([b"slow", b"%d" % i], zmq.DONTWAIT)  # never EAGAIN
    assert [dealer.recv() for _ in range(2)] == [b"0", b"1"]  # SNDHWM + RCVHWM kept
    assert nothing_more(dealer)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_router_handover(ctx: zmq.Context, endpoints: Endpoints, transport: str) -> None:
    """ROUTER_HANDOVER: a new peer with a known identity takes it over and the old
    connection is closed (as libzmq; without reconnection, or the two would take turns)."""
    router, address = bound(ctx, zmq.ROUTER, endpoints(transport), router_handover=1)
    first = make(ctx, zmq.DEALER, routing_id=b"X", reconnect_ivl=-1)
    first.connect(address)
    first.send(b"from first")
    assert router.recv_multipart() == [b"X", b"from first"]
    first.send(b"unread by the application")  # queued at the router when the id moves on
    wait_queued(router, 1)
    second = make(ctx, zmq.DEALER, routing_id=b"X")
    second.connect(address)
    second.send(b"from second")
    # Once the router has seen the new peer, the old connection is dropped...
    assert wait_for(lambda: peers(router) and peers(first) == 0)
    assert router.recv_multipart() == [b"X", b"from second"]  # ...with what it had queued
    router.send_multipart([b"X", b"to X"])
    assert second.recv() == b"to X"  # the newer connection took the id over
    assert nothing_more(first, 20)
    assert nothing_more(router, 20)  # and poll() does not report its leftovers
    second.send(b"new connection")
    assert router.recv_multipart() == [b"X", b"new connection"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_router_refuses_duplicate_identity_without_handover(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    router, address = bound(ctx, zmq.ROUTER, endpoints(transport))
    first = make(ctx, zmq.DEALER, routing_id=b"X")
    first.connect(address)
    first.send(b"from first")
    assert router.recv_multipart() == [b"X", b"from first"]
    second = make(ctx, zmq.DEALER, routing_id=b"X")
    second.connect(address)
    second.send(b"from second")
    assert nothing_more(router, 200)  # the impostor is not heard
    router.send_multipart([b"X", b"to X"])
    assert first.recv() == b"to X"  # the id still names the first peer
    assert nothing_more(second)
    first.send(b"still here")
    assert router.recv_multipart() == [b"X", b"still here"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_probe_router(ctx: zmq.Context, endpoints: Endpoints, transport: str) -> None:
    router, address = bound(ctx, zmq.ROUTER, endpoints(transport))
    dealer = make(ctx, zmq.DEALER, probe_router=1, routing_id=b"D")
    dealer.connect(address)
    assert router.recv_multipart() == [b"D", b""]  # we learn of the peer before it speaks
    router.send_multipart([b"D", b"welcome"])
    assert dealer.recv() == b"welcome"
    # A ROUTER connecting with PROBE_ROUTER announces itself the same way.
    prober = make(ctx, zmq.ROUTER, probe_router=1, routing_id=b"P")
    prober.connect(address)
    assert router.recv_multipart() == [b"P", b""]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_probe_router_on_bind_side_greets_connecting_peer(
    ctx: zmq.Context, endpoints: Endpoints, transport: str
) -> None:
    """A bound ROUTER with PROBE_ROUTER greets each peer when it attaches the peer's pipe,
    which (as in libzmq) happens in the ROUTER's own thread, at its next call."""
    router, address = bound(ctx, zmq.ROUTER, endpoints(transport), probe_router=1)
    dealer = make(ctx, zmq.DEALER)
    dealer.connect(address)
    assert wait_for(lambda: router.poll(0) == 0 and dealer.poll(10))
    assert dealer.recv_multipart() == [b""]


def test_router_fair_queues(ctx: zmq.Context) -> None:
    router, address = bound(ctx, zmq.ROUTER, "inproc://router-fq")
    for name in (b"A", b"B", b"C"):
        dealer = make(ctx, zmq.DEALER, routing_id=name)
        dealer.connect(address)
        for i in range(5):
            dealer.send(b"%d" % i)
    got = [router.recv_multipart() for _ in range(15)]
    ids = [rid for rid, _ in got]
    assert ids[:3] != [ids[0]] * 3 and len(set(ids[:3])) == 3  # one from each first
    for name in (b"A", b"B", b"C"):
        assert [body for rid, body in got if rid == name] == [b"%d" % i for i in range(5)]


# -- poll() tells the truth ----------------------------------------------------------------------


def test_req_poll_ignores_replies_it_will_drop(ctx: zmq.Context) -> None:
    """POLLIN on a REQ means recv() has the reply: a stale one (REQ_CORRELATE), one from
    another peer or a malformed one does not count (poll would say readable, recv block)."""
    router, address = bound(ctx, zmq.ROUTER, "inproc://req-poll")
    req = make(ctx, zmq.REQ, req_relaxed=1, req_correlate=1)
    req.connect(address)
    req.send(b"first")
    rid, first_id, _, _ = router.recv_multipart()
    req.send(b"second")
    _, second_id, _, _ = router.recv_multipart()
    router.send_multipart([rid, first_id, b"", b"stale"])
    router.send_multipart([rid, second_id, b"no delimiter"])
    wait_queued(req, 2)
    assert req.poll(0) == 0
    expect_errno(zmq.EAGAIN, req.recv, zmq.DONTWAIT)
    router.send_multipart([rid, second_id, b"", b"fresh"])
    assert req.poll(TIMEOUT_MS) == zmq.POLLIN
    assert req.recv(zmq.DONTWAIT) == b"fresh"
    assert req.poll(0) == 0  # nothing asked any more


def test_req_relaxed_drops_a_reply_found_before_the_next_request(ctx: zmq.Context) -> None:
    """A reply poll() found for the previous request is not handed to the next one."""
    rep, address = bound(ctx, zmq.REP, "inproc://req-poll-relaxed")
    req = make(ctx, zmq.REQ, req_relaxed=1, req_correlate=1)
    req.connect(address)
    req.send(b"one")
    assert rep.recv() == b"one"
    rep.send(b"reply to one")
    assert req.poll(TIMEOUT_MS) == zmq.POLLIN
    req.send(b"two")  # the application moved on without reading it
    assert rep.recv() == b"two"
    rep.send(b"reply to two")
    assert req.recv() == b"reply to two"


def test_rep_poll_ignores_malformed_requests(ctx: zmq.Context) -> None:
    rep, address = bound(ctx, zmq.REP, "inproc://rep-poll")
    dealer = make(ctx, zmq.DEALER)
    dealer.connect(address)
    dealer.send(b"no delimiter")
    dealer.send_multipart([b"hop", b""])
    wait_queued(rep, 2)
    assert rep.poll(0) == 0
    expect_errno(zmq.EAGAIN, rep.recv, zmq.DONTWAIT)
    dealer.send_multipart([b"", b"good"])
    assert rep.poll(TIMEOUT_MS) == zmq.POLLIN
    assert rep.recv(zmq.DONTWAIT) == b"good"
    assert rep.poll(0) == 0  # serving: the reply comes first
    rep.send(b"done")
    assert dealer.recv_multipart() == [b"", b"done"]
