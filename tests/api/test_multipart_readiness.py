"""The rest of a multipart message is readable: after recv() took some frames of a message,
EVENTS, Socket.poll(), Poller.poll() and select() report POLLIN until its last frame is
received (libzmq delivers a message whole), so a frame-by-frame reader under a poller never
hangs half-way through a message."""

from __future__ import annotations

from typing import Any

from tests.api.compat import PROMPT, socket


def _router_with_a_message_half_read(lib: Any, ctx: Any) -> Any:
    """A ROUTER that received a DEALER's one-frame message and has read only the routing id."""
    router = socket(ctx, lib.ROUTER)
    router.bind("tcp://127.0.0.1:*")
    dealer = socket(ctx, lib.DEALER)
    dealer.connect(router.getsockopt(lib.LAST_ENDPOINT).decode())
    dealer.send(b"body")
    assert router.poll(PROMPT * 1000) == lib.POLLIN
    assert len(router.recv()) > 0  # the routing id
    assert router.getsockopt(lib.RCVMORE) == 1
    return router


def test_events_shows_pollin_mid_message(lib: Any, lib_ctx: Any) -> None:
    router = _router_with_a_message_half_read(lib, lib_ctx)
    assert router.getsockopt(lib.EVENTS) & lib.POLLIN


def test_socket_poll_mid_message(lib: Any, lib_ctx: Any) -> None:
    router = _router_with_a_message_half_read(lib, lib_ctx)
    assert router.poll(0) == lib.POLLIN


def test_poller_mid_message(lib: Any, lib_ctx: Any) -> None:
    router = _router_with_a_message_half_read(lib, lib_ctx)
    poller = lib.Poller()
    poller.register(router, lib.POLLIN)
    assert dict(poller.poll(0)) == {router: lib.POLLIN}


def test_select_mid_message(lib: Any, lib_ctx: Any) -> None:
    router = _router_with_a_message_half_read(lib, lib_ctx)
    assert lib.select([router], [], [], 0)[0] == [router]


def test_frame_by_frame_reader_under_a_poller(lib: Any, lib_ctx: Any) -> None:
    """The reader that hung: poll, recv one frame, repeat, until RCVMORE is 0."""
    router = _router_with_a_message_half_read(lib, lib_ctx)
    poller = lib.Poller()
    poller.register(router, lib.POLLIN)
    frames = []
    while True:
        assert poller.poll(PROMPT * 1000), "the rest of the message was not reported readable"
        frames.append(router.recv())
        if not router.getsockopt(lib.RCVMORE):
            break
    assert frames == [b"body"]
    assert not router.getsockopt(lib.EVENTS) & lib.POLLIN  # and nothing after it


def test_pollin_clears_after_the_last_frame(lib: Any, lib_ctx: Any) -> None:
    push = socket(lib_ctx, lib.PUSH)
    pull = socket(lib_ctx, lib.PULL)
    pull.bind("inproc://multipart-readiness")
    push.connect("inproc://multipart-readiness")
    push.send_multipart([b"a", b"b", b"c"])
    for expected in (b"a", b"b"):
        assert pull.poll(PROMPT * 1000) == lib.POLLIN
        assert pull.recv() == expected
        assert pull.getsockopt(lib.EVENTS) & lib.POLLIN
    assert pull.recv() == b"c"
    assert pull.poll(0) == 0


def test_asyncio_poller_mid_message(lib: Any) -> None:
    """The asyncio Poller asks the same readiness (SocketCore._events)."""
    import asyncio
    import importlib

    aio = importlib.import_module(f"{lib.__name__}.asyncio")

    async def scenario() -> list[bytes]:
        ctx = aio.Context()
        try:
            pull = socket(ctx, lib.PULL)
            push = socket(ctx, lib.PUSH)
            pull.bind("inproc://multipart-readiness-asyncio")
            push.connect("inproc://multipart-readiness-asyncio")
            await push.send_multipart([b"a", b"b"])
            poller = aio.Poller()
            poller.register(pull, lib.POLLIN)
            frames = []
            while True:
                ready = dict(await asyncio.wait_for(poller.poll(), PROMPT))
                assert ready == {pull: lib.POLLIN}
                frames.append(await pull.recv())
                if not pull.getsockopt(lib.RCVMORE):
                    return frames
        finally:
            ctx.destroy(linger=0)

    assert asyncio.run(scenario()) == [b"a", b"b"]
