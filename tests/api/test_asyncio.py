"""safezmq.asyncio: pyzmq's zmq.asyncio API (futures, FIFO waiters, timeouts, cancellation,
Poller, close/term) over tcp, ipc and inproc, and against real libzmq through pyzmq."""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import os
import select
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import zmq
import zmq.asyncio

import safezmq
import safezmq.asyncio as zaio
from safezmq.engine.iothread import IOThread

pytestmark = pytest.mark.timeout(20)

TRANSPORTS = ["tcp", "ipc", "inproc"]
#: Upper bound for anything that should happen promptly (a failing test fails, never hangs).
PROMPT = 5.0
_names = itertools.count()


@pytest.fixture
def ipc_path() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="sz-aio-") as directory:
        yield directory


@pytest.fixture
async def actx() -> AsyncIterator[zaio.Context]:
    context = zaio.Context()
    yield context
    context.destroy(linger=0)


def address(transport: str, ipc_dir: str) -> str:
    n = next(_names)
    if transport == "tcp":
        return "tcp://127.0.0.1:*"
    if transport == "ipc":
        return f"ipc://{os.path.join(ipc_dir, f's{n}')}"
    return f"inproc://aio-{os.getpid()}-{n}"


def bind(sock: safezmq.Socket, addr: str) -> str:
    sock.bind(addr)
    return sock.getsockopt_string(safezmq.LAST_ENDPOINT)


def pair_up(
    ctx: zaio.Context, bind_type: int, connect_type: int, transport: str, ipc_dir: str
) -> tuple[zaio.Socket, zaio.Socket]:
    binder = ctx.socket(bind_type)
    connecter = ctx.socket(connect_type)
    connecter.connect(bind(binder, address(transport, ipc_dir)))
    return binder, connecter


async def soon(awaitable: Any) -> Any:
    return await asyncio.wait_for(awaitable, PROMPT)


async def shutdown(ctx: zaio.Context) -> None:
    """Close everything and give the loop time to release the connections."""
    ctx.destroy(linger=0)
    await asyncio.sleep(0.05)


async def settle() -> None:
    """A few turns of the loop (to let scheduled callbacks run)."""
    for _ in range(5):
        await asyncio.sleep(0)


# -- basic traffic ---------------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_push_pull(actx: zaio.Context, transport: str, ipc_path: str) -> None:
    pull, push = pair_up(actx, safezmq.PULL, safezmq.PUSH, transport, ipc_path)
    for i in range(200):
        await soon(push.send(b"m%d" % i))
    got = [await soon(pull.recv()) for _ in range(200)]
    assert got == [b"m%d" % i for i in range(200)]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_pair_both_ways_multipart(actx: zaio.Context, transport: str, ipc_path: str) -> None:
    a, b = pair_up(actx, safezmq.PAIR, safezmq.PAIR, transport, ipc_path)
    await soon(a.send_multipart([b"hello", b"", b"x" * 70000]))
    assert await soon(b.recv_multipart()) == [b"hello", b"", b"x" * 70000]
    await soon(b.send(b"one", safezmq.SNDMORE))
    await soon(b.send(b"two"))
    assert await soon(a.recv()) == b"one"
    assert a.rcvmore
    frame = await soon(a.recv(copy=False))
    assert isinstance(frame, safezmq.Frame)
    assert frame.bytes == b"two" and not frame.more
    assert not a.rcvmore


async def test_loop_context_runs_io_on_the_running_loop(actx: zaio.Context) -> None:
    pull, push = pair_up(actx, safezmq.PULL, safezmq.PUSH, "tcp", "")
    runner = actx._runner_instance
    assert runner is not None and not isinstance(runner, IOThread)
    assert runner.loop is asyncio.get_running_loop()
    assert isinstance(pull, zaio.Socket) and isinstance(push, zaio.Socket)
    await soon(push.send(b"x"))
    assert await soon(pull.recv()) == b"x"


