"""Green sockets: every blocking call blocks only the calling greenlet, against pyzmq's
zmq.green where both behave alike, and safezmq's own guarantees (timeouts honoured, term and
close waking blocked greenlets) on their own."""

from __future__ import annotations

import array
import json
import time
import warnings
from typing import Any

import gevent
import pytest

import safezmq
import safezmq.green
from tests.green.conftest import PROMPT, Ticker, connected, socket

TRANSPORTS = ["tcp", "ipc", "inproc"]


def later(delay: float, fn: Any, *args: Any) -> Any:
    """Run ``fn(*args)`` in another greenlet after ``delay`` seconds."""
    return gevent.spawn_later(delay, fn, *args)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_recv_blocks_only_the_greenlet(
    green: Any, gctx: Any, ticker: Ticker, transport: str
) -> None:
    pull, push = connected(green, gctx, green.PULL, green.PUSH, transport)
    sender = later(0.1, push.send, b"hello")
    before = ticker.count
    with gevent.Timeout(PROMPT):
        assert pull.recv() == b"hello"
    assert ticker.count > before, "the hub did not run while recv() waited"
    sender.get(timeout=PROMPT)


def test_every_send_and_recv_family(green: Any, gctx: Any, ticker: Ticker) -> None:
    """Each family waits in the hub for a message sent later by another greenlet."""
    a, b = connected(green, gctx, green.PAIR, green.PAIR)
    if green is safezmq.green:
        gctx.allow_pickle = True  # safezmq refuses to unpickle unless asked
    cases: list[tuple[Any, Any, Any]] = [
        (lambda: a.send(b"one"), lambda: b.recv(), b"one"),
        (lambda: a.send(b"two"), lambda: b.recv(copy=False).bytes, b"two"),
        (
            lambda: (a.send(b"x", green.SNDMORE), a.send(b"y")),
            lambda: [b.recv(), b.getsockopt(green.RCVMORE), b.recv()],
            [b"x", 1, b"y"],
        ),
        (lambda: a.send_multipart([b"p", b"q"]), lambda: b.recv_multipart(), [b"p", b"q"]),
        (
            lambda: a.send_multipart([b"r", b"s"]),
            lambda: [f.bytes for f in b.recv_multipart(copy=False)],
            [b"r", b"s"],
        ),
        (lambda: a.send_string("héllo"), lambda: b.recv_string(), "héllo"),
        (lambda: a.send_json({"k": [1, 2]}), lambda: b.recv_json(), {"k": [1, 2]}),
        (lambda: a.send_pyobj({"t": (1, 2)}), lambda: b.recv_pyobj(), {"t": (1, 2)}),
        (
            lambda: a.send_serialized({"v": 3}, lambda m: [json.dumps(m).encode()]),
            lambda: b.recv_serialized(lambda frames: json.loads(frames[0])),
            {"v": 3},
        ),
    ]
    for send, recv, expected in cases:
        sender = later(0.02, send)
        before = ticker.count
        with gevent.Timeout(PROMPT):
            assert recv() == expected
        assert ticker.count > before
        sender.get(timeout=PROMPT)
    # recv_into: the frame's full size is returned, the buffer holds what fits.
    sender = later(0.02, a.send, b"0123456789abcdef")
    buf = array.array("B", bytes(8))
    with gevent.Timeout(PROMPT):
        assert b.recv_into(buf) == 16
    assert buf.tobytes() == b"01234567"
    sender.get(timeout=PROMPT)


def test_send_blocks_until_the_peer_takes_it(green: Any, gctx: Any, ticker: Ticker) -> None:
    """A PUSH with no peer holds its send (this greenlet only) until a PULL connects."""
    push = socket(gctx, green.PUSH)
    push.bind("inproc://late-peer")
    received: list[bytes] = []

    def late_pull() -> None:
        pull = socket(gctx, green.PULL)
        pull.connect("inproc://late-peer")
        received.append(pull.recv())
        pull.close()

    puller = later(0.1, late_pull)
    before = ticker.count
    with gevent.Timeout(PROMPT):
        push.send(b"eventually")
    assert ticker.count > before
    puller.get(timeout=PROMPT)
    assert received == [b"eventually"]


def test_dontwait_raises_again_at_once(green: Any, gctx: Any) -> None:
    pull, _push = connected(green, gctx, green.PULL, green.PUSH)
    with pytest.raises(green.Again):
        pull.recv(green.DONTWAIT)
    with pytest.raises(green.Again):
        pull.recv_multipart(green.NOBLOCK)
    lonely = socket(gctx, green.PUSH)
    with pytest.raises(green.Again):
        lonely.send(b"x", green.DONTWAIT)


def test_gevent_timeout_interrupts_a_blocked_recv(green: Any, gctx: Any) -> None:
    """As pyzmq's TestSocketGreen.test_timeout; the socket stays usable afterwards."""
    a, b = connected(green, gctx, green.PAIR, green.PAIR)
    with pytest.raises(gevent.Timeout), gevent.Timeout(0.1):
        b.recv()
    a.send(b"after")
    with gevent.Timeout(PROMPT):
        assert b.recv() == b"after"


