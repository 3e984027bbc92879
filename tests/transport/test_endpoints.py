"""Endpoint strings: bad ones fail with libzmq's errno and a message naming the endpoint; the
valid forms pyzmq programs use all work; ipc socket files are private and never clobber."""

from __future__ import annotations

import errno
import os
import socket as pysocket
import stat
from collections.abc import Iterator
from typing import Any

import pytest
import zmq as pyzmq

import safezmq
from tests.api.compat import LIBS, PROMPT

LONG_NAME = "x" * 200


@pytest.fixture(params=LIBS)
def lib(request: pytest.FixtureRequest) -> Any:
    return request.param


@pytest.fixture
def lib_ctx(lib: Any) -> Iterator[Any]:
    # These tests are about endpoint syntax and binding, compared with libzmq; the
    # plaintext-on-the-network refusal (tests/security/test_policy.py) is relaxed here.
    if lib is safezmq:
        context = safezmq.Context(policy=safezmq.Policy(allow_plaintext_network=True))
    else:
        context = lib.Context()
    yield context
    context.destroy(linger=0)


def sock(ctx: Any, kind: int, **options: Any) -> Any:
    s = ctx.socket(kind)
    s.linger = 0
    for name, value in options.items():
        setattr(s, name, value)
    return s


def delivers(lib: Any, ctx: Any, bind_to: str | bytes, connect_to: str | None = None) -> str:
    """Bind a PULL to ``bind_to``, connect a PUSH (to ``connect_to`` or the bound endpoint),
    check a message goes through; return the bound endpoint."""
    ipv6 = int(b"[" in (bind_to if isinstance(bind_to, bytes) else bind_to.encode()))
    pull = sock(ctx, lib.PULL, ipv6=ipv6)
    pull.bind(bind_to)
    bound = pull.last_endpoint.decode()
    push = sock(ctx, lib.PUSH, ipv6=ipv6)
    push.connect(connect_to or bound)
    push.send(b"through")
    assert pull.poll(PROMPT * 1000), f"nothing arrived at {bound}"
    assert pull.recv() == b"through"
    return str(bound)


# -- bad endpoints ----------------------------------------------------------------------------

EINVAL = safezmq.EINVAL
EPROTONOSUPPORT = safezmq.EPROTONOSUPPORT
ENAMETOOLONG = safezmq.ENAMETOOLONG
ENOCOMPATPROTO = safezmq.ENOCOMPATPROTO

#: (bind or connect, endpoint, errno, what the message says, libzmq fails the same way)
BAD: list[tuple[str, str, int, str, bool]] = [
    ("bind", "nocolon", EINVAL, "expected transport://address", True),
    ("connect", "tcp:/127.0.0.1:5555", EINVAL, "expected transport://address", True),
    ("bind", "foo://x", EPROTONOSUPPORT, "unknown transport 'foo'", True),
    ("connect", "udpx://127.0.0.1:5", EPROTONOSUPPORT, "unknown transport", True),
    ("bind", "tcp://127.0.0.1", EINVAL, "expected host:port", True),
    ("connect", "tcp://127.0.0.1", EINVAL, "expected host:port", True),
    ("bind", "tcp://:5555", EINVAL, "expected host:port", False),
    ("connect", "tcp://127.0.0.1:0", EINVAL, "connect needs a port number", False),
    ("connect", "tcp://127.0.0.1:*", EINVAL, "connect needs a port number", True),
    ("bind", "tcp://127.0.0.1:70000", EINVAL, "port 70000 is outside 1-65535", False),
    ("connect", "tcp://127.0.0.1:70000", EINVAL, "port 70000 is outside 1-65535", False),
    ("bind", "tcp://127.0.0.1:abc", EINVAL, "port 'abc' is not a number", True),
    ("bind", "tcp://127.0.0.1:-1", EINVAL, "port '-1' is not a number", False),
    ("connect", "tcp://*:5555", EINVAL, "cannot connect to '*'", True),
    ("bind", "tcp://[::1:5555", EINVAL, "an IPv6 address is written [addr]:port", False),
    ("connect", "tcp://[::1]5555", EINVAL, "an IPv6 address is written [addr]:port", False),
    ("bind", "tcp://::1:5555", EINVAL, "write IPv6 addresses in brackets", False),
    ("bind", "tcp://[nonsense]:5555", EINVAL, "is not an IPv6 address", False),
    ("connect", "tcp://bad host!:5555", EINVAL, "not a valid host name or address", False),
    ("bind", "tcp://1.2.3.4:5555;127.0.0.1:5556", EINVAL, "for connect only", False),
    ("bind", "ipc://" + LONG_NAME, ENAMETOOLONG, "longer than 107 bytes", True),
    ("connect", "ipc://" + LONG_NAME, ENAMETOOLONG, "longer than 107 bytes", False),
    ("bind", "ipc://@" + LONG_NAME, ENAMETOOLONG, "abstract name is too long", False),
    ("connect", "ipc://*", EINVAL, "cannot connect to ipc://*", False),
    ("bind", "inproc://", EINVAL, "the address is empty", True),
    ("connect", "inproc://", EINVAL, "the address is empty", True),
    ("bind", "tcp://", EINVAL, "the address is empty", True),
    ("bind", "inproc://a\x00b", EINVAL, "NUL character", False),
    # PGM is one-way: libzmq (built with OpenPGM) refuses it to a PAIR socket the same way.
    ("bind", "pgm://eth0;239.192.1.1:5555", ENOCOMPATPROTO, "PUB, XPUB, SUB, XSUB", False),
    ("connect", "epgm://eth0;239.192.1.1:5555", ENOCOMPATPROTO, "PUB, XPUB, SUB, XSUB", False),
    ("bind", "ws://127.0.0.1:5555", EPROTONOSUPPORT, "WebSocket transport", False),
    ("bind", "tipc://{5560,0,0}", EPROTONOSUPPORT, "TIPC transport", False),
    ("connect", "udp://127.0.0.1:5555", EPROTONOSUPPORT, "RADIO/DISH", False),
]


