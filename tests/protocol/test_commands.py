"""Command bodies (RFC 37): the name grammar, ERROR, PING and PONG."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safezmq.constants import ProtocolErrorCode
from safezmq.protocol.commands import (
    ERROR,
    MAX_PING_CONTEXT,
    PING,
    command,
    error_command,
    parse_command,
    parse_error,
    parse_ping,
    parse_pong,
    ping_command,
)
from safezmq.protocol.errors import ProtocolError

SETTINGS = settings(max_examples=200, deadline=None)

ALPHA = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
names = st.text(alphabet=ALPHA, min_size=1, max_size=255).map(str.encode)


# ---------------------------------------------------------------------------------------------
# command / parse_command


def test_command_encoding() -> None:
    assert command(b"READY") == b"\x05READY"
    assert command(b"PING", b"\x00\x0a") == b"\x04PING\x00\x0a"
    assert command(b"X", memoryview(b"data")) == b"\x01Xdata"


@given(name=names, data=st.binary(max_size=300))
@SETTINGS
def test_parse_command_round_trip(name: bytes, data: bytes) -> None:
    assert parse_command(command(name, data)) == (name, data)


def test_parse_command_accepts_buffers() -> None:
    body = b"\x09SUBSCRIBEtopic"
    assert parse_command(bytearray(body)) == (b"SUBSCRIBE", b"topic")
    assert parse_command(memoryview(body)) == (b"SUBSCRIBE", b"topic")


def test_longest_name() -> None:
    name = b"N" * 255
    assert parse_command(b"\xff" + name + b"tail") == (name, b"tail")


def test_name_only() -> None:
    assert parse_command(b"\x04PONG") == (b"PONG", b"")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\x00", id="zero-length-name"),
        pytest.param(b"\x00READY", id="zero-length-name-with-data"),
        pytest.param(b"\x05REA", id="truncated-name"),
        pytest.param(b"\x05", id="size-only"),
        pytest.param(b"\xff" + b"A" * 254, id="truncated-long-name"),
        pytest.param(b"\x05READ1", id="digit"),
        pytest.param(b"\x05REA Y", id="space"),
        pytest.param(b"\x05READ-", id="hyphen"),
        pytest.param(b"\x05READ\x00", id="nul"),
        pytest.param(b"\x05\xc9READ", id="latin1-letter"),
        pytest.param(b"\x06\xc3\xa9READ", id="utf8-letter"),
        pytest.param(b"\x04PI\nG", id="newline"),
    ],
)
def test_parse_command_refuses_malformed(body: bytes) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_command(body)
    assert info.value.code == ProtocolErrorCode.ZMTP_MALFORMED_COMMAND_UNSPECIFIED


def test_parse_command_error_quotes_only_a_little_of_the_body() -> None:
    body = b"\x051234" + b"s" * 5000
    with pytest.raises(ProtocolError) as info:
        parse_command(body)
    assert len(str(info.value)) < 200


@given(st.binary(max_size=300))
@SETTINGS
def test_parse_command_any_bytes(body: bytes) -> None:
    try:
        name, data = parse_command(body)
    except ProtocolError:
        return
    assert 1 <= len(name) <= 255
    assert name.isalpha()
    assert bytes((len(name),)) + name + data == body


# ---------------------------------------------------------------------------------------------
# ERROR


def test_error_round_trip() -> None:
    name, data = parse_command(error_command(b"no ZAP handler"))
    assert name == ERROR
    assert data == b"\x0eno ZAP handler"
    assert parse_error(data) == b"no ZAP handler"


def test_error_with_empty_reason() -> None:
    name, data = parse_command(error_command(b""))
    assert (name, data) == (ERROR, b"\x00")
    assert parse_error(data) == b""


def test_error_reason_truncated_to_255() -> None:
    _, data = parse_command(error_command(b"r" * 300))
    assert parse_error(data) == b"r" * 255


@given(st.binary(max_size=255))
@SETTINGS
def test_error_round_trip_any_reason(reason: bytes) -> None:
    _, data = parse_command(error_command(reason))
    assert parse_error(data) == reason


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\x05abc", id="size-too-large"),
        pytest.param(b"\x02abc", id="size-too-small"),
        pytest.param(b"\x00x", id="trailing-octet"),
        pytest.param(b"\xff" + b"x" * 256, id="overlong"),
    ],
)
def test_parse_error_length_must_match_exactly(data: bytes) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_error(data)
    assert info.value.code == ProtocolErrorCode.ZMTP_MALFORMED_COMMAND_ERROR


# ---------------------------------------------------------------------------------------------
# PING / PONG


@pytest.mark.parametrize("ttl", [0, 1, 300, 0xFFFF])
@pytest.mark.parametrize("context", [b"", b"c", b"x" * MAX_PING_CONTEXT])
def test_ping_round_trip(ttl: int, context: bytes) -> None:
    name, data = parse_command(ping_command(ttl, context))
    assert name == PING
    assert data == ttl.to_bytes(2, "big") + context
    assert parse_ping(data) == (ttl, context)


@pytest.mark.parametrize("ttl", [-1, 0x10000, 1 << 20])
def test_ping_ttl_out_of_range(ttl: int) -> None:
    with pytest.raises(ValueError, match="TTL"):
        ping_command(ttl)


def test_ping_context_too_long() -> None:
    assert MAX_PING_CONTEXT == 16
    with pytest.raises(ValueError, match="context"):
        ping_command(10, b"x" * 17)


@pytest.mark.parametrize("size", [0, 1, 19, 20, 300])
def test_parse_ping_malformed_sizes(size: int) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_ping(b"\x00" * size)
    assert info.value.code == ProtocolErrorCode.ZMTP_MALFORMED_COMMAND_UNSPECIFIED


@pytest.mark.parametrize("size", range(2, 19))
def test_parse_ping_valid_sizes(size: int) -> None:
    data = b"\x01\x02" + bytes(range(size - 2))
    assert parse_ping(data) == (0x0102, bytes(range(size - 2)))


@pytest.mark.parametrize("size", range(0, 17))
def test_parse_pong_valid(size: int) -> None:
    assert parse_pong(b"p" * size) == b"p" * size


@pytest.mark.parametrize("size", [17, 18, 1000])
def test_parse_pong_context_too_long(size: int) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_pong(b"p" * size)
    assert info.value.code == ProtocolErrorCode.ZMTP_MALFORMED_COMMAND_UNSPECIFIED