def test_poll_waits_in_the_hub(green: Any, gctx: Any, ticker: Ticker) -> None:
    a, b = connected(green, gctx, green.PAIR, green.PAIR)
    before = ticker.count
    assert b.poll(100) == 0
    assert ticker.count > before
    later(0.05, a.send, b"ready")
    assert b.poll(PROMPT * 1000) == green.POLLIN
    assert b.recv() == b"ready"
    assert a.poll(0, green.POLLOUT) == green.POLLOUT


def test_two_greenlets_share_a_socket(green: Any, gctx: Any) -> None:
    """One greenlet waits in recv() on a DEALER while another sends on the same DEALER."""
    router, dealer = connected(green, gctx, green.ROUTER, green.DEALER)

    def echo() -> None:
        for _ in range(20):
            router.send_multipart(router.recv_multipart())

    echoer = gevent.spawn(echo)
    replies: list[bytes] = []

    def receive() -> None:
        for _ in range(20):
            replies.append(dealer.recv())

    receiver = gevent.spawn(receive)
    gevent.sleep(0.01)  # the receiver is waiting before anything is sent
    for i in range(20):
        dealer.send(b"%d" % i)
        gevent.sleep(0)
    gevent.joinall([echoer, receiver], timeout=PROMPT, raise_error=True)
    assert replies == [b"%d" % i for i in range(20)]


# -- safezmq only ------------------------------------------------------------------------------


def test_repr_names_the_green_classes(sctx: safezmq.green.Context) -> None:
    sock = socket(sctx, safezmq.PUSH)
    assert repr(sock).startswith("<safezmq.green.Socket(zmq.PUSH)")
    assert repr(sctx).startswith("<safezmq.green.Context(")
    assert isinstance(sock, safezmq.green.Socket)
    assert isinstance(sock, safezmq.Socket)


