"""Socket option setting: any option number and any Python value give success, ``ZMQError`` or
``TypeError`` (pyzmq's API), nothing else.

Input: ``socket-type | (option value)*``.  An option is two octets: below 0x80 the first picks a
known option by index, otherwise the next two are a raw (signed) option number.  A value is a
kind octet then its content: integers of every width (beyond 64 bits too), bools, bytes, str,
bytearray, memoryviews (including ones whose items are not octets), None, floats, lists, enum
members and arbitrary objects.

Each (option, value) is applied to a fresh ``Options`` (``set`` then ``get``) and to a real
``safezmq`` socket of that type (``setsockopt`` then ``getsockopt``; for str values also
``setsockopt_string``, which may raise UnicodeEncodeError for text its encoding cannot hold,
as pyzmq's does).

Properties: only the exceptions above; a value that was accepted reads back without error
(unless the option is write-only, a ZMQError) and, for plain integer options, as it was given;
and whatever values were accepted, the engine can build a connection from the options (as
``SocketEngine.new_connection`` does at connect and accept time), failing only with its own
documented CURVE configuration errors (a missing or mismatched key).
"""

from __future__ import annotations

import array
import atexit
import struct
from types import SimpleNamespace
from typing import Any

import safezmq
from safezmq.constants import SocketOption, SocketType
from safezmq.error import ZMQError
from safezmq.options import SPECS, Options
from safezmq.protocol import CookieKeyring

from ._util import Reader

OPTIONS = sorted(SocketOption, key=int)
#: The socket types safezmq builds (the draft types are refused at creation).
TYPES = [t for t in SocketType if t <= SocketType.STREAM and t.name not in ("XREQ", "XREP")]
#: Recreate the cached sockets after this many uses, so that state (subscriptions, filters)
#: cannot pile up over a long fuzzing run.
SOCKET_USES = 200


class _Opaque:
    def __repr__(self) -> str:
        return "<opaque>"


def read_value(reader: Reader) -> Any:
    kind = reader.byte() % 16
    if kind == 0:
        return int.from_bytes(reader.take(1), "big", signed=True)
    if kind == 1:
        return int.from_bytes(reader.take(4), "big", signed=True)
    if kind == 2:
        return int.from_bytes(reader.take(8), "big", signed=True)
    if kind == 3:
        return int.from_bytes(reader.sized()[:32], "big", signed=bool(reader.byte() & 1))
    if kind == 4:
        return bool(reader.byte() & 1)
    if kind == 5:
        return reader.sized()
    if kind == 6:
        return reader.sized().decode("utf-8", "surrogateescape")
    if kind == 7:
        return bytearray(reader.sized())
    if kind == 8:
        return memoryview(reader.sized())
    if kind == 9:
        raw = reader.sized()
        return memoryview(array.array("I", raw[: len(raw) & ~3]))
    if kind == 10:
        return None
    if kind == 11:
        return struct.unpack(">d", reader.take(8).ljust(8, b"\x00"))[0]
    if kind == 12:
        return list(reader.sized())
    if kind == 13:
        return SocketType(TYPES[reader.byte() % len(TYPES)])
    if kind == 14:
        return reader.sized().decode("latin-1")
    return _Opaque()


def read_option(reader: Reader) -> int:
    first = reader.byte()
    if first < 0x80:
        return int(OPTIONS[first % len(OPTIONS)])
    return int.from_bytes(reader.take(2), "big", signed=True)


def check_options(
    socket_type: SocketType, option: int, value: Any, options: Options | None = None
) -> None:
    """Set ``option`` on ``options`` (a fresh one by default) and read it back."""
    if options is None:
        options = Options(socket_type)
    try:
        options.set(option, value)
    except (ZMQError, TypeError):
        return
    try:
        got = options.get(option)
    except ZMQError:
        return
    opt = SocketOption(option)
    spec = SPECS.get(opt)
    plain_int = type(value) is int and not isinstance(spec and spec.default, (bytes, tuple))
    if plain_int and opt != SocketOption.HEARTBEAT_TTL:
        assert got == value, (opt.name, value, got)


def check_connection(socket_type: SocketType, options: Options) -> None:
    """The engine builds a Connection from options the way ``SocketEngine.new_connection``
    does (its own method, run on a stand-in for the engine)."""
    from safezmq.engine.socket_engine import SocketEngine

    engine: Any = SimpleNamespace(
        socket=SimpleNamespace(socket_type_name=socket_type.name.encode()),
        _keyring=CookieKeyring(),
        zap=None,
        runner=SimpleNamespace(chunk_pool=None),
    )
    engine._mechanism = lambda o, as_server: SocketEngine._mechanism(engine, o, as_server)
    for as_server in (False, True):
        try:
            SocketEngine.new_connection(engine, options, as_server, "127.0.0.1")
        except ValueError as exc:
            # The engine's own refusals of an incomplete or inconsistent CURVE setup.
            assert "CURVE" in str(exc), f"accepted options cannot make a connection: {exc}"


_context: safezmq.Context | None = None
_sockets: dict[SocketType, tuple[safezmq.Socket, int]] = {}


def _socket(socket_type: SocketType) -> safezmq.Socket:
    global _context
    if _context is None:
        _context = safezmq.Context()
        atexit.register(close)
    sock, uses = _sockets.get(socket_type, (None, SOCKET_USES))
    if sock is None or uses >= SOCKET_USES:
        if sock is not None:
            sock.close(0)
        sock, uses = _context.socket(socket_type), 0
    _sockets[socket_type] = (sock, uses + 1)
    return sock


def close() -> None:
    """Close the cached sockets and their context (the next use makes new ones)."""
    global _context
    for sock, _ in _sockets.values():
        sock.close(0)
    _sockets.clear()
    if _context is not None:
        _context.destroy(0)
        _context = None


def check_socket(socket_type: SocketType, option: int, value: Any) -> None:
    sock = _socket(socket_type)
    try:
        sock.setsockopt(option, value)
    except (ZMQError, TypeError):
        pass
    else:
        try:
            sock.getsockopt(option)
        except ZMQError:
            pass
    if isinstance(value, str):
        try:
            sock.setsockopt_string(option, value)
        except (ZMQError, TypeError):
            pass
        except UnicodeEncodeError:
            assert any(0xD800 <= ord(c) <= 0xDFFF for c in value)


def check(data: bytes) -> None:
    reader = Reader(data)
    socket_type = TYPES[reader.byte() % len(TYPES)]
    options = Options(socket_type)  # every value of this input, set in turn
    for _ in range(8):
        if reader.exhausted:
            break
        option = read_option(reader)
        value = read_value(reader)
        check_options(socket_type, option, value)
        check_options(socket_type, option, value, options)
        check_socket(socket_type, option, value)
    if socket_type != SocketType.STREAM:  # (STREAM speaks raw TCP, no ZMTP Connection)
        check_connection(socket_type, options)


def test_one_input(data: bytes) -> None:
    check(data)


if __name__ == "__main__":
    from ._util import run_as_main

    run_as_main(__file__)
