"""How libzmq carries ZeroMQ messages over PGM (src/pgm_sender.cpp, pgm_receiver.cpp).

The messages form one byte stream in libzmq's v1 ("ZMTP 1.0") frame encoding: each frame is a
length octet (frame size + 1, counting a flags octet; 0xff then a 64-bit length when that is
255 or more), a flags octet (bit 0: MORE) and the body.  The stream is cut into TSDUs of at
most ``max_tsdu`` octets, one per ODATA packet, and each TSDU starts with a 16-bit offset: where
the first *message* (not frame) that starts in this TSDU begins, after the two offset octets, or
0xffff when none starts there.  A receiver that joins late, or that lost data, skips TSDUs until
one has an offset, and starts decoding there: at a message boundary.

``ApduEncoder`` builds TSDUs from messages; ``ApduDecoder`` turns one source's TSDUs (in
sequence order, with losses signalled by ``reset()``) back into whole messages.  A message is
delivered only when all of its frames arrived: a loss in the middle of a message drops that
message, never delivers part of it.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Sequence
from typing import Any

NO_OFFSET = 0xFFFF
MORE = 0x01
_U16 = struct.Struct("!H")
_U64 = struct.Struct("!Q")

Frames = Sequence[Any]  # bytes-like frames of one message


def frame_header(size: int, more: bool) -> bytes:
    """The v1 header of a frame of ``size`` octets."""
    flags = MORE if more else 0
    if size + 1 < 0xFF:
        return bytes((size + 1, flags))
    return b"\xff" + _U64.pack(size + 1) + bytes((flags,))


class ApduEncoder:
    """Messages in, TSDUs (offset + stream octets) out."""

    def __init__(self, max_tsdu: int) -> None:
        if max_tsdu < 3:
            raise ValueError("max_tsdu must leave room for the offset and one octet")
        self.max_tsdu = max_tsdu
        #: Segments of the stream still to send: (octets, starts a message).
        self._segments: deque[tuple[memoryview, bool]] = deque()
        #: Octets in ``_segments``.
        self.buffered = 0

    def add(self, frames: Frames) -> None:
        """Queue one message (its frames are referenced, not copied)."""
        last = len(frames) - 1
        for index, frame in enumerate(frames):
            body = frame if isinstance(frame, memoryview) else memoryview(frame)
            if body.ndim != 1 or body.itemsize != 1:
                body = body.cast("B")
            header = frame_header(len(body), index < last)
            self._segments.append((memoryview(header), index == 0))
            self.buffered += len(header)
            if len(body):
                self._segments.append((body, False))
                self.buffered += len(body)

    @property
    def room(self) -> int:
        """Stream octets the next TSDU can still take beyond what is queued (<= 0: full)."""
        return self.max_tsdu - 2 - self.buffered

    def next_tsdu(self) -> bytes | None:
        """The next TSDU (up to ``max_tsdu`` octets), or None when nothing is queued."""
        if not self.buffered:
            return None
        capacity = self.max_tsdu - 2
        parts: list[memoryview] = []
        used = 0
        offset = NO_OFFSET
        segments = self._segments
        while segments and used < capacity:
            octets, starts = segments[0]
            if starts and offset == NO_OFFSET:
                offset = used
            take = min(len(octets), capacity - used)
            parts.append(octets[:take])
            used += take
            if take == len(octets):
                segments.popleft()
            else:
                segments[0] = (octets[take:], False)
        self.buffered -= used
        return _U16.pack(offset) + b"".join(parts)


class FramingError(ValueError):
    """The stream of one source cannot be decoded (it is resynchronised, never fatal)."""


class _Oversize(FramingError):
    """A message beyond the size or frame limit (counted apart from malformed framing)."""


class ApduDecoder:
    """One source's TSDUs in, whole messages out.

    ``max_message_size`` bounds the sum of a message's frames (< 0: unlimited) and
    ``max_frames`` their number; a message beyond either is dropped (``dropped_oversize``) and the
    stream is resynchronised at the next message boundary, because skipping a multi-gigabyte
    frame octet by octet is what an attacker would want.  Memory grows with octets received,
    never from a declared length.
    """

    def __init__(self, max_message_size: int = -1, max_frames: int = 100_000) -> None:
        self.max_message_size = max_message_size
        self.max_frames = max_frames
        self.joined = False
        #: Counters (for monitoring and tests).
        self.dropped_partial = 0  # messages lost in the middle (gap, reset)
        self.dropped_oversize = 0
        self.desyncs = 0  # offset disagreed with the decoder: resynchronised
        self.malformed = 0
        self._reset_message()

    def _reset_message(self) -> None:
        self._frames: list[bytes] = []
        self._size = 0
        self._header = bytearray()
        self._need = 0  # body octets still missing for the current frame
        self._body: bytearray | None = None
        self._more = False
        self._in_frame = False  # between a frame's first header octet and its body's end

    @property
    def at_boundary(self) -> bool:
        """Whether the decoder is between messages (nothing of a message is held)."""
        return not self._in_frame and not self._frames

    def reset(self) -> None:
        """Data was lost: drop what is held of the current message and wait for a boundary."""
        if self.joined and not self.at_boundary:
            self.dropped_partial += 1
        self.joined = False
        self._reset_message()

    def feed(self, tsdu: bytes | bytearray | memoryview) -> list[list[bytes]]:
        """The messages completed by one TSDU (the next in sequence from this source)."""
        data = memoryview(tsdu)
        if len(data) < 2:
            self.malformed += 1
            self.reset()
            return []
        offset = _U16.unpack_from(data)[0]
        data = data[2:]
        if offset != NO_OFFSET and offset > len(data):
            self.malformed += 1
            self.reset()
            return []
        out: list[list[bytes]] = []
        if not self.joined:
            if offset == NO_OFFSET:
                return out  # no message starts here: wait for one that does
            self.joined = True
            self._reset_message()
            data = data[offset:]
        elif offset != NO_OFFSET:
            # Decode up to the announced boundary; the decoder must then be between messages.
            head, tail = data[:offset], data[offset:]
            try:
                self._decode(head, out)
            except _Oversize:
                self._reset_message()
            except FramingError:
                self.malformed += 1
                self._reset_message()
            if not self.at_boundary:
                self.desyncs += 1
                self.dropped_partial += 1
                self._reset_message()
            data = tail
        try:
            self._decode(data, out)
        except FramingError as exc:
            # Bad framing, or a message over the limits: drop the message in progress and
            # rejoin at the next boundary.
            if not isinstance(exc, _Oversize):
                self.malformed += 1
            self.joined = False
            self._reset_message()
        return out

    def _decode(self, data: memoryview, out: list[list[bytes]]) -> None:
        pos = 0
        end = len(data)
        while pos < end:
            if self._need:
                take = min(self._need, end - pos)
                assert self._body is not None
                self._body += data[pos : pos + take]
                pos += take
                self._need -= take
                if not self._need:
                    self._frame_done(out)
                continue
            # Reading a frame header: 2 octets, or 10 for a long frame.
            self._in_frame = True
            header = self._header
            want = 2 if not header or header[0] != 0xFF else 10
            take = min(want - len(header), end - pos)
            header += data[pos : pos + take]
            pos += take
            if len(header) >= 1 and header[0] == 0xFF:
                want = 10
            if len(header) < want:
                continue
            if header[0] == 0xFF:
                size = _U64.unpack_from(header, 1)[0]
                flags = header[9]
            else:
                size, flags = header[0], header[1]
            if size == 0:
                raise FramingError("a frame length must count the flags octet")
            size -= 1
            self._header = bytearray()
            if len(self._frames) + 1 > self.max_frames or (
                self.max_message_size >= 0 and self._size + size > self.max_message_size
            ):
                # Too large: skip to the next boundary rather than read (or skip) it.
                self.dropped_oversize += 1
                raise _Oversize("message over the size limit")
            self._more = bool(flags & MORE)
            self._size += size
            self._body = bytearray()
            self._need = size
            if not size:
                self._frame_done(out)

    def _frame_done(self, out: list[list[bytes]]) -> None:
        assert self._body is not None
        self._frames.append(bytes(self._body))
        self._body = None
        self._in_frame = False
        if not self._more:
            out.append(self._frames)
            self._frames = []
            self._size = 0
