"""Metadata decoding: any bytes give a property list or a ProtocolError.

Input: ``size-limit property-limit | property list``.  The first octet picks the size cap
(0: the default 16 KiB; otherwise that many times 8 octets), the second the property cap
(0: the default 64).

Properties:
- ``decode_metadata`` returns a ``Metadata`` or raises ``ProtocolError`` with the code asked for;
- a decoded list has at most ``max_properties`` names, each valid and unique ignoring case, and
  encodes back to exactly the input (the encoding is canonical);
- lookups ignore case, and ``merged`` keeps one property per name.
"""

from __future__ import annotations

from safezmq.constants import ProtocolErrorCode
from safezmq.protocol import ProtocolError
from safezmq.protocol.limits import DEFAULT_MAX_METADATA_PROPERTIES, DEFAULT_MAX_METADATA_SIZE
from safezmq.protocol.metadata import _NAME, Metadata, decode_metadata, encode_metadata

from ._util import Reader, check_protocol_error

CODE = ProtocolErrorCode.ZMTP_MALFORMED_COMMAND_READY


def check_metadata(raw: bytes, max_size: int, max_properties: int) -> Metadata | None:
    try:
        metadata = decode_metadata(raw, max_size=max_size, max_properties=max_properties, code=CODE)
    except ProtocolError as exc:
        check_protocol_error(exc)
        assert exc.code is CODE, exc.code
        return None
    assert isinstance(metadata, Metadata)
    assert len(raw) <= max_size
    assert len(metadata) <= max_properties
    names = list(metadata)
    assert len({n.lower() for n in names}) == len(names)
    for name in names:
        assert _NAME.fullmatch(name.encode("ascii"))
        assert metadata[name.upper()] == metadata[name.lower()] == metadata[name]
        assert name.swapcase() in metadata
    assert encode_metadata(metadata) == raw, "decoded metadata does not encode back"
    merged = metadata.merged({name.upper(): b"x" for name in names})
    assert len(merged) == len(metadata)
    assert all(merged[n] == b"x" for n in names)
    return metadata


def check(data: bytes) -> None:
    reader = Reader(data)
    size = reader.byte()
    count = reader.byte()
    max_size = size * 8 if size else DEFAULT_MAX_METADATA_SIZE
    max_properties = count if count else DEFAULT_MAX_METADATA_PROPERTIES
    check_metadata(reader.rest(), max_size, max_properties)


def test_one_input(data: bytes) -> None:
    check(data)


if __name__ == "__main__":
    from ._util import run_as_main

    run_as_main(__file__)
