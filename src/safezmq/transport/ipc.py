"""Unix domain sockets for ``ipc://`` endpoints.

Socket files are created mode 0600 (only the owner may connect) unless configured otherwise; an
existing path is replaced only when it is itself a socket (a stale one from a previous run) and
never followed through a symlink.  ``ipc://@name`` uses Linux's abstract namespace (no file).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import stat
import struct
import tempfile
from typing import Any

from ..constants import Errno, SocketOption
from ..error import ZMQError
from .endpoint import Endpoint

#: Mode of socket files we create: owner read/write only (the seed's IPC hardening).
DEFAULT_IPC_MODE = 0o600
#: struct ucred: pid, uid, gid.
_CREDS = struct.Struct("3i")


def _address(endpoint: Endpoint) -> str:
    if endpoint.abstract:
        return "\0" + endpoint.address[1:]
    return endpoint.address


def listen(endpoint: Endpoint, mode: int = DEFAULT_IPC_MODE) -> tuple[socket.socket, str]:
    """A listening Unix socket and the endpoint it got (``ipc://*`` becomes a private path)."""
    if endpoint.wildcard:
        directory = tempfile.mkdtemp(prefix="safezmq-")  # created 0700
        path = os.path.join(directory, "socket")
        endpoint = Endpoint("ipc", path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        if not endpoint.abstract:
            _clear_stale(endpoint)
        sock.bind(_address(endpoint))
        if not endpoint.abstract:
            os.chmod(endpoint.address, mode)
        sock.listen(100)
    except ZMQError:
        sock.close()
        raise
    except OSError as exc:
        sock.close()
        errno = exc.errno or Errno.EINVAL
        raise ZMQError(errno, f"cannot bind {endpoint}: {exc.strerror}") from None
    sock.setblocking(False)
    return sock, str(endpoint)


def _clear_stale(endpoint: Endpoint) -> None:
    try:
        info = os.lstat(endpoint.address)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(info.st_mode):
        raise ZMQError(
            Errno.EADDRINUSE,
            f"cannot bind {endpoint}: the path exists and is not a socket; "
            "safezmq never deletes it — choose another path or remove it yourself",
        )
    # A socket file with a live listener behind it is in use: refuse, rather than silently
    # stealing the path from a running process (libzmq unlinks it regardless).
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(0.5)
        probe.connect(endpoint.address)
    except OSError:
        # Nobody listens: a stale file from a previous run, or from a socket of ours whose
        # listener is being closed (which removes its file too: either may come first).
        with contextlib.suppress(FileNotFoundError):
            os.unlink(endpoint.address)
        return
    finally:
        probe.close()
    raise ZMQError(
        Errno.EADDRINUSE, f"cannot bind {endpoint}: another socket is listening on that path"
    )


def file_identity(endpoint_text: str) -> tuple[int, int] | None:
    """The socket file of an ipc endpoint just bound, as (device, inode); None for an
    abstract address (no file) or if it is gone already."""
    path = endpoint_text[len("ipc://") :]
    if path.startswith("@") or not path:
        return None
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def remove(endpoint_text: str, identity: tuple[int, int] | None) -> None:
    """Remove the socket file of an ipc endpoint we bound (on unbind/close), if it is still
    the one we made (``file_identity``): by then another socket may have bound the path anew
    (closing is asynchronous), and its file must stay."""
    if identity is None:
        return
    path = endpoint_text[len("ipc://") :]
    try:
        info = os.lstat(path)
        if stat.S_ISSOCK(info.st_mode) and (info.st_dev, info.st_ino) == identity:
            os.unlink(path)
    except OSError:
        pass


def peer_allowed(conn: socket.socket, options: Any) -> bool:
    """Check the peer's credentials (SO_PEERCRED) against IPC_FILTER_UID/GID/PID: with no
    filter set anyone who may open the socket file gets in; with filters, only a match."""
    uids = options[SocketOption.IPC_FILTER_UID]
    gids = options[SocketOption.IPC_FILTER_GID]
    pids = options[SocketOption.IPC_FILTER_PID]
    if not (uids or gids or pids):
        return True
    try:
        raw = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _CREDS.size)
    except (OSError, AttributeError):
        return False  # cannot tell who it is: refuse
    pid, uid, gid = _CREDS.unpack(raw)
    return uid in uids or gid in gids or pid in pids


async def connect(loop: asyncio.AbstractEventLoop, endpoint: Endpoint) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        await loop.sock_connect(sock, _address(endpoint))
    except OSError:
        sock.close()
        raise
    return sock
