"""Helpers shared by the harnesses: reading structured values out of fuzz bytes, splitting a
byte string into the pieces a harness feeds, and the checks every harness makes.

Nothing here needs atheris: a harness is a plain ``check(data: bytes) -> None`` that raises
``AssertionError`` when a property is broken and lets an unexpected exception through (which is
the bug being looked for).  atheris only drives it (``fuzz/run.py``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence

from safezmq.protocol import Limits, ProtocolError
from safezmq.protocol.curve import CurveCodec
from safezmq.protocol.limits import MAX_MID_MESSAGE_COMMAND_SIZE

#: Limits small enough for the memory bounds to bite on fuzz-sized inputs, large enough for every
#: handshake the harnesses run (the same as tests/protocol/test_robustness.py's SMALL).
SMALL = Limits(
    max_message_size=400,
    max_message_frames=4,
    max_handshake_command_size=400,
    max_metadata_size=80,
    max_metadata_properties=3,
)
DEFAULT = Limits()
#: Even smaller: every frame longer than a few octets breaks a limit.
TINY = Limits(
    max_message_size=8,
    max_message_frames=2,
    max_handshake_command_size=16,
    max_metadata_size=8,
    max_metadata_properties=1,
)
LIMITS = (DEFAULT, SMALL, TINY, Limits(max_message_size=-1))


def buffer_cap(limits: Limits) -> int | None:
    """The most a connection or decoder may hold, whatever it is fed: one partial frame (header
    and all but one octet of a body the limits allow) plus the message in progress, which
    together stay within the larger of the command limit and MAXMSGSIZE plus CURVE's box
    overhead, plus a partial heartbeat between the frames of that message.  None when
    MAXMSGSIZE is unlimited (then only "at most what was fed" holds)."""
    if limits.max_message_size < 0:
        return None
    frame = max(limits.max_handshake_command_size, limits.max_message_size + CurveCodec.overhead)
    return frame + 9 + (9 + MAX_MID_MESSAGE_COMMAND_SIZE)


def over_cap(decoder: object, buffered: int, cap: int) -> str:
    """The failure message for a decoder holding more than ``cap`` octets."""
    return f"buffered {buffered} octets exceeds the cap of {cap}"


#: What a large frame's body may allocate beyond twice what arrived (its first chunk).
LARGE_FIRST_CHUNK = 4096


def large_remaining(decoder: object) -> int:
    """Octets still missing from the large frame the decoder is receiving (0 if none)."""
    large = getattr(decoder, "_large", None)
    if large is None:
        return 0
    if hasattr(large, "size"):  # a LargeBody
        return int(large.size - large.received)
    return int(getattr(decoder, "_large_need", 0))


def check_large_allocation(decoder: object) -> None:
    """A large body's memory follows what arrived, never the declared size: at most twice the
    octets received plus a first chunk."""
    large = getattr(decoder, "_large", None)
    allocated = getattr(large, "allocated", None)
    if allocated is not None:
        received = large.received  # type: ignore[union-attr]
        assert allocated <= 2 * received + LARGE_FIRST_CHUNK, (
            f"a large frame allocated {allocated} octets for {received} received"
        )


def feed_zero_copy(
    target: object, piece: bytes, feed: Callable[[bytes], list[object]]
) -> list[object]:
    """Deliver ``piece`` the way the engine's ``recv_into`` path does: while ``target`` offers a
    ``receive_buffer()`` (the body of a large frame in progress), copy into it and call
    ``buffer_received(n)``; the rest goes through ``feed``.  Targets without that API (an older
    decoder) get ``feed(piece)``."""
    receive_buffer = getattr(target, "receive_buffer", None)
    got: list[object] = []
    view = memoryview(piece)
    while view:
        space = receive_buffer() if receive_buffer is not None else None
        if space is None or len(space) == 0:
            got += feed(bytes(view))
            break
        n = min(len(space), len(view))
        space[:n] = view[:n]
        view = view[n:]
        got += target.buffer_received(n)  # type: ignore[attr-defined]
    return got


class Reader:
    """Consumes structured values from the front of fuzz bytes; past the end it yields zeros
    (so every input is valid and a shorter input is a prefix of a longer one's meaning)."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            return 0
        value = self.data[self.pos]
        self.pos += 1
        return value

    def number(self, octets: int) -> int:
        return int.from_bytes(self.take(octets).ljust(octets, b"\x00"), "big")

    def take(self, n: int) -> bytes:
        chunk = self.data[self.pos : self.pos + n]
        self.pos += len(chunk)
        return chunk

    def sized(self) -> bytes:
        """A length-prefixed string: one length octet, or 0xFF then two octets of length."""
        n = self.byte()
        if n == 0xFF:
            n = self.number(2)
        return self.take(n)

    def rest(self) -> bytes:
        chunk = self.data[self.pos :]
        self.pos = len(self.data)
        return chunk

    @property
    def exhausted(self) -> bool:
        return self.pos >= len(self.data)


def sized(value: bytes) -> bytes:
    """The encoding ``Reader.sized`` reads (for writing seeds)."""
    if len(value) < 0xFF:
        return bytes((len(value),)) + value
    return b"\xff" + len(value).to_bytes(2, "big") + value


def pack_frames(frames: Sequence[bytes]) -> bytes:
    """Frames as a list of ``sized`` strings (what ``unpack_frames`` reads)."""
    return b"".join(sized(f) for f in frames)


def unpack_frames(data: bytes, limit: int = 64) -> list[bytes]:
    reader = Reader(data)
    frames: list[bytes] = []
    while not reader.exhausted and len(frames) < limit:
        frames.append(reader.sized())
    return frames


#: How a byte string is cut into the pieces fed one call each.
SPLIT_WHOLE, SPLIT_OCTETS, SPLIT_CHUNKS, SPLIT_GROWING = range(4)


def split(data: bytes, mode: int, param: int) -> list[bytes]:
    """``data`` whole, one octet at a time, in chunks of ``param + 1`` octets, or in chunks of
    1, 2, 3, ... octets (every boundary lands somewhere new)."""
    mode &= 3
    if mode == SPLIT_WHOLE or not data:
        return [data]
    if mode == SPLIT_OCTETS:
        return [data[i : i + 1] for i in range(len(data))]
    if mode == SPLIT_CHUNKS:
        step = param + 1
        return [data[i : i + step] for i in range(0, len(data), step)]
    pieces: list[bytes] = []
    pos = 0
    for size in itertools.count(1 + param % 7):
        if pos >= len(data):
            break
        pieces.append(data[pos : pos + size])
        pos += size
    return pieces


def wire_frames(data: bytes) -> Iterator[tuple[int, int, int]]:
    """(flags, start, end) of each whole ZMTP frame in ``data`` (no greeting); stops at the first
    incomplete one."""
    pos = 0
    while len(data) - pos >= 2:
        flags = data[pos]
        if flags & 0x02:
            if len(data) - pos < 9:
                return
            size = int.from_bytes(data[pos + 1 : pos + 9], "big")
            start = pos + 9
        else:
            size = data[pos + 1]
            start = pos + 2
        if start + size > len(data):
            return
        yield flags, start, start + size
        pos = start + size


def wire_header(size: int, flags: int) -> bytes:
    """A ZMTP frame header with any flags (reserved bits too); LONG when the size needs it."""
    if size > 255 or flags & 0x02:
        return bytes((flags | 0x02,)) + size.to_bytes(8, "big")
    return bytes((flags, size))


def check_protocol_error(exc: ProtocolError, *secrets: bytes) -> None:
    """A protocol error's message is one printable ASCII line (peer bytes escaped) that shows no
    secret, and it carries a libzmq code."""
    text = str(exc)
    assert text.isascii() and text.isprintable(), f"unsafe error message {text!r}"
    for secret in secrets:
        for shown in (secret.hex(), repr(secret)[2:-1]):
            assert shown not in text and shown not in repr(exc), "a secret shows in an error"
    assert exc.auth_status in (None, 300, 400, 500)


def run_as_main(harness_file: str) -> None:
    """``python -m fuzz.harnesses.NAME ARGS``: start ``fuzz/run.py NAME ARGS`` in this process's
    place, so that safezmq is imported afresh under atheris's instrumentation."""
    import os
    import sys
    from pathlib import Path

    name = Path(harness_file).stem
    run = Path(__file__).resolve().parent.parent / "run.py"
    os.execv(sys.executable, [sys.executable, str(run), name, *sys.argv[1:]])
