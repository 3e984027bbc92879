"""SharedEncoding: connections that send the same messages (a PUB's) encode them once."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from safezmq.protocol.connection import SharedEncoding
from safezmq.protocol.frames import Buffer, encode_message, encode_single_frame_messages


def _wire(buffers: Sequence[Buffer]) -> bytes:
    return b"".join(bytes(b) for b in buffers)


def _messages(count: int, size: int = 64) -> list[list[bytes]]:
    return [[bytes([i % 256]) * size] for i in range(count)]


def _expected(messages: list[list[bytes]]) -> bytes:
    return b"".join(bytes(b) for m in messages for b in encode_message(m))


def test_the_same_batch_is_encoded_once() -> None:
    shared = SharedEncoding()
    batch = _messages(20)
    first = shared.encode(list(batch))
    second = shared.encode(list(batch))  # another session's batch: the same message objects
    third = shared.encode(list(batch))
    assert first is not None and second is not None and third is not None
    assert _wire(first) == _wire(second) == _wire(third) == _expected(batch)
    assert shared.encoded == 20
    assert shared.reused == 40


def test_overlapping_batches_reuse_the_common_part() -> None:
    shared = SharedEncoding()
    stream = _messages(60, size=300)  # long frames too: 9-octet headers
    stream[5] = [b"x" * 10]
    a1 = shared.encode(stream[0:20])
    b1 = shared.encode(stream[0:35])  # ahead: 20 reused, 15 encoded
    a2 = shared.encode(stream[20:40])  # 15 reused, 5 encoded
    b2 = shared.encode(stream[35:38])  # a part of the kept batch
    assert a1 is not None and b1 is not None and a2 is not None and b2 is not None
    assert _wire(a1) == _expected(stream[0:20])
    assert _wire(b1) == _expected(stream[0:35])
    assert _wire(a2) == _expected(stream[20:40])
    assert _wire(b2) == _expected(stream[35:38])
    assert shared.encoded == 40
    assert shared.reused == 20 + 15 + 3


def test_equal_content_in_other_objects_is_not_a_hit_but_still_correct() -> None:
    shared = SharedEncoding()
    batch = _messages(10)
    shared.encode(batch)
    copy = [list(m) for m in batch]  # equal frames, different message objects
    copy[3] = [b"changed"]
    out = shared.encode(copy)
    assert out is not None and _wire(out) == _expected(copy)
    assert shared.encoded == 20


def test_a_batch_that_is_not_single_small_frames_is_left_to_the_caller() -> None:
    shared = SharedEncoding()
    assert shared.encode([[b"a", b"b"]] * 10) is None
    assert shared.encode([[bytearray(b"a")]] * 10) is None  # possibly zero-copy: never kept
    assert shared.encode([[b"x" * 9000]] * 10) is None
    assert shared.encoded == 0
    assert encode_single_frame_messages([[b"x" * 9000]]) is None


def test_what_is_kept_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SharedEncoding, "MAX_BYTES", 3000)
    shared = SharedEncoding()
    old = _messages(20, size=100)  # 2040 octets of wire
    shared.encode(old)
    shared.encode(_messages(20, size=100))  # 4080 kept: the oldest batch is dropped
    out = shared.encode(list(old))
    assert out is not None and _wire(out) == _expected(old)
    assert shared.encoded == 60 and shared.reused == 0
