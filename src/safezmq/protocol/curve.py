"""The CURVE mechanism (RFC 25) running CurveZMQ (RFC 26) with libsodium through PyNaCl.

    C:HELLO  S:WELCOME  C:INITIATE  S:READY  then MESSAGE both ways

Keys: permanent C/c (client) and S/s (server), transient C'/c' and S'/s' made per connection.
Every command's length is checked before a box is opened; short nonces must strictly increase
in each direction (a replayed or old nonce is a protocol error); the transient shared key is
computed once (``crypto_box_beforenm``) and used for every message.  The server keeps nothing but
the cookie key between WELCOME and INITIATE that it could not recompute, and the cookie binds
C' and s' so an INITIATE cannot be replayed onto another connection.

libzmq facts, found by testing against it rather than in the RFC: after the handshake a MESSAGE
travels as an ordinary data frame (flags 0) whose body starts with ``\\x07MESSAGE``; inside the
box, bit 0 of the flags octet is MORE and bit 1 marks a command (PING, SUBSCRIBE ... travel
encrypted that way); short nonces start at 1 on both sides.
"""

from __future__ import annotations

import functools
import hmac
import os
import struct
from collections.abc import Callable, Sequence
from itertools import accumulate, chain, repeat
from typing import Any

import nacl.bindings as sodium
from nacl.exceptions import CryptoError

from ..constants import ProtocolErrorCode
from .commands import READY, command
from .errors import ProtocolError
from .frames import COMMAND, MORE, Buffer, frame_header, small_single_frame_bodies
from .keys import KeyLike, decode_key, public_from_secret
from .mechanism import Mechanism, Phase, TrafficCodec
from .secret import Secret

try:
    # PyNaCl's own cffi binding of libsodium.  Its public crypto_box_*_afternm functions
    # allocate a zero-filled buffer for every box and copy it out again, which doubles the cost
    # of a large MESSAGE; called directly, libsodium seals and opens in buffers we own (see
    # CurveCodec).  Private to PyNaCl, so the public API remains the fallback.
    from nacl._sodium import ffi as _ffi
    from nacl._sodium import lib as _lib

    _secretbox_easy: Any = _lib.crypto_secretbox_easy
    _secretbox_open_easy: Any = _lib.crypto_secretbox_open_easy
    _from_buffer: Any = _ffi.from_buffer
except (ImportError, AttributeError):  # pragma: no cover - depends on PyNaCl's internals
    _secretbox_easy = _secretbox_open_easy = _from_buffer = None

HELLO = b"HELLO"
WELCOME = b"WELCOME"
INITIATE = b"INITIATE"
MESSAGE = b"MESSAGE"

_HELLO_PREFIX = b"CurveZMQHELLO---"
_INITIATE_PREFIX = b"CurveZMQINITIATE"
_READY_PREFIX = b"CurveZMQREADY---"
_MESSAGE_FROM_CLIENT = b"CurveZMQMESSAGEC"
_MESSAGE_FROM_SERVER = b"CurveZMQMESSAGES"
_WELCOME_PREFIX = b"WELCOME-"
_COOKIE_PREFIX = b"COOKIE--"
_VOUCH_PREFIX = b"VOUCH---"

_VERSION = b"\x01\x00"
_HELLO_PADDING = bytes(72)
_MAC = 16
#: An opened MESSAGE at most this large is handed on as bytes (one small copy); a larger one as
#: a view of the buffer it was opened into.
_COPY_BELOW = 4096
_MESSAGE_HEADER = b"\x07" + MESSAGE
#: Sizes of command data (after the name) fixed by RFC 26.
_HELLO_DATA = 2 + 72 + 32 + 8 + 80  # 194: a HELLO command body is 200 octets
_WELCOME_DATA = 16 + 144  # 160: a WELCOME body is 168 octets
_INITIATE_MIN_DATA = 96 + 8 + 144  # 248: an INITIATE body is at least 257 octets
_READY_MIN_DATA = 8 + _MAC  # a READY body is at least 30 octets
_COOKIE = 16 + 80
#: Largest short nonce; a connection that would need more must end (RFC 26: at most 2^64-1).
_MAX_NONCE = (1 << 64) - 1


