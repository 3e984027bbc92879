"""safezmq.eventloop.future (futures for tornado coroutines), the deprecated eventloop.ioloop
and auth.ioloop modules, each against pyzmq's."""

from __future__ import annotations

import importlib
import subprocess
import sys
import warnings
from typing import Any

import pytest
import tornado.ioloop
from tornado.ioloop import IOLoop

import safezmq

pytestmark = pytest.mark.timeout(30)


def future_module(lib: Any) -> Any:
    return importlib.import_module(f"{lib.__name__}.eventloop.future")


def test_future_sockets_on_a_tornado_loop(lib: Any) -> None:
    future = future_module(lib)
    loop = IOLoop(make_current=False)
    ctx = future.Context()
    try:

        async def exchange() -> None:
            a = ctx.socket(lib.PAIR)
            b = ctx.socket(lib.PAIR)
            assert isinstance(a, future.Socket)
            a.linger = b.linger = 0
            port = a.bind_to_random_port("tcp://127.0.0.1")
            b.connect(f"tcp://127.0.0.1:{port}")
            first = b.recv()
            second = b.recv_multipart()
            assert not first.done()
            await a.send(b"one")
            await a.send_multipart([b"two", b"parts"])
            assert await second == [b"two", b"parts"]
            assert first.result() == b"one"
            poller = future.Poller()
            poller.register(b, lib.POLLIN)
            await a.send_json({"k": 1})
            assert await poller.poll(5000) == [(b, lib.POLLIN)]
            assert await b.recv_json() == {"k": 1}
            a.close()
            b.close()

        loop.run_sync(exchange, timeout=10)
    finally:
        loop.close(all_fds=True)
        ctx.destroy(linger=0)


def test_future_cancel_keeps_the_message(lib: Any) -> None:
    future = future_module(lib)
    loop = IOLoop(make_current=False)
    ctx = future.Context()
    try:

        async def cancel() -> None:
            a = ctx.socket(lib.PAIR)
            b = ctx.socket(lib.PAIR)
            a.linger = b.linger = 0
            a.bind("inproc://future-cancel")
            b.connect("inproc://future-cancel")
            dropped = b.recv()
            assert dropped.cancel()
            await a.send(b"kept")
            with pytest.raises(future.CancelledError):
                await dropped
            assert await b.recv() == b"kept"
            a.close()
            b.close()

        loop.run_sync(cancel, timeout=10)
    finally:
        loop.close(all_fds=True)
        ctx.destroy(linger=0)


def test_loop_close_all_fds_closes_used_sockets(lib: Any) -> None:
    future = future_module(lib)
    loop = IOLoop(make_current=False)
    ctx = future.Context()
    sock = ctx.socket(lib.PUB)

    async def use() -> None:
        sock._get_loop()

    loop.run_sync(use, timeout=10)
    assert not sock.closed
    loop.close(all_fds=True)
    assert sock.closed
    ctx.destroy(linger=0)


def test_future_context_instance_is_its_own(lib: Any) -> None:
    future = future_module(lib)
    fctx = future.Context.instance()
    plain = lib.Context.instance()
    try:
        assert type(fctx) is future.Context
        assert type(plain) is lib.Context
        assert fctx is not plain
    finally:
        fctx.term()
        plain.term()


def test_future_context_io_loop_argument_deprecated(lib: Any) -> None:
    future = future_module(lib)
    with pytest.warns(DeprecationWarning):
        ctx = future.Context(io_loop=object())
    ctx.term()


def test_ioloop_module(lib: Any) -> None:
    sys.modules.pop(f"{lib.__name__}.eventloop.ioloop", None)
    with pytest.warns(DeprecationWarning):
        ioloop = importlib.import_module(f"{lib.__name__}.eventloop.ioloop")
    assert ioloop.IOLoop is tornado.ioloop.IOLoop
    assert ioloop.ZMQIOLoop is tornado.ioloop.IOLoop
    with pytest.warns(DeprecationWarning):
        ioloop.install()
    eventloop = importlib.import_module(f"{lib.__name__}.eventloop")
    assert eventloop.IOLoop is tornado.ioloop.IOLoop


async def test_ioloop_authenticator(lib: Any) -> None:
    sys.modules.pop(f"{lib.__name__}.auth.ioloop", None)
    with pytest.warns(DeprecationWarning):
        auth_ioloop = importlib.import_module(f"{lib.__name__}.auth.ioloop")
    asyncio_auth = importlib.import_module(f"{lib.__name__}.auth.asyncio")
    assert issubclass(auth_ioloop.IOLoopAuthenticator, asyncio_auth.AsyncioAuthenticator)
    ctx = lib.asyncio.Context() if hasattr(lib, "asyncio") else None
    assert ctx is not None
    auth = auth_ioloop.IOLoopAuthenticator(ctx)
    try:
        auth.start()
        auth.configure_plain(domain="*", passwords={"admin": "good"})
        server = ctx.socket(lib.PULL)
        server.plain_server = True
        server.linger = 0
        port = server.bind_to_random_port("tcp://127.0.0.1")
        client = ctx.socket(lib.PUSH)
        client.linger = 0
        client.plain_username = b"admin"
        client.plain_password = b"good"
        client.connect(f"tcp://127.0.0.1:{port}")
        await client.send(b"authenticated")
        assert await server.poll(5000) == lib.POLLIN
        assert await server.recv() == b"authenticated"
        client.close()
        server.close()
    finally:
        auth.stop()
        ctx.destroy(linger=0)


def test_ioloop_authenticator_io_loop_argument_deprecated() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from safezmq.auth.ioloop import IOLoopAuthenticator

    loop = IOLoop(make_current=False)
    ctx = safezmq.Context()
    try:
        with pytest.warns(DeprecationWarning, match="io_loop"):
            IOLoopAuthenticator(ctx, io_loop=loop)
    finally:
        loop.close()
        ctx.term()


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_tornado_is_optional() -> None:
    """``import safezmq`` never imports tornado; safezmq.eventloop without it says what to
    install."""
    result = run_python(
        "import sys, safezmq, safezmq.asyncio, safezmq.auth\n"
        "print('tornado' in sys.modules)\n"
        "sys.modules['tornado'] = None  # as if it were not installed\n"
        "try:\n"
        "    import safezmq.eventloop.zmqstream\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    assert result.returncode == 0, result.stderr
    imported, message = result.stdout.strip().splitlines()
    assert imported == "False"
    assert "pip install 'safezmq[tornado]'" in message
