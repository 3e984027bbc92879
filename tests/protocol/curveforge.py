"""An independent CurveZMQ (RFC 26) peer written straight from the RFC with nacl.bindings.

The tests use it to forge handshake commands and MESSAGE boxes that safezmq's own mechanisms
would never produce (wrong lengths, versions, nonces, vouches, flags), and, because it shares no
code with ``safezmq.protocol.curve``, a successful handshake against it shows that safezmq follows
the RFC rather than merely agreeing with itself.  Every method returns a command *body*
(``\\x05HELLO...``); wrap it with ``encode_command`` to put it on the wire.
"""

from __future__ import annotations

import os

import nacl.bindings as sodium

from safezmq.protocol.metadata import encode_metadata
from safezmq.protocol.z85 import decode as z85_decode

HELLO_PREFIX = b"CurveZMQHELLO---"
WELCOME_PREFIX = b"WELCOME-"
COOKIE_PREFIX = b"COOKIE--"
INITIATE_PREFIX = b"CurveZMQINITIATE"
VOUCH_PREFIX = b"VOUCH---"
READY_PREFIX = b"CurveZMQREADY---"
MESSAGE_C = b"CurveZMQMESSAGEC"
MESSAGE_S = b"CurveZMQMESSAGES"


def raw_key(key: bytes) -> bytes:
    return key if len(key) == 32 else z85_decode(key)


def short(n: int) -> bytes:
    return n.to_bytes(8, "big")


def metadata(socket_type: bytes = b"DEALER", **extra: bytes) -> bytes:
    return encode_metadata({"Socket-Type": socket_type, **extra})


def message_body(prefix: bytes, nonce: int, key: bytes, flags: int, payload: bytes) -> bytes:
    """A MESSAGE command body boxed with the precomputed key ``key``."""
    n = short(nonce)
    box = sodium.crypto_box_easy_afternm(bytes((flags,)) + payload, prefix + n, key)
    return b"\x07MESSAGE" + n + box


def open_message(prefix: bytes, key: bytes, body: bytes) -> tuple[int, int, bytes]:
    """(nonce, flags, payload) of a MESSAGE body."""
    assert body[:8] == b"\x07MESSAGE"
    nonce = body[8:16]
    plain = sodium.crypto_box_open_easy_afternm(body[16:], prefix + nonce, key)
    return int.from_bytes(nonce, "big"), plain[0], plain[1:]


class ForgedClient:
    """The client side.  ``server_key`` is the server's permanent public key (raw or Z85)."""

    def __init__(self, server_key: bytes, secret_key: bytes) -> None:
        self.server_key = raw_key(server_key)
        self.secret = raw_key(secret_key)
        self.public = sodium.crypto_scalarmult_base(self.secret)
        self.transient_public, self.transient_secret = sodium.crypto_box_keypair()
        self.server_transient = b""
        self.cookie = b""
        self.shared = b""

    def hello(
        self,
        nonce: int = 1,
        *,
        version: bytes = b"\x01\x00",
        padding: bytes = bytes(72),
        signature_plaintext: bytes = bytes(64),
    ) -> bytes:
        n = short(nonce)
        signature = sodium.crypto_box(
            signature_plaintext, HELLO_PREFIX + n, self.server_key, self.transient_secret
        )
        return b"\x05HELLO" + version + padding + self.transient_public + n + signature

    def welcome(self, body: bytes) -> None:
        """Open the server's WELCOME body (``\\x07WELCOME`` + data)."""
        assert body[:8] == b"\x07WELCOME" and len(body) == 168
        data = body[8:]
        plain = sodium.crypto_box_open(
            data[16:], WELCOME_PREFIX + data[:16], self.server_key, self.transient_secret
        )
        self.server_transient, self.cookie = plain[:32], plain[32:]
        self.shared = sodium.crypto_box_beforenm(self.server_transient, self.transient_secret)

    def initiate(
        self,
        nonce: int = 2,
        *,
        meta: bytes | None = None,
        cookie: bytes | None = None,
        vouch_plaintext: bytes | None = None,
        vouch_secret: bytes | None = None,
        claimed_key: bytes | None = None,
    ) -> bytes:
        """INITIATE; every part may be replaced to forge a bad one."""
        vouch_nonce = os.urandom(16)
        vouched = (
            vouch_plaintext
            if vouch_plaintext is not None
            else self.transient_public + self.server_key
        )
        vouch = vouch_nonce + sodium.crypto_box(
            vouched,
            VOUCH_PREFIX + vouch_nonce,
            self.server_transient,
            vouch_secret if vouch_secret is not None else self.secret,
        )
        n = short(nonce)
        plain = (
            (claimed_key if claimed_key is not None else self.public)
            + vouch
            + (metadata() if meta is None else meta)
        )
        box = sodium.crypto_box_easy_afternm(plain, INITIATE_PREFIX + n, self.shared)
        return b"\x08INITIATE" + (self.cookie if cookie is None else cookie) + n + box

    def ready(self, body: bytes) -> bytes:
        """The server's metadata from its READY body."""
        assert body[:6] == b"\x05READY"
        n = body[6:14]
        return bytes(sodium.crypto_box_open_easy_afternm(body[14:], READY_PREFIX + n, self.shared))

    def message(self, nonce: int, flags: int, payload: bytes) -> bytes:
        return message_body(MESSAGE_C, nonce, self.shared, flags, payload)

    def open(self, body: bytes) -> tuple[int, int, bytes]:
        return open_message(MESSAGE_S, self.shared, body)