_EMPTY_MAC_AND_FLAGS = bytes(_MAC + 1)
_MAC_SPACE = bytes(_MAC)
_INNER_OCTET = tuple(bytes((inner,)) for inner in range(4))
_pack_nonce = struct.Struct(">Q").pack
_add_16 = (16).__add__
_add_8 = (8).__add__
_add_1 = (1).__add__
_sub_16 = (-16).__add__
_sub_32 = (-32).__add__
_unpack_nonce = struct.Struct(">Q").unpack_from
_full_nonce = struct.Struct(">16sQ").pack
#: The inner flags octets a MESSAGE may carry (MORE, COMMAND); ``bytes.translate`` deletes
#: them, so what remains of a run's flags is reserved bits.
_INNER_FLAGS = bytes(range(4))


def _crypto_failure(what: str) -> ProtocolError:
    return ProtocolError(f"{what} did not open", ProtocolErrorCode.ZMTP_CRYPTOGRAPHIC)


def _malformed(name: bytes, code: ProtocolErrorCode, detail: str) -> ProtocolError:
    return ProtocolError(f"malformed CURVE {name.decode()}: {detail}", code)


class NonceCounter:
    """Our short nonces (strictly increasing from 1) and the peer's (each above the last)."""

    __slots__ = ("_last_received", "_next")

    def __init__(self) -> None:
        self._next = 1
        self._last_received: int | None = None

    def next(self) -> bytes:
        value = self._next
        if value > _MAX_NONCE:
            raise ProtocolError("CURVE short nonces exhausted; the connection must be renewed")
        self._next = value + 1
        return value.to_bytes(8, "big")

    def take(self, count: int) -> range:
        """The next ``count`` short nonces (as ``next`` would give them, one by one)."""
        first = self._next
        if first + count - 1 > _MAX_NONCE:
            raise ProtocolError("CURVE short nonces exhausted; the connection must be renewed")
        self._next = first + count
        return range(first, first + count)

    def check(self, raw: bytes) -> None:
        """Accept the peer's next short nonce or refuse it as a replay."""
        value = int.from_bytes(raw, "big")
        if self._last_received is not None and value <= self._last_received:
            raise ProtocolError(
                f"CURVE short nonce {value} does not follow {self._last_received} "
                "(replayed or reordered command)",
                ProtocolErrorCode.ZMTP_INVALID_SEQUENCE,
            )
        self._last_received = value

    def follows(self, value: int) -> bool:
        """Whether ``value`` may be the peer's next short nonce (``check`` without the effect)."""
        return self._last_received is None or value > self._last_received

    def received_through(self, value: int) -> None:
        """The peer's nonces up to ``value`` were checked (in order, by the caller) and used."""
        self._last_received = value


class CookieKeyring:
    """The server's cookie key.

    A cookie is sealed with the current key and opens with the current or the previous one, so
    whoever owns the keyring (the engine, on a timer) calls ``rotate()`` every cookie lifetime
    and a cookie older than two lifetimes can never be used.  One keyring may serve many
    connections; a server mechanism given none makes its own (a key per connection, as libzmq).
    """

    __slots__ = ("_current", "_previous")

    def __init__(self) -> None:
        self._current = os.urandom(32)
        self._previous: bytes | None = None

    def rotate(self) -> None:
        self._previous, self._current = self._current, os.urandom(32)

    def seal(self, plaintext: bytes) -> bytes:
        nonce = os.urandom(16)
        return nonce + sodium.crypto_secretbox(plaintext, _COOKIE_PREFIX + nonce, self._current)

    def open(self, cookie: bytes) -> bytes:
        nonce, box = _COOKIE_PREFIX + cookie[:16], cookie[16:]
        for key in (self._current, self._previous):
            if key is None:
                continue
            try:
                return bytes(sodium.crypto_secretbox_open(box, nonce, key))
            except CryptoError:
                continue
        raise _crypto_failure("the INITIATE cookie (expired or forged)")

    def __repr__(self) -> str:
        return "<CookieKeyring: redacted>"


