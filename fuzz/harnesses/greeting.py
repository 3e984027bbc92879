"""Greeting parsing: any bytes give a Greeting or a ProtocolError, and a Connection agrees.

Input: ``config | greeting bytes (and whatever follows)``.  ``config`` bits 0-2 pick the
mechanism and role of the Connection that reads the bytes.

Properties:
- ``check_greeting_prefix`` raises only ``ProtocolError``, and once a prefix is refused every
  longer prefix is refused too (refusing early never refuses a greeting the full check accepts);
- ``parse_greeting`` of 64 octets returns a well-formed Greeting or raises ``ProtocolError``;
  ``check_peer_greeting`` raises only ``ProtocolError``;
- a Connection fed the bytes whole and one octet at a time ends in the same state, with the
  same error class and code, and never buffers more than the 64 octets of a greeting.
"""

from __future__ import annotations

from safezmq.protocol import (
    Connection,
    CurveClient,
    CurveServer,
    Mechanism,
    NullMechanism,
    PlainClient,
    PlainServer,
    ProtocolError,
    State,
)
from safezmq.protocol.greeting import (
    _MECHANISM,
    GREETING_SIZE,
    Greeting,
    check_greeting_prefix,
    check_peer_greeting,
    parse_greeting,
)

from ._util import Reader
from .keys import CLIENT_SECRET, SERVER_PUBLIC, SERVER_SECRET

ROLES = tuple(
    (mechanism, as_server)
    for mechanism in (b"NULL", b"PLAIN", b"CURVE")
    for as_server in (False, True)
)


def make_mechanism(index: int) -> Mechanism:
    index %= 6
    if index == 0:
        return NullMechanism(False)
    if index == 1:
        return NullMechanism(True)
    if index == 2:
        return PlainClient(b"user", b"a-password-for-the-greeting-harness")
    if index == 3:
        return PlainServer()
    if index == 4:
        return CurveClient(SERVER_PUBLIC, CLIENT_SECRET)
    return CurveServer(SERVER_SECRET)


def feed(index: int, pieces: list[bytes]) -> tuple[State, tuple[type, object] | None]:
    conn = Connection(make_mechanism(index), socket_type=b"DEALER")
    conn.data_to_send()
    fed = 0
    for piece in pieces:
        fed += len(piece)
        try:
            got = conn.receive_data(piece)
        except ProtocolError as exc:
            assert conn.state is State.CLOSED
            return conn.state, (type(exc), exc.code)
        assert isinstance(got, list)
        assert conn.buffered <= min(fed, GREETING_SIZE) or conn.state is not State.GREETING
        if conn.state is not State.GREETING:
            assert conn.peer_greeting is not None
            return conn.state, None
    return conn.state, None


def check(data: bytes) -> None:
    reader = Reader(data)
    index = reader.byte()
    raw = reader.rest()
    greeting = raw[:GREETING_SIZE]

    refused_at = None
    for n in range(len(greeting) + 1):
        try:
            check_greeting_prefix(greeting[:n])
        except ProtocolError:
            if refused_at is None:
                refused_at = n
        else:
            assert refused_at is None, f"prefix {refused_at} refused but prefix {n} accepted"

    parsed: Greeting | None = None
    if len(greeting) == GREETING_SIZE:
        try:
            parsed = parse_greeting(greeting)
        except ProtocolError:
            pass
        else:
            assert refused_at is None
            assert parsed.major >= 3
            assert _MECHANISM.fullmatch(parsed.mechanism + b"\x00")
            assert 1 <= len(parsed.mechanism) <= 20
            for mechanism, as_server in ROLES:
                try:
                    check_peer_greeting(parsed, mechanism, as_server)
                except ProtocolError:
                    pass

    # Only the greeting itself: what follows is the handshake harnesses' business.
    whole = feed(index, [greeting])
    octets = feed(index, [greeting[i : i + 1] for i in range(len(greeting))])
    assert whole == octets, f"whole: {whole}, octet by octet: {octets}"
    if refused_at is not None:
        assert whole[1] is not None, "a Connection accepted a refused greeting prefix"
    elif parsed is None and len(greeting) < GREETING_SIZE:
        assert whole == (State.GREETING, None)


def test_one_input(data: bytes) -> None:
    check(data)


if __name__ == "__main__":
    from ._util import run_as_main

    run_as_main(__file__)