class ForgedServer:
    """The server side, with its permanent secret key (raw or Z85)."""

    def __init__(self, secret_key: bytes) -> None:
        self.secret = raw_key(secret_key)
        self.public = sodium.crypto_scalarmult_base(self.secret)
        self.transient_public, self.transient_secret = sodium.crypto_box_keypair()
        self.cookie_key = os.urandom(32)
        self.client_transient = b""
        self.client_key = b""
        self.shared = b""

    def hello(self, body: bytes) -> None:
        assert body[:6] == b"\x05HELLO" and len(body) == 200
        data = body[6:]
        self.client_transient = data[74:106]
        opened = sodium.crypto_box_open(
            data[114:], HELLO_PREFIX + data[106:114], self.client_transient, self.secret
        )
        assert opened == bytes(64)
        self.shared = sodium.crypto_box_beforenm(self.client_transient, self.transient_secret)

    def welcome(self, *, signer: bytes | None = None, cookie: bytes | None = None) -> bytes:
        """WELCOME, boxed from ``signer`` (default: our permanent secret key)."""
        cookie_nonce = os.urandom(16)
        real_cookie = cookie_nonce + sodium.crypto_secretbox(
            self.client_transient + self.transient_secret,
            COOKIE_PREFIX + cookie_nonce,
            self.cookie_key,
        )
        nonce = os.urandom(16)
        box = sodium.crypto_box(
            self.transient_public + (real_cookie if cookie is None else cookie),
            WELCOME_PREFIX + nonce,
            self.client_transient,
            self.secret if signer is None else signer,
        )
        return b"\x07WELCOME" + nonce + box

    def initiate(self, body: bytes) -> bytes:
        """Check the client's INITIATE; return its metadata."""
        assert body[:9] == b"\x08INITIATE"
        data = body[9:]
        n = data[96:104]
        plain = sodium.crypto_box_open_easy_afternm(data[104:], INITIATE_PREFIX + n, self.shared)
        self.client_key = plain[:32]
        vouch = sodium.crypto_box_open(
            plain[48:128], VOUCH_PREFIX + plain[32:48], self.client_key, self.transient_secret
        )
        assert vouch == self.client_transient + self.public
        return bytes(plain[128:])

    def ready(self, nonce: int = 1, *, meta: bytes | None = None) -> bytes:
        n = short(nonce)
        box = sodium.crypto_box_easy_afternm(
            metadata() if meta is None else meta, READY_PREFIX + n, self.shared
        )
        return b"\x05READY" + n + box

    def message(self, nonce: int, flags: int, payload: bytes) -> bytes:
        return message_body(MESSAGE_S, nonce, self.shared, flags, payload)

    def open(self, body: bytes) -> tuple[int, int, bytes]:
        return open_message(MESSAGE_C, self.shared, body)
