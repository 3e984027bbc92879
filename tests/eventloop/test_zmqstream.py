"""ZMQStream against pyzmq's: message order, callbacks on the loop, copy=False, sends and their
callbacks, flush, stop_on_recv, close and its callback, asyncio sockets, and no busy loop."""

from __future__ import annotations

import asyncio
import json
import pickle
import threading
import warnings
from typing import Any

import pytest
import zmq.asyncio  # noqa: F401  (lib.asyncio)
from tornado.ioloop import IOLoop

import safezmq.asyncio  # noqa: F401  (lib.asyncio)
from tests.api.compat import PROMPT

pytestmark = pytest.mark.timeout(30)


def pipeline(lib: Any, ctx: Any) -> tuple[Any, Any]:
    """(push, pull) over tcp on loopback, both LINGER 0."""
    pull = ctx.socket(lib.PULL)
    pull.linger = 0
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    push = ctx.socket(lib.PUSH)
    push.linger = 0
    push.connect(f"tcp://127.0.0.1:{port}")
    return push, pull


async def collect(
    stream: Any, count: int, copy: bool = True
) -> tuple[list[list[Any]], list[tuple[int, Any]]]:
    """Receive ``count`` messages through on_recv; also where each callback ran."""
    got: list[list[Any]] = []
    where: list[tuple[int, Any]] = []
    done = asyncio.get_running_loop().create_future()

    def on_msg(msg: list[Any]) -> None:
        got.append(msg)
        where.append((threading.get_ident(), asyncio.get_running_loop()))
        if len(got) == count and not done.done():
            done.set_result(None)

    stream.on_recv(on_msg, copy=copy)
    await asyncio.wait_for(done, PROMPT)
    return got, where


async def test_on_recv_in_order_on_the_loop(lib: Any, zmqstream: Any, lib_ctx: Any) -> None:
    push, pull = pipeline(lib, lib_ctx)
    stream = zmqstream.ZMQStream(pull)
    assert stream.io_loop is IOLoop.current()
    sent = [[b"head", str(i).encode()] for i in range(200)]
    for msg in sent:
        push.send_multipart(msg)
    got, where = await collect(stream, len(sent))
    assert got == sent
    loop = asyncio.get_running_loop()
    assert set(where) == {(threading.get_ident(), loop)}
    stream.close()


async def test_on_recv_stream_and_frames(lib: Any, zmqstream: Any, lib_ctx: Any) -> None:
    push, pull = pipeline(lib, lib_ctx)
    stream = zmqstream.ZMQStream(pull)
    push.send_multipart([b"a", b"bc"])
    seen: asyncio.Future[tuple[Any, list[Any]]] = asyncio.get_running_loop().create_future()
    stream.on_recv_stream(lambda s, msg: seen.set_result((s, msg)), copy=False)
    who, msg = await asyncio.wait_for(seen, PROMPT)
    assert who is stream
    assert all(isinstance(frame, lib.Frame) for frame in msg)
    assert [frame.bytes for frame in msg] == [b"a", b"bc"]
    stream.close()


async def test_sends_and_send_callbacks(lib: Any, zmqstream: Any, lib_ctx: Any) -> None:
    push, pull = pipeline(lib, lib_ctx)
    stream = zmqstream.ZMQStream(push)
    assert not stream.sending()
    reported: list[tuple[list[Any], Any]] = []
    stream.on_send(lambda msg, status: reported.append((msg, status)))
    stream.send(b"one")
    stream.send_multipart([b"two", b"parts"])
    stream.send_string("three")
    stream.send_json({"four": 4})
    stream.send_pyobj([5])
    assert stream.sending()  # queued: they go out from the loop
    assert reported == []
    received = []
    for _ in range(5):
        assert await asyncio.get_running_loop().run_in_executor(None, pull.poll, PROMPT * 1000)
        received.append(pull.recv_multipart())
    assert received == [
        [b"one"],
        [b"two", b"parts"],
        [b"three"],
        [json.dumps({"four": 4}).encode()],
        [pickle.dumps([5], -1)],
    ]
    assert [msg for msg, _ in reported][:2] == [[b"one"], [b"two", b"parts"]]
    assert [status for _, status in reported] == [None] * 5
    assert not stream.sending()
    stream.close()


