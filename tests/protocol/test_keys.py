"""CURVE keys: generation, derivation, and the two encodings (agreeing with libzmq via pyzmq)."""

from __future__ import annotations

import pytest
import zmq

from safezmq.protocol import z85
from safezmq.protocol.keys import (
    KEY_SIZE,
    Z85_KEY_SIZE,
    curve_keypair,
    curve_public,
    decode_key,
    public_from_secret,
)
from safezmq.protocol.secret import Secret


def test_keypair_is_two_z85_keys() -> None:
    public, secret = curve_keypair()
    for key in (public, secret):
        assert isinstance(key, bytes)
        assert len(key) == Z85_KEY_SIZE == 40
        assert len(z85.decode(key)) == KEY_SIZE == 32
    assert public != secret


def test_keypairs_differ() -> None:
    assert len({curve_keypair()[1] for _ in range(8)}) == 8


def test_public_of_our_secret_is_our_public() -> None:
    public, secret = curve_keypair()
    assert curve_public(secret) == public
    assert curve_public(secret.decode("ascii")) == public
    assert curve_public(z85.decode(secret)) == public
    assert curve_public(Secret(secret, "CURVE secret key")) == public
    assert public_from_secret(z85.decode(secret)) == z85.decode(public)


def test_libzmq_agrees_with_our_keypair() -> None:
    assert zmq.has("curve")
    for _ in range(5):
        public, secret = curve_keypair()
        assert zmq.curve_public(secret) == public


def test_we_agree_with_libzmq_keypair() -> None:
    for _ in range(5):
        public, secret = zmq.curve_keypair()
        assert curve_public(secret) == public
        assert curve_public(z85.decode(secret)) == public


def test_libzmq_test_suite_key_pair() -> None:
    # The well-known test keys of libzmq's test suite (tests/testutil_security.cpp).
    secret = b"D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"
    public = b"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
    assert curve_public(secret) == public
    assert zmq.curve_public(secret) == public


# ---------------------------------------------------------------------------------------------
# decode_key


def test_decode_key_raw() -> None:
    raw = bytes(range(32))
    assert decode_key(raw, "key") == raw
    assert decode_key(bytearray(raw), "key") == raw
    assert decode_key(memoryview(raw), "key") == raw


def test_decode_key_z85() -> None:
    raw = bytes(range(32))
    text = z85.encode(raw)
    assert decode_key(text, "key") == raw
    assert decode_key(text.decode("ascii"), "key") == raw
    assert decode_key(bytearray(text), "key") == raw


KEY_MATERIAL = "S3CRETk3yMATER1AL"


@pytest.mark.parametrize("size", [0, 1, 31, 33, 39, 41, 64, 80])
@pytest.mark.parametrize("kind", [bytes, str])
def test_decode_key_refuses_other_lengths_without_showing_the_key(size: int, kind: type) -> None:
    text = (KEY_MATERIAL * 5)[:size]
    key = text if kind is str else text.encode()
    with pytest.raises(ValueError) as info:
        decode_key(key, "CURVE secret key")
    message = str(info.value)
    assert "CURVE secret key" in message
    assert str(size) in message
    assert_no_key_material(message, text)


def assert_no_key_material(message: str, text: str) -> None:
    for start in range(0, max(len(text) - 5, 0) + 1):
        piece = text[start : start + 6]
        if len(piece) == 6:
            assert piece not in message
            assert piece.encode().hex() not in message


def test_decode_key_refuses_invalid_z85_without_showing_the_key() -> None:
    text = KEY_MATERIAL + "~" + "x" * 22  # 40 characters, "~" is not Z85
    assert len(text) == 40
    with pytest.raises(ValueError) as info:
        decode_key(text, "CURVE server key")
    message = str(info.value)
    assert "CURVE server key" in message
    assert "Z85" in message
    assert_no_key_material(message, text)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_decode_key_refuses_a_z85_group_above_32_bits() -> None:
    with pytest.raises(ValueError, match="not valid Z85"):
        decode_key("#" * 40, "key")


@pytest.mark.parametrize("length", [32, 40])
def test_decode_key_refuses_non_ascii_text(length: int) -> None:
    # Replacing each non-ASCII character by "?" (a Z85 digit) would give a valid, wrong key.
    text = "é" + "0" * (length - 1)
    with pytest.raises(ValueError) as info:
        decode_key(text, "CURVE public key")
    assert "CURVE public key" in str(info.value)
    assert "é" not in str(info.value)
    with pytest.raises(ValueError):
        curve_public(text)
