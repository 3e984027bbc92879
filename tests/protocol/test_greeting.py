"""The 64-octet ZMTP greeting: layout, parsing, early refusal of legacy peers, role checks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safezmq.constants import ProtocolErrorCode
from safezmq.protocol.errors import GreetingError, MechanismMismatch, ProtocolError
from safezmq.protocol.greeting import (
    GREETING_SIZE,
    Greeting,
    build_greeting,
    check_greeting_prefix,
    check_peer_greeting,
    parse_greeting,
)

SETTINGS = settings(max_examples=200, deadline=None)

SIGNATURE = b"\xff" + bytes(8) + b"\x7f"


def greeting(
    mechanism: bytes = b"NULL",
    as_server: int = 0,
    major: int = 3,
    minor: int = 1,
    padding: bytes = bytes(8),
) -> bytes:
    """A greeting built by hand, independently of build_greeting."""
    data = (
        b"\xff"
        + padding
        + b"\x7f"
        + bytes((major, minor))
        + mechanism.ljust(20, b"\x00")
        + bytes((as_server,))
        + bytes(31)
    )
    assert len(data) == 64
    return data


# ---------------------------------------------------------------------------------------------
# build_greeting


@pytest.mark.parametrize("mechanism", [b"NULL", b"PLAIN", b"CURVE", b"X" * 20, b"A-Z_0.9+"])
@pytest.mark.parametrize("as_server", [False, True])
def test_build_greeting_layout(mechanism: bytes, as_server: bool) -> None:
    data = build_greeting(mechanism, as_server)
    assert len(data) == GREETING_SIZE == 64
    assert data[0] == 0xFF
    assert data[9] == 0x7F
    assert data[10:12] == b"\x03\x01"
    assert data[12:32] == mechanism + bytes(20 - len(mechanism))
    assert data[32] == (1 if as_server else 0)
    assert data[33:] == bytes(31)
    # The padding: the low bit of octet 9 is what tells a 1.0 detector "not a 1.0 peer".
    assert data[9] & 0x01


def test_build_greeting_matches_the_hand_built_one() -> None:
    assert build_greeting(b"CURVE", True) == greeting(b"CURVE", 1)


@pytest.mark.parametrize(
    "mechanism",
    [b"", b"null", b"Plain", b"X" * 21, b"NU LL", b"NU\x00LL", b"\x00NULL", b"CURV\xc9", b"A/B"],
)
def test_build_greeting_refuses_invalid_mechanism(mechanism: bytes) -> None:
    with pytest.raises(ValueError, match="mechanism"):
        build_greeting(mechanism, False)


# ---------------------------------------------------------------------------------------------
# parse_greeting


@pytest.mark.parametrize("mechanism", [b"NULL", b"PLAIN", b"CURVE", b"Z" * 20])
@pytest.mark.parametrize("as_server", [False, True])
def test_parse_greeting_round_trip(mechanism: bytes, as_server: bool) -> None:
    peer = parse_greeting(build_greeting(mechanism, as_server))
    assert peer == Greeting(3, 1, mechanism, as_server)
    assert peer.version == (3, 1)


def test_parse_greeting_accepts_zmtp_3_0() -> None:
    assert parse_greeting(greeting(minor=0)).version == (3, 0)


@pytest.mark.parametrize(("major", "minor"), [(3, 2), (4, 0), (255, 255)])
def test_parse_greeting_accepts_higher_versions(major: int, minor: int) -> None:
    # RFC 37: "A peer MUST accept higher protocol versions as valid."
    assert parse_greeting(greeting(major=major, minor=minor)).version == (major, minor)


def test_parse_greeting_ignores_padding() -> None:
    # libzmq puts its 1.0-compatible identity size in the padding: 0x00 * 7 + 0x01.
    padding = bytes(7) + b"\x01"
    assert parse_greeting(greeting(padding=padding)).mechanism == b"NULL"
    assert parse_greeting(greeting(padding=b"\xaa" * 8)).mechanism == b"NULL"


@pytest.mark.parametrize("size", [0, 11, 63, 65])
def test_parse_greeting_wrong_length(size: int) -> None:
    data = (build_greeting(b"NULL", False) + b"\x00")[:size]
    with pytest.raises(ValueError):
        parse_greeting(data)


@pytest.mark.parametrize(
    "field",
    [
        bytes(20),  # no mechanism at all
        b"null".ljust(20, b"\x00"),
        b"NU\x00LL".ljust(20, b"\x00"),  # a NUL in the middle
        b"\x00NULL".ljust(20, b"\x00"),
        b"NULL".ljust(19, b"\x00") + b"X",  # garbage after the padding
        b"NULL ".ljust(20, b"\x00"),
        b"CURV\xc5".ljust(20, b"\x00"),
        b"\xff" * 20,
    ],
)
def test_parse_greeting_refuses_invalid_mechanism(field: bytes) -> None:
    data = greeting()
    data = data[:12] + field + data[32:]
    with pytest.raises(GreetingError, match="mechanism"):
        parse_greeting(data)


@pytest.mark.parametrize("flag", [2, 0x7F, 0x80, 0xFF])
def test_parse_greeting_refuses_invalid_as_server(flag: int) -> None:
    with pytest.raises(GreetingError, match="as-server"):
        parse_greeting(greeting(as_server=flag))


def test_parse_greeting_refuses_legacy_versions() -> None:
    for major in (0, 1, 2):
        with pytest.raises(GreetingError, match=r"2\.0"):
            parse_greeting(greeting(major=major))


@given(st.binary(min_size=64, max_size=64))
@SETTINGS
def test_parse_greeting_any_bytes_give_a_greeting_or_greeting_error(data: bytes) -> None:
    try:
        peer = parse_greeting(data)
    except GreetingError:
        return
    assert data[0] == 0xFF and data[9] == 0x7F and data[10] >= 3
    assert 1 <= len(peer.mechanism) <= 20


# ---------------------------------------------------------------------------------------------
# check_greeting_prefix: legacy peers are refused as soon as their first octets show it


def test_every_prefix_of_a_valid_greeting_passes() -> None:
    data = build_greeting(b"CURVE", True)
    for size in range(len(data) + 1):
        check_greeting_prefix(data[:size])


# A ZMTP 1.0 peer starts with its identity frame: a one-octet length (not 0xFF) then flags.
ZMTP10_SHORT = b"\x01\x00" + b"\x06\x00hello" + b"\x00" * 4
# A ZMTP 1.0 peer with a long identity: 0xFF, an 8-octet length, then flags 0x00.
ZMTP10_LONG = b"\xff" + (300).to_bytes(8, "big") + b"\x00" + b"i" * 10
# A ZMTP 2.0 peer: the signature, then version 1 (the major version) and socket type.
ZMTP20 = SIGNATURE + b"\x01\x05" + bytes(52)


@pytest.mark.parametrize("size", [1, 10, 11])
def test_zmtp_1_0_short_identity_is_refused_from_the_first_octet(size: int) -> None:
    with pytest.raises(GreetingError, match=r"1\.0"):
        check_greeting_prefix(ZMTP10_SHORT[:size])


@pytest.mark.parametrize("first", [0x00, 0x01, 0x7F, 0xFE])
def test_any_first_octet_but_0xff_is_refused(first: int) -> None:
    with pytest.raises(GreetingError):
        check_greeting_prefix(bytes((first,)))


@pytest.mark.parametrize("size", [10, 11])
def test_zmtp_1_0_long_identity_is_refused_at_octet_ten(size: int) -> None:
    with pytest.raises(GreetingError, match=r"1\.0"):
        check_greeting_prefix(ZMTP10_LONG[:size])


def test_zmtp_1_0_long_identity_cannot_be_told_before_octet_ten() -> None:
    for size in range(1, 10):
        check_greeting_prefix(ZMTP10_LONG[:size])


@pytest.mark.parametrize("octet9", [0x00, 0x02, 0x7E, 0xFE])
def test_octet_nine_with_low_bit_clear_is_zmtp_1_0(octet9: int) -> None:
    with pytest.raises(GreetingError, match=r"1\.0"):
        check_greeting_prefix(b"\xff" + bytes(8) + bytes((octet9,)))


@pytest.mark.parametrize("octet9", [0x01, 0x03, 0x7D, 0xFF])
def test_octet_nine_with_low_bit_set_but_not_0x7f_is_invalid(octet9: int) -> None:
    with pytest.raises(GreetingError, match="signature"):
        check_greeting_prefix(b"\xff" + bytes(8) + bytes((octet9,)))


@pytest.mark.parametrize("version", [0, 1, 2])
def test_zmtp_2_0_is_refused_at_octet_eleven(version: int) -> None:
    data = SIGNATURE + bytes((version,))
    check_greeting_prefix(data[:1])
    check_greeting_prefix(data[:10])  # the signature alone is fine
    with pytest.raises(GreetingError, match=r"2\.0"):
        check_greeting_prefix(data)


@pytest.mark.parametrize("size", [11, 12, 20, 64])
def test_zmtp_2_0_is_refused_with_any_longer_prefix(size: int) -> None:
    with pytest.raises(GreetingError, match=r"2\.0"):
        check_greeting_prefix(ZMTP20[:size])


def test_greeting_errors_never_send_an_error_command() -> None:
    with pytest.raises(GreetingError) as info:
        check_greeting_prefix(b"\x00")
    assert isinstance(info.value, ProtocolError)
    assert info.value.may_send_error is False


@given(st.binary(max_size=64))
@SETTINGS
def test_refusal_is_monotonic(data: bytes) -> None:
    """Once a prefix is refused, every longer prefix is refused too (no waiting to be sure)."""
    refused_at: int | None = None
    for size in range(len(data) + 1):
        try:
            check_greeting_prefix(data[:size])
        except GreetingError:
            if refused_at is None:
                refused_at = size
        else:
            assert refused_at is None, f"refused at {refused_at}, accepted at {size}"


# ---------------------------------------------------------------------------------------------
# check_peer_greeting


def peer(mechanism: bytes, as_server: bool) -> Greeting:
    return Greeting(3, 1, mechanism, as_server)


@pytest.mark.parametrize(
    ("theirs", "ours"),
    [(b"NULL", b"CURVE"), (b"PLAIN", b"CURVE"), (b"CURVE", b"NULL"), (b"NULL", b"PLAIN")],
)
def test_mechanism_mismatch(theirs: bytes, ours: bytes) -> None:
    with pytest.raises(MechanismMismatch) as info:
        check_peer_greeting(peer(theirs, False), ours, True)
    assert info.value.code == ProtocolErrorCode.ZMTP_MECHANISM_MISMATCH
    assert theirs.decode() in info.value.reason
    assert ours.decode() in info.value.reason


@pytest.mark.parametrize("mechanism", [b"PLAIN", b"CURVE"])
def test_two_servers_are_refused(mechanism: bytes) -> None:
    with pytest.raises(ProtocolError) as info:
        check_peer_greeting(peer(mechanism, True), mechanism, True)
    assert info.value.code == ProtocolErrorCode.ZMTP_MECHANISM_MISMATCH


@pytest.mark.parametrize("mechanism", [b"PLAIN", b"CURVE"])
def test_client_and_server_are_accepted(mechanism: bytes) -> None:
    check_peer_greeting(peer(mechanism, True), mechanism, False)
    check_peer_greeting(peer(mechanism, False), mechanism, True)


@pytest.mark.parametrize("mechanism", [b"PLAIN", b"CURVE"])
def test_peer_claiming_client_when_we_are_client_is_accepted(mechanism: bytes) -> None:
    # libzmq 4.3 always sends as-server 0, even from a server: the flag proves nothing.
    check_peer_greeting(peer(mechanism, False), mechanism, False)


def test_null_peer_with_as_server_set_is_refused() -> None:
    for ours in (False, True):
        with pytest.raises(ProtocolError) as info:
            check_peer_greeting(peer(b"NULL", True), b"NULL", ours)
        assert info.value.code == ProtocolErrorCode.ZMTP_MECHANISM_MISMATCH


def test_null_peers_are_accepted() -> None:
    check_peer_greeting(peer(b"NULL", False), b"NULL", False)
    check_peer_greeting(peer(b"NULL", False), b"NULL", True)
