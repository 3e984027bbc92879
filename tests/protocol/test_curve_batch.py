"""CURVE MESSAGE boxes sealed a batch at a time: the octets, nonces and checks of one by one."""

from __future__ import annotations

import os

import pytest

from safezmq.protocol.curve import _MAX_NONCE, CurveCodec, NonceCounter
from safezmq.protocol.errors import ProtocolError
from safezmq.protocol.frames import encode_message, frame_header

KEY = os.urandom(32)


def _one_by_one(codec: CurveCodec, messages: list[list[bytes]]) -> bytes:
    out = b""
    for (body,) in messages:
        boxed = bytes(codec.box(0, body))
        out += frame_header(len(boxed)) + boxed
    return out


@pytest.mark.parametrize("sizes", [[0, 1, 64, 200], [222, 223, 300, 8192], [64] * 50])
def test_a_batch_is_the_same_octets_as_box_by_box(sizes: list[int]) -> None:
    messages = [[os.urandom(size)] for size in sizes]
    batch = CurveCodec(KEY, NonceCounter(), as_server=True)
    single = CurveCodec(KEY, NonceCounter(), as_server=True)
    sealed = batch.box_messages(messages)
    assert sealed is not None
    assert bytes(sealed) == _one_by_one(single, messages)
    # Both used the same nonces: the next box of each is the same too.
    assert bytes(batch.box(0, b"next")) == bytes(single.box(0, b"next"))


def test_the_peer_opens_a_sealed_batch_in_order_and_refuses_a_replay() -> None:
    messages = [[b"m%d" % i * 10] for i in range(20)]
    sender = CurveCodec(KEY, NonceCounter(), as_server=False)
    receiver = CurveCodec(KEY, NonceCounter(), as_server=True)
    sealed = sender.box_messages(messages)
    assert sealed is not None
    view = memoryview(sealed)
    bodies = []
    at = 0
    while at < len(view):
        assert view[at] == 0  # short frames, no MORE: one-frame messages
        size = view[at + 1]
        bodies.append(view[at + 2 : at + 2 + size])
        at += 2 + size
    opened = [receiver.unbox(body) for body in bodies]  # checks each nonce follows the last
    assert opened == [(0, m[0]) for m in messages]
    with pytest.raises(ProtocolError):
        receiver.unbox(bodies[-1])  # a replay


def test_a_box_that_was_tampered_with_does_not_open() -> None:
    sender = CurveCodec(KEY, NonceCounter(), as_server=False)
    receiver = CurveCodec(KEY, NonceCounter(), as_server=True)
    sealed = sender.box_messages([[b"x" * 64]] * 10)
    assert isinstance(sealed, bytearray)
    sealed[40] ^= 1
    body = memoryview(sealed)[2 : 2 + 64 + 33]
    with pytest.raises(ProtocolError):
        receiver.unbox(body)


@pytest.mark.parametrize("size", [5, 5000, 100_000])
def test_unbox_opens_a_view_of_received_data(size: int) -> None:
    sender = CurveCodec(KEY, NonceCounter(), as_server=False)
    receiver = CurveCodec(KEY, NonceCounter(), as_server=True)
    payload = os.urandom(size)
    boxed = bytes(sender.box(0, payload))
    wire = bytearray(b"pad" + boxed + b"pad")
    flags, body = receiver.unbox(memoryview(wire)[3:-3])  # large: read in place
    assert (flags, bytes(body)) == (0, payload)
    wire[40] ^= 1
    with pytest.raises(ProtocolError):
        CurveCodec(KEY, NonceCounter(), as_server=True).unbox(memoryview(wire)[3:-3])


def test_other_batches_are_left_to_box() -> None:
    codec = CurveCodec(KEY, NonceCounter(), as_server=True)
    assert codec.box_messages([[b"a", b"b"]] * 10) is None
    assert codec.box_messages([[bytearray(b"a")]] * 10) is None
    assert codec.box_messages([[b"x" * 9000]] * 10) is None
    # Nothing was consumed: the next nonce is still 1.
    other = CurveCodec(KEY, NonceCounter(), as_server=True)
    assert bytes(codec.box(0, b"a")) == bytes(other.box(0, b"a"))


def test_nonces_are_taken_strictly_increasing_and_never_beyond_the_last() -> None:
    nonces = NonceCounter()
    assert list(nonces.take(3)) == [1, 2, 3]
    assert nonces.next() == (4).to_bytes(8, "big")
    nonces._next = _MAX_NONCE - 1
    with pytest.raises(ProtocolError):
        nonces.take(3)
    assert list(nonces.take(2)) == [_MAX_NONCE - 1, _MAX_NONCE]
    with pytest.raises(ProtocolError):
        nonces.next()


def test_encode_message_is_untouched_by_codecs() -> None:
    assert b"".join(bytes(b) for b in encode_message([b"ab"])) == b"\x00\x02ab"


@pytest.mark.parametrize("size", [5000, 300_000])
def test_a_large_joined_body_is_opened_where_it_lies(size: int) -> None:
    """The decoder hands a large body over as a bytearray of its own: the box is opened in that
    buffer (no second buffer), and what comes out is a view of the plaintext in it."""
    sender = CurveCodec(KEY, NonceCounter(), as_server=False)
    receiver = CurveCodec(KEY, NonceCounter(), as_server=True)
    payload = os.urandom(size)
    joined = bytearray(sender.box(1, payload))  # MORE set inside the box
    flags, body = receiver.unbox(joined)
    assert isinstance(body, memoryview) and body.obj is joined
    assert (flags, bytes(body)) == (1, payload)


def _sealed_with_inner(codec: CurveCodec, inner: int, body: bytes) -> bytearray:
    """What ``box`` makes, but with any inner flags octet (reserved bits included)."""
    from safezmq.protocol.curve import _MESSAGE_HEADER, _from_buffer, _secretbox_easy

    nonce = codec._nonces.next()
    out = bytearray(_MESSAGE_HEADER + nonce + bytes(16) + bytes((inner,)) + body)
    buffer = _from_buffer(out)
    size = len(body) + 1
    assert _secretbox_easy(buffer + 16, buffer + 32, size, codec._send_prefix + nonce, KEY) == 0
    return out


def test_a_tampered_or_forged_joined_body_is_refused() -> None:
    sender = CurveCodec(KEY, NonceCounter(), as_server=False)
    receiver = CurveCodec(KEY, NonceCounter(), as_server=True)
    joined = bytearray(sender.box(0, os.urandom(100_000)))
    joined[-1] ^= 1  # the last octet of the ciphertext
    with pytest.raises(ProtocolError):
        receiver.unbox(joined)
    # Sealed with the right key, but with a reserved inner flag: refused after opening.
    forged = _sealed_with_inner(sender, 0x04, b"y" * 100_000)
    with pytest.raises(ProtocolError, match="reserved"):
        receiver.unbox(forged)
