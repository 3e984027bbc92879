"""Z85 and CURVE key decoding: any text gives bytes or a Z85Error (a ValueError for keys).

Input: ``mode | text``.  Mode bit 0: decode a ``str`` (the bytes read as Latin-1, so any code
point up to 255 appears) instead of bytes; bit 1: also decode the text as a CURVE key.

Properties:
- ``z85.decode`` returns 4 octets per 5 characters or raises ``Z85Error``, and what it decodes
  encodes back to the same text (each 32-bit group has exactly one spelling);
- ``z85.encode`` of any multiple of 4 octets decodes back, and of other lengths raises
  ``Z85Error``;
- ``keys.decode_key`` returns 32 octets or raises ``ValueError``.
"""

from __future__ import annotations

from safezmq.protocol import z85
from safezmq.protocol.keys import decode_key

from ._util import Reader


def check_decode(text: str | bytes) -> bytes | None:
    try:
        raw = z85.decode(text)
    except z85.Z85Error:
        return None
    assert len(raw) * 5 == len(text) * 4
    spelled = text.encode("ascii") if isinstance(text, str) else text
    assert z85.encode(raw) == spelled, "decoded Z85 does not encode back"
    return raw


def check_encode(raw: bytes) -> None:
    try:
        text = z85.encode(raw)
    except z85.Z85Error:
        assert len(raw) % 4
        return
    assert len(text) * 4 == len(raw) * 5
    assert z85.decode(text) == raw


def check_key(key: str | bytes) -> None:
    try:
        raw = decode_key(key, "fuzz key")
    except ValueError as exc:
        assert str(exc).isprintable() and str(exc).isascii()
        return
    assert len(raw) == 32


def check(data: bytes) -> None:
    reader = Reader(data)
    mode = reader.byte()
    raw = reader.rest()
    text: str | bytes = raw.decode("latin-1") if mode & 1 else raw
    check_decode(text)
    check_encode(raw)
    if mode & 2:
        check_key(text)


def test_one_input(data: bytes) -> None:
    check(data)


if __name__ == "__main__":
    from ._util import run_as_main

    run_as_main(__file__)
