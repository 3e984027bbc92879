"""CURVE MESSAGE boxes opened a run at a time (``CurveCodec.unbox_run`` and the decoder's use
of it): the same messages, commands, errors and nonce checks as box by box."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safezmq.protocol import frames as frames_module
from safezmq.protocol.connection import Connection
from safezmq.protocol.curve import CurveCodec, NonceCounter
from safezmq.protocol.errors import ProtocolError
from safezmq.protocol.frames import COMMAND, MORE, FrameDecoder, frame_header
from safezmq.protocol.limits import LARGE_FRAME_THRESHOLD, MAX_MID_MESSAGE_COMMAND_SIZE, Limits
from safezmq.protocol.null import NullMechanism

from .linkutil import Link, deliver, messages
from .test_connection_curve import to_traffic

KEY = os.urandom(32)


def _codecs() -> tuple[CurveCodec, CurveCodec]:
    return (
        CurveCodec(KEY, NonceCounter(), as_server=False),
        CurveCodec(KEY, NonceCounter(), as_server=True),
    )


def _wire(
    sender: CurveCodec, frames: list[tuple[int, bytes]]
) -> tuple[bytes, list[int], list[int]]:
    """The frames boxed and framed as on the wire, with where each box starts and ends."""
    wire = bytearray()
    starts: list[int] = []
    ends: list[int] = []
    for flags, body in frames:
        boxed = bytes(sender.box(flags, body))
        wire += frame_header(len(boxed))
        starts.append(len(wire))
        wire += boxed
        ends.append(len(wire))
    return bytes(wire), starts, ends


def test_a_run_opens_to_what_unbox_gives_box_by_box() -> None:
    sender, receiver = _codecs()
    frames = [(0, os.urandom(n)) for n in (0, 1, 64, 222, 223, 300, 4097, 20000)]
    frames += [(MORE, b"head"), (COMMAND, b"\x04PING\x00\x00"), (0, b"tail")]
    wire, starts, ends = _wire(sender, frames)
    opened = receiver.unbox_run(wire, starts, ends)
    assert opened is not None
    bodies, inner = opened
    assert bodies == [body for _, body in frames]
    assert all(type(body) is bytes for body in bodies)
    assert inner == bytes([0] * 8 + [1, 2, 0])
    # The nonces were used: the same run again is a replay, refused box by box too.
    assert receiver.unbox_run(wire, starts, ends) is None
    with pytest.raises(ProtocolError, match="nonce"):
        receiver.unbox(wire[starts[0] : ends[0]])


def _tamper(wire: bytes, at: int) -> bytes:
    changed = bytearray(wire)
    changed[at] ^= 0x01
    return bytes(changed)


@pytest.mark.parametrize(
    "where",
    ["header", "nonce order", "mac", "ciphertext", "short", "reserved flags", "replay"],
)
def test_a_run_with_anything_wrong_is_refused_and_changes_nothing(where: str) -> None:
    sender, receiver = _codecs()
    frames = [(0, b"x" * 64) for _ in range(6)]
    wire, starts, ends = _wire(sender, frames)
    if where == "header":
        wire = _tamper(wire, starts[3] + 1)
    elif where == "nonce order":
        # Boxes 2 and 3 swapped: each opens, but their nonces go backwards.
        a, b = wire[starts[2] : ends[2]], wire[starts[3] : ends[3]]
        wire = wire[: starts[2]] + b + wire[ends[2] : starts[3]] + a + wire[ends[3] :]
    elif where == "mac":
        wire = _tamper(wire, starts[4] + 20)
    elif where == "ciphertext":
        wire = _tamper(wire, ends[5] - 1)
    elif where == "short":
        ends = [*ends[:5], starts[5] + 32]  # one octet short of the smallest box
    elif where == "reserved flags":
        wire, starts, ends = _wire(sender, frames)
        forged = _sealed_with_inner(sender, 0x04, b"y")
        wire += frame_header(len(forged))
        starts.append(len(wire))
        wire += forged
        ends.append(len(wire))
    elif where == "replay":
        receiver.unbox(wire[starts[5] : ends[5]])  # the last nonce already seen
    before = receiver._nonces._last_received
    assert receiver.unbox_run(wire, starts, ends) is None
    assert receiver._nonces._last_received == before


def _sealed_with_inner(codec: CurveCodec, inner: int, body: bytes) -> bytes:
    """A box whose inner flags octet is ``inner`` (reserved bits included), sealed properly."""
    from safezmq.protocol import curve

    nonce = codec._nonces.next()
    plain = bytes([inner]) + body
    box = curve.sodium.crypto_box_easy_afternm(plain, codec._send_prefix + nonce, codec._key)
    return curve._MESSAGE_HEADER + nonce + box


# -- the decoder: runs against frame by frame ------------------------------------------------


@dataclass
class Outcome:
    out: list[object]
    error: tuple[type[BaseException], str] | None
    last_nonce: int | None


def _decode(chunks: list[bytes], use_runs: bool, limits: Limits) -> Outcome:
    _, receiver = _codecs()
    decoder = FrameDecoder(limits, lambda body, out: out.append(("cmd", bytes(body))), 256)
    decoder.accept_messages = True
    decoder.unbox = receiver.unbox
    decoder.box_overhead = receiver.overhead
    if use_runs:
        decoder.unbox_run = receiver.unbox_run
    out: list[object] = []
    error = None
    try:
        for chunk in chunks:
            decoder.feed(chunk, out)
    except ProtocolError as exc:
        error = (type(exc), str(exc))
    # Messages as lists of bytes, whatever buffer type carried each frame.
    normal = [[bytes(f) for f in item] if isinstance(item, list) else item for item in out]
    return Outcome(normal, error, receiver._nonces._last_received)


frame_strategy = st.one_of(
    st.tuples(st.just(0), st.binary(max_size=300)),
    st.tuples(st.just(MORE), st.binary(max_size=40)),
    st.tuples(st.just(COMMAND), st.sampled_from([b"\x04PING\x00\x00", b"\x04PONG", b"\x05HELLO"])),
    st.tuples(st.just(0), st.integers(50, 1100).map(bytes)),
    st.tuples(st.just(0), st.integers(1000, 70000).map(bytes)),
)


# Runs of whole small messages around the random frames, so that most examples hold runs.
stream_strategy = st.builds(
    lambda before, middle, after: [(0, b"b" * 40)] * before + middle + [(0, b"a" * 70)] * after,
    st.integers(0, 20),
    st.lists(frame_strategy, min_size=1, max_size=40),
    st.integers(0, 20),
)


@settings(max_examples=300, deadline=None)
@given(
    frames=stream_strategy,
    cuts=st.lists(st.integers(0, 1 << 20), max_size=6),
    fault=st.one_of(
        st.none(),
        st.tuples(st.sampled_from(["flip", "replay", "wire MORE"]), st.integers(0, 1 << 20)),
    ),
    max_message=st.sampled_from([-1, 64, 1000]),
    max_frames=st.sampled_from([3, 100]),
    run_min=st.sampled_from([2, frames_module._RUN_MIN]),
)
def test_the_decoder_gives_the_same_with_runs_as_frame_by_frame(
    frames: list[tuple[int, bytes]],
    cuts: list[int],
    fault: tuple[str, int] | None,
    max_message: int,
    max_frames: int,
    run_min: int,
) -> None:
    # Runs as short as two frames too, so that short streams exercise them.
    saved = frames_module._RUN_MIN
    frames_module._RUN_MIN = run_min
    try:
        _compare_runs(frames, cuts, fault, max_message, max_frames)
    finally:
        frames_module._RUN_MIN = saved


def _compare_runs(
    frames: list[tuple[int, bytes]],
    cuts: list[int],
    fault: tuple[str, int] | None,
    max_message: int,
    max_frames: int,
) -> None:
    sender, _ = _codecs()
    wire, starts, ends = _wire(sender, frames)
    if fault is not None:
        kind, where = fault
        index = where % len(frames)
        if kind == "flip":
            wire = _tamper(wire, where % len(wire))
        elif kind == "replay":
            wire += wire[starts[index] - (2 if ends[index] - starts[index] < 256 else 9) :]
        else:  # MORE set on the wire, which an encrypted frame may not have
            header = starts[index] - (2 if ends[index] - starts[index] < 256 else 9)
            changed = bytearray(wire)
            changed[header] |= MORE
            wire = bytes(changed)
    points = sorted({cut % (len(wire) + 1) for cut in cuts} | {0, len(wire)})
    chunks = [wire[a:b] for a, b in itertools.pairwise(points)]
    limits = Limits(max_message_size=max_message, max_message_frames=max_frames)
    one_by_one = _decode(chunks, use_runs=False, limits=limits)
    with_runs = _decode(chunks, use_runs=True, limits=limits)
    assert with_runs.out == one_by_one.out
    assert with_runs.error == one_by_one.error
    if one_by_one.error is None:
        # After an error the decoder is unusable and the connection ends, so how far the
        # nonces went (a run may have opened boxes past a frame over a limit) is moot there.
        assert with_runs.last_nonce == one_by_one.last_nonce


def test_runs_are_used_for_a_stream_of_small_messages() -> None:
    # Guards the point of the change: a stream of whole small messages is opened in runs
    # (unbox is not called for them), and comes out the same.
    sender, receiver = _codecs()
    frames = [(0, b"%d" % i) for i in range(100)]
    wire, _, _ = _wire(sender, frames)
    decoder = FrameDecoder(Limits(), lambda body, out: None, 64)
    decoder.accept_messages = True
    single = 0

    def counting_unbox(body: object) -> tuple[int, object]:
        nonlocal single
        single += 1
        return receiver.unbox(body)  # type: ignore[arg-type]

    decoder.unbox = counting_unbox  # type: ignore[assignment]
    decoder.box_overhead = receiver.overhead
    decoder.unbox_run = receiver.unbox_run
    out = decoder.feed(wire)
    assert out == [[body] for _, body in frames]
    assert single == 0
    assert decoder.delivered_messages == 100
    assert decoder.delivered_bytes == sum(len(body) for _, body in frames)


def test_a_mid_message_command_is_refused_and_a_large_frame_ends_a_run() -> None:
    # A long command between the frames of a message is refused in a run as frame by frame.
    sender, _ = _codecs()
    ping = b"\x04PING" + bytes(MAX_MID_MESSAGE_COMMAND_SIZE)
    frames = [(0, b"a")] * 4 + [(MORE, b"h"), (COMMAND, ping), (0, b"t")]
    wire, _, _ = _wire(sender, frames)
    limits = Limits()
    runs = _decode([wire], use_runs=True, limits=limits)
    assert runs.out == _decode([wire], use_runs=False, limits=limits).out
    assert runs.error is not None and "between the frames" in runs.error[1]
    assert runs.out == [[b"a"]] * 4
    # A large frame ends a run; what follows it is opened in a run again.
    frames = [(0, b"b")] * 5 + [(0, bytes(LARGE_FRAME_THRESHOLD))] + [(0, b"c")] * 5
    wire, _, _ = _wire(sender, frames)
    runs = _decode([wire], use_runs=True, limits=limits)
    assert runs.error is None
    assert runs.out == [[body] for _, body in frames]


@pytest.mark.parametrize("oversized", [0, 3, 5])
def test_a_message_over_maxmsgsize_in_a_run_is_refused_where_it_is(oversized: int) -> None:
    sender, _ = _codecs()
    frames = [(0, b"s" * 64)] * 6
    frames[oversized] = (0, b"L" * 65)
    wire, _, _ = _wire(sender, frames)
    limits = Limits(max_message_size=64)
    runs = _decode([wire], use_runs=True, limits=limits)
    assert runs.error is not None and "MAXMSGSIZE 64" in runs.error[1]
    assert runs.out == [[b"s" * 64]] * oversized
    assert runs.out == _decode([wire], use_runs=False, limits=limits).out


def test_a_curve_connection_opens_runs_and_a_null_one_has_none() -> None:
    client, server = to_traffic()
    assert server._decoder.unbox_run is not None
    calls = 0
    real = server._decoder.unbox_run

    def counting(data: bytes, starts: list[int], ends: list[int]) -> object:
        nonlocal calls
        calls += 1
        return real(data, starts, ends)

    server._decoder.unbox_run = counting  # type: ignore[assignment]
    sent = [[b"message %d" % i] for i in range(50)]
    for message in sent:
        client.send_message(message)
    assert messages(deliver(client, server)) == sent
    assert calls == 1  # the 50 boxes of one read, opened as one run

    a = Connection(NullMechanism(), socket_type=b"PAIR")
    b = Connection(NullMechanism(as_server=True, zap=False), socket_type=b"PAIR")
    Link(a, b).handshake()
    assert b._decoder.unbox_run is None
