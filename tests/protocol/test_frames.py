"""ZMTP 3 framing: the encoder (headers, no copies) and the incremental FrameDecoder.

The decoder is fed hostile sizes here: every limit must be enforced from the header alone, and
memory must grow with the bytes that arrive, never with the size a header declares.
"""

from __future__ import annotations

import itertools
import os
import tracemalloc
from array import array
from collections.abc import Iterable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safezmq.constants import Errno, ProtocolErrorCode
from safezmq.protocol import frames
from safezmq.protocol.errors import MessageTooLarge, ProtocolError
from safezmq.protocol.frames import (
    COMMAND,
    JOIN_BODY_MAX,
    LONG,
    MAX_FRAME_SIZE,
    MORE,
    RESERVED,
    Buffer,
    FrameDecoder,
    encode_command,
    encode_message,
    encode_single_frame_messages,
    frame_header,
)
from safezmq.protocol.limits import LARGE_FRAME_THRESHOLD, MAX_MID_MESSAGE_COMMAND_SIZE, Limits

SETTINGS = settings(max_examples=200, deadline=None)

# ---------------------------------------------------------------------------------------------
# Helpers.  Wire frames are built here by hand (not with frame_header) so that the decoder tests
# do not depend on the encoder being right.


def wire(body: bytes, flags: int = 0, *, long: bool | None = None) -> bytes:
    """One frame on the wire; ``long`` forces the size encoding (default: by size)."""
    if long is None:
        long = len(body) > 255
    if long:
        return bytes((flags | LONG,)) + len(body).to_bytes(8, "big") + body
    return bytes((flags, len(body))) + body


def wire_message(parts: Sequence[bytes]) -> bytes:
    return b"".join(wire(part, MORE if i < len(parts) - 1 else 0) for i, part in enumerate(parts))


def long_header(size: int, flags: int = 0) -> bytes:
    return bytes((flags | LONG,)) + size.to_bytes(8, "big")


Item = tuple[str, object]


def record_command(body: Buffer, out: list[object]) -> None:
    out.append(("command", bytes(body)))


def make_decoder(
    limits: Limits | None = None, *, command_limit: int = 1024, accept: bool = True
) -> FrameDecoder:
    decoder = FrameDecoder(limits or Limits(), record_command, command_limit)
    decoder.accept_messages = accept
    return decoder


def normalise(items: Iterable[object]) -> list[Item]:
    """Decoder output as comparable values: ("message", [bytes...]) or ("command", bytes)."""
    result: list[Item] = []
    for item in items:
        if isinstance(item, list):
            result.append(("message", [bytes(f) for f in item]))
        else:
            assert isinstance(item, tuple)
            result.append(item)
    return result


def feed_chunks(decoder: FrameDecoder, chunks: Iterable[bytes]) -> list[Item]:
    out: list[object] = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return normalise(out)


def decode(
    data: bytes, limits: Limits | None = None, *, command_limit: int = 1024, accept: bool = True
) -> list[Item]:
    return feed_chunks(make_decoder(limits, command_limit=command_limit, accept=accept), [data])