class ServerKeys:
    """The long-term keys a CURVE server socket holds beyond its CURVE_SECRETKEY, for a
    server-key rotation without downtime (safezmq only; nothing changes on the wire).

    During a rotation the server accepts its current key and the ``next`` one: a client's HELLO
    is boxed to one of them, so the server opens it with each in turn and goes on with the one
    that opened it (WELCOME, the vouch and READY then use that key, as a libzmq server with
    that key would).  ``current``, once set, replaces the socket's own key (a rotation that
    finished while the socket's endpoints stayed bound).  One object serves every CURVE server
    session of a socket; it is changed on the I/O loop only.  Counters tell an operator when
    no client uses the old key any more.
    """

    __slots__ = (
        "_clock",
        "_current",
        "_next",
        "handshakes_current",
        "handshakes_next",
        "last_current_at",
    )

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        # The protocol layer reads no clock: the engine passes its own (time.time) in.
        self._clock = clock
        self._current: tuple[Secret, bytes] | None = None
        self._next: tuple[Secret, bytes] | None = None
        #: HELLOs opened with the current key and with the next one since the rotation began.
        self.handshakes_current = 0
        self.handshakes_next = 0
        #: When (by ``clock``) a HELLO last came boxed to the current key; None: not since then
        #: (or no clock was given).
        self.last_current_at: float | None = None

    @staticmethod
    def _pair(secret_key: KeyLike | Secret) -> tuple[Secret, bytes]:
        raw = decode_key(
            secret_key.reveal() if isinstance(secret_key, Secret) else secret_key,
            "CURVE secret key",
        )
        return Secret(raw, "CURVE secret key"), public_from_secret(raw)

    @property
    def next_public_key(self) -> bytes | None:
        return None if self._next is None else self._next[1]

    @property
    def current_public_key(self) -> bytes | None:
        return None if self._current is None else self._current[1]

    def begin(self, next_secret_key: KeyLike | Secret) -> None:
        """Accept ``next_secret_key`` too, from the next handshake on."""
        self._next = self._pair(next_secret_key)
        self.handshakes_current = self.handshakes_next = 0
        self.last_current_at = None

    def finish(self) -> None:
        """The next key becomes the only one (the old one is retired)."""
        if self._next is None:
            raise ValueError("no server-key rotation is in progress")
        self._current, self._next = self._next, None

    def cancel(self) -> None:
        """Forget the next key (the current one stays)."""
        self._next = None

    def candidates(self, own: Secret, own_public: bytes) -> list[tuple[Secret, bytes]]:
        first = self._current if self._current is not None else (own, own_public)
        return [first] if self._next is None else [first, self._next]

    def opened_with(self, index: int) -> None:
        if self._next is None:
            return
        if index == 0:
            self.handshakes_current += 1
            if self._clock is not None:
                self.last_current_at = self._clock()
        else:
            self.handshakes_next += 1

    def __repr__(self) -> str:
        state = "rotating" if self._next is not None else "steady"
        return f"<ServerKeys {state}: redacted>"