async def test_fast_path_returns_completed_futures(actx: zaio.Context) -> None:
    pull, push = pair_up(actx, safezmq.PULL, safezmq.PUSH, "inproc", "")
    sent = push.send(b"now")
    assert isinstance(sent, asyncio.Future) and sent.done() and sent.result() is None
    received = pull.recv()
    assert isinstance(received, asyncio.Future) and received.done()
    assert received.result() == b"now"
    tracked = push.send(b"t", track=True)
    assert tracked.done() and tracked.result().done
    assert (await pull.recv_multipart(copy=False))[0].bytes == b"t"


async def test_recv_before_send_is_woken(actx: zaio.Context) -> None:
    pull, push = pair_up(actx, safezmq.PULL, safezmq.PUSH, "tcp", "")
    future = pull.recv_multipart()
    await settle()
    assert not future.done()
    await soon(push.send_multipart([b"late", b"arrival"]))
    assert await soon(future) == [b"late", b"arrival"]


async def test_concurrent_receivers_are_served_in_order(actx: zaio.Context) -> None:
    pull, push = pair_up(actx, safezmq.PULL, safezmq.PUSH, "tcp", "")
    futures = [pull.recv() if i % 2 else pull.recv_multipart() for i in range(60)]
    await settle()
    assert not any(f.done() for f in futures)
    for i in range(60):
        await soon(push.send(b"%d" % i))
    results = await soon(asyncio.gather(*futures))
    assert results == [b"%d" % i if i % 2 else [b"%d" % i] for i in range(60)]


async def test_recv_does_not_jump_the_queue(actx: zaio.Context) -> None:
    pull, push = pair_up(actx, safezmq.PULL, safezmq.PUSH, "inproc", "")
    first = pull.recv()
    assert push.send(b"a").done()  # no await: `first` is not served before `second` asks
    second = pull.recv()  # a message is there, but `first` asked before
    assert await soon(first) == b"a"
    await soon(push.send(b"b"))
    assert await soon(second) == b"b"


async def test_serializers(actx: zaio.Context) -> None:
    pull, push = pair_up(actx, safezmq.PULL, safezmq.PUSH, "inproc", "")
    actx.allow_pickle = True
    await push.send_string("héllo")
    await push.send_string("latin", encoding="latin-1")
    await push.send_json({"a": [1, 2]})
    await push.send_pyobj({"b": (3,)})
    await push.send_serialized({"c": 4}, lambda m: [json.dumps(m).encode(), b"tail"])
    await push.send(b"into-buffer")
    assert await soon(pull.recv_string()) == "héllo"
    assert await soon(pull.recv_string(encoding="latin-1")) == "latin"
    assert await soon(pull.recv_json()) == {"a": [1, 2]}
    assert await soon(pull.recv_pyobj()) == {"b": (3,)}
    assert await soon(pull.recv_serialized(lambda fs: (json.loads(fs[0]), fs[1]))) == (
        {"c": 4},
        b"tail",
    )
    buf = bytearray(4)
    assert await soon(pull.recv_into(buf)) == len(b"into-buffer")
    assert bytes(buf) == b"into"


async def test_recv_pyobj_needs_opt_in(actx: zaio.Context) -> None:
    pull, push = pair_up(actx, safezmq.PULL, safezmq.PUSH, "inproc", "")
    await push.send_pyobj([1])
    with pytest.raises(safezmq.ZMQError) as info:
        await pull.recv_pyobj()
    assert info.value.errno == safezmq.ENOTSUP
    assert await soon(pull.recv()) != b""  # the message was not consumed


async def test_deserialize_error_fails_the_future(actx: zaio.Context) -> None:
    pull, push = pair_up(actx, safezmq.PULL, safezmq.PUSH, "inproc", "")
    future = pull.recv_json()
    await push.send(b"{not json")
    with pytest.raises(json.JSONDecodeError):
        await soon(future)


# -- cancellation ----------------------------------------------------------------------------


async def test_cancelled_recv_does_not_lose_a_message(actx: zaio.Context) -> None:
    pull, push = pair_up(actx, safezmq.PULL, safezmq.PUSH, "tcp", "")
    doomed = pull.recv()
    kept = pull.recv()
    doomed.cancel()
    await soon(push.send(b"first"))
    await soon(push.send(b"second"))
    assert await soon(kept) == b"first"
    assert await soon(pull.recv()) == b"second"
    assert doomed.cancelled()


