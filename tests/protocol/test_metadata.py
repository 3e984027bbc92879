"""Metadata property lists (RFC 37): encoding, strict decoding, caps, case-insensitive names."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safezmq.constants import ProtocolErrorCode
from safezmq.protocol.errors import ProtocolError
from safezmq.protocol.metadata import Metadata, decode_metadata, encode_metadata

SETTINGS = settings(max_examples=200, deadline=None)

NAME_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.+"

names = st.text(alphabet=NAME_CHARS, min_size=1, max_size=255)
properties = st.dictionaries(names, st.binary(max_size=100), max_size=20).filter(
    lambda d: len({name.lower() for name in d}) == len(d)
)


def decode(data: bytes, max_size: int = 1 << 20, max_properties: int = 1000) -> Metadata:
    return decode_metadata(data, max_size=max_size, max_properties=max_properties)


def prop(name: bytes, value: bytes, declared: int | None = None) -> bytes:
    """One property by hand; ``declared`` overrides the value size field."""
    size = len(value) if declared is None else declared
    return bytes((len(name),)) + name + size.to_bytes(4, "big") + value


# ---------------------------------------------------------------------------------------------
# Encoding and round trips


def test_encoding_layout() -> None:
    assert encode_metadata({"Socket-Type": b"DEALER"}) == b"\x0bSocket-Type\x00\x00\x00\x06DEALER"
    assert encode_metadata({}) == b""
    assert encode_metadata({"X": b""}) == b"\x01X\x00\x00\x00\x00"


@given(properties)
@SETTINGS
def test_round_trip(props: dict[str, bytes]) -> None:
    decoded = decode(encode_metadata(props))
    assert dict(decoded) == props
    assert list(decoded) == list(props)  # order is kept
    assert len(decoded) == len(props)


def test_round_trip_of_a_metadata_object() -> None:
    meta = Metadata({"Socket-Type": b"ROUTER", "Identity": b"\x01id", "X-Empty": b""})
    assert decode(encode_metadata(meta)) == meta


def test_decode_accepts_memoryview() -> None:
    data = encode_metadata({"User-Id": b"alice"})
    assert decode_metadata(memoryview(data), max_size=100, max_properties=1)["User-Id"] == b"alice"


@given(st.binary(max_size=300))
@SETTINGS
def test_any_bytes_give_metadata_or_protocol_error(data: bytes) -> None:
    try:
        meta = decode(data)
    except ProtocolError as exc:
        assert exc.code == ProtocolErrorCode.ZMTP_INVALID_METADATA
        return
    assert encode_metadata(meta) == data


# ---------------------------------------------------------------------------------------------
# The Metadata mapping


def test_lookup_ignores_case() -> None:
    meta = Metadata({"Socket-Type": b"PUB"})
    assert meta["socket-type"] == meta["SOCKET-TYPE"] == meta["Socket-Type"] == b"PUB"
    assert "socket-TYPE" in meta
    assert meta.get("SOCKET-type") == b"PUB"
    assert "Identity" not in meta
    assert 42 not in meta  # type: ignore[comparison-overlap]
    with pytest.raises(KeyError):
        meta["Identity"]


def test_decoded_lookup_ignores_case() -> None:
    meta = decode(prop(b"user-ID", b"bob"))
    assert meta["User-Id"] == b"bob"
    assert list(meta) == ["user-ID"]  # the peer's spelling is kept for iteration


def test_metadata_is_immutable() -> None:
    meta = Metadata({"A": b"1"})
    with pytest.raises(TypeError):
        meta["A"] = b"2"  # type: ignore[index]
    with pytest.raises(AttributeError):
        meta.x = 1  # type: ignore[attr-defined]


def test_metadata_empty() -> None:
    assert len(Metadata()) == 0
    assert dict(Metadata(None)) == {}


def test_merged_other_wins_and_case_clash_is_replaced() -> None:
    base = Metadata({"Socket-Type": b"DEALER", "Identity": b"me", "X-Keep": b"k"})
    merged = base.merged({"socket-type": b"ROUTER", "User-Id": b"alice"})
    assert isinstance(merged, Metadata)
    assert merged["Socket-Type"] == b"ROUTER"
    assert merged["user-id"] == b"alice"
    assert merged["X-Keep"] == b"k"
    assert sorted(merged) == ["Identity", "User-Id", "X-Keep", "socket-type"]
    assert len(merged) == 4
    # The original is unchanged.
    assert base["Socket-Type"] == b"DEALER"
    assert "User-Id" not in base


def test_merged_with_nothing() -> None:
    base = Metadata({"A": b"1"})
    assert base.merged({}) == base


def test_repr() -> None:
    assert repr(Metadata({"A": b"1"})) == "Metadata({'A': b'1'})"


# ---------------------------------------------------------------------------------------------
# Names


@pytest.mark.parametrize("name", ["X", "x" * 255, "A-Z_a.z+0", "Socket-Type", "X-Custom"])
def test_valid_names(name: str) -> None:
    assert dict(decode(encode_metadata({name: b"v"}))) == {name: b"v"}


@pytest.mark.parametrize("name", ["", "x" * 256, "a b", "a/b", "a:b", "é", "a\x00", "ünï"])
def test_encode_refuses_invalid_names(name: str) -> None:
    with pytest.raises(ValueError, match="name"):
        encode_metadata({name: b"v"})


@pytest.mark.parametrize("name", [b"a b", b"a/b", b"a:b", b"\xc3\xa9", b"a\x00", b"=", b"\x7f"])
def test_decode_refuses_invalid_names(name: bytes) -> None:
    with pytest.raises(ProtocolError) as info:
        decode(prop(name, b"v"))
    assert info.value.code == ProtocolErrorCode.ZMTP_INVALID_METADATA


def test_decode_refuses_empty_name() -> None:
    with pytest.raises(ProtocolError):
        decode(b"\x00\x00\x00\x00\x00")


def test_decode_refuses_truncated_name() -> None:
    with pytest.raises(ProtocolError, match="truncated"):
        decode(b"\x0bSocket")


@pytest.mark.parametrize(
    "pair", [("Identity", "Identity"), ("Socket-Type", "socket-type"), ("A", "a")]
)
def test_duplicate_names_refused_when_encoding(pair: tuple[str, str]) -> None:
    first, second = pair
    # A dict cannot hold the same key twice; a Mapping's items can.
    props = ItemsMapping([(first, b"1"), (second, b"2")])
    with pytest.raises(ValueError, match="twice"):
        encode_metadata(props)


@pytest.mark.parametrize(
    ("first", "second"), [(b"Identity", b"Identity"), (b"Socket-Type", b"SOCKET-TYPE")]
)
def test_duplicate_names_refused_when_decoding(first: bytes, second: bytes) -> None:
    with pytest.raises(ProtocolError, match="twice") as info:
        decode(prop(first, b"a") + prop(second, b"b"))
    assert info.value.code == ProtocolErrorCode.ZMTP_INVALID_METADATA


class ItemsMapping(Mapping[str, bytes]):
    """A mapping whose iteration repeats a name, as a custom Mapping could."""

    def __init__(self, pairs: list[tuple[str, bytes]]) -> None:
        self._pairs = pairs

    def __getitem__(self, name: str) -> bytes:
        return dict(self._pairs)[name]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._pairs)

    def __len__(self) -> int:
        return len(self._pairs)


# ---------------------------------------------------------------------------------------------
# Value sizes


def test_zero_size_value() -> None:
    assert decode(prop(b"X", b""))["X"] == b""


@pytest.mark.parametrize("declared", [11, 100, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF])
def test_value_size_larger_than_what_remains(declared: int) -> None:
    with pytest.raises(ProtocolError) as info:
        decode(prop(b"Identity", b"ten octets", declared=declared))
    assert info.value.code == ProtocolErrorCode.ZMTP_INVALID_METADATA


def test_value_size_lie_in_a_later_property() -> None:
    data = prop(b"A", b"ok") + prop(b"B", b"xy", declared=3)
    with pytest.raises(ProtocolError):
        decode(data)


@pytest.mark.parametrize("size_octets", [0, 1, 2, 3])
def test_truncated_value_size(size_octets: int) -> None:
    with pytest.raises(ProtocolError, match="truncated"):
        decode(b"\x01X" + b"\x00" * size_octets)


def test_trailing_garbage_is_a_truncated_property() -> None:
    with pytest.raises(ProtocolError):
        decode(prop(b"A", b"1") + b"\x05")


# ---------------------------------------------------------------------------------------------
# Caps


def test_total_size_cap() -> None:
    data = prop(b"Identity", b"x" * 100)
    assert decode(data, max_size=len(data))["Identity"] == b"x" * 100
    with pytest.raises(ProtocolError, match="limit"):
        decode(data, max_size=len(data) - 1)


def test_property_count_cap() -> None:
    three = b"".join(prop(bytes((ord("A") + i,)), b"") for i in range(3))
    assert len(decode(three, max_properties=3)) == 3
    with pytest.raises(ProtocolError, match="properties"):
        decode(three + prop(b"D", b""), max_properties=3)


def test_property_count_cap_stops_a_flood_of_empty_properties() -> None:
    flood = b"".join(prop(f"P{i}".encode(), b"") for i in range(1000))
    with pytest.raises(ProtocolError):
        decode(flood, max_properties=64)


# ---------------------------------------------------------------------------------------------
# The error code parameter


BAD_LISTS = [
    pytest.param(prop(b"a b", b""), id="bad-name"),
    pytest.param(b"\x00", id="empty-name"),
    pytest.param(b"\x05AB", id="truncated-name"),
    pytest.param(b"\x01A\x00\x00", id="truncated-size"),
    pytest.param(prop(b"A", b"", declared=5), id="size-lie"),
    pytest.param(prop(b"A", b"") + prop(b"a", b""), id="duplicate"),
    pytest.param(prop(b"A", b"x" * 50), id="too-large"),
    pytest.param(prop(b"A", b"") + prop(b"B", b"") + prop(b"C", b""), id="too-many"),
]


@pytest.mark.parametrize("data", BAD_LISTS)
@pytest.mark.parametrize(
    "code", [ProtocolErrorCode.ZAP_INVALID_METADATA, ProtocolErrorCode.ZMTP_MALFORMED_COMMAND_READY]
)
def test_error_code_parameter_is_honoured(data: bytes, code: ProtocolErrorCode) -> None:
    with pytest.raises(ProtocolError) as info:
        decode_metadata(data, max_size=40, max_properties=2, code=code)
    assert info.value.code == code


@pytest.mark.parametrize("data", BAD_LISTS)
def test_default_error_code(data: bytes) -> None:
    with pytest.raises(ProtocolError) as info:
        decode_metadata(data, max_size=40, max_properties=2)
    assert info.value.code == ProtocolErrorCode.ZMTP_INVALID_METADATA
