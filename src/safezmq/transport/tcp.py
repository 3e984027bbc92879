"""TCP listening and connecting sockets, with libzmq's socket options applied."""

from __future__ import annotations

import asyncio
import fcntl
import ipaddress
import socket
import struct
from typing import Any

from ..constants import Errno, SocketOption
from ..error import ZMQError
from ..options import Options
from .endpoint import Endpoint

_SIOCGIFADDR = 0x8915


def interface_address(name: str) -> str | None:
    """The IPv4 address of a network interface such as ``lo`` or ``eth0`` (Linux)."""
    try:
        socket.if_nametoindex(name)
    except OSError:
        return None
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        packed = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
        return socket.inet_ntoa(packed[20:24])
    except OSError:
        return None
    finally:
        probe.close()


def resolve_bind_host(endpoint: Endpoint, ipv6: bool) -> tuple[int, str]:
    """(family, address) to bind for ``endpoint``'s host."""
    host = endpoint.address
    if host == "*":
        return (socket.AF_INET6, "::") if ipv6 else (socket.AF_INET, "0.0.0.0")
    if host == "localhost":
        return socket.AF_INET, "127.0.0.1"
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        address = interface_address(host)
        if address is None:
            raise ZMQError(
                Errno.ENODEV,
                f"cannot bind {endpoint}: {host!r} is neither an IP address nor a network "
                "interface of this machine",
            ) from None
        return socket.AF_INET, address
    if ip.version == 6:
        if not ipv6:
            raise ZMQError(
                Errno.EINVAL,
                f"cannot bind {endpoint}: an IPv6 address needs the IPV6 socket option set to 1",
            )
        return socket.AF_INET6, host
    return socket.AF_INET, host


def configure_buffers(sock: socket.socket, options: Options) -> None:
    """SNDBUF/RCVBUF, set before listen() or connect() as libzmq does: the TCP window is
    negotiated at connection time, and shrinking it afterwards stalls the connection."""
    for opt, name in (
        (SocketOption.SNDBUF, socket.SO_SNDBUF),
        (SocketOption.RCVBUF, socket.SO_RCVBUF),
    ):
        if options[opt] >= 0:
            sock.setsockopt(socket.SOL_SOCKET, name, options[opt])


def configure(sock: socket.socket, options: Options) -> None:
    """Apply the per-connection TCP options libzmq applies."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass
    keepalive = options[SocketOption.TCP_KEEPALIVE]
    if keepalive >= 0:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, keepalive)
        if keepalive:
            for opt, sockopt in (
                (SocketOption.TCP_KEEPALIVE_CNT, "TCP_KEEPCNT"),
                (SocketOption.TCP_KEEPALIVE_IDLE, "TCP_KEEPIDLE"),
                (SocketOption.TCP_KEEPALIVE_INTVL, "TCP_KEEPINTVL"),
            ):
                value = options[opt]
                if value > 0 and hasattr(socket, sockopt):
                    sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, sockopt), value)
    tos = options[SocketOption.TOS]
    if tos and sock.family == socket.AF_INET:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)


def listen(endpoint: Endpoint, options: Options) -> tuple[socket.socket, str]:
    """A listening socket for ``endpoint`` and the endpoint it actually got (LAST_ENDPOINT)."""
    family, host = resolve_bind_host(endpoint, bool(options[SocketOption.IPV6]))
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        configure_buffers(sock, options)  # accepted connections inherit them
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind((host, endpoint.port))
        sock.listen(options[SocketOption.BACKLOG])
    except OSError as exc:
        sock.close()
        errno = Errno.EADDRINUSE if exc.errno == Errno.EADDRINUSE else exc.errno or Errno.EINVAL
        why = "the address is already in use" if errno == Errno.EADDRINUSE else exc.strerror
        raise ZMQError(errno, f"cannot bind {endpoint}: {why}") from None
    sock.setblocking(False)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if family == socket.AF_INET6 else bound_host
    return sock, f"tcp://{shown}:{bound_port}"


def _numeric(address: str, port: int, family: int) -> list[Any] | None:
    """``address`` resolved without a lookup when it is a numeric IP address, else None.

    The loop's getaddrinfo runs in its thread pool, so every reconnect to a literal address
    would wake (and, under churn, grow) that pool for an answer that needs no resolver."""
    try:
        return socket.getaddrinfo(
            address, port, family=family, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST
        )
    except (socket.gaierror, UnicodeError):
        return None


async def connect(
    loop: asyncio.AbstractEventLoop, endpoint: Endpoint, options: Options
) -> socket.socket:
    """Resolve and connect (raises OSError on failure; the caller retries)."""
    family = socket.AF_UNSPEC if options[SocketOption.IPV6] else socket.AF_INET
    infos = _numeric(endpoint.address, endpoint.port, family)
    if infos is None:
        infos = await loop.getaddrinfo(
            endpoint.address, endpoint.port, family=family, type=socket.SOCK_STREAM
        )
    if not infos:
        raise OSError(Errno.EHOSTUNREACH, f"cannot resolve {endpoint.address}")
    last: OSError | None = None
    for fam, kind, proto, _, address in infos:
        sock = socket.socket(fam, kind, proto)
        try:
            sock.setblocking(False)
            if endpoint.source is not None:
                src_host, src_port = endpoint.source
                sock.bind(("" if src_host == "*" else src_host, src_port))
            configure_buffers(sock, options)
            configure(sock, options)
            timeout = options[SocketOption.CONNECT_TIMEOUT]
            connecting = loop.sock_connect(sock, address)
            if timeout > 0:
                await asyncio.wait_for(connecting, timeout / 1000)
            else:
                await connecting
            return sock
        except (OSError, asyncio.TimeoutError) as exc:
            sock.close()
            last = exc if isinstance(exc, OSError) else TimeoutError("connect timed out")
    assert last is not None
    raise last