async def test_wait_for_timeout_then_next_recv_gets_the_message(actx: zaio.Context) -> None:
    pull, push = pair_up(actx, safezmq.PULL, safezmq.PUSH, "tcp", "")
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(pull.recv(), 0.05)
    await soon(push.send(b"kept"))
    assert await soon(pull.recv()) == b"kept"


async def test_cancelled_task_leaves_message_for_next_recv(actx: zaio.Context) -> None:
    pull, push = pair_up(actx, safezmq.PULL, safezmq.PUSH, "inproc", "")
    task = asyncio.ensure_future(pull.recv_string())
    await settle()
    task.cancel()
    await settle()
    await push.send_string("survivor")
    assert await soon(pull.recv_string()) == "survivor"
    assert task.cancelled()


async def test_many_cancelled_waiters_do_not_pile_up(actx: zaio.Context) -> None:
    pull, push = pair_up(actx, safezmq.PULL, safezmq.PUSH, "inproc", "")
    blocker = pull.recv()  # a live waiter at the head keeps later ones queued
    for _ in range(1000):
        pull.recv().cancel()
    assert len(pull._recv_waiters) < 200
    await push.send(b"x")
    assert await soon(blocker) == b"x"


async def test_cancelled_send_is_not_sent(actx: zaio.Context) -> None:
    push = actx.socket(safezmq.PUSH)
    pull = actx.socket(safezmq.PULL)
    push.sndhwm = 1
    pull.rcvhwm = 1
    name = address("inproc", "")
    pull.bind(name)
    push.connect(name)
    sent = 0
    while (fill := push.send(b"fill%d" % sent)).done():
        sent += 1
        assert sent < 100
    # The fill that did not fit waits; a send to cancel and another one queue behind it.
    blocked = push.send(b"never")
    behind = push.send(b"after")
    assert not blocked.done()
    blocked.cancel()
    received = [await soon(pull.recv()) for _ in range(sent + 1)]
    assert received == [b"fill%d" % i for i in range(sent + 1)]
    await soon(fill)
    await soon(behind)
    assert await soon(pull.recv()) == b"after"
    await settle()
    assert not pull.poll(0).result()
    assert blocked.cancelled()


# -- high-water mark -------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["inproc", "tcp"])
async def test_send_blocks_at_hwm_until_peer_reads(
    actx: zaio.Context, transport: str, ipc_path: str
) -> None:
    push = actx.socket(safezmq.PUSH)
    pull = actx.socket(safezmq.PULL)
    push.sndhwm = 2
    pull.rcvhwm = 2
    push.connect(bind(pull, address(transport, ipc_path)))
    # Over tcp the kernel's buffers hold a few MB as well: big messages fill them quickly.
    payload = b"p" * (1_000_000 if transport == "tcp" else 10)
    sent = 0
    pending: asyncio.Future[Any] | None = None
    for _ in range(100):
        future = push.send(payload)
        if not future.done():  # maybe it only waits for the I/O to take the previous ones
            await asyncio.wait([future], timeout=0.1)
        if not future.done():
            pending = future
            break
        sent += 1
    assert pending is not None, "send never blocked"
    await asyncio.sleep(0.05)
    assert not pending.done()
    for _ in range(sent + 1):
        assert await soon(pull.recv()) == payload
    await soon(pending)


async def test_sndtimeo_raises_again(actx: zaio.Context) -> None:
    push = actx.socket(safezmq.PUSH)
    push.sndtimeo = 50
    push.connect(address("inproc", ""))  # nobody bound: the pipe fills at once
    while push.send(b"x").done():
        pass
    with pytest.raises(safezmq.Again):
        await soon(push.send(b"late"))


# -- timeouts, poll, Poller ------------------------------------------------------------------


async def test_rcvtimeo_raises_again(actx: zaio.Context) -> None:
    pull = actx.socket(safezmq.PULL)
    pull.rcvtimeo = 50
    pull.bind(address("tcp", ""))
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(safezmq.Again):
        await soon(pull.recv())
    assert loop.time() - started >= 0.04