class CurveCodec(TrafficCodec):
    """MESSAGE boxes after the handshake, with the precomputed transient shared key."""

    overhead = len(_MESSAGE_HEADER) + 8 + _MAC + 1  # 33

    __slots__ = ("_key", "_nonces", "_recv_prefix", "_send_prefix")

    def __init__(self, key: bytes, nonces: NonceCounter, as_server: bool) -> None:
        self._key = key
        self._nonces = nonces
        self._send_prefix = _MESSAGE_FROM_SERVER if as_server else _MESSAGE_FROM_CLIENT
        self._recv_prefix = _MESSAGE_FROM_CLIENT if as_server else _MESSAGE_FROM_SERVER

    def box(self, flags: int, body: Buffer) -> Buffer:
        inner = (1 if flags & MORE else 0) | (2 if flags & COMMAND else 0)
        nonce = self._nonces.next()
        if _secretbox_easy is None:
            plaintext = bytes((inner,)) + bytes(body)
            return (
                _MESSAGE_HEADER
                + nonce
                + sodium.crypto_box_easy_afternm(plaintext, self._send_prefix + nonce, self._key)
            )
        # The command body laid out as it goes on the wire: header, short nonce, then the box
        # (MAC, then the ciphertext of the flags octet and the frame).  The plaintext is put
        # where its ciphertext goes and sealed there (libsodium allows c and m to overlap), so
        # the frame is copied once.  crypto_box_easy_afternm is crypto_secretbox_easy with the
        # precomputed key: the same octets on the wire.
        if not isinstance(body, (bytes, bytearray)):
            # A view's len() counts items, not octets (an array of ints, say): seal its octets.
            view = memoryview(body)
            body = view.cast("B") if view.c_contiguous else view.tobytes()
        size = len(body)
        # Laid out by one join: a new buffer written once, not zero-filled first.  (In a
        # process whose allocator still maps each large block afresh, zero-filling and then
        # copying a 1 MiB frame in faulted every page twice: 1.55 ms per box against 0.64.)
        out = bytearray().join((_MESSAGE_HEADER, nonce, _MAC_SPACE, _INNER_OCTET[inner], body))
        buffer = _from_buffer(out)
        _secretbox_easy(buffer + 16, buffer + 32, size + 1, self._send_prefix + nonce, self._key)
        return out

    def box_messages(self, messages: Sequence[Any]) -> Buffer | None:
        """A batch of single-frame messages of at most ``JOIN_BODY_MAX`` octets each (the
        commonest traffic), sealed into one buffer: the frame header and MESSAGE command of each,
        laid out with C-level joins, then one libsodium call per box in place (no per-box
        allocation, slicing or concatenation in Python).  The same octets as ``box`` message by
        message, with the same nonces in the same order; None if any message is not like that."""
        if _secretbox_easy is None:
            return None
        found = small_single_frame_bodies(messages)
        if found is None:
            return None
        bodies, sizes = found
        count = len(bodies)
        nonces = list(map(_pack_nonce, self._nonces.take(count)))
        boxed = [size + self.overhead for size in sizes]
        headers = list(map(frame_header, boxed))
        out = bytearray().join(
            chain.from_iterable(
                zip(
                    headers,
                    repeat(_MESSAGE_HEADER, count),
                    nonces,
                    repeat(_EMPTY_MAC_AND_FLAGS, count),  # final frame: inner flags 0
                    bodies,
                    strict=True,
                )
            )
        )
        # Where each box (MAC then ciphertext) starts: after its frame header, command name
        # and short nonce (16 octets).
        # Box i is at (headers up to and including i) + (boxes before i) + 16.
        headers_through = accumulate(map(len, headers))
        boxes_before = accumulate(boxed, initial=16)
        macs = list(map(int.__add__, headers_through, boxes_before))
        buffer = _from_buffer(out)
        results = map(
            _secretbox_easy,
            map(buffer.__add__, macs),
            map(buffer.__add__, map(_add_16, macs)),
            map(_add_1, sizes),
            map(self._send_prefix.__add__, nonces),
            repeat(self._key, count),
        )
        if any(results):  # pragma: no cover - libsodium fails only on absurd lengths
            raise _crypto_failure("sealing a CURVE MESSAGE")
        return out

    def unbox(self, body: Buffer) -> tuple[int, Buffer]:
        # A small box is copied out of a view (cheaper than reading the view through a pointer);
        # a large one is read in place (libsodium reads it through a pointer), not copied.
        raw = body
        if not isinstance(body, (bytes, bytearray)) and (
            _secretbox_open_easy is None
            or not isinstance(body, memoryview)
            or body.nbytes <= _COPY_BELOW
            or body.format != "B"
            or not body.c_contiguous
        ):
            raw = bytes(body)
        if raw[:8] != _MESSAGE_HEADER:
            raise ProtocolError(
                "expected a CURVE MESSAGE after the handshake",
                ProtocolErrorCode.ZMTP_UNEXPECTED_COMMAND,
            )
        if len(raw) < self.overhead:
            raise _malformed(MESSAGE, ProtocolErrorCode.ZMTP_MALFORMED_COMMAND_MESSAGE, "too short")
        nonce = bytes(raw[8:16])
        self._nonces.check(nonce)
        plaintext: Buffer
        if _secretbox_open_easy is None:
            try:
                plaintext = sodium.crypto_box_open_easy_afternm(
                    bytes(raw[16:]), self._recv_prefix + nonce, self._key
                )
            except CryptoError:
                raise _crypto_failure("a CURVE MESSAGE box") from None
        elif type(raw) is bytearray and len(raw) > _COPY_BELOW:
            # A large body the decoder joined for us (ours alone): opened where it lies, the
            # plaintext over its ciphertext (libsodium allows that), so no second buffer of its
            # size is made.  libsodium checks the MAC before it writes; on a failure nothing
            # of the buffer is used.
            buffer = _from_buffer(raw)
            if _secretbox_open_easy(
                buffer + 32, buffer + 16, len(raw) - 16, self._recv_prefix + nonce, self._key
            ):
                raise _crypto_failure("a CURVE MESSAGE box")
            inner = raw[32]
            if inner & 0xFC:
                raise _malformed(
                    MESSAGE, ProtocolErrorCode.ZMTP_MALFORMED_COMMAND_MESSAGE, "reserved flags set"
                )
            return (MORE if inner & 1 else 0) | (COMMAND if inner & 2 else 0), memoryview(raw)[33:]
        else:
            # Opened into a buffer of exactly the plaintext's size; nothing of it is used
            # unless the MAC verified (a non-zero result).
            plaintext = bytearray(len(raw) - 32)
            if _secretbox_open_easy(
                _from_buffer(plaintext),
                _from_buffer(raw) + 16,
                len(raw) - 16,
                self._recv_prefix + nonce,
                self._key,
            ):
                raise _crypto_failure("a CURVE MESSAGE box")
        inner = plaintext[0]
        if inner & 0xFC:
            raise _malformed(
                MESSAGE, ProtocolErrorCode.ZMTP_MALFORMED_COMMAND_MESSAGE, "reserved flags set"
            )
        flags = (MORE if inner & 1 else 0) | (COMMAND if inner & 2 else 0)
        if len(plaintext) <= _COPY_BELOW:
            return flags, bytes(plaintext[1:])  # small frames as bytes, as everywhere else
        return flags, memoryview(plaintext)[1:]  # a large one is not copied again

    def unbox_run(
        self, data: bytes, starts: Sequence[int], ends: Sequence[int]
    ) -> tuple[list[bytes], bytes] | None:
        """Open a run of MESSAGE boxes (see ``TrafficCodec.unbox_run``) with C-level loops:
        the headers, sizes and nonce order are checked with ``map``, every box is opened by
        one libsodium call into one shared output buffer (as ``box_messages`` seals), and each
        plaintext is copied out of it once.  A small box costs about half of ``unbox``'s
        Python.  None, with the nonce state untouched, as soon as anything is not as ``unbox``
        would accept it: the caller then goes box by box and ``unbox`` raises the exact error."""
        count = len(starts)
        if _secretbox_open_easy is None or count == 0:
            return None
        sizes = list(map(int.__sub__, ends, starts))
        if min(sizes) < self.overhead:
            return None
        if not all(map(data.startswith, repeat(_MESSAGE_HEADER, count), starts)):
            return None
        nonces = map(_unpack_nonce, repeat(data, count), map(_add_8, starts))
        values = list(chain.from_iterable(nonces))  # unpack_from gives 1-tuples
        # Strictly increasing from the last nonce accepted: replays and reordering refused.
        if not self._nonces.follows(values[0]) or not all(map(int.__lt__, values, values[1:])):
            return None
        # Each box's plaintext (its inner flags octet, then the frame) laid end to end.
        offsets = list(accumulate(map(_sub_32, sizes), initial=0))
        plain = bytearray(offsets[-1])
        source = _from_buffer(data)
        target = _from_buffer(plain)
        results = map(
            _secretbox_open_easy,
            map(target.__add__, offsets),
            map(source.__add__, map(_add_16, starts)),  # the MAC, then the ciphertext
            map(_sub_16, sizes),
            map(_full_nonce, repeat(self._recv_prefix, count), values),
            repeat(self._key, count),
        )
        # A failed MAC leaves its part of ``plain`` unused: nothing is returned.
        if any(results):
            return None
        inner = bytes(map(plain.__getitem__, offsets[:count]))
        if inner.translate(None, _INNER_FLAGS):
            return None  # reserved flags set: unbox names the frame
        # One C-level copy of all plaintexts, then one slice per frame: cheaper than a
        # memoryview and a copy per frame.
        joined = bytes(plain)
        bodies = list(map(joined.__getitem__, map(slice, map(_add_1, offsets), offsets[1:])))
        self._nonces.received_through(values[-1])
        return bodies, inner

    def __repr__(self) -> str:
        return "<CurveCodec: redacted>"


