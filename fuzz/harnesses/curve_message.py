"""CURVE MESSAGE unboxing: any bodies give (flags, plaintext) or a ProtocolError; a box made with
the right key opens to exactly what was boxed, and any change to it is refused.

Input: ``mode | items``.  Mode bit 0: the codec under test is the server's (it opens boxes from
the client), else the client's; bit 1: the bodies also travel through a FrameDecoder (as wire
frames with flags 0) instead of straight to ``unbox``.  Each item is a kind octet then content:

- kind & 3 == 0: a raw body (``sized``), unboxed as it is;
- kind & 3 == 1: a plaintext (``sized``) boxed by the peer with inner flags ``kind >> 2 & 0x0F``
  (bits 0-1 MORE and COMMAND, 2-3 reserved) and the next nonce, or with a nonce that goes back
  ``kind >> 6`` steps when that is not 0;
- kind & 3 == 2: the same, then one octet of the box changed (position and XOR value follow);
- kind & 3 == 3: the same, then cut to a length that follows.

Properties: ``unbox`` (or the decoder) returns or raises ``ProtocolError`` only; a correctly boxed
plaintext with a fresh nonce and no reserved flags opens to exactly its flags and bytes; one with
a stale nonce, reserved flags or any changed or missing octet is refused.
"""

from __future__ import annotations

import nacl.bindings as sodium

from safezmq.protocol import Limits, ProtocolError
from safezmq.protocol.curve import CurveCodec, NonceCounter
from safezmq.protocol.frames import COMMAND, MORE, FrameDecoder

from ._util import Reader, check_protocol_error, wire_header
from .keys import CLIENT_SECRET_RAW, SERVER_PUBLIC_RAW

#: A fixed "transient" shared key (any 32 octets would do: this is the afternm key).
KEY = bytes(sodium.crypto_box_beforenm(SERVER_PUBLIC_RAW, CLIENT_SECRET_RAW))
PREFIX = {True: b"CurveZMQMESSAGEC", False: b"CurveZMQMESSAGES"}  # what each side opens
LIMITS = Limits(max_message_size=1 << 20, max_message_frames=1 << 10)


def box(as_server: bool, nonce: int, inner: int, plaintext: bytes) -> bytes:
    """A MESSAGE body as the peer of a codec with ``as_server`` makes it (written from RFC 26)."""
    n = nonce.to_bytes(8, "big")
    sealed = sodium.crypto_box_easy_afternm(bytes((inner,)) + plaintext, PREFIX[as_server] + n, KEY)
    return b"\x07MESSAGE" + n + sealed


class Unboxer:
    """Opens bodies with a codec, directly or through a FrameDecoder."""

    def __init__(self, as_server: bool, through_decoder: bool) -> None:
        self.codec = CurveCodec(KEY, NonceCounter(), as_server)
        self.decoder: FrameDecoder | None = None
        if through_decoder:
            self.decoder = FrameDecoder(LIMITS, self._command, LIMITS.max_message_size)
            self.decoder.accept_messages = True
            self.decoder.unbox = self.codec.unbox
            self.decoder.box_overhead = self.codec.overhead
        self.fed = 0

    def _command(self, body: object, out: list[object]) -> None:
        assert isinstance(body, (bytes, bytearray, memoryview))
        out.append(("command", bytes(body)))

    def open(self, body: bytes) -> tuple[int, bytes]:
        """(flags, plaintext), by whichever path; ProtocolError passes through."""
        if self.decoder is None:
            flags, plain = self.codec.unbox(body)
            assert flags & ~(MORE | COMMAND) == 0, flags
            return flags, bytes(plain)
        wire = wire_header(len(body), 0) + body
        self.fed += len(wire)
        got = self.decoder.feed(wire)
        assert self.decoder.buffered <= self.fed, (self.decoder.buffered, self.fed)
        if not got:  # a MORE frame: part of a message in progress
            return MORE, b""
        (item,) = got
        if isinstance(item, tuple):
            return COMMAND, item[1]
        assert isinstance(item, list)
        return 0, bytes(item[-1])


def check(data: bytes) -> None:
    reader = Reader(data)
    mode = reader.byte()
    as_server = bool(mode & 1)
    unboxer = Unboxer(as_server, bool(mode & 2))
    # The last nonce the codec accepted; a fresh codec takes any first nonce (in a Connection
    # the handshake's nonces come first).
    last: int | None = None
    for _ in range(16):
        if reader.exhausted:
            return
        kind = reader.byte()
        what = kind & 3
        if what == 0:
            body = reader.sized()
            try:
                unboxer.open(body)
            except ProtocolError as exc:
                check_protocol_error(exc, KEY)
                return
            # Opening a body we did not box means forging Poly1305: only a replayed box could.
            raise AssertionError(f"a body not made with the key opened: {body.hex()}")
        inner = kind >> 2 & 0x0F
        back = kind >> 6
        previous = last or 0
        nonce = max(previous - back + 1, 0) if back else previous + 1
        plaintext = reader.sized()
        body = box(as_server, nonce, inner, plaintext)
        valid = (last is None or nonce > last) and not inner & 0x0C
        if unboxer.decoder is not None and inner & 3 == 3:
            valid = False  # a command may not have MORE (the decoder refuses it)
        if what == 2:
            at = reader.number(2) % len(body)
            xor = reader.byte() or 1
            body = body[:at] + bytes((body[at] ^ xor,)) + body[at + 1 :]
            valid = False
        elif what == 3:
            cut = reader.number(2) % len(body)
            body = body[:cut]
            valid = False
        try:
            flags, opened = unboxer.open(body)
        except ProtocolError as exc:
            check_protocol_error(exc, KEY)
            assert not valid, f"a valid box was refused: {exc}"
            return
        assert valid, f"an invalid box opened (nonce {nonce} after {last}, inner {inner:#x})"
        last = nonce
        expected = (MORE if inner & 1 else 0) | (COMMAND if inner & 2 else 0)
        if unboxer.decoder is None:
            assert (flags, opened) == (expected, plaintext)
        elif not expected & MORE:
            assert flags == expected & COMMAND and opened == plaintext, (flags, opened)


def test_one_input(data: bytes) -> None:
    check(data)


if __name__ == "__main__":
    from ._util import run_as_main

    run_as_main(__file__)
