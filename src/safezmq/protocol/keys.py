"""CURVE keys: generation and the two encodings libzmq accepts (32 raw octets or 40 Z85 chars)."""

from __future__ import annotations

import nacl.bindings as sodium

from . import z85
from .secret import Secret

KEY_SIZE = 32
Z85_KEY_SIZE = 40

KeyLike = bytes | bytearray | memoryview | str


def curve_keypair() -> tuple[bytes, bytes]:
    """A new CURVE key pair as ``(public, secret)``, each 40 Z85 characters (like pyzmq)."""
    public, secret = sodium.crypto_box_keypair()
    return z85.encode(public), z85.encode(secret)


def curve_public(secret_key: KeyLike | Secret) -> bytes:
    """The Z85 public key belonging to a (Z85 or raw) secret key."""
    secret = secret_key.reveal() if isinstance(secret_key, Secret) else secret_key
    raw = decode_key(secret, "CURVE secret key")
    return z85.encode(sodium.crypto_scalarmult_base(raw))


def decode_key(key: KeyLike, what: str) -> bytes:
    """The 32 raw octets of a key given as 32 raw octets or 40 Z85 characters.

    ``what`` names the key in the error message; the key itself never appears there.
    """
    if isinstance(key, str):
        # Not "replace": it would turn each non-ASCII character into "?", a Z85 digit.
        if not key.isascii():
            raise ValueError(f"{what} must be ASCII: 32 raw bytes or 40 Z85 characters")
        key = key.encode("ascii")
    raw = bytes(key)
    if len(raw) == KEY_SIZE:
        return raw
    if len(raw) == Z85_KEY_SIZE:
        try:
            return z85.decode(raw)
        except z85.Z85Error:
            raise ValueError(
                f"{what} is 40 characters but not valid Z85; give 32 raw bytes or 40 Z85 chars"
            ) from None
    raise ValueError(f"{what} must be 32 raw bytes or 40 Z85 characters, got {len(raw)}")


def public_from_secret(secret: bytes) -> bytes:
    """The raw public key of a raw secret key."""
    return bytes(sodium.crypto_scalarmult_base(secret))