async def test_dontwait(actx: zaio.Context) -> None:
    pull, push = pair_up(actx, safezmq.PULL, safezmq.PUSH, "inproc", "")
    future = pull.recv(safezmq.DONTWAIT)
    assert future.done()
    with pytest.raises(safezmq.Again):
        future.result()
    await push.send(b"x")
    assert pull.recv(safezmq.NOBLOCK).result() == b"x"


async def test_wrong_direction_fails_the_future(actx: zaio.Context) -> None:
    _, push = pair_up(actx, safezmq.PULL, safezmq.PUSH, "inproc", "")
    with pytest.raises(safezmq.ZMQError) as info:
        await push.recv()
    assert info.value.errno == safezmq.ENOTSUP
    with pytest.raises(TypeError):
        await push.send("text is not bytes")


async def test_socket_poll(actx: zaio.Context) -> None:
    pull, push = pair_up(actx, safezmq.PULL, safezmq.PUSH, "tcp", "")
    assert await soon(pull.poll(timeout=50)) == 0
    assert await soon(push.poll(flags=safezmq.POLLOUT)) == safezmq.POLLOUT
    waiting = pull.poll()
    await settle()
    assert not waiting.done()
    await push.send(b"x")
    assert await soon(waiting) == safezmq.POLLIN
    assert await soon(pull.recv()) == b"x"  # poll did not consume it


async def test_poller_over_two_sockets_and_a_raw_fd(actx: zaio.Context) -> None:
    pull1, push1 = pair_up(actx, safezmq.PULL, safezmq.PUSH, "tcp", "")
    pull2, push2 = pair_up(actx, safezmq.PULL, safezmq.PUSH, "inproc", "")
    poller = zaio.Poller()
    poller.register(pull1, safezmq.POLLIN)
    poller.register(pull2, safezmq.POLLIN)
    assert await soon(poller.poll(timeout=30)) == []
    pending = poller.poll()
    await settle()
    assert not pending.done()
    await push2.send(b"two")
    assert await soon(pending) == [(pull2, safezmq.POLLIN)]
    await push1.send(b"one")
    await soon(pull1.poll())
    assert dict(await soon(poller.poll(timeout=1000))) == {
        pull1: safezmq.POLLIN,
        pull2: safezmq.POLLIN,
    }
    assert await pull1.recv() == b"one" and await pull2.recv() == b"two"

    r, w = os.pipe()
    try:
        raw = zaio.Poller()
        raw.register(r, safezmq.POLLIN)
        raw.register(pull1, safezmq.POLLIN)
        waiting = raw.poll(1000)
        await settle()
        assert not waiting.done()
        os.write(w, b"!")
        assert await soon(waiting) == [(r, safezmq.POLLIN)]
        raw.register(w, safezmq.POLLOUT)
        assert dict(await soon(raw.poll(0))) == {r: safezmq.POLLIN, w: safezmq.POLLOUT}
    finally:
        os.close(r)
        os.close(w)


async def test_poller_with_a_sync_socket() -> None:
    with safezmq.Context() as sync_ctx:
        pull = sync_ctx.socket(safezmq.PULL)
        push = sync_ctx.socket(safezmq.PUSH)
        push.connect(bind(pull, "tcp://127.0.0.1:*"))
        poller = zaio.Poller()
        poller.register(pull, safezmq.POLLIN)
        waiting = poller.poll(2000)
        await asyncio.sleep(0.02)
        assert not waiting.done()
        push.send(b"from the I/O thread")  # wakes the poller through the socket's FD
        assert await soon(waiting) == [(pull, safezmq.POLLIN)]
        assert pull.recv() == b"from the I/O thread"


async def test_cancelled_poller_poll_leaves_no_waiters(actx: zaio.Context) -> None:
    pull = actx.socket(safezmq.PULL)
    pull.bind(address("inproc", ""))
    poller = zaio.Poller()
    poller.register(pull, safezmq.POLLIN)
    for _ in range(20):
        future = poller.poll(1000)
        await settle()
        future.cancel()
        await settle()
    assert pull._recv_waiters.prune()


# -- the FD ----------------------------------------------------------------------------------