#: A secret scalar used only to test public keys (it boxes nothing).
_PROBE_SCALAR = os.urandom(32)


@functools.lru_cache(maxsize=256)
def _usable_public_key(key: bytes) -> bool:
    """Whether ``key`` is a Curve25519 point that a box can be made with: libsodium refuses a
    point of small order (every shared key with it is all zeros), whatever the secret scalar,
    so one scalar multiplication per key tells.  Cached (public keys only): a client socket
    makes a mechanism per connection, all with the same server key."""
    try:
        sodium.crypto_box_beforenm(key, _PROBE_SCALAR)
    except CryptoError:
        return False
    return True


def _public_of(secret_key: bytes) -> bytes:
    return public_from_secret(decode_key(secret_key, "CURVE secret key"))


class _CurveBase(Mechanism):
    name = b"CURVE"

    def __init__(self, as_server: bool, secret_key: KeyLike | Secret, public_key: KeyLike | None):
        super().__init__(as_server)
        raw_secret = decode_key(
            secret_key.reveal() if isinstance(secret_key, Secret) else secret_key,
            "CURVE secret key",
        )
        self._secret = Secret(raw_secret, "CURVE secret key")
        # A socket's key comes from its options as one Secret for all its connections: its
        # public key (a Curve25519 scalar multiplication) is worked out once, not per handshake.
        self.public_key = (
            secret_key.derive(_public_of)
            if isinstance(secret_key, Secret)
            else public_from_secret(raw_secret)
        )
        if public_key is not None and decode_key(public_key, "CURVE public key") != self.public_key:
            raise ValueError("the CURVE public key does not belong to the CURVE secret key")
        self._nonces = NonceCounter()
        self._shared: bytes | None = None  # transient shared key, from crypto_box_beforenm

    def traffic_codec(self) -> TrafficCodec | None:
        assert self._shared is not None
        return CurveCodec(self._shared, self._nonces, self.as_server)


