"""Metadata property lists (RFC 37 "Connection Metadata"): READY, INITIATE and ZAP replies.

``property = name value``; a name is 1-255 octets of ALPHA, DIGIT, "-", "_", "." or "+"; a value
is a 4-octet size in network order and that many octets.  Every size is checked against what is
really there, the whole list against a size cap and a property count, and a name may appear only
once (names are case-insensitive, so "socket-type" and "Socket-Type" are the same property).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from ..constants import ProtocolErrorCode
from .errors import ProtocolError

_NAME = re.compile(rb"[A-Za-z0-9_.+-]{1,255}")
_MAX_VALUE = (1 << 31) - 1

SOCKET_TYPE = "Socket-Type"
IDENTITY = "Identity"
USER_ID = "User-Id"


class Metadata(Mapping[str, bytes]):
    """An immutable, case-insensitive mapping of property names to values."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, bytes] | None = None) -> None:
        self._items: dict[str, tuple[str, bytes]] = {}
        for name, value in (items or {}).items():
            self._items[name.lower()] = (name, value)

    def __getitem__(self, name: str) -> bytes:
        return self._items[name.lower()][1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def merged(self, other: Mapping[str, bytes]) -> Metadata:
        """A new Metadata with ``other``'s properties added (they win on a clash)."""
        combined = dict(self.items())
        for name, value in other.items():
            for existing in [n for n in combined if n.lower() == name.lower()]:
                del combined[existing]
            combined[name] = value
        return Metadata(combined)

    def __repr__(self) -> str:
        return f"Metadata({dict(self.items())!r})"


def valid_property_name(name: bytes) -> bool:
    """Whether ``name`` is a property name ZMTP allows (1-255 of A-Z, a-z, 0-9, '-_.+')."""
    return _NAME.fullmatch(name) is not None


def encode_metadata(properties: Mapping[str, bytes]) -> bytes:
    """Encode a property list.  Names are checked; values must be bytes."""
    parts: list[bytes] = []
    seen: set[str] = set()
    for name, value in properties.items():
        raw = name.encode("ascii", "replace")
        if not valid_property_name(raw):
            raise ValueError(
                f"metadata name {name!r} must be 1-255 characters of A-Z, a-z, 0-9, '-_.+'"
            )
        if name.lower() in seen:
            raise ValueError(f"metadata name {name!r} appears twice (names ignore case)")
        seen.add(name.lower())
        value = bytes(value)
        if len(value) > _MAX_VALUE:
            raise ValueError(f"metadata value of {name!r} is larger than 2^31-1 octets")
        parts += (bytes((len(raw),)), raw, len(value).to_bytes(4, "big"), value)
    return b"".join(parts)


def decode_metadata(
    data: bytes | memoryview,
    *,
    max_size: int,
    max_properties: int,
    code: ProtocolErrorCode = ProtocolErrorCode.ZMTP_INVALID_METADATA,
) -> Metadata:
    """Decode a property list, refusing anything malformed, oversized or duplicated."""
    raw = bytes(data)
    if len(raw) > max_size:
        raise ProtocolError(f"metadata of {len(raw)} octets exceeds the limit of {max_size}", code)
    items: dict[str, bytes] = {}
    seen: set[str] = set()
    pos = 0
    end = len(raw)
    while pos < end:
        if len(items) >= max_properties:
            raise ProtocolError(f"metadata has more than {max_properties} properties", code)
        name_size = raw[pos]
        pos += 1
        if name_size == 0 or pos + name_size > end:
            raise ProtocolError("metadata property name is empty or truncated", code)
        name_raw = raw[pos : pos + name_size]
        if not _NAME.fullmatch(name_raw):
            raise ProtocolError(
                "metadata property name has characters outside [A-Za-z0-9-_.+]", code
            )
        pos += name_size
        if pos + 4 > end:
            raise ProtocolError("metadata value size is truncated", code)
        value_size = int.from_bytes(raw[pos : pos + 4], "big")
        pos += 4
        if value_size > _MAX_VALUE or pos + value_size > end:
            raise ProtocolError(
                f"metadata value declares {value_size} octets but {end - pos} remain", code
            )
        name = name_raw.decode("ascii")
        if name.lower() in seen:
            raise ProtocolError(f"metadata property {name!r} appears twice", code)
        seen.add(name.lower())
        items[name] = raw[pos : pos + value_size]
        pos += value_size
    return Metadata(items)
