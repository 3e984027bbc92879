"""Z85 (RFC 32): the test vector, round trips, strict refusal of bad input, pyzmq agreement."""

from __future__ import annotations

import random

import pytest
import zmq.utils.z85 as pyzmq_z85
from hypothesis import given, settings
from hypothesis import strategies as st

from safezmq.protocol import z85
from safezmq.protocol.z85 import ALPHABET, Z85Error, decode, encode

SETTINGS = settings(max_examples=200, deadline=None)

# RFC 32, "Test Case".
RFC_RAW = bytes((0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B))
RFC_TEXT = b"HelloWorld"

quads = st.integers(0, 64).flatmap(lambda n: st.binary(min_size=4 * n, max_size=4 * n))


def test_rfc_32_test_vector() -> None:
    assert encode(RFC_RAW) == RFC_TEXT
    assert decode(RFC_TEXT) == RFC_RAW
    assert decode("HelloWorld") == RFC_RAW


def test_alphabet() -> None:
    assert len(ALPHABET) == 85
    assert len(set(ALPHABET)) == 85
    assert all(0x21 <= c <= 0x7E for c in ALPHABET)


def test_empty() -> None:
    assert encode(b"") == b""
    assert decode(b"") == b""
    assert decode("") == b""


def test_extremes() -> None:
    assert encode(b"\x00\x00\x00\x00") == b"00000"
    top = encode(b"\xff\xff\xff\xff")
    assert top == b"%nSc0"
    assert decode(top) == b"\xff\xff\xff\xff"


@given(quads)
@SETTINGS
def test_round_trip(data: bytes) -> None:
    text = encode(data)
    assert len(text) == len(data) * 5 // 4
    assert set(text) <= set(ALPHABET)
    assert decode(text) == data
    assert decode(text.decode("ascii")) == data


@pytest.mark.parametrize("kind", [bytearray, memoryview])
def test_buffer_inputs(kind: type) -> None:
    assert encode(kind(RFC_RAW)) == RFC_TEXT
    assert decode(kind(RFC_TEXT)) == RFC_RAW


@pytest.mark.parametrize("size", [1, 2, 3, 5, 6, 7, 33])
def test_encode_wrong_length(size: int) -> None:
    with pytest.raises(Z85Error, match="multiple of 4") as info:
        encode(b"\x00" * size)
    assert str(size) in str(info.value)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 6, 9, 39, 41])
def test_decode_wrong_length(size: int) -> None:
    with pytest.raises(Z85Error, match="multiple of 5") as info:
        decode(b"0" * size)
    assert str(size) in str(info.value)


# Printable ASCII that is not in the alphabet, and some that is not printable at all.
OUTSIDE = [c for c in range(256) if c not in ALPHABET]


def test_outside_the_alphabet() -> None:
    printable_outside = sorted(chr(c) for c in OUTSIDE if 0x20 <= c <= 0x7E)
    assert printable_outside == [" ", '"', "'", ",", ";", "\\", "_", "`", "|", "~"]


@pytest.mark.parametrize("octet", OUTSIDE)
def test_decode_bad_character(octet: int) -> None:
    text = bytearray(b"HelloWorld")
    text[7] = octet
    with pytest.raises(Z85Error, match="offset 7"):
        decode(bytes(text))


def test_decode_bad_character_in_str() -> None:
    with pytest.raises(Z85Error, match="not in the Z85 alphabet") as info:
        decode("Hello Worl")
    assert "' '" in str(info.value)
    assert "offset 5" in str(info.value)


def test_decode_non_ascii_str() -> None:
    with pytest.raises(Z85Error, match="ASCII"):
        decode("Hellé")


@pytest.mark.parametrize("text", [b"%nSc1", b"%nSd0", b"%nT00", b"$0000", b"#####"])
def test_group_above_32_bits(text: bytes) -> None:
    with pytest.raises(Z85Error, match="32 bits"):
        decode(text)
    with pytest.raises(Z85Error, match="offset 5"):
        decode(b"00000" + text)


def test_z85error_is_a_value_error() -> None:
    assert issubclass(Z85Error, ValueError)
    with pytest.raises(ValueError):
        decode("~~~~~")


@given(st.binary(max_size=30))
@SETTINGS
def test_decode_any_bytes_gives_bytes_or_z85error(text: bytes) -> None:
    try:
        raw = decode(text)
    except Z85Error:
        return
    assert encode(raw) == text


def test_public_utils_alias() -> None:
    from safezmq.utils import z85 as public

    assert public.encode is z85.encode
    assert public.decode is z85.decode
    assert public.Z85Error is Z85Error


# ---------------------------------------------------------------------------------------------
# Agreement with pyzmq (a test dependency only)


def test_agrees_with_pyzmq_on_random_data() -> None:
    rng = random.Random(3285)
    for _ in range(300):
        data = rng.randbytes(4 * rng.randrange(0, 20))
        ours = encode(data)
        assert ours == pyzmq_z85.encode(data)
        assert pyzmq_z85.decode(ours) == data
        assert decode(pyzmq_z85.encode(data)) == data


@given(quads)
@SETTINGS
def test_agrees_with_pyzmq(data: bytes) -> None:
    assert encode(data) == pyzmq_z85.encode(data)
    assert decode(pyzmq_z85.encode(data)) == data


def test_agrees_with_pyzmq_on_the_rfc_vector() -> None:
    assert pyzmq_z85.encode(RFC_RAW) == encode(RFC_RAW) == RFC_TEXT