class CurveClient(_CurveBase):
    """The client side: it must know the server's permanent public key."""

    EXPECT = {"welcome": {WELCOME: "_on_welcome"}, "ready": {READY: "_on_ready"}}

    def __init__(
        self,
        server_key: KeyLike,
        secret_key: KeyLike | Secret,
        public_key: KeyLike | None = None,
    ) -> None:
        super().__init__(False, secret_key, public_key)
        self.server_key = decode_key(server_key, "CURVE server key")
        if not _usable_public_key(self.server_key):
            # A low-order point would make every box fail later, deep in the handshake.
            raise ValueError("the CURVE server key is not a usable Curve25519 public key")
        # C' and the key of (S, C') are made in start(), once the server's greeting is in: a
        # client connecting to a busy (or absent) server spends nothing on them before then.
        self._transient_public = b""
        self._transient_secret: bytes | None = None
        self._hello_key: bytes | None = None
        self._cookie = b""
        self._server_transient = b""

    def start(self) -> list[bytes]:
        self._transient_public, self._transient_secret = sodium.crypto_box_keypair()
        # Kept: HELLO and WELCOME are both boxed between S and C' (one Curve25519 scalar
        # multiplication for the two, not one each).  It cannot fail: S was checked above.
        self._hello_key = sodium.crypto_box_beforenm(self.server_key, self._transient_secret)
        self.step = "welcome"
        nonce = self._nonces.next()
        assert self._hello_key is not None
        # crypto_box_easy_afternm with the key of (S, C') is crypto_box(S, C'): the same octets.
        signature = sodium.crypto_box_easy_afternm(
            bytes(64), _HELLO_PREFIX + nonce, self._hello_key
        )
        return [
            command(HELLO, _VERSION + _HELLO_PADDING + self._transient_public + nonce + signature)
        ]

    def _on_welcome(self, data: bytes) -> list[bytes]:
        assert self._transient_secret is not None
        if len(data) != _WELCOME_DATA:
            raise _malformed(
                WELCOME,
                ProtocolErrorCode.ZMTP_MALFORMED_COMMAND_WELCOME,
                f"{len(data)} octets of data, expected {_WELCOME_DATA}",
            )
        try:
            assert self._hello_key is not None
            plaintext = sodium.crypto_box_open_easy_afternm(
                data[16:], _WELCOME_PREFIX + data[:16], self._hello_key
            )
        except CryptoError:
            # Either a forged WELCOME or the wrong server key configured on our side.
            raise _crypto_failure("the WELCOME box (is the server key right?)") from None
        self._server_transient, self._cookie = plaintext[:32], plaintext[32:]
        try:
            self._shared = sodium.crypto_box_beforenm(
                self._server_transient, self._transient_secret
            )
        except CryptoError:
            # libsodium refuses a low-order S' (the shared key would be all zeros) and PyNaCl
            # raises its RuntimeError, a CryptoError: a peer's bytes must end in a ProtocolError.
            raise ProtocolError(
                "the server's transient key in WELCOME is unusable (a low-order point)",
                ProtocolErrorCode.ZMTP_KEY_EXCHANGE,
            ) from None
        self._transient_secret = None  # only the shared key is needed from now on
        self._hello_key = None
        vouch_nonce = os.urandom(16)
        vouch = vouch_nonce + sodium.crypto_box(
            self._transient_public + self.server_key,
            _VOUCH_PREFIX + vouch_nonce,
            self._server_transient,
            self._secret.reveal(),
        )
        nonce = self._nonces.next()
        box = sodium.crypto_box_easy_afternm(
            self.public_key + vouch + self.local_metadata, _INITIATE_PREFIX + nonce, self._shared
        )
        self.step = "ready"
        return [command(INITIATE, self._cookie + nonce + box)]

    def _on_ready(self, data: bytes) -> list[bytes]:
        assert self._shared is not None
        if len(data) < _READY_MIN_DATA:
            raise _malformed(READY, ProtocolErrorCode.ZMTP_MALFORMED_COMMAND_READY, "too short")
        nonce = data[:8]
        self._nonces.check(nonce)
        try:
            metadata = sodium.crypto_box_open_easy_afternm(
                data[8:], _READY_PREFIX + nonce, self._shared
            )
        except CryptoError:
            raise _crypto_failure("the READY box") from None
        self.peer_metadata = self._parse_metadata(
            metadata, ProtocolErrorCode.ZMTP_MALFORMED_COMMAND_READY
        )
        self.step = ""
        self.phase = Phase.DONE
        return []

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + " keys=redacted>"


