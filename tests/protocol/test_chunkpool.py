"""The pool of a large body's receive chunks: reused from one body to the next, never leaking
octets of an earlier body, bounded, emptied on demand, and used by the runtime per loop."""

from __future__ import annotations

import os

import pytest

import safezmq
from safezmq.protocol import chunkpool
from safezmq.protocol.chunkpool import ChunkPool
from safezmq.protocol.frames import LargeBody


def _receive(pool: ChunkPool | None, body: bytes, step: int = 100_000) -> LargeBody:
    """Deliver ``body`` as the stream does for a large frame: recv_into ``space()``."""
    large = LargeBody(len(body), pool)
    at = 0
    while not large.complete:
        space = large.space()
        n = min(len(space), step, len(body) - at)
        space[:n] = body[at : at + n]
        space.release()
        large.filled(n)
        at += n
    return large


def _buffers(large: LargeBody) -> set[int]:
    return {id(chunk.obj) for chunk in large._chunks if isinstance(chunk, memoryview)}


def test_the_next_body_reuses_the_chunks_of_the_last() -> None:
    pool = ChunkPool()
    first = os.urandom(1 << 20)
    large = _receive(pool, first)
    used = _buffers(large)
    assert used, "a 1 MiB body has chunks of 64 KiB and more"
    assert large.body() == first
    assert pool.octets > 0
    second = os.urandom(1 << 20)
    again = _receive(pool, second)
    assert used & _buffers(again), "no chunk came from the pool"
    assert again.body() == second


def test_without_a_pool_chunks_are_new() -> None:
    large = _receive(None, os.urandom(1 << 20))
    assert not _buffers(large)
    assert all(type(chunk) is bytearray for chunk in large._chunks)


@pytest.mark.parametrize("mutable", [False, True])
def test_a_reused_chunk_never_shows_an_earlier_body(mutable: bool) -> None:
    """Bodies of different sizes and fills, one after another: each is exactly its octets."""
    pool = ChunkPool()
    for size, fill in [(1 << 20, 0xAA), (700_000, 0x55), (1 << 20, 0x11), (300_000, 0xEE)]:
        payload = bytes([fill]) * (size - 7) + os.urandom(7)
        body = _receive(pool, payload, step=90_000).body(mutable)
        assert bytes(body) == payload
        assert isinstance(body, bytearray if mutable else bytes)


def test_the_pool_is_bounded_and_memory_follows_the_octets_received() -> None:
    pool = ChunkPool()
    for _ in range(10):
        large = LargeBody(3 << 20, pool)
        while not large.complete:
            space = large.space()
            n = len(space)
            space.release()
            large.filled(n)
            # The whole buffer behind each chunk counts, and stays within the usual bound.
            assert large.allocated <= large.received + max(4096, large.received)
        large.body()
        assert pool.octets <= chunkpool.POOL_OCTETS
        assert all(len(b) <= chunkpool.POOLED_UP_TO for free in pool.free.values() for b in free)
    kept = sum(len(b) for free in pool.free.values() for b in free)
    assert kept == pool.octets


def test_an_abandoned_body_gives_nothing_back() -> None:
    pool = ChunkPool()
    large = LargeBody(1 << 20, pool)
    while large.received < 600_000:
        space = large.space()
        n = len(space)
        space.release()
        large.filled(n)
    del large  # its connection was lost half way: the chunks go with it
    assert pool.octets == 0


def test_release_drops_every_spare() -> None:
    pool = ChunkPool()
    _receive(pool, os.urandom(1 << 20)).body()
    assert pool.octets > 0
    pool.release()
    assert pool.octets == 0 and not pool.free


def test_small_chunks_and_foreign_buffers_are_not_pooled() -> None:
    pool = ChunkPool()
    assert type(pool.take(4096)) is bytearray
    pool.give_back(bytearray(1 << 20))  # not a view: not one of ours
    pool.give_back(memoryview(bytes(1 << 20)))  # read-only, not a pool buffer
    pool.give_back(memoryview(bytearray(3 * 65536)))  # not a power of two
    assert pool.octets == 0


def test_the_runtime_pools_per_loop_and_empties_when_a_connection_ends() -> None:
    """A tcp PUSH -> PULL pair: the PULL's loop keeps the chunks of the bodies it received
    while the connection lives, and none once it has ended."""
    ctx = safezmq.Context()
    try:
        pull = ctx.socket(safezmq.PULL)
        push = ctx.socket(safezmq.PUSH)
        for sock in (pull, push):
            sock.linger = 0
            sock.rcvtimeo = sock.sndtimeo = 10_000
        port = pull.bind_to_random_port("tcp://127.0.0.1")
        push.connect(f"tcp://127.0.0.1:{port}")
        payloads = [os.urandom(1 << 20) for _ in range(4)]
        for payload in payloads:
            push.send(payload)
        assert [pull.recv() for _ in payloads] == payloads
        pool = ctx._runner().chunk_pool
        assert pool.octets > 0
        push.close()
        deadline = 100
        while pool.octets and deadline:
            pull.poll(50)
            deadline -= 1
        assert pool.octets == 0
        pull.close()
    finally:
        ctx.term()