async def test_send_callback_argument_runs(lib: Any, zmqstream: Any, lib_ctx: Any) -> None:
    push, _pull = pipeline(lib, lib_ctx)
    stream = zmqstream.ZMQStream(push)
    done: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
    stream.send_multipart([b"x"], callback=lambda msg, status: done.set_result(msg))
    assert await asyncio.wait_for(done, PROMPT) == [b"x"]
    stream.close()


async def test_flush_handles_waiting_messages_now(lib: Any, zmqstream: Any, lib_ctx: Any) -> None:
    push, pull = pipeline(lib, lib_ctx)
    for i in range(5):
        push.send(str(i).encode())
    assert pull.poll(PROMPT * 1000)
    # let all five arrive (tcp may deliver them in more than one batch)
    await asyncio.sleep(0.2)
    stream = zmqstream.ZMQStream(pull)
    got: list[list[bytes]] = []
    stream.on_recv(got.append)
    assert stream.flush(lib.POLLIN, limit=2) == 2
    assert got == [[b"0"], [b"1"]]  # synchronously, before flush returned
    assert stream.flush() == 3
    assert got == [[str(i).encode()] for i in range(5)]
    assert stream.flush() == 0
    await asyncio.sleep(0.05)  # the loop's pending notification finds nothing more
    assert len(got) == 5
    stream.close()


async def test_flush_without_callback_drops(lib: Any, zmqstream: Any, lib_ctx: Any) -> None:
    a = lib_ctx.socket(lib.PAIR)
    b = lib_ctx.socket(lib.PAIR)
    a.bind("inproc://flush-drop")
    b.connect("inproc://flush-drop")
    a.send(b"dropped")
    stream = zmqstream.ZMQStream(b)
    assert stream.flush(lib.POLLIN) == 1
    assert b.poll(0) == 0
    stream.close()
    a.close()


async def test_stop_on_recv_leaves_messages(lib: Any, zmqstream: Any, lib_ctx: Any) -> None:
    push, pull = pipeline(lib, lib_ctx)
    stream = zmqstream.ZMQStream(pull)
    got: list[list[bytes]] = []
    stream.on_recv(got.append)
    assert stream.receiving()
    stream.stop_on_recv()
    assert not stream.receiving()
    push.send(b"kept")
    assert pull.poll(PROMPT * 1000)
    await asyncio.sleep(0.1)
    assert got == []
    assert pull.recv() == b"kept"
    stream.close()


async def test_close_and_close_callback(lib: Any, zmqstream: Any, lib_ctx: Any) -> None:
    sock = lib_ctx.socket(lib.PULL)
    stream = zmqstream.ZMQStream(sock)
    closed: list[bool] = []
    stream.set_close_callback(lambda: closed.append(True))
    assert not stream.closed()
    stream.close(linger=0)
    assert stream.closed()
    assert sock.closed
    assert closed == [True]
    stream.close()  # a second close does nothing
    assert closed == [True]
    with pytest.raises(OSError):
        stream.on_recv(lambda msg: None)


async def test_socket_closed_behind_the_stream(lib: Any, zmqstream: Any, lib_ctx: Any) -> None:
    sock = lib_ctx.socket(lib.PULL)
    stream = zmqstream.ZMQStream(sock)
    closed: list[bool] = []
    stream.set_close_callback(lambda: closed.append(True))
    sock.close(linger=0)
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        assert stream.closed()
    assert "after closing socket" in "\n".join(str(r.message) for r in records)
    assert closed == [True]