async def test_fd_is_signalled_only_once_asked_for(actx: zaio.Context) -> None:
    pull, push = pair_up(actx, safezmq.PULL, safezmq.PUSH, "inproc", "")
    assert pull.mailbox.use_fd is False
    await push.send(b"a")  # posts to pull's mailbox without touching its descriptor
    fd = pull.FD
    assert pull.mailbox.use_fd is True
    # A command was already waiting: the descriptor says so at once.
    assert select.select([fd], [], [], 0)[0] == [fd]
    assert pull.events & safezmq.POLLIN
    assert await soon(pull.recv()) == b"a"


async def test_sync_poller_and_select_see_async_sockets(actx: zaio.Context) -> None:
    pull, push = pair_up(actx, safezmq.PULL, safezmq.PUSH, "tcp", "")
    poller = safezmq.Poller()
    poller.register(pull, safezmq.POLLIN)
    assert poller.poll(0) == []
    assert pull.mailbox.use_fd is True
    await push.send(b"x")
    for _ in range(100):  # the session delivers on this loop: give it turns
        if poller.poll(0):
            break
        await asyncio.sleep(0.01)
    assert poller.poll(0) == [(pull, safezmq.POLLIN)]
    assert safezmq.select([pull], [], [], 0)[0] == [pull]
    assert await soon(pull.recv()) == b"x"


# -- close, term, loops ----------------------------------------------------------------------


async def test_close_cancels_pending_futures(actx: zaio.Context) -> None:
    pull = actx.socket(safezmq.PULL)
    pull.bind(address("tcp", ""))
    recv = pull.recv()
    polled = pull.poll(timeout=10_000)
    task = asyncio.ensure_future(pull.recv_multipart())
    await settle()
    pull.close(linger=0)
    await settle()
    assert recv.cancelled() and polled.cancelled() and task.cancelled()
    for call in (pull.recv(), pull.send(b"x"), pull.poll()):
        with pytest.raises(safezmq.ZMQError) as info:
            await call
        assert info.value.errno == safezmq.ENOTSOCK


async def test_term_fails_pending_futures_with_context_terminated() -> None:
    ctx = zaio.Context()
    pull = ctx.socket(safezmq.PULL)
    pull.bind(address("tcp", ""))
    inproc = ctx.socket(safezmq.PULL)
    inproc.bind(address("inproc", ""))
    waiting = [pull.recv(), pull.poll(), inproc.recv_multipart()]
    await settle()
    term = asyncio.ensure_future(asyncio.to_thread(ctx.term))
    try:
        for future in waiting:
            with pytest.raises(safezmq.ContextTerminated):
                await soon(future)
        with pytest.raises(safezmq.ContextTerminated):
            await pull.recv()
        assert not term.done()  # term waits for the sockets to close
    finally:
        pull.close()
        inproc.close()
    await soon(term)


async def test_term_on_the_loop_does_not_wait_for_lingering_connections() -> None:
    ctx = zaio.Context()
    push = ctx.socket(safezmq.PUSH)
    push.linger = -1
    push.reconnect_ivl = -1  # one refused attempt, then nothing is left open after the test
    push.connect("tcp://127.0.0.1:9")  # nobody listens: queued messages can never leave
    await push.send(b"stuck")
    push.close()
    ctx.term()  # on the loop thread: must return rather than block the loop forever
    assert ctx.closed


async def test_term_in_a_thread_waits_for_queued_messages() -> None:
    sink = safezmq.Context()  # its own I/O thread: receives while this loop waits
    try:
        pull = sink.socket(safezmq.PULL)
        endpoint = bind(pull, "tcp://127.0.0.1:*")
        ctx = zaio.Context()
        push = ctx.socket(safezmq.PUSH)
        push.connect(endpoint)
        for i in range(20):
            await push.send(b"%d" % i)  # queued before the connection is even made
        push.close()
        await soon(asyncio.to_thread(ctx.term))
        pull.rcvtimeo = 1000
        assert [pull.recv() for _ in range(20)] == [b"%d" % i for i in range(20)]
    finally:
        sink.destroy(linger=0)


def test_term_after_the_loop_closed() -> None:
    ctx = zaio.Context()

    async def main() -> zaio.Socket:
        push = ctx.socket(safezmq.PUSH)
        push.reconnect_ivl = -1
        push.connect("tcp://127.0.0.1:9")
        await push.send(b"stuck")
        await asyncio.sleep(0.05)  # the attempt is refused: no descriptor left open
        return push

    push = asyncio.run(main())
    push.close()
    ctx.term()
    assert ctx.closed


