"""Server-key rotation without downtime: one CURVE server socket accepts two long-term keys.

libzmq gives a CURVE server one key, so replacing it means a second socket or endpoint and
clients that must know which to use.  A safezmq server socket can accept its current key and
the next one during a rotation window; every client, libzmq or safezmq, simply connects with
the server key it knows, and nothing changes on the wire::

    begin_rotation(server, next_secret)   # from now on both keys are accepted
    ...                                   # give clients the next public key, as they update
    rotation_status(server)               # handshakes per key: is anyone still on the old one?
    finish_rotation(server)               # the next key is the only one; the old is retired

Sessions already up are never touched.  The calls work on a bound socket (its endpoints stay
bound) and apply to every CURVE server endpoint of the socket, present and future.  Files:
``safezmq keygen --rotate NAME`` writes ``NAME.next.key``/``NAME.next.key_secret``,
:func:`load_server_keys` reads both pairs, ``safezmq keys rotate NAME`` promotes the next pair
once the rotation is finished (docs/security.md has the runbook).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from ..constants import Errno, SocketOption
from ..error import ZMQError
from ..protocol import z85
from ..protocol.curve import ServerKeys
from .certs import PUBLIC_SUFFIX, SECRET_SUFFIX, PathLike, _check_name, load_certificate

#: The name part of a next key pair: ``server.key`` is rotated to ``server.next.key``.
NEXT = ".next"
#: Where ``safezmq keys rotate`` keeps a retired pair (a subdirectory, mode 0700).
RETIRED_DIR = "retired"


@dataclass(frozen=True)
class RotationStatus:
    """Where a server socket's rotation stands (public keys only, Z85)."""

    rotating: bool
    next_public_key: bytes | None
    #: HELLOs boxed to the current key and to the next one since begin_rotation().
    handshakes_current: int
    handshakes_next: int
    #: Seconds since a client last used the current (old) key; None: none did since the start.
    seconds_since_current: float | None


def _check_server(socket: Any) -> None:
    if socket.closed:
        raise ZMQError(Errno.ENOTSOCK, "the socket is closed")
    options = socket.options
    if options.mechanism != 2 or not options[SocketOption.CURVE_SERVER]:
        raise ZMQError(
            Errno.EINVAL,
            "server-key rotation is for CURVE server sockets: set curve_server=1 and "
            "curve_secretkey first",
        )


def _keys(socket: Any) -> ServerKeys:
    engine = socket._engine_for_io()
    keys: ServerKeys = engine.server_keys
    return keys


def _on_loop(socket: Any, fn: Any, *args: Any) -> Any:
    return socket.context._runner().call(fn, *args)


def begin_rotation(socket: Any, next_secret_key: bytes | str) -> None:
    """Accept ``next_secret_key`` (32 bytes or 40 Z85 characters) as well as the current key,
    on every CURVE server endpoint of ``socket``, from the next handshake on."""
    _check_server(socket)
    keys = _keys(socket)
    try:
        _on_loop(socket, keys.begin, next_secret_key)
    except ValueError as exc:
        raise ZMQError(Errno.EINVAL, f"begin_rotation: {exc}") from None


def finish_rotation(socket: Any) -> None:
    """Retire the current key: from the next handshake on only the next key is accepted (it
    also becomes the socket's curve_secretkey, for endpoints bound later).  Live sessions stay."""
    _check_server(socket)
    keys = _keys(socket)

    def finish() -> bytes | None:
        pending = keys._next
        keys.finish()
        return None if pending is None else pending[0].reveal()

    try:
        secret = _on_loop(socket, finish)
    except ValueError as exc:
        raise ZMQError(Errno.EINVAL, f"finish_rotation: {exc}; call begin_rotation first") from None
    socket.setsockopt(SocketOption.CURVE_SECRETKEY, secret)
    if socket.options[SocketOption.CURVE_PUBLICKEY]:
        socket.setsockopt(SocketOption.CURVE_PUBLICKEY, keys.current_public_key)


def cancel_rotation(socket: Any) -> None:
    """Stop accepting the next key (a client that moved to it is then refused)."""
    _check_server(socket)
    _on_loop(socket, _keys(socket).cancel)


def rotation_status(socket: Any) -> RotationStatus:
    """How many handshakes used each key since begin_rotation(): retire the old key when no
    client has used it for as long as your clients take to reconnect."""
    _check_server(socket)
    keys = _keys(socket)

    def read() -> RotationStatus:
        next_public = keys.next_public_key
        last = keys.last_current_at
        return RotationStatus(
            next_public is not None,
            None if next_public is None else z85.encode(next_public),
            keys.handshakes_current,
            keys.handshakes_next,
            None if last is None else max(0.0, time.time() - last),
        )

    status: RotationStatus = _on_loop(socket, read)
    return status


def is_rotating(socket: Any) -> bool:
    """Does ``socket`` accept a second server key now?  (For audit(); never raises.)"""
    engine = getattr(socket, "_engine", None)
    keys = getattr(engine, "server_keys", None)
    return keys is not None and keys.next_public_key is not None


def load_server_keys(directory: PathLike, name: str) -> tuple[bytes, bytes | None]:
    """The secret keys (Z85) of ``NAME.key_secret`` and, if a rotation was prepared,
    ``NAME.next.key_secret``: what to give the server socket and begin_rotation()."""
    _check_name(name)
    base = os.path.join(os.fspath(directory), name)
    _, current = load_certificate(base + SECRET_SUFFIX)
    if current is None:
        raise ValueError(f"{base + SECRET_SUFFIX!r} holds no secret key")
    next_file = base + NEXT + SECRET_SUFFIX
    if not os.path.exists(next_file):
        return current, None
    _, upcoming = load_certificate(next_file)
    return current, upcoming


def promote_next(directory: PathLike, name: str) -> tuple[str, str]:
    """Files after finish_rotation(): move ``NAME.key``/``NAME.key_secret`` to
    ``retired/NAME.<time>.key...`` and ``NAME.next.*`` to ``NAME.*``.  Returns the new public
    file and the retired one."""
    _check_name(name)
    root = os.fspath(directory)
    base = os.path.join(root, name)
    if not os.path.exists(base + NEXT + SECRET_SUFFIX):
        raise FileNotFoundError(
            f"{base + NEXT + SECRET_SUFFIX} does not exist: prepare a rotation first "
            f"(safezmq keygen --rotate {name})"
        )
    load_certificate(base + NEXT + SECRET_SUFFIX)  # valid, and not readable by others
    retired = os.path.join(root, RETIRED_DIR)
    os.makedirs(retired, mode=0o700, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    retired_base = os.path.join(retired, f"{name}.{stamp}")
    for suffix in (SECRET_SUFFIX, PUBLIC_SUFFIX):
        if os.path.exists(base + suffix):
            os.replace(base + suffix, retired_base + suffix)
    for suffix in (SECRET_SUFFIX, PUBLIC_SUFFIX):
        os.replace(base + NEXT + suffix, base + suffix)
    return base + PUBLIC_SUFFIX, retired_base + PUBLIC_SUFFIX


__all__ = [
    "RotationStatus",
    "begin_rotation",
    "cancel_rotation",
    "finish_rotation",
    "is_rotating",
    "load_server_keys",
    "promote_next",
    "rotation_status",
]
