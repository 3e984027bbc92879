"""ZAP (RFC 27) codec: requests and replies, strict reply checking, credentials never shown."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safezmq.constants import ProtocolErrorCode
from safezmq.protocol.errors import ProtocolError, ZapReplyError
from safezmq.protocol.limits import Limits
from safezmq.protocol.metadata import Metadata, encode_metadata
from safezmq.protocol.zap import (
    STATUS_CODES,
    ZAP_VERSION,
    ZapReply,
    ZapRequest,
    reply_for,
)

SETTINGS = settings(max_examples=200, deadline=None)

PASSWORD = b"hunter2-zap-password"

PLAIN_REQUEST = ZapRequest(
    request_id=b"\x00\x01",
    domain=b"global",
    address=b"127.0.0.1",
    identity=b"",
    mechanism=b"PLAIN",
    credentials=(b"admin", PASSWORD),
)

short = st.binary(max_size=255)


# ---------------------------------------------------------------------------------------------
# ZapRequest


def test_request_frames() -> None:
    assert PLAIN_REQUEST.to_frames() == [
        b"",
        b"1.0",
        b"\x00\x01",
        b"global",
        b"127.0.0.1",
        b"",
        b"PLAIN",
        b"admin",
        PASSWORD,
    ]
    assert PLAIN_REQUEST.to_frames(delimiter=False) == PLAIN_REQUEST.to_frames()[1:]


@given(
    fields=st.tuples(short, short, short, short, st.sampled_from([b"NULL", b"PLAIN", b"CURVE"])),
    credentials=st.lists(st.binary(max_size=64), max_size=3).map(tuple),
    delimiter=st.booleans(),
)
@SETTINGS
def test_request_round_trip(
    fields: tuple[bytes, bytes, bytes, bytes, bytes],
    credentials: tuple[bytes, ...],
    delimiter: bool,
) -> None:
    request = ZapRequest(*fields, credentials=credentials)
    frames = request.to_frames(delimiter)
    assert ZapRequest.from_frames(frames, delimiter) == request
    assert ZapRequest.from_frames([memoryview(f) for f in frames], delimiter) == request


def test_request_repr_never_shows_credentials() -> None:
    for text in (repr(PLAIN_REQUEST), str(PLAIN_REQUEST), f"{PLAIN_REQUEST}"):
        assert "hunter2" not in text
        assert "admin" not in text
        assert "credentials" not in text
        assert "PLAIN" in text  # the rest is shown


def test_request_repr_never_shows_a_curve_key() -> None:
    key = bytes(range(32))
    request = ZapRequest(b"1", b"", b"10.0.0.1", b"", b"CURVE", (key,))
    assert repr(key) not in repr(request)
    assert key.hex() not in repr(request)


@pytest.mark.parametrize(
    ("frames", "match"),
    [
        ([], "delimiter"),
        ([b"x", b"1.0", b"1", b"d", b"a", b"i", b"NULL"], "delimiter"),
        ([b"", b"1.0", b"1", b"d", b"a", b"i"], "at least 6"),
        ([b"", b"2.0", b"1", b"d", b"a", b"i", b"NULL"], "version"),
    ],
)
def test_request_from_frames_errors(frames: list[bytes], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ZapRequest.from_frames(frames)


def test_request_without_delimiter_too_short() -> None:
    with pytest.raises(ValueError, match="at least 6"):
        ZapRequest.from_frames([b"1.0", b"1", b"d", b"a", b"i"], delimiter=False)


# ---------------------------------------------------------------------------------------------
# ZapReply: round trips


def reply_frames(
    *,
    delimiter: bytes = b"",
    version: bytes = ZAP_VERSION,
    request_id: bytes = b"\x00\x01",
    status: bytes = b"200",
    text: bytes = b"OK",
    user_id: bytes = b"alice",
    metadata: bytes = b"",
) -> list[bytes]:
    return [delimiter, version, request_id, status, text, user_id, metadata]


def test_reply_frames() -> None:
    reply = ZapReply(b"\x00\x01", 200, b"OK", b"alice", Metadata({"X-Group": b"ops"}))
    assert reply.to_frames() == reply_frames(metadata=encode_metadata({"X-Group": b"ops"}))
    assert reply.to_frames(delimiter=False) == reply.to_frames()[1:]


@given(
    request_id=short,
    status=st.sampled_from(STATUS_CODES),
    text=short,
    user_id=short,
    metadata=st.dictionaries(
        st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=20),
        st.binary(max_size=30),
        max_size=5,
    ),
    delimiter=st.booleans(),
)
@SETTINGS
def test_reply_round_trip(
    request_id: bytes,
    status: int,
    text: bytes,
    user_id: bytes,
    metadata: dict[str, bytes],
    delimiter: bool,
) -> None:
    reply = ZapReply(request_id, status, text, user_id, Metadata(metadata))
    parsed = ZapReply.from_frames(reply.to_frames(delimiter), delimiter)
    assert parsed == reply
    assert dict(parsed.metadata) == metadata


def test_reply_from_frames_values() -> None:
    reply = ZapReply.from_frames(
        [memoryview(f) for f in reply_frames(status=b"400", text=b"denied", user_id=b"")]
    )
    assert reply == ZapReply(b"\x00\x01", 400, b"denied", b"", Metadata())
    assert isinstance(reply.status_code, int)


@pytest.mark.parametrize("status", [b"200", b"300", b"400", b"500"])
def test_every_status_code_is_accepted(status: bytes) -> None:
    assert ZapReply.from_frames(reply_frames(status=status)).status_code == int(status)


def test_strings_of_255_octets_are_accepted() -> None:
    reply = ZapReply.from_frames(reply_frames(text=b"t" * 255, user_id=b"u" * 255))
    assert reply.status_text == b"t" * 255
    assert reply.user_id == b"u" * 255


# ---------------------------------------------------------------------------------------------
# ZapReply: errors


def reply_error(
    frames: list[bytes], delimiter: bool = True, limits: Limits | None = None
) -> ZapReplyError:
    with pytest.raises(ZapReplyError) as info:
        if limits is None:
            ZapReply.from_frames(frames, delimiter)
        else:
            ZapReply.from_frames(frames, delimiter, limits)
    error = info.value
    assert isinstance(error, ProtocolError)
    assert error.may_send_error is False  # the client is not told: not its fault
    return error


@pytest.mark.parametrize("count", [0, 1, 5, 6, 8, 20])
def test_wrong_frame_count(count: int) -> None:
    frames = (reply_frames() * 3)[:count]
    assert reply_error(frames).code == ProtocolErrorCode.ZAP_MALFORMED_REPLY


@pytest.mark.parametrize("count", [5, 7])
def test_wrong_frame_count_without_delimiter(count: int) -> None:
    frames = [*reply_frames()[1:], b""][:count]
    assert reply_error(frames, delimiter=False).code == ProtocolErrorCode.ZAP_MALFORMED_REPLY


def test_missing_delimiter() -> None:
    # Seven frames, but the first is not empty: the delimiter was left out and a frame added.
    frames = reply_frames(delimiter=b"1.0")
    assert reply_error(frames).code == ProtocolErrorCode.ZAP_MALFORMED_REPLY
    # Six frames without the delimiter, parsed as if it were there.
    assert reply_error(reply_frames()[1:]).code == ProtocolErrorCode.ZAP_MALFORMED_REPLY


@pytest.mark.parametrize("version", [b"", b"1.1", b"2.0", b"1.0\x00", b"v" * 1000])
def test_bad_version(version: bytes) -> None:
    error = reply_error(reply_frames(version=version))
    assert error.code == ProtocolErrorCode.ZAP_BAD_VERSION
    assert len(error.reason) < 200  # peer bytes are quoted, truncated


@pytest.mark.parametrize(
    "status", [b"", b"201", b"100", b"600", b"abc", b" 200", b"200 ", b"0200", b"+200", b"2" * 500]
)
def test_invalid_status_code(status: bytes) -> None:
    error = reply_error(reply_frames(status=status))
    assert error.code == ProtocolErrorCode.ZAP_INVALID_STATUS_CODE
    assert len(error.reason) < 200


@pytest.mark.parametrize("field", ["text", "user_id"])
def test_overlong_strings(field: str) -> None:
    frames = reply_frames(**{field: b"s" * 256})
    assert reply_error(frames).code == ProtocolErrorCode.ZAP_MALFORMED_REPLY


@pytest.mark.parametrize(
    "metadata",
    [
        b"\x00",
        b"\x05User",
        b"\x01X\x00\x00\x00\x09short",
        b"\x01X\x00\x00\x00\x00\x01x\x00\x00\x00\x00",  # duplicate (case-insensitive)
        b"\x03a b\x00\x00\x00\x00",
    ],
)
def test_invalid_metadata(metadata: bytes) -> None:
    error = reply_error(reply_frames(metadata=metadata))
    assert error.code == ProtocolErrorCode.ZAP_INVALID_METADATA


def test_metadata_over_the_limits() -> None:
    metadata = encode_metadata({f"X-{i}": b"v" * 10 for i in range(5)})
    assert len(ZapReply.from_frames(reply_frames(metadata=metadata)).metadata) == 5
    small = Limits(max_metadata_size=len(metadata) - 1)
    assert reply_error(reply_frames(metadata=metadata), limits=small).code == (
        ProtocolErrorCode.ZAP_INVALID_METADATA
    )
    few = Limits(max_metadata_properties=4)
    assert reply_error(reply_frames(metadata=metadata), limits=few).code == (
        ProtocolErrorCode.ZAP_INVALID_METADATA
    )


@given(st.lists(st.binary(max_size=20), max_size=9), st.booleans())
@SETTINGS
def test_any_frames_give_a_reply_or_zap_reply_error(frames: list[bytes], delimiter: bool) -> None:
    try:
        reply = ZapReply.from_frames(frames, delimiter)
    except ZapReplyError:
        return
    assert reply.status_code in STATUS_CODES


# ---------------------------------------------------------------------------------------------
# reply_for


def test_reply_for_echoes_the_request_id() -> None:
    reply = reply_for(PLAIN_REQUEST, 200, b"OK", b"admin", {"X-Role": b"ops"})
    assert reply.request_id == PLAIN_REQUEST.request_id
    assert reply.status_code == 200
    assert reply.status_text == b"OK"
    assert reply.user_id == b"admin"
    assert isinstance(reply.metadata, Metadata)
    assert reply.metadata["x-role"] == b"ops"
    assert ZapReply.from_frames(reply.to_frames()) == reply


def test_reply_for_defaults() -> None:
    reply = reply_for(PLAIN_REQUEST, 400)
    assert (reply.status_text, reply.user_id, dict(reply.metadata)) == (b"", b"", {})


@pytest.mark.parametrize("status", [0, 199, 201, 404, 600, -200])
def test_reply_for_refuses_invalid_status(status: int) -> None:
    with pytest.raises(ValueError, match="status code"):
        reply_for(PLAIN_REQUEST, status)
