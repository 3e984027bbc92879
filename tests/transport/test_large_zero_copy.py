"""Large frames on the receive path: one copy between the kernel and the application, and the
read buffer that a loop's streams share never leaks into anything delivered.

The stream hands its handler a *view* of the loop's shared read buffer, valid during the call
only; the frame decoder copies each body out of it once.  These tests check that mechanism
(what is handed over, what is allocated, what survives the buffer being overwritten), never a
speed.
"""

from __future__ import annotations

import asyncio
import socket
import tracemalloc
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safezmq.protocol.errors import ProtocolError
from safezmq.protocol.frames import COMMAND, LONG, MORE, FrameDecoder, LargeBody
from safezmq.protocol.limits import LARGE_FRAME_THRESHOLD, Limits
from safezmq.transport import stream as stream_module
from safezmq.transport.stream import Stream

K64 = 64 * 1024


def wire(body: bytes, flags: int = 0) -> bytes:
    """One frame on the wire, built by hand (independent of the encoder)."""
    if len(body) > 255:
        return bytes((flags | LONG,)) + len(body).to_bytes(8, "big") + body
    return bytes((flags, len(body))) + body


def pattern(size: int, seed: int) -> bytes:
    """``size`` octets that differ from frame to frame (an overwritten body shows)."""
    return bytes((seed * 7 + i * 13) & 0xFF for i in range(256)) * (size // 256) + bytes(size % 256)


def decoder(limits: Limits | None = None) -> FrameDecoder:
    commands: list[bytes] = []

    def on_command(body: Any, out: list[object]) -> None:
        commands.append(bytes(body))
        out.append(("command", body))

    d = FrameDecoder(limits or Limits(), on_command, 1 << 20)
    d.accept_messages = True
    return d


def feed_as_shared_buffer(d: FrameDecoder, stream: bytes, cuts: list[int]) -> list[object]:
    """Feed ``stream`` cut at ``cuts`` the way Stream does: each piece as a view of one
    reused buffer, scribbled over after every call."""
    shared = bytearray(len(stream) + 1)
    out: list[object] = []
    start = 0
    for end in [*cuts, len(stream)]:
        piece = stream[start:end]
        shared[: len(piece)] = piece
        with memoryview(shared)[: len(piece)] as view:
            d.feed(view, out)
        shared[:] = b"\xee" * len(shared)  # the next read of another connection
        start = end
    return out


def as_bytes(events: list[object]) -> list[object]:
    result: list[object] = []
    for event in events:
        if isinstance(event, list):
            result.append([bytes(frame) for frame in event])
        else:
            result.append((event[0], bytes(event[1])))  # type: ignore[index]
    return result


# -- the decoder fed views ----------------------------------------------------------------------


def test_whole_large_frames_in_a_view_survive_the_buffer_being_overwritten() -> None:
    bodies = [pattern(K64, i) for i in range(3)]
    stream = b"".join(wire(b) for b in bodies)
    out = feed_as_shared_buffer(decoder(), stream, [])
    assert as_bytes(out) == [[b] for b in bodies]
    assert all(type(msg[0]) is bytes for msg in out)  # type: ignore[index]


def test_large_small_multipart_and_commands_mixed() -> None:
    stream = b"".join(
        [
            wire(pattern(K64, 1)),
            wire(pattern(K64 + 5, 2), MORE),
            wire(b"small", MORE),
            wire(pattern(3 * K64, 3)),
            wire(b"\x04PING\x00\x00", COMMAND),
            wire(b"tiny"),
            wire(pattern(K64, 4)),
        ]
    )
    expected = [
        [pattern(K64, 1)],
        [pattern(K64 + 5, 2), b"small", pattern(3 * K64, 3)],
        ("command", b"\x04PING\x00\x00"),
        [b"tiny"],
        [pattern(K64, 4)],
    ]
    for cuts in (
        [],
        [100],
        [K64 + 9 + 3],
        [70_000, 140_000, 200_000],
        list(range(1, 400_000, 9999)),
    ):
        out = feed_as_shared_buffer(decoder(), stream, [c for c in cuts if c < len(stream)])
        assert as_bytes(out) == expected, cuts


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(
        st.sampled_from([0, 3, 255, 256, 4000, K64 - 1, K64, K64 + 1, 200_000]), max_size=6
    ),
    more=st.lists(st.booleans(), min_size=6, max_size=6),
    cut_fractions=st.lists(st.floats(0, 1), max_size=6),
)
def test_views_decode_exactly_as_bytes(
    sizes: list[int], more: list[bool], cut_fractions: list[float]
) -> None:
    """Whatever the cuts, a stream fed as transient views decodes to what it decodes to when
    fed as bytes (the path every other decoder test takes)."""
    stream = b"".join(
        wire(pattern(size, i), MORE if more[i] and i < len(sizes) - 1 else 0)
        for i, size in enumerate(sizes)
    )
    cuts = sorted({int(f * len(stream)) for f in cut_fractions} - {0, len(stream)})
    reference = decoder()
    expected: list[object] = []
    start = 0
    for end in [*cuts, len(stream)]:
        reference.feed(stream[start:end], expected)
        start = end
    assert as_bytes(feed_as_shared_buffer(decoder(), stream, cuts)) == as_bytes(expected)