def test_rcvtimeo_is_honoured(sctx: safezmq.green.Context, ticker: Ticker) -> None:
    a, b = connected(safezmq.green, sctx, safezmq.PAIR, safezmq.PAIR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        b.rcvtimeo = 150
    before, start = ticker.count, time.monotonic()
    with pytest.raises(safezmq.Again, match="RCVTIMEO"):
        b.recv()
    elapsed = time.monotonic() - start
    assert 0.14 <= elapsed < PROMPT
    assert ticker.count > before, "the hub did not run during the timeout"
    with pytest.raises(safezmq.Again):
        b.recv_multipart()
    # A message that arrives within the timeout is received.
    later(0.03, a.send, b"in time")
    assert b.recv() == b"in time"


def test_sndtimeo_is_honoured(sctx: safezmq.green.Context, ticker: Ticker) -> None:
    push = socket(sctx, safezmq.PUSH)
    push.bind("inproc://nobody-reads")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        push.sndtimeo = 100
    before, start = ticker.count, time.monotonic()
    with pytest.raises(safezmq.Again, match="SNDTIMEO"):
        push.send(b"x")
    with pytest.raises(safezmq.Again, match="SNDTIMEO"):
        push.send_multipart([b"x", b"y"])
    assert 0.19 <= time.monotonic() - start < PROMPT
    assert ticker.count > before


def test_timeo_options_warn_about_pyzmq(sctx: safezmq.green.Context) -> None:
    """pyzmq's zmq.green ignores the timeouts (and warns); safezmq.green honours them, and
    warns that code relying on that will not behave the same on pyzmq."""
    sock = socket(sctx, safezmq.REQ)
    with pytest.warns(UserWarning, match="honours RCVTIMEO"):
        sock.rcvtimeo = 5
    with pytest.warns(UserWarning, match="pyzmq"):
        assert sock.getsockopt(safezmq.RCVTIMEO) == 5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sock.linger = 0  # other options say nothing


def test_close_wakes_a_blocked_greenlet(sctx: safezmq.green.Context) -> None:
    _a, b = connected(safezmq.green, sctx, safezmq.PAIR, safezmq.PAIR)
    waiter = gevent.spawn(b.recv)
    gevent.sleep(0.05)
    b.close()
    with pytest.raises(safezmq.ZMQError) as info:
        waiter.get(timeout=PROMPT)
    assert info.value.errno == safezmq.ENOTSOCK


def test_term_wakes_blocked_greenlets_and_waits_for_them(ticker: Ticker) -> None:
    """term() in one greenlet: the others, blocked in recv/send/poll, get ETERM, close their
    sockets, and term() returns; the hub runs throughout (a threading wait in term() would
    deadlock here: the greenlets that must close their sockets could never run)."""
    ctx = safezmq.green.Context()
    outcomes: list[str] = []

    def blocked(call: str) -> None:
        sock = socket(ctx, safezmq.PULL if call != "send" else safezmq.PUSH)
        sock.bind(f"inproc://term-{call}")
        try:
            if call == "recv":
                sock.recv()
            elif call == "send":
                sock.send(b"x")
            else:
                sock.poll()
        except safezmq.ContextTerminated:
            outcomes.append(call)
        finally:
            sock.close()

    workers = [gevent.spawn(blocked, call) for call in ("recv", "send", "poll")]
    gevent.sleep(0.05)
    before = ticker.count
    with gevent.Timeout(PROMPT):
        ctx.term()
    assert sorted(outcomes) == ["poll", "recv", "send"]
    assert ticker.count > before
    gevent.joinall(workers, timeout=PROMPT, raise_error=True)


def test_term_lingers_in_the_hub(ticker: Ticker) -> None:
    """Queued messages for a peer that never comes keep term() waiting for LINGER, in the hub."""
    ctx = safezmq.green.Context()
    push = ctx.socket(safezmq.PUSH)
    push.linger = 300
    push.connect("tcp://127.0.0.1:9")  # discard port: nobody listens
    push.send(b"never delivered")
    push.close()
    before, start = ticker.count, time.monotonic()
    ctx.term()
    assert 0.25 <= time.monotonic() - start < PROMPT
    assert ticker.count > before


def test_io_thread_calls_wait_in_the_hub(sctx: safezmq.green.Context, ticker: Ticker) -> None:
    """A call into the I/O thread (as bind and connect make) blocks only the calling greenlet."""
    runner = sctx._runner()
    before = ticker.count
    assert runner.call(lambda: (time.sleep(0.1), "done")[1]) == "done"
    assert ticker.count > before
    with pytest.raises(ZeroDivisionError):
        runner.call(lambda: 1 // 0)


def test_state_change_by_another_greenlet_wakes_a_waiter(sctx: safezmq.green.Context) -> None:
    """Greenlet W waits in recv(); before the hub looks at the FD, this greenlet reads EVENTS
    (processing the mailbox and draining the FD): W must still be woken."""
    a, b = connected(safezmq.green, sctx, safezmq.PAIR, safezmq.PAIR, "inproc")
    waiter = gevent.spawn(b.recv)
    gevent.sleep(0.02)
    a.send(b"inproc posts at once")  # signals b's FD in this thread, synchronously
    assert b.getsockopt(safezmq.EVENTS) & safezmq.POLLIN  # drains it before the hub runs
    assert waiter.get(timeout=PROMPT) == b"inproc posts at once"


def test_context_instance_is_green_and_its_own(ticker: Ticker) -> None:
    first = safezmq.green.Context.instance()
    try:
        assert isinstance(first, safezmq.green.Context)
        assert safezmq.green.Context.instance() is first
        plain = safezmq.Context.instance()
        assert plain is not first and not isinstance(plain, safezmq.green.Context)
        assert isinstance(first.socket(safezmq.PUSH), safezmq.green.Socket)
    finally:
        first.destroy(linger=0)
    second = safezmq.green.Context.instance()
    assert second is not first and not second.closed
    second.term()


def test_monitor_socket_is_green(sctx: safezmq.green.Context, ticker: Ticker) -> None:
    server = socket(sctx, safezmq.REP)
    monitor = server.get_monitor_socket()
    assert isinstance(monitor, safezmq.green.Socket)
    server.bind("tcp://127.0.0.1:*")
    client = socket(sctx, safezmq.REQ)
    later(0.05, client.connect, server.getsockopt_string(safezmq.LAST_ENDPOINT))
    seen = set()
    with gevent.Timeout(PROMPT):
        while safezmq.EVENT_ACCEPTED not in seen:
            frames = monitor.recv_multipart()
            seen.add(int.from_bytes(frames[0][:2], "little"))
    server.disable_monitor()


def test_tracker_wait_blocks_only_the_greenlet(sctx: safezmq.green.Context, ticker: Ticker) -> None:
    """A zero-copy tracked send over inproc is done when the peer has read the message; the
    reader is another greenlet, so a wait that blocked the thread would never end."""
    pull, push = connected(safezmq.green, sctx, safezmq.PULL, safezmq.PUSH, "inproc")
    payload = bytearray(push.copy_threshold * 4)
    tracker = push.send(payload, copy=False, track=True)
    assert isinstance(tracker, safezmq.green.MessageTracker)
    assert not tracker.done
    reader = gevent.spawn_later(0.05, pull.recv)
    tracker.wait(PROMPT)
    assert tracker.done
    assert reader.get(timeout=PROMPT) == bytes(payload)
    # A tracker that does not finish times out with NotDone, the hub running meanwhile.
    pending = safezmq.green.MessageTracker(safezmq.MessageTracker())
    before, start = ticker.count, time.monotonic()
    with pytest.raises(safezmq.NotDone):
        pending.wait(0.1)
    assert 0.09 <= time.monotonic() - start < PROMPT
    assert ticker.count > before
    # Small frames are copied even with copy=False: that tracker is done at once (pyzmq's
    # finished tracker, as pyzmq returns it).
    parts = push.send_multipart([b"a", bytes(100)], copy=False, track=True)
    assert parts is safezmq._FINISHED_TRACKER
    parts.wait()
    assert push.send(b"copied", track=True) is None  # a copying send has nothing to track
