"""Endpoint parsing: any string or bytes give an Endpoint or a ZMQError, nothing else.

Input: ``mode | endpoint``.  Mode bit 0: parse for bind (else connect); bits 1-2: how the
bytes become the endpoint: as bytes, UTF-8 text (lone surrogates allowed), Latin-1 text, or
UTF-16 text (any code point of the BMP, lone surrogates included); bit 3: put ``tcp://`` in
front of the decoded endpoint, bit 4: ``ipc://`` (bit 3 wins), so that mutations start past
the transport.

Properties:
- ``parse_endpoint`` returns an ``Endpoint`` or raises ``ZMQError`` (whose errno is EINVAL,
  EPROTONOSUPPORT or ENAMETOOLONG); the message is printable;
- a tcp endpoint has a port in 0..65535 (0 only for bind or a source) and a host that is not
  empty; its ``str`` parses again to the same host and port.
"""

from __future__ import annotations

from safezmq.constants import Errno
from safezmq.error import ZMQError
from safezmq.transport.endpoint import TRANSPORTS, Endpoint, parse_endpoint

from ._util import Reader

ERRNOS = (Errno.EINVAL, Errno.EPROTONOSUPPORT, Errno.ENAMETOOLONG)


def as_text(raw: bytes, how: int) -> str | bytes:
    if how == 0:
        return raw
    if how == 1:
        return raw.decode("utf-8", "surrogatepass" if _valid_utf8(raw) else "surrogateescape")
    if how == 2:
        return raw.decode("latin-1")
    return raw[: len(raw) & ~1].decode("utf-16-le", "surrogatepass")


def _valid_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return False
    return True


def check_endpoint(endpoint: str | bytes, bind: bool) -> Endpoint | None:
    try:
        parsed = parse_endpoint(endpoint, bind=bind)
    except ZMQError as exc:
        assert exc.errno in ERRNOS, exc.errno
        assert isinstance(exc.strerror, str)
        return None
    assert isinstance(parsed, Endpoint)
    assert parsed.transport in TRANSPORTS
    assert parsed.address
    if parsed.transport == "tcp":
        assert 0 <= parsed.port <= 65535
        assert parsed.port or bind
        if parsed.source is not None:
            assert not bind and 0 <= parsed.source[1] <= 65535
        again = parse_endpoint(str(parsed), bind=bind)
        assert (again.address, again.port) == (parsed.address, parsed.port), (again, parsed)
    return parsed


def check(data: bytes) -> None:
    reader = Reader(data)
    mode = reader.byte()
    endpoint = as_text(reader.rest(), (mode >> 1) & 3)
    prefix = "tcp://" if mode & 0x08 else "ipc://" if mode & 0x10 else ""
    endpoint = prefix.encode() + endpoint if isinstance(endpoint, bytes) else prefix + endpoint
    check_endpoint(endpoint, bool(mode & 1))


def test_one_input(data: bytes) -> None:
    check(data)


if __name__ == "__main__":
    from ._util import run_as_main

    run_as_main(__file__)