@pytest.mark.parametrize(
    ("method", "endpoint", "code", "says", "libzmq_too"),
    BAD,
    ids=[f"{m}-{e[:32]}" for m, e, _, _, _ in BAD],
)
def test_bad_endpoints(
    ctx: safezmq.Context, method: str, endpoint: str, code: int, says: str, libzmq_too: bool
) -> None:
    s = sock(ctx, safezmq.PAIR)
    with pytest.raises(safezmq.ZMQError) as info:
        getattr(s, method)(endpoint)
    assert info.value.errno == code
    message = str(info.value)
    assert repr(endpoint) in message  # the message names the endpoint...
    assert says in message  # ...and what is wrong with it
    assert s.last_endpoint == b""  # nothing happened
    if libzmq_too:
        zctx = pyzmq.Context()
        try:
            theirs = sock(zctx, pyzmq.PAIR)
            with pytest.raises(pyzmq.ZMQError) as reference:
                getattr(theirs, method)(endpoint)
            assert reference.value.errno == code
        finally:
            zctx.destroy(linger=0)


def test_bad_endpoint_as_bytes(ctx: safezmq.Context) -> None:
    s = sock(ctx, safezmq.PAIR)
    with pytest.raises(safezmq.ZMQError) as info:
        s.bind(b"tcp://127.0.0.1")
    assert info.value.errno == EINVAL
    with pytest.raises(safezmq.ZMQError) as undecodable:
        s.bind(b"tcp://\xff:1")
    assert undecodable.value.errno == EINVAL and "UTF-8" in str(undecodable.value)


def test_ipv6_address_needs_the_ipv6_option(ctx: safezmq.Context) -> None:
    s = sock(ctx, safezmq.PULL)
    with pytest.raises(safezmq.ZMQError) as info:
        s.bind("tcp://[::1]:*")
    assert "IPV6" in str(info.value) and "tcp://[::1]:*" in str(info.value)


def test_unknown_interface(lib: Any, lib_ctx: Any) -> None:
    s = sock(lib_ctx, lib.PULL)
    with pytest.raises(lib.ZMQError) as info:
        s.bind("tcp://nosuchinterface0:*")
    assert info.value.errno == errno.ENODEV


def test_address_not_on_this_machine(lib: Any, lib_ctx: Any) -> None:
    s = sock(lib_ctx, lib.PULL)
    with pytest.raises(lib.ZMQError) as info:
        s.bind("tcp://192.0.2.1:*")  # TEST-NET-1: never a local address
    assert info.value.errno == lib.EADDRNOTAVAIL


# -- valid forms ------------------------------------------------------------------------------


def test_tcp_wildcard_port(lib: Any, lib_ctx: Any) -> None:
    for wildcard in ("*", "0"):
        bound = delivers(lib, lib_ctx, f"tcp://127.0.0.1:{wildcard}")
        host, port = bound.rsplit(":", 1)
        assert host == "tcp://127.0.0.1" and 0 < int(port) < 65536


def test_tcp_all_interfaces(lib: Any, lib_ctx: Any) -> None:
    bound = delivers(lib, lib_ctx, "tcp://*:*", None)
    assert bound.startswith("tcp://0.0.0.0:")


def test_tcp_ipv6_loopback(lib: Any, lib_ctx: Any) -> None:
    bound = delivers(lib, lib_ctx, "tcp://[::1]:*")
    assert bound.startswith("tcp://[::1]:")


