"""The pool of a large body's receive chunks: reused from one body to the next, never leaking
octets of an earlier body, bounded, and per thread."""

from __future__ import annotations

import os
import threading

import pytest

from safezmq.protocol import chunkpool
from safezmq.protocol.frames import LargeBody


@pytest.fixture(autouse=True)
def empty_pool() -> None:
    chunkpool._spares.free.clear()
    chunkpool._spares.octets = 0


def _receive_in_place(body: bytes, step: int = 100_000) -> tuple[LargeBody, bytes]:
    """Deliver ``body`` the way the stream does for a large frame: recv_into ``space()``."""
    large = LargeBody(len(body))
    at = 0
    while not large.complete:
        space = large.space()
        n = min(len(space), step, len(body) - at)
        space[:n] = body[at : at + n]
        space.release()
        large.filled(n)
        at += n
    return large, bytes(large.body())


def _buffers_of(large: LargeBody) -> list[int]:
    return [id(chunk.obj) for chunk in large._chunks if isinstance(chunk, memoryview)]


def test_the_next_body_reuses_the_chunks_of_the_last() -> None:
    first = os.urandom(1 << 20)
    large = LargeBody(len(first))
    at = 0
    while not large.complete:
        space = large.space()
        n = min(len(space), len(first) - at)
        space[:n] = first[at : at + n]
        space.release()
        large.filled(n)
        at += n
    used = set(_buffers_of(large))
    assert used, "a 1 MiB body has chunks of 64 KiB and more"
    assert large.body() == first
    assert chunkpool._spares.octets > 0
    second = os.urandom(1 << 20)
    again = LargeBody(len(second))
    reused = set()
    at = 0
    while not again.complete:
        space = again.space()
        reused.update(id(chunk.obj) for chunk in again._chunks if isinstance(chunk, memoryview))
        n = min(len(space), len(second) - at)
        space[:n] = second[at : at + n]
        space.release()
        again.filled(n)
        at += n
    assert used & reused, "no chunk came from the pool"
    assert again.body() == second


@pytest.mark.parametrize("mutable", [False, True])
def test_a_reused_chunk_never_shows_an_earlier_body(mutable: bool) -> None:
    """Bodies of different sizes and fills, one after another: each is exactly its octets."""
    for size, fill in [(1 << 20, 0xAA), (700_000, 0x55), (1 << 20, 0x11), (300_000, 0xEE)]:
        payload = bytes([fill]) * (size - 7) + os.urandom(7)
        large = LargeBody(size)
        at = 0
        while not large.complete:
            space = large.space()
            n = min(len(space), 90_000, size - at)
            space[:n] = payload[at : at + n]
            space.release()
            large.filled(n)
            at += n
        body = large.body(mutable)
        assert bytes(body) == payload
        assert isinstance(body, bytearray if mutable else bytes)


def test_the_pool_is_bounded() -> None:
    for _ in range(20):
        _receive_in_place(os.urandom(3 << 20))
        assert chunkpool._spares.octets <= chunkpool.POOL_OCTETS
    kept = sum(len(b) for free in chunkpool._spares.free.values() for b in free)
    assert kept == chunkpool._spares.octets <= chunkpool.POOL_OCTETS


def test_an_abandoned_body_gives_nothing_back() -> None:
    large = LargeBody(1 << 20)
    while large.received < 600_000:
        space = large.space()
        n = len(space)
        space.release()
        large.filled(n)
    del large  # its connection was lost half way: the chunks go with it
    assert chunkpool._spares.octets == 0


def test_each_thread_has_its_own_pool() -> None:
    _receive_in_place(os.urandom(1 << 20))
    assert chunkpool._spares.octets > 0
    seen: list[int] = []
    thread = threading.Thread(target=lambda: seen.append(chunkpool._spares.octets))
    thread.start()
    thread.join()
    assert seen == [0]


def test_small_chunks_and_foreign_buffers_are_not_pooled() -> None:
    assert type(chunkpool.take(4096)) is bytearray
    chunkpool.give_back(bytearray(1 << 20))  # not one of ours
    chunkpool.give_back(memoryview(bytes(1 << 20)))  # read-only, not a pool buffer
    assert chunkpool._spares.octets == 0


def test_release_drops_the_spares_of_this_thread() -> None:
    """What a session calls when its connection ends: the attack suite's retention bound
    (memory back where it was once a hostile peer is gone) holds with the pool."""
    _receive_in_place(os.urandom(1 << 20))
    assert chunkpool._spares.octets > 0
    chunkpool.release()
    assert chunkpool._spares.octets == 0 and not chunkpool._spares.free