async def test_asyncio_socket_is_shadowed(lib: Any, zmqstream: Any) -> None:
    actx = lib.asyncio.Context()
    try:
        asock = actx.socket(lib.PULL)
        with pytest.warns(RuntimeWarning):
            stream = zmqstream.ZMQStream(asock)
        assert type(stream.socket) is lib.Socket
        assert stream.socket.underlying == asock.underlying
        push = actx.socket(lib.PUSH)
        port = asock.bind_to_random_port("tcp://127.0.0.1")
        push.connect(f"tcp://127.0.0.1:{port}")
        await push.send(b"via the shadow")
        got, _ = await collect(stream, 1)
        assert got == [[b"via the shadow"]]
        stream.close(linger=0)
        assert asock.closed
        push.close(linger=0)
    finally:
        actx.destroy(linger=0)


async def test_callable_check(lib: Any, zmqstream: Any, lib_ctx: Any) -> None:
    stream = zmqstream.ZMQStream(lib_ctx.socket(lib.PULL))
    with pytest.raises(AssertionError):
        stream.on_recv(1)
    with pytest.raises(AssertionError):
        stream.on_send("not callable")
    stream.close(linger=0)


async def test_no_busy_loop(lib: Any, zmqstream: Any, lib_ctx: Any) -> None:
    """While nothing arrives the stream's handler does not run (the loop sits in select on
    the socket's FD); each burst of messages costs a bounded number of runs."""
    calls = [0]

    class Counting(zmqstream.ZMQStream):  # type: ignore[misc,name-defined]
        def _handle_events(self, fd: Any, events: Any) -> Any:
            calls[0] += 1
            return super()._handle_events(fd, events)

    push, pull = pipeline(lib, lib_ctx)
    stream = Counting(pull)
    got: list[list[bytes]] = []
    stream.on_recv(got.append)
    await asyncio.sleep(0.3)
    idle = calls[0]
    assert idle <= 3, f"the stream ran {idle} times with nothing to do"
    await asyncio.sleep(0.3)
    assert calls[0] == idle  # still nothing: no polling
    for i in range(20):
        push.send(b"%d" % i)
    for _ in range(int(PROMPT / 0.01)):
        if len(got) == 20:
            break
        await asyncio.sleep(0.01)
    assert got == [[b"%d" % i] for i in range(20)]
    busy = calls[0] - idle
    assert 1 <= busy <= 20 * 2 + 4
    await asyncio.sleep(0.3)
    settled = calls[0]
    await asyncio.sleep(0.3)
    assert calls[0] == settled
    stream.close()


def test_ioloop_close_all_fds_closes_the_socket(lib: Any, zmqstream: Any, lib_ctx: Any) -> None:
    """The stream registers its socket, not the bare descriptor: closing the IOLoop with
    all_fds closes the socket (a raw os.close would pull the FD from under it)."""
    loop = IOLoop(make_current=False)
    sock = lib_ctx.socket(lib.PULL)

    async def attach() -> Any:
        return zmqstream.ZMQStream(sock)

    stream = loop.run_sync(attach, timeout=10)
    loop.close(all_fds=True)
    assert sock.closed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "after closing socket": expected here
        assert stream.closed()


async def test_flush_sends_now(lib: Any, zmqstream: Any, lib_ctx: Any) -> None:
    a = lib_ctx.socket(lib.PAIR)
    b = lib_ctx.socket(lib.PAIR)
    a.bind("inproc://flush-send")
    b.connect("inproc://flush-send")
    stream = zmqstream.ZMQStream(a)
    sent: list[list[Any]] = []
    for i in range(3):
        stream.send(b"%d" % i, callback=lambda msg, status: sent.append(msg))
    assert stream.flush(lib.POLLIN) == 0  # nothing to receive; sends are left queued
    assert stream.sending()
    assert stream.flush(lib.POLLOUT, limit=2) == 2
    assert sent == [[b"0"], [b"1"]]  # the callbacks ran before flush returned
    assert [b.recv(lib.NOBLOCK), b.recv(lib.NOBLOCK)] == [b"0", b"1"]
    assert stream.flush(lib.POLLOUT) == 1
    assert b.recv(lib.NOBLOCK) == b"2"
    assert not stream.sending()
    stream.close(linger=0)
    b.close()