def test_tcp_localhost_and_interface_name(lib: Any, lib_ctx: Any) -> None:
    assert delivers(lib, lib_ctx, "tcp://localhost:*").startswith("tcp://127.0.0.1:")
    assert delivers(lib, lib_ctx, "tcp://lo:*").startswith("tcp://127.0.0.1:")
    # connect by name
    pull = sock(lib_ctx, lib.PULL)
    pull.bind("tcp://127.0.0.1:*")
    port = pull.last_endpoint.decode().rsplit(":", 1)[1]
    push = sock(lib_ctx, lib.PUSH)
    push.connect(f"tcp://localhost:{port}")
    assert push.last_endpoint == f"tcp://localhost:{port}".encode()
    push.send(b"by name")
    assert pull.poll(PROMPT * 1000)
    assert pull.recv() == b"by name"


def test_tcp_connect_with_source_address(lib: Any, lib_ctx: Any) -> None:
    pull = sock(lib_ctx, lib.PULL)
    pull.bind("tcp://127.0.0.1:*")
    port = pull.last_endpoint.decode().rsplit(":", 1)[1]
    push = sock(lib_ctx, lib.PUSH)
    push.connect(f"tcp://127.0.0.1:0;127.0.0.1:{port}")
    push.send(b"from a chosen source")
    assert pull.poll(PROMPT * 1000)
    assert pull.recv(copy=False).get("Peer-Address") == "127.0.0.1"


def test_ipc_abstract_namespace(lib: Any, lib_ctx: Any) -> None:
    name = f"ipc://@safezmq-test-{lib.__name__}-{os.getpid()}"
    assert delivers(lib, lib_ctx, name) == name


def test_ipc_wildcard(lib: Any, lib_ctx: Any) -> None:
    bound = delivers(lib, lib_ctx, "ipc://*")
    assert bound.startswith("ipc://") and bound != "ipc://*"


def test_ipc_path(lib: Any, lib_ctx: Any, ipc_dir: str) -> None:
    path = os.path.join(ipc_dir, "plain")
    assert delivers(lib, lib_ctx, f"ipc://{path}") == f"ipc://{path}"


def test_inproc_and_bytes_endpoints(lib: Any, lib_ctx: Any) -> None:
    assert delivers(lib, lib_ctx, "inproc://some name/with:odd*chars") == (
        "inproc://some name/with:odd*chars"
    )
    assert delivers(lib, lib_ctx, b"inproc://as-bytes") == "inproc://as-bytes"


# -- ipc socket files -------------------------------------------------------------------------


def test_ipc_socket_file_is_private(ctx: safezmq.Context, ipc_dir: str) -> None:
    path = os.path.join(ipc_dir, "private")
    s = sock(ctx, safezmq.PULL)
    s.bind(f"ipc://{path}")
    info = os.stat(path)
    assert stat.S_ISSOCK(info.st_mode)
    assert stat.S_IMODE(info.st_mode) == 0o600


def test_ipc_wildcard_lives_in_a_private_directory(ctx: safezmq.Context) -> None:
    s = sock(ctx, safezmq.PULL)
    s.bind("ipc://*")
    path = s.last_endpoint.decode()[len("ipc://") :]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700


def test_existing_file_at_ipc_path_is_never_deleted(ctx: safezmq.Context, ipc_dir: str) -> None:
    path = os.path.join(ipc_dir, "precious.txt")
    with open(path, "w") as f:
        f.write("keep me")
    s = sock(ctx, safezmq.PULL)
    with pytest.raises(safezmq.ZMQError) as info:
        s.bind(f"ipc://{path}")
    assert info.value.errno == safezmq.EADDRINUSE
    assert path in str(info.value) and "not a socket" in str(info.value)
    with open(path) as f:
        assert f.read() == "keep me"


def test_live_ipc_socket_is_not_stolen(ctx: safezmq.Context, ipc_dir: str) -> None:
    path = os.path.join(ipc_dir, "live")
    first = sock(ctx, safezmq.PULL)
    first.bind(f"ipc://{path}")
    second = sock(ctx, safezmq.PULL)
    with pytest.raises(safezmq.ZMQError) as info:
        second.bind(f"ipc://{path}")
    assert info.value.errno == safezmq.EADDRINUSE
    push = sock(ctx, safezmq.PUSH)
    push.connect(f"ipc://{path}")
    push.send(b"still the first")
    assert first.poll(PROMPT * 1000)
    assert first.recv() == b"still the first"


def test_stale_ipc_socket_file_is_replaced(lib: Any, lib_ctx: Any, ipc_dir: str) -> None:
    path = os.path.join(ipc_dir, f"stale-{lib.__name__}")
    leftover = pysocket.socket(pysocket.AF_UNIX, pysocket.SOCK_STREAM)
    leftover.bind(path)
    leftover.close()  # the file stays, with nobody behind it: a crashed process's leftover
    assert stat.S_ISSOCK(os.stat(path).st_mode)
    assert delivers(lib, lib_ctx, f"ipc://{path}") == f"ipc://{path}"