def test_sockets_made_before_the_loop_use_the_io_thread() -> None:
    ctx = zaio.Context()
    pull = ctx.socket(safezmq.PULL)
    push = ctx.socket(safezmq.PUSH)
    push.connect(bind(pull, "tcp://127.0.0.1:*"))
    assert isinstance(ctx._runner_instance, IOThread)

    async def main() -> list[bytes]:
        late = pull.recv()  # woken from the I/O thread (call_soon_threadsafe)
        await asyncio.sleep(0.02)
        await push.send(b"first")
        for i in range(500):
            await push.send(b"%d" % i)
        return [await soon(late)] + [await soon(pull.recv()) for _ in range(500)]

    try:
        assert asyncio.run(main()) == [b"first"] + [b"%d" % i for i in range(500)]
        # ...and from a second loop, one after the other.
        assert asyncio.run(main())[0] == b"first"
    finally:
        ctx.destroy(linger=0)


def test_io_thread_wakes_senders_and_receivers_under_backpressure() -> None:
    ctx = zaio.Context()
    pull = ctx.socket(safezmq.PULL)
    push = ctx.socket(safezmq.PUSH)
    push.sndhwm = pull.rcvhwm = 5
    push.connect(bind(pull, "tcp://127.0.0.1:*"))  # before any loop: the I/O thread

    async def main() -> list[bytes]:
        async def produce() -> None:
            for i in range(5000):
                await push.send(b"%d" % i)

        producer = asyncio.ensure_future(produce())
        got = [await soon(pull.recv()) for _ in range(5000)]
        await soon(producer)
        return got

    try:
        assert asyncio.run(main()) == [b"%d" % i for i in range(5000)]
    finally:
        ctx.destroy(linger=0)


async def test_sync_sender_in_another_thread_wakes_async_receiver(actx: zaio.Context) -> None:
    name = address("inproc", "")
    pull = actx.socket(safezmq.PULL)
    pull.rcvhwm = 10
    pull.bind(name)

    def produce() -> None:
        push = actx.socket(safezmq.PUSH, socket_class=safezmq.Socket)
        push.sndhwm = 10
        push.connect(name)
        for i in range(3000):
            push.send(b"%d" % i)
        push.close()

    thread = threading.Thread(target=produce)
    thread.start()
    try:
        got = [await soon(pull.recv()) for _ in range(3000)]
    finally:
        thread.join(PROMPT)
    assert got == [b"%d" % i for i in range(3000)]


def test_context_shared_with_a_loop_in_another_thread() -> None:
    """As pyzmq's, one Context serves threads with loops of their own (jupyter_client's
    heartbeat thread does this): while the loop running the I/O runs, a socket used from
    another loop works; once it stops (still open) nothing would serve the socket, which is
    refused with a RuntimeError."""
    ctx = zaio.Context()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop = threading.Event()
    received = threading.Event()
    endpoint: list[str] = []

    async def hold() -> None:
        sock = ctx.socket(safezmq.PULL)
        endpoint.append(bind(sock, "tcp://127.0.0.1:*"))
        ready.set()
        got = await soon(sock.recv())
        assert got == b"from the other loop"
        received.set()
        while not stop.is_set():
            await asyncio.sleep(0.01)
        sock.close(linger=0)
        await asyncio.sleep(0.05)  # let the loop close the listener before it stops

    thread = threading.Thread(target=loop.run_until_complete, args=(hold(),))
    thread.start()
    try:
        assert ready.wait(PROMPT)

        async def other_loop() -> None:
            sock = ctx.socket(safezmq.PUSH)
            sock.linger = 0
            sock.connect(endpoint[0])  # its connection runs on the first loop
            await soon(sock.send(b"from the other loop"))
            for _ in range(int(PROMPT / 0.01)):  # closing at once (LINGER 0) would drop it
                if received.is_set():
                    break
                await asyncio.sleep(0.01)
            sock.close()

        asyncio.run(other_loop())
    finally:
        stop.set()
        thread.join(PROMPT)

    assert received.is_set(), "the message sent from the other loop never arrived"

    async def stopped_loop() -> None:
        sock = ctx.socket(safezmq.PUSH)
        with pytest.raises(RuntimeError, match="open but not running"):
            sock.connect("tcp://127.0.0.1:5")
        sock.close()

    try:
        assert not thread.is_alive()
        asyncio.run(stopped_loop())
    finally:
        loop.close()

    async def after() -> bytes:
        # That loop is closed now: the context moves to this one.
        pull = ctx.socket(safezmq.PULL)
        push = ctx.socket(safezmq.PUSH)
        push.connect(bind(pull, "tcp://127.0.0.1:*"))
        await push.send(b"moved")
        data: bytes = await soon(pull.recv())
        await shutdown(ctx)
        return data

    try:
        assert asyncio.run(after()) == b"moved"
    finally:
        ctx.destroy(linger=0)


