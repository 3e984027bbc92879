"""ZMTP 3 framing: an encoder that never copies a body, and an incremental decoder.

A frame is a flags octet, a size (one octet, or eight in network order when the LONG flag is set)
and a body.  The decoder checks every limit from the header alone, before a byte of the body is
stored, and a body that has not arrived yet costs only the bytes that have arrived: a header that
declares 2^63 octets is an error, and one that declares 60 MiB and sends 1 KiB holds about 1 KiB.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Sequence
from itertools import chain
from operator import itemgetter
from typing import Any, NoReturn

from ..constants import Limit, ProtocolErrorCode
from . import chunkpool
from .errors import MessageTooLarge, ProtocolError
from .limits import LARGE_FRAME_THRESHOLD, MAX_MID_MESSAGE_COMMAND_SIZE, Limits

#: More frames of this message follow.
MORE = 0x01
#: The size field is 8 octets.
LONG = 0x02
#: The frame is a command, not part of a message.
COMMAND = 0x04
#: Bits 7-3 are reserved and MUST be zero.
RESERVED = 0xF8
#: The largest size a long frame may declare (the top bit of the 64-bit size is not usable).
MAX_FRAME_SIZE = (1 << 63) - 1

Buffer = bytes | bytearray | memoryview

#: A message as the decoder delivers it: its frames, in order.  A plain list, because a message
#: is the one thing on the hot path and a list is the cheapest container Python has.
Message = list[Buffer]

#: Headers of short frames, precomputed: [flags][size] -> 2 octets.
SHORT_HEADERS = [[bytes((flags, size)) for size in range(256)] for flags in range(8)]
_pack_long_header = struct.Struct(">BQ").pack


def frame_header(size: int, flags: int = 0) -> bytes:
    """The flags-and-size header of a frame of ``size`` octets."""
    if size < 256:
        return SHORT_HEADERS[flags][size]
    return _pack_long_header(flags | LONG, size)


def encode_message(frames: Sequence[Buffer]) -> list[Buffer]:
    """The buffers that put a multipart message on the wire: a header then the body of each
    frame.  Bodies are not copied."""
    out: list[Buffer] = []
    last = len(frames) - 1
    short = SHORT_HEADERS
    for i, body in enumerate(frames):
        flags = MORE if i < last else 0
        # A memoryview's len() counts items, not octets (e.g. a view of an array of ints).
        size = body.nbytes if isinstance(body, memoryview) else len(body)
        out.append(short[flags][size] if size < 256 else frame_header(size, flags))
        out.append(body)
    return out


_SMALL_HEADER = SHORT_HEADERS[0].__getitem__
_unpack_size = struct.Struct(">Q").unpack_from
_first_frame = itemgetter(0)


#: Bodies up to this size are joined with their headers into one buffer when a batch of
#: single-frame messages is encoded (copying a small body is cheaper than a buffer of its own);
#: larger ones are never copied.
JOIN_BODY_MAX = 8192


def _header_of_final_frame(size: int) -> bytes:
    return _SMALL_HEADER(size) if size < 256 else _pack_long_header(LONG, size)


def small_single_frame_bodies(messages: Sequence[Any]) -> tuple[list[bytes], list[int]] | None:
    """The bodies and their sizes when every message of a batch is one ``bytes`` frame of at
    most ``JOIN_BODY_MAX`` octets (the commonest traffic, which encoders lay out with C-level
    joins); None if any message is not like that (the caller then goes message by message)."""
    if set(map(type, messages)) != {list} or set(map(len, messages)) != {1}:
        return None
    bodies = list(map(_first_frame, messages))
    if set(map(type, bodies)) != {bytes}:
        return None
    sizes = list(map(len, bodies))
    if max(sizes) > JOIN_BODY_MAX:
        return None
    return bodies, sizes


def encode_single_frame_messages(messages: Sequence[Any]) -> bytes | None:
    """The wire form of a batch of small single-frame messages (``small_single_frame_bodies``),
    built with C-level loops; None if any message is not like that."""
    found = small_single_frame_bodies(messages)
    if found is None:
        return None
    bodies, sizes = found
    if max(sizes) < 256:
        headers: Iterable[bytes] = map(_SMALL_HEADER, sizes)
    else:
        # One header per distinct size rather than per message (a batch's messages are often
        # all of one size): a Python call per message cost about a third of the encoding.
        long_headers = {size: _header_of_final_frame(size) for size in set(sizes)}
        headers = map(long_headers.__getitem__, sizes)
    return b"".join(chain.from_iterable(zip(headers, bodies, strict=True)))


def encode_command(body: Buffer) -> bytes:
    """A command frame (header and body joined: commands are small and sent rarely)."""
    raw = bytes(body)
    return frame_header(len(raw), COMMAND) + raw


#: Below this, a read that continues a frame is joined whole to what came before it; above
#: it, only the frame is completed (see ``FrameDecoder.feed``).
_JOIN_TAIL_BELOW = 32 * 1024
#: Boxed frames opened together by one ``unbox_run`` call at the least; fewer go one by one.
#: A run has a fixed cost of about two boxes opened singly (setting up its C-level loops),
#: so it gains from about six frames on (measured per 64 B message: runs of 4 frames cost
#: 12 % more than box by box, runs of 8 saved 8 %, runs of 16 saved 24 %).
_RUN_MIN = 8
#: A boxed frame's inner flags octet (bit 0 MORE, bit 1 COMMAND) as frame flags.
_INNER_TO_FLAGS = (0, MORE, COMMAND, MORE | COMMAND)

#: The first chunk of a large body: small, so a header that lies about its size costs little.
_FIRST_CHUNK = 4096


class LargeBody:
    """The body of a large frame while it arrives, so that memory follows the octets received
    -- never the declared size -- and nothing is copied twice.  Octets that arrived with other
    data are kept in a chunk of exactly their size (``take``); the kernel writes the rest in
    place (``space``), into chunks that double in size (each a power of two no larger than all
    before it), taken from and given back to a ``chunkpool.ChunkPool`` when one is given."""

    __slots__ = ("_chunks", "_fill", "_pool", "allocated", "received", "size")

    def __init__(self, size: int, pool: chunkpool.ChunkPool | None = None) -> None:
        self.size = size
        self._pool = pool
        self.received = 0
        self.allocated = 0
        self._chunks: list[bytes | bytearray | memoryview] = []
        self._fill = 0  # octets used in the last chunk

    @property
    def complete(self) -> bool:
        return self.received >= self.size

    def space(self) -> memoryview:
        """The free part of the current chunk (a new one is started when it is full)."""
        chunks = self._chunks
        if not chunks or self._fill == len(chunks[-1]):
            remaining = self.size - self.received
            # A power of two no larger than what arrived so far (so allocation stays within
            # twice the octets received), which lets the pool's buffers fit the next body too.
            doubling = 1 << (max(_FIRST_CHUNK, self.received).bit_length() - 1)
            size = min(remaining, doubling)
            pool = self._pool
            chunk = bytearray(size) if pool is None else pool.take(size)
            chunks.append(chunk)
            self.allocated += chunkpool.footprint(chunk)  # at most ``doubling``
            self._fill = 0
        return memoryview(chunks[-1])[self._fill :]

    def filled(self, nbytes: int) -> None:
        self._fill += nbytes
        self.received += nbytes

    def take(self, data: Buffer) -> int:
        """Copy what ``data`` holds of the body; return how many octets were used.  A run of
        at least 4 KiB that starts a chunk becomes a chunk of exactly its size (bytes: no
        zero-filled buffer first, and a body that is that one chunk is delivered as it is);
        shorter runs fill the chunks ``space`` allocates."""
        view = memoryview(data)
        used = 0
        while used < len(view) and not self.complete:
            n = min(len(view) - used, self.size - self.received)
            chunks = self._chunks
            if n >= _FIRST_CHUNK and (not chunks or self._fill == len(chunks[-1])):
                chunks.append(bytes(view[used : used + n]))
                self.allocated += n
                self._fill = 0
                self.filled(n)
            else:
                space = self.space()
                n = min(len(space), n)
                space[:n] = view[used : used + n]
                self.filled(n)
            used += n
        return used

    def body(self, mutable: bool = False) -> Buffer:
        """The whole body: the only chunk itself, or the chunks joined (one copy) -- into a
        bytearray when ``mutable`` (a box is then opened where it lies, instead of into yet
        another buffer of its size)."""
        chunks = self._chunks
        self._chunks = []
        if len(chunks) == 1 and type(chunks[0]) is not memoryview:
            return chunks[0]
        body = bytearray().join(chunks) if mutable else b"".join(chunks)
        pool = self._pool
        if pool is not None:
            for chunk in chunks:
                pool.give_back(chunk)  # complete: every octet of it was written
        return body


def _mid_message_command(size: int) -> NoReturn:
    raise ProtocolError(
        f"command of {size} octets between the frames of a multipart message (only a "
        f"heartbeat of at most {MAX_MID_MESSAGE_COMMAND_SIZE} octets may come there)",
        ProtocolErrorCode.ZMTP_UNEXPECTED_COMMAND,
    )


class FrameDecoder:
    """Turns a byte stream into complete messages and commands.

    ``feed(data)`` returns a list whose items are complete messages (plain lists of frames) or
    whatever ``on_command`` appended for a command frame.  The owner steers decoding through three
    attributes that it may change from inside ``on_command``:

    - ``accept_messages``: message frames are a protocol error until the handshake is done;
    - ``command_limit``: the largest command accepted (small during the handshake);
    - ``unbox``: set by an encrypting mechanism, it turns each wire frame body into
      ``(flags, plaintext)``; ``box_overhead`` is what it adds to each frame on the wire;
      ``unbox_run``, when set too, does the same for a run of whole frames in one call.

    Any violation raises a ``ProtocolError``; the decoder is then unusable.
    """

    __slots__ = (
        "_large",
        "_large_flags",
        "_message",
        "_message_size",
        "_need",
        "_tail",
        "accept_messages",
        "box_overhead",
        "chunk_pool",
        "command_limit",
        "delivered_bytes",
        "delivered_messages",
        "limits",
        "on_command",
        "unbox",
        "unbox_run",
    )

    def __init__(
        self,
        limits: Limits,
        on_command: Callable[[Buffer, list[object]], None],
        command_limit: int,
    ) -> None:
        self.limits = limits
        self.on_command = on_command
        self.command_limit = command_limit
        self.accept_messages = False
        self.unbox: Callable[[Buffer], tuple[int, Buffer]] | None = None
        #: The codec's ``unbox_run`` (``TrafficCodec``): opens a run of whole frames at once.
        self.unbox_run: (
            Callable[[bytes, list[int], list[int]], tuple[list[bytes], bytes] | None] | None
        ) = None
        self.box_overhead = 0
        #: Where large bodies take their receive chunks (the runtime's, per event loop); None:
        #: new ones each time.
        self.chunk_pool: chunkpool.ChunkPool | None = None
        # Unparsed bytes (part of a header or of a small body) and how many the tail must hold
        # before parsing can progress: appending is amortised, so a frame that arrives one
        # octet at a time costs linear, not quadratic, work.
        self._tail = bytearray()
        self._need = 0
        self._large: LargeBody | None = None  # body of a large frame, as it arrives
        self._large_flags = 0
        self._message: list[Buffer] = []  # frames of the message in progress
        self._message_size = 0
        #: Messages completed by the last ``feed``, and their body octets (pipe accounting).
        self.delivered_messages = 0
        self.delivered_bytes = 0

    @property
    def buffered(self) -> int:
        """Bytes held for incomplete frames and the message in progress."""
        large = self._large.received if self._large is not None else 0
        return len(self._tail) + large + self._message_size

    def feed(self, data: Buffer, out: list[object] | None = None) -> list[object]:
        """Decode ``data``; return the messages and command results it completed.  They are
        appended to ``out`` as they complete, so a caller that passes its own list still has
        what came before a violation when ``feed`` raises."""
        if out is None:
            out = []
        self.delivered_bytes = self.delivered_messages = 0
        if type(data) is not bytes and not (
            isinstance(data, memoryview)
            and data.format == "B"
            and data.ndim == 1
            and data.contiguous
        ):
            data = bytes(data)
        while True:
            large = self._large
            if large is not None:
                used = large.take(data)
                if not large.complete:
                    return out
                self._large = None
                self._frame(self._large_flags, large.body(self.unbox is not None), out)
                data = data[used:]
            tail = self._tail
            if not tail:
                break
            missing = self._need - len(tail)
            if len(data) < missing:
                tail += data
                return out
            if len(data) < _JOIN_TAIL_BELOW:
                # A short read: join it all to the tail and decode it as one (two small copies
                # cost less than decoding the tail's frame by itself first).
                tail += data
                data = bytes(tail)
                self._tail = bytearray()
                break
            # A long read: complete only what the tail waits for (a header, or the frame it
            # starts), then decode the rest where it lies.  With frames of a few KiB nearly
            # every read ends inside one, and joining copied each read twice more.
            tail += data[:missing]
            data = data[missing:]
            self._tail = bytearray()
            self._parse(bytes(tail), out)  # may leave a new tail, or start a large body
        if isinstance(data, memoryview):
            self._parse_view(data, out)
        else:
            self._parse(data, out)
        return out

    def _parse_view(self, view: memoryview, out: list[object]) -> None:
        """Decode ``view``, a buffer that may be overwritten once ``feed`` returns (a stream's
        shared read buffer): nothing of it is kept.  Whole large message frames at its start
        are copied out once each, straight into the bodies delivered; the rest is copied once
        and decoded as bytes by ``_parse``, which also raises every violation (a frame that
        is not a valid large message frame ends the loop below unchecked)."""
        n = len(view)
        pos = 0
        limits = self.limits
        max_message = limits.max_message_size
        unbox = self.unbox
        while n - pos >= 9 and self.accept_messages:
            flags = view[pos]
            if not flags & LONG or flags & RESERVED or (flags & COMMAND and unbox is None):
                break
            size = _unpack_size(view, pos + 1)[0]
            if size < LARGE_FRAME_THRESHOLD or size > MAX_FRAME_SIZE:
                break
            if 0 <= max_message < self._message_size + size - self.box_overhead:
                break
            if len(self._message) >= limits.max_message_frames:
                break
            start = pos + 9
            end = start + size
            if end > n:
                # Received into buffers of its own from here on, grown by what arrives.
                large = self._large = LargeBody(size, self.chunk_pool)
                large.take(view[start:])
                self._large_flags = flags
                return
            self._frame(flags, bytes(view[start:end]), out)
            pos = end
        if pos < n:
            self._parse(bytes(view[pos:]), out)

    def _parse(self, data: bytes, out: list[object]) -> None:
        n = len(data)
        pos = 0
        limits = self.limits
        max_message = limits.max_message_size
        message = self._message
        need = 2
        delivered = count = 0
        # Fast path for the commonest frame: a short, final, non-command frame that is a whole
        # message by itself (flags 0).  Safe while no multipart message is half-received, no
        # codec unboxes, messages are accepted, and MAXMSGSIZE cannot be below 255.
        short_ok = max_message < 0 or max_message >= 255
        fast = self.accept_messages and self.unbox is None and not message and short_ok
        # Runs of boxed frames are opened together from this offset on (see _open_run).  A
        # read is not even scanned for one unless it could hold a run of frames as long as its
        # first (scanning a few frames only to go frame by frame costs about 0.2 µs each).
        run_from = n
        if self.unbox_run is not None and self.accept_messages and n - pos >= 9:
            first = 9 + _unpack_size(data, pos + 1)[0] if data[pos] & LONG else 2 + data[pos + 1]
            if n - pos >= _RUN_MIN * first:
                run_from = pos
        while n - pos >= 2:
            flags = data[pos]
            if flags == 0 and fast:
                end = pos + 2 + data[pos + 1]
                if end > n:
                    need = end - pos
                    break
                out.append([data[pos + 2 : end]])
                delivered += end - pos - 2
                count += 1
                pos = end
                continue
            if flags == LONG and fast and n - pos >= 9:
                # The same for a long frame that is all here and within MAXMSGSIZE (anything
                # else, including a size above 2^63-1, goes on to the checks below).
                size = _unpack_size(data, pos + 1)[0]
                end = pos + 9 + size
                if end <= n and (max_message < 0 or size <= max_message):
                    out.append([data[pos + 9 : end]])
                    delivered += size
                    count += 1
                    pos = end
                    continue
            if pos >= run_from:
                opened = self._open_run(data, pos, out)
                if opened > pos:
                    pos = opened
                    message = self._message
                    continue
                # Too short a run, or one that needs frame-by-frame handling: the frames of
                # this read up to the one that stopped it go one by one.
                run_from = -opened
            if flags & LONG:
                if n - pos < 9:
                    need = 9
                    break
                size = int.from_bytes(data[pos + 1 : pos + 9], "big")
                start = pos + 9
            else:
                size = data[pos + 1]
                start = pos + 2
            if flags & RESERVED:
                raise ProtocolError(f"frame flags {flags:#04x} set reserved bits")
            if size > MAX_FRAME_SIZE:
                raise MessageTooLarge(f"frame declares {size} octets, above 2^63-1")
            if flags & COMMAND and self.unbox is None:
                if flags & MORE:
                    raise ProtocolError(
                        "command frame has the MORE flag set",
                        ProtocolErrorCode.ZMTP_MALFORMED_COMMAND_UNSPECIFIED,
                    )
                if size > self.command_limit:
                    raise MessageTooLarge(
                        f"command of {size} octets exceeds the limit of {self.command_limit}",
                        Limit.SUBSCRIPTION_BYTES,
                    )
                if message and size > MAX_MID_MESSAGE_COMMAND_SIZE:
                    _mid_message_command(size)
            else:
                if not self.accept_messages:
                    raise ProtocolError(
                        "message frame before the handshake completed",
                        ProtocolErrorCode.ZMTP_UNEXPECTED_COMMAND,
                    )
                self._check_message_frame(size - self.box_overhead)
            end = start + size
            if end > n:
                if size >= LARGE_FRAME_THRESHOLD:
                    # Receive the body into buffers of its own, grown by what arrives.
                    self._large = LargeBody(size, self.chunk_pool)
                    self._large.take(memoryview(data)[start:])
                    self._large_flags = flags
                    self.delivered_bytes += delivered
                    self.delivered_messages += count
                    return
                need = end - pos
                break
            body = data[start:end]
            pos = end
            if flags & (COMMAND | MORE) == 0 and self.unbox is None:
                # The last frame of a message.
                message.append(body)
                out.append(message)
                delivered += self._message_size + size
                count += 1
                message = self._message = []
                self._message_size = 0
            else:
                self._frame(flags, body, out)
                message = self._message
            fast = self.accept_messages and self.unbox is None and not message and short_ok
        self.delivered_bytes += delivered
        self.delivered_messages += count
        if pos < n:
            self._tail = bytearray(memoryview(data)[pos:])
            self._need = need

    def receive_buffer(self) -> memoryview | None:
        """Where the next octets should be received (``recv_into``) to land directly in the
        body of a large frame, or None when ordinary reads are better."""
        large = self._large
        return None if large is None else large.space()

    def buffer_received(self, nbytes: int, out: list[object] | None = None) -> list[object]:
        """``nbytes`` octets were received into ``receive_buffer()``."""
        if out is None:
            out = []
        self.delivered_bytes = self.delivered_messages = 0
        large = self._large
        assert large is not None
        large.filled(nbytes)
        if large.complete:
            self._large = None
            self._frame(self._large_flags, large.body(self.unbox is not None), out)
        return out

    def _open_run(self, data: bytes, pos: int, out: list[object]) -> int:
        """Open the run of whole boxed frames that starts at ``pos`` with one ``unbox_run``
        call and handle what they carry.  Returns where decoding goes on (after the run), or,
        when nothing was done, minus the offset of the first frame past it: the frames before
        that go through the checks of ``_parse`` one at a time (a run too short to gain, a frame
        with MORE on the wire or a large one, a box that does not open: there, errors and what
        came before them come out exactly as frame by frame)."""
        n = len(data)
        starts: list[int] = []
        ends: list[int] = []
        p = pos
        while n - p >= 2:
            flags = data[p]
            if flags & ~(LONG | COMMAND):
                break
            if flags & LONG:
                if n - p < 9:
                    break
                size = _unpack_size(data, p + 1)[0]
                if size >= LARGE_FRAME_THRESHOLD:
                    break
                start = p + 9
            else:
                size = data[p + 1]
                start = p + 2
            end = start + size
            if end > n:
                break
            starts.append(start)
            ends.append(end)
            p = end
        count = len(starts)
        if count < _RUN_MIN:
            return -(p + 1)
        unbox_run = self.unbox_run
        assert unbox_run is not None
        opened = unbox_run(data, starts, ends)
        if opened is None:
            return -(p + 1)
        bodies, inner = opened
        max_message = self.limits.max_message_size
        if (
            not self._message
            and not any(inner)
            and (max_message < 0 or max(map(len, bodies)) <= max_message)
        ):
            # The commonest case: every frame a whole message by itself.
            out.extend(map(list, zip(bodies)))
            self.delivered_bytes += sum(map(len, bodies))
            self.delivered_messages += count
            return p
        for flags_octet, body in zip(inner, bodies, strict=True):
            # The checks _parse makes before it unboxes a frame, in the same order.
            self._check_message_frame(len(body))
            self._plain_frame(_INNER_TO_FLAGS[flags_octet], body, out)
        return p

    def _check_message_frame(self, payload: int) -> None:
        """Refuse a message frame of ``payload`` octets (once unboxed) that would take the
        message being received past MAXMSGSIZE or past the frame-count limit.  Made before a
        frame is unboxed, so an oversized message costs no decryption."""
        limits = self.limits
        max_message = limits.max_message_size
        if 0 <= max_message < self._message_size + payload:
            raise MessageTooLarge(
                f"message of at least {self._message_size + payload} octets exceeds "
                f"MAXMSGSIZE {max_message}"
            )
        if len(self._message) >= limits.max_message_frames:
            raise MessageTooLarge(f"message has more than {limits.max_message_frames} frames")

    def _frame(self, flags: int, body: Buffer, out: list[object]) -> None:
        """Handle one complete wire frame."""
        unbox = self.unbox
        if unbox is not None:
            if flags & MORE:
                raise ProtocolError(
                    "encrypted frame has the MORE flag set on the wire",
                    ProtocolErrorCode.ZMTP_MALFORMED_COMMAND_MESSAGE,
                )
            flags, body = unbox(body)
        self._plain_frame(flags, body, out)

    def _plain_frame(self, flags: int, body: Buffer, out: list[object]) -> None:
        """Handle one frame as sent (unboxed already, if it was boxed)."""
        if flags & COMMAND:
            if flags & MORE:
                raise ProtocolError(
                    "command has the MORE flag set",
                    ProtocolErrorCode.ZMTP_MALFORMED_COMMAND_UNSPECIFIED,
                )
            if len(body) > self.command_limit:
                raise MessageTooLarge(
                    f"command of {len(body)} octets exceeds the limit of {self.command_limit}",
                    Limit.SUBSCRIPTION_BYTES,
                )
            if self._message and len(body) > MAX_MID_MESSAGE_COMMAND_SIZE:
                _mid_message_command(len(body))
            self.on_command(body, out)
            return
        message = self._message
        message.append(body)
        if flags & MORE:
            self._message_size += len(body)
        else:
            out.append(message)
            self.delivered_bytes += self._message_size + len(body)
            self.delivered_messages += 1
            self._message = []
            self._message_size = 0
