"""libzmq's framing of messages in PGM data: encoder, decoder, late joins and losses."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safezmq.pgm import packet as pgm
from safezmq.pgm.framing import NO_OFFSET, ApduDecoder, ApduEncoder, frame_header

VECTORS = json.loads((Path(__file__).parent / "libzmq_vectors.json").read_text())
FAST = settings(max_examples=200, deadline=None)


def tsdus(messages: list[list[bytes]], max_tsdu: int) -> list[bytes]:
    encoder = ApduEncoder(max_tsdu)
    for message in messages:
        encoder.add(message)
    out = []
    while (tsdu := encoder.next_tsdu()) is not None:
        out.append(tsdu)
    return out


def decode(chunks: list[bytes], decoder: ApduDecoder | None = None) -> list[list[bytes]]:
    decoder = decoder or ApduDecoder()
    out: list[list[bytes]] = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out


def test_libzmq_odata_payload_decodes() -> None:
    data = pgm.parse_packet(bytes.fromhex(VECTORS["odata"]["hex"]))
    assert isinstance(data, pgm.Data)
    expected = [[b"topic", b"msg %d" % i + b"x" * 10] for i in range(5)]
    assert ApduDecoder().feed(data.payload) == expected
    # ...and safezmq encodes those messages into the same octets.
    assert tsdus(expected, 1448) == [data.payload]


@pytest.mark.parametrize(
    ("size", "more", "header"),
    [
        (0, False, b"\x01\x00"),
        (5, True, b"\x06\x01"),
        (253, False, b"\xfe\x00"),
        (254, False, b"\xff" + struct.pack("!Q", 255) + b"\x00"),  # 255 needs the long form
        (70_000, True, b"\xff" + struct.pack("!Q", 70_001) + b"\x01"),
    ],
)
def test_frame_headers_are_libzmqs_v1(size: int, more: bool, header: bytes) -> None:
    assert frame_header(size, more) == header


frames = st.lists(
    st.one_of(st.binary(max_size=20), st.binary(min_size=250, max_size=600)),
    min_size=1,
    max_size=4,
)
message_lists = st.lists(frames, min_size=1, max_size=25)


@FAST
@given(messages=message_lists, max_tsdu=st.integers(3, 700), data=st.data())
def test_round_trip_and_every_offset_is_a_message_boundary(
    messages: list[list[bytes]], max_tsdu: int, data: st.DataObject
) -> None:
    chunks = tsdus(messages, max_tsdu)
    assert all(3 <= len(c) <= max_tsdu for c in chunks)
    assert decode(chunks) == messages
    # A receiver that joins at any packet delivers a suffix of the messages: it starts at the
    # first message that begins in or after that packet, never in the middle of one.
    starts = data.draw(st.lists(st.integers(0, len(chunks) - 1), max_size=8))
    for start in starts:
        got = decode(chunks[start:])
        assert got == messages[len(messages) - len(got) :]


@FAST
@given(messages=message_lists, max_tsdu=st.integers(3, 300), data=st.data())
def test_a_loss_drops_whole_messages_only(
    messages: list[list[bytes]], max_tsdu: int, data: st.DataObject
) -> None:
    """Lose any one packet: what is delivered is the messages before it and a suffix after,
    each whole and in order; nothing partial or corrupted."""
    chunks = tsdus(messages, max_tsdu)
    lost = data.draw(st.integers(0, len(chunks) - 1))
    decoder = ApduDecoder()
    got = decode(chunks[:lost], decoder)
    decoder.reset()
    after = decode(chunks[lost + 1 :], decoder)
    assert got == messages[: len(got)]
    assert not after or after == messages[len(messages) - len(after) :]
    assert len(got) + len(after) <= len(messages)


def test_reset_in_the_middle_of_a_multipart_message() -> None:
    messages = [[b"a" * 100, b"b" * 100, b"c" * 100], [b"next"]]
    chunks = tsdus(messages, 120)
    decoder = ApduDecoder()
    assert decoder.feed(chunks[0]) == []
    decoder.reset()  # a loss: the three-part message is gone
    assert decoder.dropped_partial == 1
    assert decode(chunks[1:], decoder) == [[b"next"]]


def test_late_joiner_ignores_packets_without_a_boundary() -> None:
    decoder = ApduDecoder()
    assert decoder.feed(struct.pack("!H", NO_OFFSET) + b"middle of something") == []
    assert not decoder.joined
    assert decoder.feed(struct.pack("!H", 3) + b"xyz\x03\x00hi") == [[b"hi"]]
    assert decoder.joined


def test_oversize_messages_are_skipped_not_buffered() -> None:
    decoder = ApduDecoder(max_message_size=1000)
    messages = [[b"x" * 600, b"y" * 600], [b"ok"]]  # 1200 octets in all: over the limit
    assert decode(tsdus(messages, 200), decoder) == [[b"ok"]]
    assert decoder.dropped_oversize == 1
    # A frame that claims 2**60 octets is refused from its header.
    decoder = ApduDecoder(max_message_size=1000)
    huge = struct.pack("!H", 0) + b"\xff" + struct.pack("!Q", 1 << 60) + b"\x00abc"
    assert decoder.feed(huge) == []
    assert decoder.dropped_oversize == 1 and not decoder.joined


def test_too_many_frames() -> None:
    decoder = ApduDecoder(max_frames=10)
    # Two stream octets per packet: the next message starts in a packet of its own, where
    # the decoder (which gave up on the rest of the packet in error) finds its offset.
    assert decode(tsdus([[b""] * 11, [b"ok"]], 4), decoder) == [[b"ok"]]


@pytest.mark.parametrize(
    "tsdu",
    [
        b"",
        b"\x00",
        struct.pack("!H", 9) + b"abc",  # offset beyond the packet
        struct.pack("!H", 0) + b"\x00\x00",  # a frame length of 0 (must count its flags)
        struct.pack("!H", 0) + b"\xff" + struct.pack("!Q", 0) + b"\x00",
    ],
)
def test_malformed_framing_resynchronises(tsdu: bytes) -> None:
    decoder = ApduDecoder()
    assert decoder.feed(tsdu) == []
    assert decoder.feed(struct.pack("!H", 0) + b"\x03\x00ok") == [[b"ok"]]


def test_an_offset_that_disagrees_with_the_stream_resynchronises() -> None:
    decoder = ApduDecoder()
    assert decoder.feed(struct.pack("!H", 0) + b"\x0b\x00hello") == []  # 5 of 10 octets
    # The next packet says a message starts at offset 2: the decoder still expected 5 body
    # octets, so the stream is inconsistent; the partial message is dropped.
    assert decoder.feed(struct.pack("!H", 2) + b"ab\x03\x00ok") == [[b"ok"]]
    assert decoder.desyncs == 1 and decoder.dropped_partial == 1


@FAST
@given(st.lists(st.binary(max_size=60), max_size=20))
def test_any_tsdus_decode_or_resynchronise(chunks: list[bytes]) -> None:
    decoder = ApduDecoder(max_message_size=10_000, max_frames=100)
    for chunk in chunks:
        for message in decoder.feed(chunk):
            assert isinstance(message, list) and all(isinstance(f, bytes) for f in message)
            assert sum(map(len, message)) <= 10_000 and len(message) <= 100


def test_encoder_references_frames_and_packs_many_messages() -> None:
    encoder = ApduEncoder(1448)
    view = memoryview(bytearray(b"z" * 3000))
    encoder.add([b"topic", view])
    assert encoder.buffered == 2 + 5 + 10 + 3000 and encoder.room < 0
    out = [encoder.next_tsdu() for _ in range(3)]
    assert [len(t) for t in out if t] == [1448, 1448, 2 + 3017 - 2 * 1446]
    assert encoder.next_tsdu() is None
    assert struct.unpack("!H", out[1][:2])[0] == NO_OFFSET  # the middle of the big frame
