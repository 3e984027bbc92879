"""Endpoint strings, parsed strictly.

``tcp://host:port`` (``*`` host or port for bind; ``[::1]`` for IPv6; ``src;host:port`` to pick a
source address on connect), ``ipc://path`` (``ipc://@name`` for Linux's abstract namespace,
``ipc://*`` for a fresh private path on bind), ``inproc://name``, and libzmq's multicast syntax
``pgm://interface;group:port`` / ``epgm://interface;group:port`` (interface: a name such as
``eth0`` or an IPv4 address, empty for the route's default; group: an IPv4 multicast address;
PGM is refused by the default policy, see policy.check_multicast).  A bad endpoint is a
ZMQError whose errno is libzmq's and whose message names the endpoint and the problem.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from dataclasses import dataclass

from ..constants import Errno
from ..error import ZMQError

TRANSPORTS = ("tcp", "ipc", "inproc", "pgm", "epgm")
#: PGM multicast (RFC 3208): raw IP (``pgm``) or in UDP (``epgm``).
MULTICAST = ("pgm", "epgm")
#: libzmq transports safezmq does not speak (yet), with why.
UNSUPPORTED = {
    "ws": "WebSocket transport is not supported",
    "wss": "WebSocket transport is not supported",
    "tipc": "TIPC transport is not supported",
    "vmci": "VMCI transport is not supported",
    "udp": "UDP is only for RADIO/DISH, which safezmq does not implement",
    "norm": "NORM transport is not supported",
}
#: sun_path holds 108 octets including the terminating NUL.
MAX_IPC_PATH = 107


@dataclass(frozen=True, slots=True)
class Endpoint:
    transport: str
    #: tcp: host ('*' for all interfaces on bind); ipc: path; inproc: name.
    address: str
    port: int = 0
    #: tcp connect: optional (host, port) to bind the local end to.
    source: tuple[str, int] | None = None
    #: pgm/epgm: the multicast group (``address`` is then the interface, ``port`` the port).
    group: str = ""

    @property
    def abstract(self) -> bool:
        return self.transport == "ipc" and self.address.startswith("@")

    @property
    def wildcard(self) -> bool:
        return self.address == "*"

    def __str__(self) -> str:
        if self.transport == "tcp":
            host = f"[{self.address}]" if ":" in self.address else self.address
            return f"tcp://{host}:{self.port if self.port else '*'}"
        if self.transport in MULTICAST:
            return f"{self.transport}://{self.address};{self.group}:{self.port}"
        return f"{self.transport}://{self.address}"


def _fail(errno: int, endpoint: str, problem: str) -> ZMQError:
    return ZMQError(errno, f"invalid endpoint {endpoint!r}: {problem}")


def parse_endpoint(endpoint: str | bytes, *, bind: bool) -> Endpoint:
    """Parse ``endpoint`` for a bind (``bind=True``) or a connect."""
    if isinstance(endpoint, bytes):
        try:
            endpoint = endpoint.decode("utf-8")
        except UnicodeDecodeError:
            raise ZMQError(Errno.EINVAL, "endpoint is not valid UTF-8") from None
    if not isinstance(endpoint, str):
        raise ZMQError(Errno.EINVAL, f"endpoint must be a string, not {type(endpoint).__name__}")
    transport, sep, address = endpoint.partition("://")
    if not sep:
        raise _fail(
            Errno.EINVAL, endpoint, "expected transport://address, e.g. tcp://127.0.0.1:5555"
        )
    if transport in UNSUPPORTED:
        raise _fail(Errno.EPROTONOSUPPORT, endpoint, UNSUPPORTED[transport])
    if transport not in TRANSPORTS:
        raise _fail(
            Errno.EPROTONOSUPPORT,
            endpoint,
            f"unknown transport {transport!r}; use tcp, ipc or inproc (or pgm/epgm)",
        )
    if not address:
        raise _fail(Errno.EINVAL, endpoint, "the address is empty")
    if "\x00" in address:
        raise _fail(Errno.EINVAL, endpoint, "the address contains a NUL character")
    if transport == "tcp":
        return _parse_tcp(endpoint, address, bind)
    if transport == "ipc":
        return _parse_ipc(endpoint, address, bind)
    if transport in MULTICAST:
        return _parse_multicast(endpoint, transport, address)
    return Endpoint("inproc", address)


def _parse_tcp(endpoint: str, address: str, bind: bool) -> Endpoint:
    source: tuple[str, int] | None = None
    if ";" in address:
        if bind:
            raise _fail(Errno.EINVAL, endpoint, "a source address (src;dst) is for connect only")
        src, address = address.split(";", 1)
        src_host, src_port = _host_port(endpoint, src, allow_wildcard_port=True)
        source = (src_host, src_port)
    host, port = _host_port(endpoint, address, allow_wildcard_port=bind)
    if not bind and host == "*":
        raise _fail(Errno.EINVAL, endpoint, "cannot connect to '*'; name a host")
    return Endpoint("tcp", host, port, source)


def _host_port(endpoint: str, text: str, *, allow_wildcard_port: bool) -> tuple[str, int]:
    if text.startswith("["):
        close = text.find("]")
        if close < 0 or not text[close + 1 :].startswith(":"):
            raise _fail(Errno.EINVAL, endpoint, "an IPv6 address is written [addr]:port")
        host, port_text = text[1:close], text[close + 2 :]
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            raise _fail(Errno.EINVAL, endpoint, f"{host!r} is not an IPv6 address") from None
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep or not host:
            raise _fail(Errno.EINVAL, endpoint, "expected host:port")
        if ":" in host:
            raise _fail(Errno.EINVAL, endpoint, "write IPv6 addresses in brackets: [addr]:port")
    if port_text in ("*", "0", "!"):
        if not allow_wildcard_port:
            raise _fail(Errno.EINVAL, endpoint, "connect needs a port number, not a wildcard")
        return host, 0
    if not (port_text.isascii() and port_text.isdigit()):  # "²" is a digit to str.isdigit
        raise _fail(Errno.EINVAL, endpoint, f"port {port_text!r} is not a number")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise _fail(Errno.EINVAL, endpoint, f"port {port} is outside 1-65535")
    if host != "*" and not _valid_host(host):
        raise _fail(Errno.EINVAL, endpoint, f"{host!r} is not a valid host name or address")
    return host, port


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        return True
    except ValueError:
        pass
    if len(host) > 253:
        return False
    labels = host.rstrip(".").split(".")
    return all(
        0 < len(label) <= 63
        and label[0] != "-"
        and label[-1] != "-"
        and all(c.isalnum() or c in "-_" for c in label)
        for label in labels
    )


def _parse_ipc(endpoint: str, address: str, bind: bool) -> Endpoint:
    if address == "*":
        if not bind:
            raise _fail(Errno.EINVAL, endpoint, "cannot connect to ipc://*")
        return Endpoint("ipc", "*")
    try:
        # What the kernel will be given: a lone surrogate (from a path that was bytes in an
        # unknown encoding, or made up) cannot be, so refuse it here rather than at bind.
        encoded = os.fsencode(address)
    except UnicodeEncodeError as exc:
        raise _fail(
            Errno.EINVAL,
            endpoint,
            f"the path cannot be encoded for the file system ({exc.reason} at character "
            f"{exc.start}); use a path of valid characters",
        ) from None
    if address.startswith("@"):
        if not sys.platform.startswith("linux"):
            raise _fail(Errno.EPROTONOSUPPORT, endpoint, "abstract ipc names need Linux")
        if len(encoded) > MAX_IPC_PATH:
            raise _fail(Errno.ENAMETOOLONG, endpoint, "abstract name is too long")
        return Endpoint("ipc", address)
    if len(encoded) > MAX_IPC_PATH:
        raise _fail(
            Errno.ENAMETOOLONG,
            endpoint,
            f"the path is longer than {MAX_IPC_PATH} bytes (the limit of a Unix socket address)",
        )
    return Endpoint("ipc", address)


def _parse_multicast(endpoint: str, transport: str, address: str) -> Endpoint:
    """``interface;group:port`` (libzmq's syntax; safezmq takes one IPv4 group)."""
    interface, sep, rest = address.rpartition(";")
    if not sep:
        raise _fail(
            Errno.EINVAL, endpoint, "expected interface;group:port, e.g. eth0;239.192.1.1:5555"
        )
    if ";" in interface:
        raise _fail(
            Errno.EINVAL, endpoint, "safezmq takes one interface and one group (interface;group)"
        )
    group, sep, port_text = rest.rpartition(":")
    if not sep or not group:
        raise _fail(Errno.EINVAL, endpoint, "expected interface;group:port")
    if not (port_text.isascii() and port_text.isdigit()):
        raise _fail(Errno.EINVAL, endpoint, f"port {port_text!r} is not a number")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise _fail(Errno.EINVAL, endpoint, f"port {port} is outside 1-65535")
    if "," in group:
        raise _fail(Errno.EINVAL, endpoint, "safezmq joins one multicast group per endpoint")
    try:
        ip = ipaddress.ip_address(group.strip("[]"))
    except ValueError:
        raise _fail(Errno.EINVAL, endpoint, f"{group!r} is not an IP multicast address") from None
    if ip.version != 4:
        raise _fail(Errno.EINVAL, endpoint, "safezmq's PGM takes IPv4 multicast groups only")
    if not ip.is_multicast:
        raise _fail(
            Errno.EINVAL, endpoint, f"{group} is not a multicast group (224.0.0.0-239.255.255.255)"
        )
    if interface and not _valid_interface(interface):
        raise _fail(
            Errno.EINVAL, endpoint, f"{interface!r} is not an interface name or IPv4 address"
        )
    return Endpoint(transport, interface, port, group=str(ip))


def _valid_interface(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).version == 4
    except ValueError:
        pass
    # Linux interface names: up to 15 octets, no slash, colon or white space.
    return 0 < len(text) <= 15 and all(
        c.isascii() and c.isprintable() and c not in "/: " for c in text
    )