def test_socket_stays_on_its_loop() -> None:
    ctx = zaio.Context()
    holder: list[zaio.Socket] = []

    async def first() -> None:
        sock = ctx.socket(safezmq.PULL)
        sock.unbind(bind(sock, "tcp://127.0.0.1:*"))  # its I/O is on this loop now
        holder.append(sock)

    async def second() -> None:
        with pytest.raises(RuntimeError, match="closed"):
            holder[0].recv()

    asyncio.run(first())
    asyncio.run(second())
    holder[0].close()
    ctx.term()


async def test_context_instance() -> None:
    first = zaio.Context.instance()
    assert isinstance(first, zaio.Context)
    assert zaio.Context.instance() is first
    assert safezmq.Context.instance() is not first
    assert not isinstance(safezmq.Context.instance(), zaio.Context)
    pull, push = pair_up(first, safezmq.PULL, safezmq.PUSH, "tcp", "")
    await push.send(b"singleton")
    assert await soon(pull.recv()) == b"singleton"
    pull.close(linger=0)
    push.close(linger=0)


# -- against libzmq (pyzmq) ------------------------------------------------------------------


async def test_interop_pyzmq_push_to_safezmq_pull(actx: zaio.Context) -> None:
    pull = actx.socket(safezmq.PULL)
    endpoint = bind(pull, "tcp://127.0.0.1:*")
    zctx = zmq.asyncio.Context()
    try:
        push = zctx.socket(zmq.PUSH)
        push.linger = 0
        push.connect(endpoint)
        for i in range(300):
            await soon(push.send_multipart([b"libzmq", b"%d" % i]))
        got = [await soon(pull.recv_multipart()) for _ in range(300)]
        assert got == [[b"libzmq", b"%d" % i] for i in range(300)]
        push.close()
    finally:
        zctx.term()


async def test_interop_safezmq_push_to_pyzmq_pull(actx: zaio.Context) -> None:
    zctx = zmq.asyncio.Context()
    try:
        pull = zctx.socket(zmq.PULL)
        pull.linger = 0
        port = pull.bind_to_random_port("tcp://127.0.0.1")
        push = actx.socket(safezmq.PUSH)
        push.connect(f"tcp://127.0.0.1:{port}")
        for i in range(300):
            await soon(push.send_multipart([b"safezmq", b"%d" % i]))
        got = [await soon(pull.recv_multipart()) for _ in range(300)]
        assert got == [[b"safezmq", b"%d" % i] for i in range(300)]
        pull.close()
    finally:
        zctx.term()


# -- shadows, pyzmq's bookkeeping names, monitors ---------------------------------------------


# ``lib`` (tests/api/conftest.py) is pyzmq, the reference, or safezmq; both asyncio modules are
# imported above.


