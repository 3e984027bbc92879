"""FrameDecoder: any bytes, fed whole and split, give messages and commands or a ProtocolError.

Input: ``config split-param | wire bytes``.  ``config`` picks the limits (bits 0-1), how the
bytes are split for the second decoder (bits 2-3), whether messages are accepted from the start
(bit 4), whether a ``READY`` command switches on a toy encrypting codec (bit 5) the way
CURVE's does after its handshake, whether, when the input ends inside a large frame (64 KiB
or more, received into a buffer of its own), zero octets complete it in a few more calls
(bit 6), and whether the split run delivers a large body through ``receive_buffer()`` and
``buffer_received()`` (the engine's zero-copy ``recv_into`` path) instead of ``feed`` (bit 7).  A
command whose body starts ``\\x05READY`` makes the owner accept messages and raise the command
limit, as ``Connection`` does when its handshake ends.

Properties:
- ``feed`` returns a list or raises ``ProtocolError`` (then the decoder is not fed again);
- what is buffered never exceeds what was fed, nor what the limits allow;
- every message has 1..max_message_frames frames and at most MAXMSGSIZE octets;
- the same bytes fed whole and split give the same messages and commands, or both fail with the
  same error class and code.
"""

from __future__ import annotations

import itertools

from safezmq.protocol import Limits, ProtocolError
from safezmq.protocol.frames import COMMAND, MAX_FRAME_SIZE, MORE, Buffer, FrameDecoder

from ._util import (
    LIMITS,
    Reader,
    buffer_cap,
    check_large_allocation,
    feed_zero_copy,
    large_remaining,
    over_cap,
    split,
)

TOY_OVERHEAD = 1
#: The largest remainder of a large frame that bit 6 completes with zeros.
COMPLETE_MAX = 1 << 20


def toy_unbox(body: Buffer) -> tuple[int, Buffer]:
    """A stand-in for CURVE's unbox: the first octet is the inner flags, the rest the body."""
    raw = bytes(body)
    if not raw or raw[0] & ~(MORE | COMMAND):
        raise ProtocolError("toy box is empty or has reserved flags")
    return raw[0], raw[1:]


class Owner:
    """Plays the Connection's part: records commands and steers the decoder on READY."""

    def __init__(self, limits: Limits, accept: bool, codec: bool) -> None:
        self.limits = limits
        self.codec = codec
        self.decoder = FrameDecoder(limits, self.on_command, limits.max_handshake_command_size)
        self.decoder.accept_messages = accept

    def on_command(self, body: Buffer, out: list[object]) -> None:
        raw = bytes(body)
        out.append(("command", raw))
        decoder = self.decoder
        if raw.startswith(b"\x05READY") and not decoder.accept_messages:
            decoder.accept_messages = True
            max_message = self.limits.max_message_size
            decoder.command_limit = max_message if max_message >= 0 else MAX_FRAME_SIZE
            if self.codec:
                decoder.unbox = toy_unbox
                decoder.box_overhead = TOY_OVERHEAD


def normal(items: list[object]) -> list[object]:
    return [[bytes(f) for f in i] if isinstance(i, list) else i for i in items]


def run(
    owner: Owner, pieces: list[bytes], complete: bool = False, zero_copy: bool = False
) -> tuple[list[object], tuple[type, object] | None, int]:
    """Feed ``pieces`` (then, with ``complete``, zeros to finish a large frame in progress);
    return (items, (error class, code) or None, final buffered)."""
    limits = owner.limits
    cap = buffer_cap(limits)
    decoder = owner.decoder
    items: list[object] = []
    fed = 0
    pieces = list(pieces)
    for i in itertools.count():
        if i == len(pieces):
            # Four calls, so that the large-frame path sees partial feeds too.
            need = large_remaining(decoder) if complete else 0
            if not 0 < need <= COMPLETE_MAX:
                break  # (a frame of gigabytes is allowed without MAXMSGSIZE: not completed)
            pieces += [bytes(len(c)) for c in split(bytes(need), 2, need // 4)]
        piece = pieces[i]
        fed += len(piece)
        try:
            got = feed_zero_copy(decoder, piece, decoder.feed) if zero_copy else decoder.feed(piece)
        except ProtocolError as exc:
            return items, (type(exc), exc.code), decoder.buffered
        assert isinstance(got, list), type(got)
        for item in got:
            if isinstance(item, list):
                assert decoder.accept_messages
                assert 1 <= len(item) <= limits.max_message_frames, len(item)
                if limits.max_message_size >= 0:
                    size = sum(len(f) for f in item)
                    assert size <= limits.max_message_size, size
                assert all(isinstance(f, (bytes, bytearray, memoryview)) for f in item)
            else:
                assert isinstance(item, tuple) and item[0] == "command", item
                assert len(item[1]) <= max(decoder.command_limit, limits.max_handshake_command_size)
        items += got
        assert decoder.buffered <= fed, (decoder.buffered, fed)
        check_large_allocation(decoder)
        if cap is not None:
            assert decoder.buffered <= cap, over_cap(decoder, decoder.buffered, cap)
    return items, None, decoder.buffered


def check(data: bytes) -> None:
    reader = Reader(data)
    config = reader.byte()
    param = reader.byte()
    payload = reader.rest()
    limits = LIMITS[config & 3]
    accept = bool(config & 0x10)
    codec = bool(config & 0x20)
    mode = (config >> 2) & 3
    complete = bool(config & 0x40)

    whole = run(Owner(limits, accept, codec), [payload], complete)
    whole_items, whole_error, whole_buffered = whole
    pieces = split(payload, mode, param)
    zero_copy = bool(config & 0x80)
    split_run = run(Owner(limits, accept, codec), pieces, complete, zero_copy)
    split_items, split_error, split_buffered = split_run
    if whole_error is None:
        assert split_error is None, f"split feeding failed where whole did not: {split_error}"
        assert normal(split_items) == normal(whole_items), "split feeding changed the output"
        assert split_buffered == whole_buffered
    else:
        assert split_error == whole_error, f"whole: {whole_error}, split: {split_error}"


def test_one_input(data: bytes) -> None:
    check(data)


if __name__ == "__main__":
    from ._util import run_as_main

    run_as_main(__file__)
