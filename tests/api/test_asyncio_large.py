"""Large messages through safezmq.asyncio (sessions on the application's loop) and through the
sync API: every frame of 64 KiB and more arrives intact and stays intact while later ones
arrive (the loop's shared read buffer is reused by every read; nothing delivered may view it),
whether received as bytes, as Frames (copy=False) or with recv_multipart."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import safezmq
import safezmq.asyncio as zaio

pytestmark = pytest.mark.timeout(60)

K64 = 64 * 1024
SIZES = [K64 - 1, K64, K64 + 1, 100_000, 1024 * 1024 + 3]


def body(size: int, seed: int) -> bytes:
    """Distinct content per message, so that a body overwritten by a later read shows."""
    unit = bytes((seed * 31 + i) & 0xFF for i in range(251))
    return (unit * (size // 251 + 1))[:size]


async def pair(ctx: zaio.Context, transport: str) -> tuple[Any, Any]:
    pull = ctx.socket(safezmq.PULL)
    push = ctx.socket(safezmq.PUSH)
    pull.linger = push.linger = 0
    if transport == "tcp":
        port = pull.bind_to_random_port("tcp://127.0.0.1")
        push.connect(f"tcp://127.0.0.1:{port}")
    else:
        pull.bind(f"inproc://large-{id(pull)}")
        push.connect(f"inproc://large-{id(pull)}")
    return pull, push


@pytest.mark.parametrize("copy", [True, False])
async def test_large_messages_in_one_loop_arrive_intact_and_stay_intact(copy: bool) -> None:
    ctx = zaio.Context()
    try:
        pull, push = await pair(ctx, "tcp")
        expected = [body(SIZES[i % len(SIZES)], i) for i in range(40)]

        async def send_all() -> None:
            for data in expected:
                await push.send(data)

        sender = asyncio.ensure_future(send_all())
        received = [await asyncio.wait_for(pull.recv(copy=copy), 10) for _ in expected]
        await sender
        # Checked only now, after every later read reused the loop's read buffer.
        for got, data in zip(received, expected, strict=True):
            if copy:
                assert type(got) is bytes
            else:
                assert isinstance(got, safezmq.Frame)
                got = got.bytes
            assert got == data
        pull.close()
        push.close()
    finally:
        ctx.destroy(linger=0)


async def test_large_and_small_frames_in_multipart_messages() -> None:
    ctx = zaio.Context()
    try:
        pull, push = await pair(ctx, "tcp")
        messages = [
            [body(K64, 1), b"small", body(3 * K64 + 7, 2)],
            [b"", body(K64 + 1, 3)],
            [body(1024 * 1024, 4), body(K64, 5), b"x"],
        ] * 4
        for message in messages:
            await push.send_multipart(message)
        received = [await asyncio.wait_for(pull.recv_multipart(), 10) for _ in messages]
        assert received == messages
        pull.close()
        push.close()
    finally:
        ctx.destroy(linger=0)


def test_sync_frames_kept_across_later_reads() -> None:
    """The I/O thread's loop has its own shared buffer: Frames received with copy=False keep
    their content while many more large messages arrive after them."""
    ctx = safezmq.Context()
    try:
        pull = ctx.socket(safezmq.PULL)
        push = ctx.socket(safezmq.PUSH)
        pull.linger = push.linger = 0
        pull.rcvtimeo = 10_000
        port = pull.bind_to_random_port("tcp://127.0.0.1")
        push.connect(f"tcp://127.0.0.1:{port}")
        expected = [body(SIZES[i % len(SIZES)], i) for i in range(60)]
        for data in expected:
            push.send(data)
        frames = [pull.recv(copy=False) for _ in expected]
        assert [f.bytes for f in frames] == expected
        pull.close()
        push.close()
    finally:
        ctx.term()