async def test_asyncio_shadow_of_a_sync_socket(lib: Any) -> None:
    """``asyncio.Socket(sync)``, ``from_socket`` and ``shadow=``: the same socket, awaitable."""
    ctx = lib.Context()
    try:
        sync_pull = ctx.socket(lib.PULL)
        sync_pull.linger = 0
        port = sync_pull.bind_to_random_port("tcp://127.0.0.1")
        push = ctx.socket(lib.PUSH)
        push.linger = 0
        push.connect(f"tcp://127.0.0.1:{port}")
        shadows = [
            lib.asyncio.Socket(sync_pull),
            lib.asyncio.Socket.from_socket(sync_pull),
            lib.asyncio.Socket(shadow=sync_pull.underlying),
        ]
        for n, shadow in enumerate(shadows):
            assert isinstance(shadow, lib.asyncio.Socket)
            assert shadow.underlying == sync_pull.underlying
            assert shadow.type == lib.PULL
            push.send(b"%d" % n)
            assert await asyncio.wait_for(shadow.recv(), PROMPT) == b"%d" % n
        # the sync handle still works, and sees the same socket
        push.send(b"sync")
        assert sync_pull.poll(PROMPT * 1000)
        assert sync_pull.recv() == b"sync"
        # collecting a shadow does not close the socket; closing one closes it
        del shadows[:2]
        assert not sync_pull.closed
        shadows[0].close()
        assert sync_pull.closed
        push.close()
    finally:
        ctx.term()


async def test_asyncio_shadow_of_an_asyncio_socket_shares_waiters(actx: zaio.Context) -> None:
    a, b = pair_up(actx, safezmq.PAIR, safezmq.PAIR, "inproc", "")
    waiting = b.recv()
    again = zaio.Socket.from_socket(b)
    assert again._recv_futures == [waiting]  # the shadow did not reset the socket's state
    await a.send(b"to the first waiter")
    assert await asyncio.wait_for(waiting, PROMPT) == b"to the first waiter"


async def test_cancelled_polls_leave_no_waiters(lib: Any) -> None:
    ctx = lib.asyncio.Context()
    with ctx, ctx.socket(lib.PULL) as s:
        assert len(s._recv_futures) == 0
        for _ in range(10):
            f = asyncio.ensure_future(s.poll(timeout=1000, flags=lib.POLLIN))
            f.cancel()
            await asyncio.sleep(0)
        await asyncio.sleep(0.05)
        assert len(s._recv_futures) == 0
        live = s.poll(timeout=1000, flags=lib.POLLIN)
        assert len(s._recv_futures) == 1
        live.cancel()


async def test_monitor_socket_is_asyncio_and_messages_are_awaitable(lib: Any) -> None:
    monitor_util = __import__(f"{lib.__name__}.utils.monitor", fromlist=["recv_monitor_message"])
    ctx = lib.asyncio.Context()
    try:
        rep = ctx.socket(lib.REP)
        rep.linger = 0
        events = rep.get_monitor_socket()
        assert isinstance(events, lib.asyncio.Socket)
        rep.bind("tcp://127.0.0.1:*")
        pending = monitor_util.recv_monitor_message(events)
        assert inspect.isawaitable(pending)  # pyzmq: a coroutine; safezmq: a future
        event = await asyncio.wait_for(pending, PROMPT)
        assert event["event"] == lib.EVENT_LISTENING
        rep.disable_monitor()
        event = await asyncio.wait_for(monitor_util.recv_monitor_message(events), PROMPT)
        assert event["event"] == lib.EVENT_MONITOR_STOPPED
    finally:
        ctx.destroy(linger=0)


def test_term_after_the_loop_stopped_with_a_monitored_connection(lib: Any) -> None:
    """A monitored socket closed while its loop is stopped: term() still returns (its monitor
    is stopped at close, since the engine's own close waits for a loop that may never run)."""
    ctx = lib.asyncio.Context()

    async def connect() -> list[Any]:
        rep = ctx.socket(lib.REP)
        req = ctx.socket(lib.REQ)
        port = req.bind_to_random_port("tcp://127.0.0.1")
        events = rep.get_monitor_socket()
        rep.connect(f"tcp://127.0.0.1:{port}")
        await events.recv_multipart()  # the monitor is live and the connection under way
        return [rep, req, events]

    loop = asyncio.new_event_loop()
    try:
        socks = loop.run_until_complete(asyncio.wait_for(connect(), PROMPT))
    finally:
        loop.close()
    for sock in socks:
        sock.close(linger=0)
    done = threading.Event()
    threading.Thread(target=lambda: (ctx.term(), done.set()), daemon=True).start()
    assert done.wait(PROMPT), "term() hung on the monitor of a closed socket"