class CurveServer(_CurveBase):
    """The server side.  With ``zap`` (the default) every client key goes to the ZAP handler;
    without it any client that knows the server key gets in, which is an explicit opt-in."""

    EXPECT = {"hello": {HELLO: "_on_hello"}, "initiate": {INITIATE: "_on_initiate"}}

    def __init__(
        self,
        secret_key: KeyLike | Secret,
        public_key: KeyLike | None = None,
        *,
        zap: bool = True,
        keyring: CookieKeyring | None = None,
        server_keys: ServerKeys | None = None,
    ) -> None:
        super().__init__(True, secret_key, public_key)
        self.zap = zap
        self._keyring = keyring if keyring is not None else CookieKeyring()
        self._server_keys = server_keys
        self._client_transient = b""
        self._transient_secret: bytes | None = None
        #: The client's permanent public key, once INITIATE has proved it.
        self.client_key: bytes | None = None

    def start(self) -> list[bytes]:
        self.step = "hello"
        return []

    def _on_hello(self, data: bytes) -> list[bytes]:
        code = ProtocolErrorCode.ZMTP_MALFORMED_COMMAND_HELLO
        if len(data) != _HELLO_DATA:
            raise _malformed(HELLO, code, f"{len(data)} octets of data, expected {_HELLO_DATA}")
        if data[:2] != _VERSION:
            raise _malformed(HELLO, code, f"CurveZMQ version {data[0]}.{data[1]}, expected 1.0")
        if data[2:74] != _HELLO_PADDING:
            raise _malformed(HELLO, code, "anti-amplification padding is not zero")
        client_transient, nonce, signature = data[74:106], data[106:114], data[114:]
        self._nonces.check(nonce)
        rotation = self._server_keys
        candidates = (
            [(self._secret, self.public_key)]
            if rotation is None
            else rotation.candidates(self._secret, self.public_key)
        )
        for index, (secret, public) in enumerate(candidates):
            try:
                # The key of (C', S) opens HELLO and boxes WELCOME: computed once for both.
                # beforenm refuses a low-order C' as crypto_box_open would (a CryptoError).
                hello_key = sodium.crypto_box_beforenm(client_transient, secret.reveal())
                opened = sodium.crypto_box_open_easy_afternm(
                    signature, _HELLO_PREFIX + nonce, hello_key
                )
            except CryptoError:
                continue
            # This connection goes on with the key the client boxed its HELLO to.
            self._secret, self.public_key = secret, public
            if rotation is not None:
                rotation.opened_with(index)
            break
        else:
            # A client configured with another server key lands here.
            raise _crypto_failure("the HELLO signature box (wrong server key?)")
        if not hmac.compare_digest(opened, bytes(64)):
            raise _crypto_failure("the HELLO signature")
        self._client_transient = client_transient
        transient_public, transient_secret = sodium.crypto_box_keypair()
        self._transient_secret = transient_secret
        cookie = self._keyring.seal(client_transient + transient_secret)
        welcome_nonce = os.urandom(16)
        box = sodium.crypto_box_easy_afternm(
            transient_public + cookie, _WELCOME_PREFIX + welcome_nonce, hello_key
        )
        self.step = "initiate"
        return [command(WELCOME, welcome_nonce + box)]

    def _on_initiate(self, data: bytes) -> list[bytes]:
        assert self._transient_secret is not None
        if len(data) < _INITIATE_MIN_DATA:
            raise _malformed(
                INITIATE, ProtocolErrorCode.ZMTP_MALFORMED_COMMAND_INITIATE, "too short"
            )
        cookie = self._keyring.open(data[:_COOKIE])
        # The cookie must hold this connection's transient keys: no replay onto another one.
        if not hmac.compare_digest(cookie, self._client_transient + self._transient_secret):
            raise ProtocolError(
                "the INITIATE cookie belongs to another connection",
                ProtocolErrorCode.ZMTP_KEY_EXCHANGE,
            )
        nonce = data[_COOKIE : _COOKIE + 8]
        self._nonces.check(nonce)
        shared = sodium.crypto_box_beforenm(self._client_transient, self._transient_secret)
        try:
            plaintext = sodium.crypto_box_open_easy_afternm(
                data[_COOKIE + 8 :], _INITIATE_PREFIX + nonce, shared
            )
        except CryptoError:
            raise _crypto_failure("the INITIATE box") from None
        client_key, vouch_nonce, vouch_box = plaintext[:32], plaintext[32:48], plaintext[48:128]
        try:
            vouch = sodium.crypto_box_open(
                vouch_box, _VOUCH_PREFIX + vouch_nonce, client_key, self._transient_secret
            )
        except CryptoError:
            raise _crypto_failure("the INITIATE vouch") from None
        if not hmac.compare_digest(vouch, self._client_transient + self.public_key):
            raise ProtocolError(
                "the INITIATE vouch does not match this connection's keys",
                ProtocolErrorCode.ZMTP_KEY_EXCHANGE,
            )
        self.peer_metadata = self._parse_metadata(
            plaintext[128:], ProtocolErrorCode.ZMTP_MALFORMED_COMMAND_INITIATE
        )
        self._shared = shared
        self._transient_secret = None
        self.client_key = client_key
        self.step = ""
        if self.zap:
            self.zap_credentials = (client_key,)
            self.phase = Phase.ZAP
            return []
        return self._ready()

    def zap_accepted(self) -> list[bytes]:
        return self._ready()

    def _ready(self) -> list[bytes]:
        assert self._shared is not None
        nonce = self._nonces.next()
        box = sodium.crypto_box_easy_afternm(
            self.local_metadata, _READY_PREFIX + nonce, self._shared
        )
        self.phase = Phase.DONE
        return [command(READY, nonce + box)]

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + " keys=redacted>"