@pytest.mark.parametrize(
    "frame",
    [
        bytes((LONG | 0x08,)) + (K64).to_bytes(8, "big"),  # reserved flag
        bytes((LONG,)) + (1 << 63).to_bytes(8, "big"),  # above 2^63-1
        bytes((LONG,)) + (2 * K64).to_bytes(8, "big"),  # above MAXMSGSIZE below
    ],
)
def test_violations_in_a_view_are_refused_as_with_bytes(frame: bytes) -> None:
    limits = Limits(max_message_size=K64 + 100)
    stream = wire(pattern(K64, 1)) + frame + bytes(K64)
    with pytest.raises(ProtocolError) as from_bytes:
        decoder(limits).feed(stream)
    out: list[object] = []
    with pytest.raises(ProtocolError) as from_view:
        decoder(limits).feed(memoryview(bytearray(stream)), out)
    assert type(from_view.value) is type(from_bytes.value)
    assert as_bytes(out) == [[pattern(K64, 1)]]  # what came before the violation


def test_a_large_frame_whole_in_a_view_is_copied_once() -> None:
    """Three 64 KiB frames in one read cost three bodies of memory, not the read copied to
    bytes and then each body copied again."""
    stream = bytearray(b"".join(wire(pattern(K64, i)) for i in range(3)))
    d = decoder()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        with memoryview(stream) as view:
            out = d.feed(view)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert len(out) == 3
    assert 3 * K64 <= peak < 3 * K64 + 16 * 1024


def test_the_split_frame_of_a_read_is_received_in_place_and_delivered_as_bytes() -> None:
    """The frame a read cuts: the octets in hand become one chunk of their own (no buffer
    zero-filled first), the rest is received in place into a buffer of exactly its size, and
    the body is delivered as bytes (what recv() returns, with no further copy)."""
    body = pattern(K64, 9)
    head = wire(body)[: 9 + 60_000]
    d = decoder()
    out = d.feed(memoryview(bytearray(head)))
    assert out == []
    space = d.receive_buffer()
    assert space is not None and len(space) == K64 - 60_000
    space[:] = body[60_000:]
    space.release()
    out = d.buffer_received(K64 - 60_000)
    assert len(out) == 1
    assert type(out[0][0]) is bytes and out[0][0] == body  # type: ignore[index]


def test_a_body_fed_one_octet_at_a_time_holds_few_chunks() -> None:
    """Short runs fill doubling chunks, not a chunk each: memory stays near the body's size."""
    body = pattern(K64, 5)
    stream = wire(body)
    d = decoder()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        out: list[object] = []
        for i in range(len(stream)):
            d.feed(stream[i : i + 1], out)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert as_bytes(out) == [[body]]
    assert peak < 3 * K64


@settings(max_examples=100, deadline=None)
@given(
    size=st.integers(LARGE_FRAME_THRESHOLD, 3 * 1024 * 1024),
    steps=st.lists(st.integers(1, 600_000), min_size=1, max_size=40),
    in_place=st.lists(st.booleans(), min_size=40, max_size=40),
)
def test_large_body_memory_follows_the_octets_received(
    size: int, steps: list[int], in_place: list[bool]
) -> None:
    """Whether octets are copied in (take) or received in place (space/filled): never more
    than the octets received plus as many again, or 4 KiB."""
    large = LargeBody(size)
    for step, direct in zip(steps, in_place, strict=False):
        if large.complete:
            break
        if direct:
            space = large.space()
            n = min(step, len(space))
            space.release()
            large.filled(n)
        else:
            large.take(bytes(min(step, size - large.received) + 17))  # more than the body
        assert large.allocated <= large.received + max(4096, large.received)
        assert large.received <= size


# -- the stream --------------------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.views: list[memoryview] = []
        self.copies: list[bytes] = []
        self.lost = asyncio.Event()

    def data_received(self, data: Any) -> None:
        assert isinstance(data, memoryview)
        self.views.append(data)  # kept on purpose: it must be unusable after the call
        self.copies.append(bytes(data))

    def get_buffer(self) -> memoryview | None:
        return None

    def buffer_updated(self, nbytes: int) -> None:  # pragma: no cover - never asked for
        raise AssertionError

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost.set()

    def pause_writing(self) -> None:
        pass

    def resume_writing(self) -> None:
        pass


def test_stream_hands_over_a_view_of_the_shared_buffer_released_after_the_call() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        a, b = socket.socketpair()
        recorder = Recorder()
        stream = Stream(loop, b, recorder)
        stream.start()
        a.sendall(b"first")
        while not recorder.copies:
            await asyncio.sleep(0.01)
        a.sendall(b"second")
        while len(recorder.copies) < 2:
            await asyncio.sleep(0.01)
        a.close()
        await asyncio.wait_for(recorder.lost.wait(), 5)
        assert recorder.copies == [b"first", b"second"]
        shared = stream_module._read_buffer(loop)
        assert bytes(shared[:6]) == b"second"  # the same buffer served both reads
        for view in recorder.views:
            with pytest.raises(ValueError):
                bytes(view)  # released: a kept view never shows a later read

    asyncio.run(main())
