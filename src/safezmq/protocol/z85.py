"""Z85 (RFC 32): the printable encoding of CURVE keys.

Four octets become five characters of an 85-symbol alphabet.  Input of a wrong length, a character
outside the alphabet or a group that overflows 32 bits is an error with a clear message.
"""

from __future__ import annotations

import struct

ALPHABET = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"

_VALUE = [-1] * 256
for _i, _c in enumerate(ALPHABET):
    _VALUE[_c] = _i
del _i, _c
#: Digit value (0-84) -> its symbol, for bytes.translate.
_SYMBOL = bytes(ALPHABET) + bytes(256 - len(ALPHABET))


class Z85Error(ValueError):
    """Input that is not valid Z85 (or raw data of a length Z85 cannot encode)."""


def encode(data: bytes | bytearray | memoryview) -> bytes:
    """Encode ``data`` (a multiple of 4 octets) as Z85."""
    raw = bytes(data)
    if len(raw) % 4:
        raise Z85Error(f"Z85 encodes a multiple of 4 bytes; got {len(raw)} bytes")
    # Each big-endian 32-bit group as five base-85 digits, then every digit to its symbol in
    # one translate(): a ZAP handler encodes a client key per request.
    digits = bytearray()
    for value in struct.unpack(f">{len(raw) // 4}I", raw):
        digits += bytes(
            (
                value // 52200625,
                value // 614125 % 85,
                value // 7225 % 85,
                value // 85 % 85,
                value % 85,
            )
        )
    return bytes(digits).translate(_SYMBOL)


def decode(text: str | bytes | bytearray | memoryview) -> bytes:
    """Decode Z85 ``text`` (a multiple of 5 characters) to bytes."""
    if isinstance(text, str):
        try:
            raw = text.encode("ascii")
        except UnicodeEncodeError:
            raise Z85Error("Z85 text must be ASCII") from None
    else:
        raw = bytes(text)
    if len(raw) % 5:
        raise Z85Error(f"Z85 text is a multiple of 5 characters; got {len(raw)}")
    out = bytearray()
    values = _VALUE
    for i in range(0, len(raw), 5):
        value = 0
        for j in range(i, i + 5):
            digit = values[raw[j]]
            if digit < 0:
                raise Z85Error(
                    f"character {chr(raw[j])!r} at offset {j} is not in the Z85 alphabet"
                )
            value = value * 85 + digit
        if value > 0xFFFFFFFF:
            raise Z85Error(f"Z85 group at offset {i} encodes a value above 32 bits")
        out += value.to_bytes(4, "big")
    return bytes(out)
