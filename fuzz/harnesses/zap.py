"""The ZAP codec: any frames give a ZapReply or a ProtocolError (a ZapRequest or a ValueError),
and a Connection waiting for ZAP takes any reply frames as an answer or a ProtocolError.

Input: ``config | frames`` where frames are ``sized`` strings (``_util.pack_frames``).
``config`` bit 0: frames carry the empty delimiter frame; bit 1: SMALL limits; bits 2-3: which
server waits for the answer (NULL with ZAP, PLAIN, CURVE; 3 = none, codec only).

Properties:
- ``ZapReply.from_frames`` returns a reply with a valid status, short strings and metadata within
  the limits, or raises ``ZapReplyError``; a parsed reply encodes back to the same frames;
- ``ZapRequest.from_frames`` returns a request or raises ``ValueError`` (its documented error);
  a parsed request encodes back to the same frames;
- ``Connection.zap_reply(frames)`` returns a list of events or raises ``ProtocolError`` (then the
  connection is closed and queued at most an ERROR); after a 200 it is in HANDSHAKE or TRAFFIC.
"""

from __future__ import annotations

import functools

from safezmq.protocol import (
    Connection,
    CurveServer,
    Limits,
    NullMechanism,
    PlainServer,
    ProtocolError,
    State,
    ZapReply,
    ZapReplyError,
    ZapRequest,
)
from safezmq.protocol.metadata import encode_metadata

from . import _connection
from ._util import DEFAULT, SMALL, Reader, check_protocol_error, unpack_frames
from .keys import SECRETS


def check_reply(frames: list[bytes], delimiter: bool, limits: Limits) -> ZapReply | None:
    try:
        reply = ZapReply.from_frames(frames, delimiter=delimiter, limits=limits)
    except ZapReplyError as exc:
        check_protocol_error(exc, *SECRETS)
        assert not exc.may_send_error
        return None
    assert reply.status_code in (200, 300, 400, 500)
    assert len(reply.status_text) <= 255 and len(reply.user_id) <= 255
    assert len(reply.metadata) <= limits.max_metadata_properties
    again = reply.to_frames(delimiter)
    assert again[:-1] == [bytes(f) for f in frames[:-1]], "the reply does not encode back"
    assert again[-1] == bytes(frames[-1]) == encode_metadata(reply.metadata)
    return reply


def check_request(frames: list[bytes], delimiter: bool) -> None:
    try:
        request = ZapRequest.from_frames(frames, delimiter=delimiter)
    except ValueError:
        return
    assert request.to_frames(delimiter) == [bytes(f) for f in frames]
    assert "credentials" not in repr(request)


@functools.cache
def _scenario(which: int) -> _connection.Scenario:
    return (_connection.NULL_SERVER, _connection.PLAIN_SERVER, _connection.CURVE_SERVER)[which]


def pending_connection(which: int, limits: Limits) -> Connection:
    """A server of the chosen mechanism, waiting for its ZAP decision."""
    scenario = _scenario(which)
    conn, peer = scenario.pair(limits, 4)  # DEALER/ROUTER, with ZAP
    for point in _connection.walk(conn, peer):
        if point.label == "zap-pending":
            assert conn.zap_request is not None
            return conn
    raise AssertionError("the walk never waited for ZAP")


def check_connection(frames: list[bytes], which: int, limits: Limits) -> None:
    conn = pending_connection(which, limits)
    mechanism = conn.mechanism
    assert isinstance(mechanism, (NullMechanism, PlainServer, CurveServer))
    try:
        got = conn.zap_reply(frames)
    except ProtocolError as exc:
        check_protocol_error(exc, *SECRETS)
        assert conn.state is State.CLOSED and conn.zap_request is None
        sent = _connection.flush(conn)
        if sent:
            assert exc.may_send_error and sent.startswith(b"\x04"), sent[:16]
        return
    assert isinstance(got, list)
    assert conn.state in (State.HANDSHAKE, State.TRAFFIC), conn.state
    assert conn.user_id is not None and len(conn.user_id) <= 255


def check(data: bytes) -> None:
    reader = Reader(data)
    config = reader.byte()
    frames = unpack_frames(reader.rest())
    delimiter = bool(config & 1)
    limits = SMALL if config & 2 else DEFAULT
    check_reply(frames, delimiter, limits)
    check_request(frames, delimiter)
    which = (config >> 2) & 3
    if which < 3:
        # The connection is given the frames as the engine receives them: delimiter first.
        check_connection(frames if delimiter else [b"", *frames], which, limits)


def test_one_input(data: bytes) -> None:
    check(data)


if __name__ == "__main__":
    from ._util import run_as_main

    run_as_main(__file__)