def byte_by_byte(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


# ---------------------------------------------------------------------------------------------
# Encoder


@pytest.mark.parametrize(
    ("size", "flags", "expected"),
    [
        (0, 0, b"\x00\x00"),
        (1, 0, b"\x00\x01"),
        (255, 0, b"\x00\xff"),
        (255, MORE, b"\x01\xff"),
        (255, COMMAND, b"\x04\xff"),
        (256, 0, b"\x02\x00\x00\x00\x00\x00\x00\x01\x00"),
        (256, MORE, b"\x03\x00\x00\x00\x00\x00\x00\x01\x00"),
        (256, COMMAND, b"\x06\x00\x00\x00\x00\x00\x00\x01\x00"),
        (0x0102030405, 0, b"\x02\x00\x00\x00\x01\x02\x03\x04\x05"),
        (MAX_FRAME_SIZE, MORE, b"\x03\x7f\xff\xff\xff\xff\xff\xff\xff"),
    ],
)
def test_frame_header(size: int, flags: int, expected: bytes) -> None:
    assert frame_header(size, flags) == expected


@given(size=st.integers(0, MAX_FRAME_SIZE), flags=st.sampled_from([0, MORE, COMMAND]))
@SETTINGS
def test_frame_header_short_iff_below_256(size: int, flags: int) -> None:
    header = frame_header(size, flags)
    if size < 256:
        assert header == bytes((flags, size))
    else:
        assert header[0] == flags | LONG
        assert len(header) == 9
        assert int.from_bytes(header[1:], "big") == size


def test_encode_message_headers_and_flags() -> None:
    parts = [b"first", b"", b"x" * 300]
    out = encode_message(parts)
    assert len(out) == 6
    assert out[0] == b"\x01\x05"  # MORE, short
    assert out[2] == b"\x01\x00"  # MORE, empty
    assert out[4] == b"\x02" + (300).to_bytes(8, "big")  # last frame: LONG, no MORE
    assert b"".join(bytes(b) for b in out) == wire_message(parts)


def test_encode_message_single_frame_has_no_more_flag() -> None:
    assert encode_message([b"abc"]) == [b"\x00\x03", b"abc"]


def test_encode_message_empty_is_nothing() -> None:
    assert encode_message([]) == []


def test_encode_message_does_not_copy_bodies() -> None:
    big = bytearray(b"y" * 70000)
    view = memoryview(b"z" * 1000)[10:500]
    small = b"small"
    parts: list[Buffer] = [small, big, view]
    out = encode_message(parts)
    assert out[1] is small
    assert out[3] is big
    assert out[5] is view
    # Still the same object: a later mutation shows through (nothing was snapshotted).
    big[0:1] = b"!"
    assert bytes(out[3])[:1] == b"!"


def test_encode_message_counts_octets_of_a_memoryview() -> None:
    # len() of a memoryview counts items; the header must declare octets.
    numbers = memoryview(array("I", range(100)))
    assert len(numbers) == 100
    assert numbers.nbytes == 100 * numbers.itemsize
    out = encode_message([numbers])
    assert out[0] == frame_header(numbers.nbytes)
    assert out[1] is numbers
    stream = b"".join(bytes(b) for b in out)
    assert decode(stream) == [("message", [numbers.tobytes()])]


@SETTINGS
@given(st.lists(st.binary(max_size=300) | st.binary(min_size=250, max_size=600), max_size=20))
def test_single_frame_batch_encoding_is_message_by_message_encoding(bodies: list[bytes]) -> None:
    """The batch encoder of the send path is a shortcut: the same octets as encode_message."""
    expected = b"".join(b"".join(map(bytes, encode_message([body]))) for body in bodies)
    got = encode_single_frame_messages([[body] for body in bodies])
    assert got == expected if bodies else got is None


def test_single_frame_batch_encoding_declines_what_it_must_not_join() -> None:
    small = [b"a"] * 3
    assert encode_single_frame_messages([small[:1], [b"x" * (JOIN_BODY_MAX + 1)]]) is None
    assert encode_single_frame_messages([small[:1], [b"x", b"y"]]) is None  # multipart
    assert encode_single_frame_messages([small[:1], [bytearray(b"x")]]) is None  # not bytes
    assert encode_single_frame_messages([small[:1], (b"x",)]) is None  # not a plain message
    assert encode_single_frame_messages([[b"x" * JOIN_BODY_MAX]]) == frame_header(JOIN_BODY_MAX) + (
        b"x" * JOIN_BODY_MAX
    )


def test_whole_long_frames_respect_maxmsgsize() -> None:
    """Long single frames that arrive whole take the decoder's fast path; MAXMSGSIZE holds."""
    limits = Limits(max_message_size=1000)
    stream = wire(b"a" * 1000) + wire(b"b" * 300) + wire(b"c" * 5, long=True)
    assert decode(stream, limits) == [
        ("message", [b"a" * 1000]),
        ("message", [b"b" * 300]),
        ("message", [b"c" * 5]),
    ]
    with pytest.raises(MessageTooLarge):
        decode(wire(b"ok") + wire(b"d" * 1001), limits)
    with pytest.raises(MessageTooLarge):  # a size above 2^63-1, complete or not
        decode(wire(b"ok") + long_header(MAX_FRAME_SIZE + 1) + b"xy")


def test_encode_command() -> None:
    assert encode_command(b"\x04PING\x00\x0a") == b"\x04\x07\x04PING\x00\x0a"
    body = b"\x05READY" + b"m" * 400
    encoded = encode_command(body)
    assert isinstance(encoded, bytes)
    assert encoded == b"\x06" + len(body).to_bytes(8, "big") + body
    numbers = memoryview(array("H", range(10)))
    assert encode_command(numbers) == bytes((COMMAND, 20)) + numbers.tobytes()


@given(st.lists(st.binary(max_size=600), min_size=1, max_size=8))
@SETTINGS
def test_encode_message_round_trips_through_decoder(parts: list[bytes]) -> None:
    stream = b"".join(bytes(b) for b in encode_message(parts))
    assert stream == wire_message(parts)
    assert decode(stream) == [("message", parts)]


@given(st.binary(max_size=600))
@SETTINGS
def test_encode_command_round_trips_through_decoder(body: bytes) -> None:
    assert decode(encode_command(body), command_limit=1000) == [("command", body)]


# ---------------------------------------------------------------------------------------------
# Decoder: basic frames


def test_short_frame() -> None:
    assert decode(b"\x00\x05hello") == [("message", [b"hello"])]


def test_empty_frame() -> None:
    assert decode(b"\x00\x00") == [("message", [b""])]


def test_long_frame() -> None:
    body = os.urandom(1000)
    assert decode(b"\x02" + (1000).to_bytes(8, "big") + body) == [("message", [body])]


def test_long_size_encoding_of_a_small_body_is_accepted() -> None:
    # RFC 37 says a small body SHOULD use a short size; a long one is still valid.
    assert decode(wire(b"abc", long=True)) == [("message", [b"abc"])]
    assert decode(wire(b"", long=True)) == [("message", [b""])]


def test_multipart_assembly() -> None:
    parts = [b"a", b"", b"c" * 300, b"d"]
    assert decode(wire_message(parts)) == [("message", parts)]


def test_several_messages_in_one_feed() -> None:
    stream = wire_message([b"1"]) + wire_message([b"2", b"3"]) + wire_message([b"4"])
    assert decode(stream) == [
        ("message", [b"1"]),
        ("message", [b"2", b"3"]),
        ("message", [b"4"]),
    ]


def test_incomplete_message_is_not_delivered() -> None:
    decoder = make_decoder()
    assert decoder.feed(wire(b"part", MORE)) == []
    assert decoder.feed(wire(b"more", MORE)) == []
    assert normalise(decoder.feed(wire(b"end"))) == [("message", [b"part", b"more", b"end"])]
    # The next message starts from scratch.
    assert normalise(decoder.feed(wire(b"next"))) == [("message", [b"next"])]


def test_commands_go_to_on_command() -> None:
    seen: list[bytes] = []

    def on_command(body: Buffer, out: list[object]) -> None:
        seen.append(bytes(body))
        out.append(("result", len(seen)))

    decoder = FrameDecoder(Limits(), on_command, 1024)
    decoder.accept_messages = True
    got = decoder.feed(
        wire(b"\x04PING\x00\x00", COMMAND) + wire(b"msg") + wire(b"\x04PONG", COMMAND)
    )
    assert seen == [b"\x04PING\x00\x00", b"\x04PONG"]
    assert normalise(got) == [("result", 1), ("message", [b"msg"]), ("result", 2)]


def test_long_command() -> None:
    body = b"\x05READY" + b"p" * 500
    assert decode(wire(body, COMMAND), command_limit=1000) == [("command", body)]


def test_command_between_parts_of_a_message_keeps_the_message_intact() -> None:
    stream = wire(b"one", MORE) + wire(b"\x04PING\x00\x01", COMMAND) + wire(b"two")
    assert decode(stream) == [
        ("command", b"\x04PING\x00\x01"),
        ("message", [b"one", b"two"]),
    ]


def test_only_a_heartbeat_sized_command_may_come_between_parts_of_a_message() -> None:
    """libzmq sends PING/PONG wherever its timer fires, even mid-message; anything larger there
    is refused from its header, so a peer cannot hold a message in progress and a large partial
    command at once (found by fuzzing: fuzz/RESULTS.md, finding 2)."""
    largest_ping = b"\x04PING\xff\xff" + b"c" * 16
    largest = b"\x04PONG" + b"c" * (MAX_MID_MESSAGE_COMMAND_SIZE - 5)
    stream = wire(b"one", MORE) + wire(largest_ping, COMMAND) + wire(largest, COMMAND)
    assert decode(stream + wire(b"two")) == [
        ("command", largest_ping),
        ("command", largest),
        ("message", [b"one", b"two"]),
    ]
    # One octet more, between frames: a protocol error as soon as the header is in, whatever
    # the command limit (here 1 KiB) allows outside a message.
    decoder = make_decoder()
    with pytest.raises(ProtocolError, match="between the frames of a multipart message"):
        decoder.feed(wire(b"one", MORE) + long_header(MAX_MID_MESSAGE_COMMAND_SIZE + 1, COMMAND))
    # The same command outside a message is fine.
    body = b"x" * (MAX_MID_MESSAGE_COMMAND_SIZE + 1)
    assert decode(wire(body, COMMAND) + wire(b"m")) == [("command", body), ("message", [b"m"])]


def test_on_command_may_open_the_message_gate_mid_feed() -> None:
    """The handshake's last command and the first message often arrive in one read."""
    decoder = FrameDecoder(Limits(), lambda body, out: None, 64)

    def on_command(body: Buffer, out: list[object]) -> None:
        out.append(("command", bytes(body)))
        decoder.accept_messages = True
        decoder.command_limit = 10

    decoder.on_command = on_command
    got = decoder.feed(wire(b"\x05READY", COMMAND) + wire(b"hello"))
    assert normalise(got) == [("command", b"\x05READY"), ("message", [b"hello"])]
    # The new command limit applies at once.
    with pytest.raises(MessageTooLarge):
        decoder.feed(wire(b"x" * 11, COMMAND))


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_feed_accepts_any_buffer(kind: type) -> None:
    data = wire_message([b"a", b"b" * 300])
    assert feed_chunks(make_decoder(), [kind(data)]) == [("message", [b"a", b"b" * 300])]


def test_feed_of_nothing() -> None:
    decoder = make_decoder()
    assert decoder.feed(b"") == []
    assert decoder.buffered == 0


# ---------------------------------------------------------------------------------------------
# Decoder: any split of the stream gives the same result


def mixed_stream() -> tuple[bytes, list[Item]]:
    """Short, long, empty, multipart, commands and a frame over 255 octets."""
    big = bytes(range(256)) * 2 + b"tail"
    pieces: list[tuple[bytes, Item | None]] = [
        (wire(b"\x05READY\x00", COMMAND), ("command", b"\x05READY\x00")),
        (wire(b"single"), ("message", [b"single"])),
        (wire(b""), ("message", [b""])),
        (wire(b"head", MORE), None),
        (wire(b"", MORE), None),
        (wire(big), ("message", [b"head", b"", big])),
        (wire(b"\x04PING\x00\x05ctx", COMMAND), ("command", b"\x04PING\x00\x05ctx")),
        (wire(b"lng", long=True), ("message", [b"lng"])),
        (wire(b"\x06CANCEL" + b"c" * 300, COMMAND), ("command", b"\x06CANCEL" + b"c" * 300)),
    ]
    return b"".join(p for p, _ in pieces), [item for _, item in pieces if item is not None]


@pytest.fixture(params=["default-threshold", "tiny-threshold"])
def threshold(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Run with the real large-frame threshold, and with a tiny one so that the large-frame
    path (its own growing buffer) is taken by small frames at every split offset too."""
    if request.param == "tiny-threshold":
        monkeypatch.setattr(frames, "LARGE_FRAME_THRESHOLD", 8)
        return 8
    return LARGE_FRAME_THRESHOLD


def test_whole_byte_by_byte_and_every_split_agree(threshold: int) -> None:
    stream, expected = mixed_stream()
    assert decode(stream, command_limit=1000) == expected
    assert feed_chunks(make_decoder(command_limit=1000), byte_by_byte(stream)) == expected
    for cut in range(len(stream) + 1):
        got = feed_chunks(make_decoder(command_limit=1000), [stream[:cut], stream[cut:]])
        assert got == expected, f"split at {cut}"


def test_every_two_way_split_with_three_chunks(threshold: int) -> None:
    stream = mixed_stream()[0][:200]  # a prefix keeps the O(n^2) loop fast; it ends mid-frame
    whole = decode(stream, command_limit=1000)
    for a in range(0, len(stream) + 1, 3):
        for b in range(a, len(stream) + 1, 7):
            chunks = [stream[:a], stream[a:b], stream[b:]]
            assert feed_chunks(make_decoder(command_limit=1000), chunks) == whole, (a, b)


frames_strategy = st.lists(
    st.one_of(
        st.tuples(st.just("message"), st.lists(st.binary(max_size=300), min_size=1, max_size=4)),
        st.tuples(st.just("command"), st.binary(max_size=300)),
    ),
    max_size=6,
)


@given(items=frames_strategy, cuts=st.lists(st.integers(0, 4000), max_size=10))
@SETTINGS
def test_random_streams_split_anywhere(items: list[tuple[str, object]], cuts: list[int]) -> None:
    stream = b""
    expected: list[Item] = []
    for kind, value in items:
        if kind == "message":
            assert isinstance(value, list)
            stream += wire_message(value)
            expected.append(("message", value))
        else:
            assert isinstance(value, bytes)
            stream += wire(value, COMMAND)
            expected.append(("command", value))
    points = sorted({min(c, len(stream)) for c in cuts})
    bounds = [0, *points, len(stream)]
    chunks = [stream[a:b] for a, b in itertools.pairwise(bounds)]
    assert feed_chunks(make_decoder(command_limit=1000), chunks) == expected
    assert decode(stream, command_limit=1000) == expected


# ---------------------------------------------------------------------------------------------
# Decoder: malformed frames


@pytest.mark.parametrize("bit", [0x08, 0x10, 0x20, 0x40, 0x80])
@pytest.mark.parametrize("base", [0, MORE, LONG, COMMAND, MORE | LONG])
def test_reserved_flag_bits_are_rejected(bit: int, base: int) -> None:
    flags = base | bit
    assert flags & RESERVED
    data = bytes((flags,)) + ((5).to_bytes(8, "big") if flags & LONG else b"\x05") + b"hello"
    with pytest.raises(ProtocolError, match="reserved"):
        make_decoder().feed(data)


def test_reserved_bits_rejected_from_the_header_alone() -> None:
    with pytest.raises(ProtocolError):
        make_decoder().feed(b"\x80\xff")  # no body at all


@pytest.mark.parametrize("flags", [COMMAND | MORE, COMMAND | MORE | LONG])
def test_command_with_more_is_rejected(flags: int) -> None:
    body = b"\x04PING\x00\x00"
    size = len(body).to_bytes(8, "big") if flags & LONG else bytes((len(body),))
    with pytest.raises(ProtocolError) as info:
        make_decoder().feed(bytes((flags,)) + size + body)
    assert info.value.code == ProtocolErrorCode.ZMTP_MALFORMED_COMMAND_UNSPECIFIED


def test_command_with_more_is_rejected_from_the_header_alone() -> None:
    with pytest.raises(ProtocolError):
        make_decoder().feed(bytes((COMMAND | MORE, 7)))


@pytest.mark.parametrize("flags", [0, MORE, LONG, MORE | LONG])
def test_message_frame_before_accept_messages_is_rejected(flags: int) -> None:
    decoder = make_decoder(accept=False)
    header = bytes((flags,)) + ((3).to_bytes(8, "big") if flags & LONG else b"\x03")
    with pytest.raises(ProtocolError) as info:
        decoder.feed(header)  # the header alone is enough: the body is never waited for
    assert info.value.code == ProtocolErrorCode.ZMTP_UNEXPECTED_COMMAND


def test_commands_pass_before_accept_messages() -> None:
    assert decode(wire(b"\x05HELLO", COMMAND), accept=False) == [("command", b"\x05HELLO")]


def test_message_refused_after_command_when_gate_closed() -> None:
    decoder = make_decoder(accept=False)
    with pytest.raises(ProtocolError):
        decoder.feed(wire(b"\x05READY", COMMAND) + wire(b"sneaky"))


# ---------------------------------------------------------------------------------------------
# Decoder: MAXMSGSIZE is the sum of a message's frames


def test_max_message_size_is_the_sum_of_frames() -> None:
    decoder = make_decoder(Limits(max_message_size=100))
    # Each frame is under the limit, the message is not.
    assert decoder.feed(wire(b"a" * 40, MORE) + wire(b"b" * 40, MORE)) == []
    with pytest.raises(MessageTooLarge) as info:
        decoder.feed(b"\x00\x28")  # the third header alone (40 more octets) is refused
    assert info.value.errno == Errno.EMSGSIZE
    assert isinstance(info.value, ProtocolError)


def test_max_message_size_exactly_at_the_limit_passes() -> None:
    parts = [b"a" * 40, b"b" * 40, b"c" * 20]
    assert decode(wire_message(parts), limits=Limits(max_message_size=100)) == [("message", parts)]


def test_max_message_size_one_over_fails() -> None:
    with pytest.raises(MessageTooLarge):
        decode(wire_message([b"a" * 40, b"b" * 40, b"c" * 21]), limits=Limits(max_message_size=100))


def test_max_message_size_single_frame() -> None:
    limits = Limits(max_message_size=300)
    assert decode(wire(b"x" * 300), limits=limits) == [("message", [b"x" * 300])]
    with pytest.raises(MessageTooLarge):
        make_decoder(limits).feed(long_header(301))


def test_max_message_size_is_per_message_not_per_connection() -> None:
    parts = [b"a" * 60, b"b" * 40]
    stream = wire_message(parts) * 5
    assert decode(stream, limits=Limits(max_message_size=100)) == [("message", parts)] * 5


def test_max_message_size_zero_allows_only_empty_frames() -> None:
    limits = Limits(max_message_size=0)
    assert decode(wire_message([b"", b""]), limits=limits) == [("message", [b"", b""])]
    with pytest.raises(MessageTooLarge):
        decode(wire(b"x"), limits=limits)


def test_max_message_size_minus_one_is_unlimited() -> None:
    parts = [b"a" * 70000, b"b" * 70000]
    limits = Limits(max_message_size=-1)
    assert decode(wire_message(parts), limits=limits) == [("message", parts)]
    # Far above the default limit, declared but not sent: accepted, and nothing allocated.
    decoder = make_decoder(limits)
    assert decoder.feed(long_header(1 << 40)) == []
    assert decoder.buffered == 0


def test_max_message_size_does_not_apply_to_commands() -> None:
    body = b"\x05READY" + b"x" * 200
    assert decode(wire(body, COMMAND), limits=Limits(max_message_size=10), command_limit=1000) == [
        ("command", body)
    ]


def test_max_message_frames() -> None:
    limits = Limits(max_message_frames=3)
    three = [b"", b"", b""]
    assert decode(wire_message(three) * 2, limits=limits) == [("message", three)] * 2
    with pytest.raises(MessageTooLarge, match="frames"):
        decode(wire_message([b"", b"", b"", b""]), limits=limits)


def test_max_message_frames_refused_from_the_fourth_header() -> None:
    decoder = make_decoder(Limits(max_message_frames=3))
    assert decoder.feed(wire(b"", MORE) * 3) == []
    with pytest.raises(MessageTooLarge, match="frames"):
        decoder.feed(b"\x00\x00")


def test_command_limit() -> None:
    body = b"\x05HELLO" + b"h" * 94
    assert len(body) == 100
    assert decode(wire(body, COMMAND), command_limit=100) == [("command", body)]
    with pytest.raises(MessageTooLarge):
        decode(wire(body + b"!", COMMAND), command_limit=100)


def test_command_limit_refused_from_the_header_alone() -> None:
    decoder = make_decoder(command_limit=100)
    with pytest.raises(MessageTooLarge):
        decoder.feed(long_header(101, COMMAND))


# ---------------------------------------------------------------------------------------------
# Decoder: hostile sizes cost nothing


@pytest.mark.parametrize("size", [1 << 63, (1 << 64) - 1, (1 << 63) - 1, 1 << 40])
@pytest.mark.parametrize("flags", [0, MORE, COMMAND])
def test_giant_declared_size_is_refused_at_once(size: int, flags: int) -> None:
    decoder = make_decoder()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        with pytest.raises(ProtocolError) as info:
            decoder.feed(long_header(size, flags))
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert isinstance(info.value, MessageTooLarge)
    assert decoder.buffered <= 9
    assert peak < 64 * 1024


@pytest.mark.parametrize("size", [1 << 63, (1 << 64) - 1])
def test_size_above_two_to_the_63_is_refused_even_when_unlimited(size: int) -> None:
    decoder = make_decoder(Limits(max_message_size=-1))
    with pytest.raises(MessageTooLarge):
        decoder.feed(long_header(size))
    assert decoder.buffered <= 9


def test_largest_legal_size_when_unlimited_allocates_nothing() -> None:
    decoder = make_decoder(Limits(max_message_size=-1))
    assert decoder.feed(long_header(MAX_FRAME_SIZE) + b"abc") == []
    assert decoder.buffered == 3


def test_declared_60_mib_with_1_kib_sent_holds_about_1_kib() -> None:
    declared = 60 * 1024 * 1024
    payload = os.urandom(1024)
    data = long_header(declared) + payload
    decoder = make_decoder()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        assert decoder.feed(data) == []
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert 1024 <= decoder.buffered <= 1024 + 9
    assert peak - before < 256 * 1024, "memory was allocated for the declared size"
    assert current - before < 256 * 1024
    # More bytes cost only themselves.
    decoder.feed(b"z" * 4096)
    assert 5120 <= decoder.buffered <= 5120 + 9


def test_declared_size_with_only_the_header_holds_nothing() -> None:
    decoder = make_decoder()
    assert decoder.feed(long_header(60 * 1024 * 1024)) == []
    assert decoder.buffered == 0


# ---------------------------------------------------------------------------------------------
# Decoder: large frames and buffered accounting


def test_large_frame_fed_in_chunks_is_delivered() -> None:
    body = os.urandom(3 * LARGE_FRAME_THRESHOLD + 17)
    assert len(body) > LARGE_FRAME_THRESHOLD
    stream = wire(b"env", MORE) + wire(body, MORE) + wire(b"end") + wire(b"after")
    decoder = make_decoder()
    out: list[object] = []
    step = 4093  # a prime: chunk edges fall in headers and bodies alike
    for i in range(0, len(stream), step):
        out += decoder.feed(stream[i : i + step])
        assert decoder.buffered <= i + step
    assert normalise(out) == [("message", [b"env", body, b"end"]), ("message", [b"after"])]
    assert decoder.buffered == 0


def test_large_frame_byte_by_byte() -> None:
    body = os.urandom(LARGE_FRAME_THRESHOLD + 1)
    stream = wire(body) + wire(b"next")
    got = feed_chunks(make_decoder(), byte_by_byte(stream))
    assert got == [("message", [body]), ("message", [b"next"])]


def test_large_frame_completed_together_with_following_frames() -> None:
    body = os.urandom(LARGE_FRAME_THRESHOLD * 2)
    stream = wire(body) + wire(b"x") + wire(b"\x04PING\x00\x00", COMMAND) + wire(b"y", MORE)
    decoder = make_decoder()
    first = decoder.feed(stream[:100])
    assert first == []
    rest = decoder.feed(stream[100:])
    assert normalise(rest) == [
        ("message", [body]),
        ("message", [b"x"]),
        ("command", b"\x04PING\x00\x00"),
    ]
    assert decoder.buffered == 1  # the "y" frame of an unfinished message


def test_large_command() -> None:
    body = b"\x08INITIATE" + os.urandom(LARGE_FRAME_THRESHOLD + 100)
    stream = wire(body, COMMAND)
    chunks = [stream[i : i + 1000] for i in range(0, len(stream), 1000)]
    assert feed_chunks(make_decoder(command_limit=len(body)), chunks) == [("command", body)]


def test_large_frame_counts_toward_max_message_size() -> None:
    limits = Limits(max_message_size=LARGE_FRAME_THRESHOLD * 2)
    decoder = make_decoder(limits)
    body = b"q" * (LARGE_FRAME_THRESHOLD + 1)
    decoder.feed(wire(body, MORE)[:5000])
    decoder.feed(wire(body, MORE)[5000:])
    assert decoder.buffered == len(body)
    with pytest.raises(MessageTooLarge):
        decoder.feed(long_header(LARGE_FRAME_THRESHOLD))


def test_buffered_counts_incomplete_frames_and_message_in_progress() -> None:
    decoder = make_decoder()
    decoder.feed(wire(b"a" * 10, MORE))
    assert decoder.buffered == 10
    decoder.feed(b"\x00\x05ab")  # half of the last frame
    assert decoder.buffered == 10 + 4
    decoder.feed(b"cde")
    assert decoder.buffered == 0


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 70_000), min_size=1, max_size=40),
    reads=st.lists(st.integers(1, 120_000), min_size=1, max_size=30),
)
def test_reads_that_end_inside_frames_through_a_reused_buffer(
    sizes: list[int], reads: list[int]
) -> None:
    """As the stream delivers: each read a view of one shared buffer, overwritten after
    ``feed`` returns.  Reads both shorter and longer than the join threshold end inside frames
    (the tail then waits for a header, a small frame, or a large body); every message comes
    out intact and in order."""
    messages = [bytes([i % 251]) * size + os.urandom(min(size, 3)) for i, size in enumerate(sizes)]
    stream = b"".join(wire(m) for m in messages)
    decoder = make_decoder()
    shared = bytearray(max(reads) + 1)
    out: list[object] = []
    at = 0
    steps = itertools.cycle(reads)
    while at < len(stream):
        n = min(next(steps), len(stream) - at)
        shared[:n] = stream[at : at + n]
        out += decoder.feed(memoryview(shared)[:n])
        shared[:n] = b"\xee" * n  # what the next read would do to anything still pointing here
        at += n
    assert normalise(out) == [("message", [m]) for m in messages]
    assert decoder.buffered == 0
