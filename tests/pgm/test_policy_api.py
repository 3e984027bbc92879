"""pgm:// and epgm:// at the API: the secure default refuses them, the opt-in, the audit,
socket types, endpoint syntax and options.  Nothing here sends a packet."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import safezmq
from safezmq.audit import HIGH, audit_policy
from safezmq.policy import Policy
from safezmq.transport.endpoint import Endpoint, parse_endpoint

ENDPOINTS = ["pgm://eth0;239.192.1.1:5555", "epgm://192.0.2.1;239.192.1.1:5555"]


@pytest.mark.parametrize("verb", ["bind", "connect"])
@pytest.mark.parametrize("address", ENDPOINTS)
@pytest.mark.parametrize("kind", ["PUB", "XPUB", "SUB", "XSUB"])
def test_the_default_policy_refuses_multicast_and_says_why(
    ctx: safezmq.Context, verb: str, address: str, kind: str
) -> None:
    sock = ctx.socket(getattr(safezmq, kind))
    with pytest.raises(safezmq.ZMQError) as info:
        getattr(sock, verb)(address)
    assert info.value.errno == safezmq.EACCES
    message = str(info.value)
    assert "no encryption and no authentication" in message
    assert "CURVE" in message  # what to use instead
    assert "encrypt and sign each message" in message  # what to add on top
    assert "allow_multicast=True" in message and "compatible" in message  # how to opt in
    assert sock.last_endpoint == b""


@pytest.mark.parametrize("kind", ["PAIR", "REQ", "REP", "DEALER", "ROUTER", "PUSH", "PULL"])
def test_other_socket_types_get_enocompatproto(kind: str) -> None:
    """libzmq's answer too, and it comes before the policy (the message says what fits)."""
    for policy in (Policy(), Policy.compatible()):
        ctx = safezmq.Context(policy=policy)
        try:
            sock = ctx.socket(getattr(safezmq, kind))
            with pytest.raises(safezmq.ZMQError) as info:
                sock.connect(ENDPOINTS[1])
            assert info.value.errno == safezmq.ENOCOMPATPROTO
            assert "PUB, XPUB, SUB, XSUB" in str(info.value)
        finally:
            ctx.destroy(linger=0)


def test_opting_in_and_the_audit() -> None:
    assert Policy().allow_multicast is False
    assert Policy.compatible().allow_multicast is True
    relaxed = Policy().relax(allow_multicast=True)
    findings = audit_policy(relaxed)
    assert [f.severity for f in findings] == [HIGH]
    assert "multicast" in findings[0].what and "allow_multicast=True" in findings[0].what
    assert "CURVE" in findings[0].fix
    with pytest.raises(safezmq.ZMQError):
        Policy(allow_multicast="yes")  # type: ignore[arg-type]


def test_unknown_interface_is_enodev_once_allowed() -> None:
    ctx = safezmq.Context(policy=Policy(allow_multicast=True))
    try:
        sock = ctx.socket(safezmq.SUB)
        with pytest.raises(safezmq.ZMQError) as info:
            sock.connect("epgm://nosuchif9;239.192.1.1:5555")
        assert info.value.errno == safezmq.ENODEV
        assert "nosuchif9" in str(info.value)
        assert sock.last_endpoint == b""
    finally:
        ctx.destroy(linger=0)


# -- endpoint syntax --------------------------------------------------------------------------


def test_libzmq_syntax_parses() -> None:
    assert parse_endpoint("epgm://eth0;239.192.1.1:5555", bind=True) == Endpoint(
        "epgm", "eth0", 5555, group="239.192.1.1"
    )
    parsed = parse_endpoint("pgm://192.0.2.7;224.0.0.200:7500", bind=False)
    assert (parsed.transport, parsed.address, parsed.group, parsed.port) == (
        "pgm",
        "192.0.2.7",
        "224.0.0.200",
        7500,
    )
    assert str(parsed) == "pgm://192.0.2.7;224.0.0.200:7500"
    assert parse_endpoint("epgm://;239.1.1.1:5555", bind=False).address == ""  # default route


@pytest.mark.parametrize(
    ("address", "says"),
    [
        ("epgm://239.192.1.1:5555", "expected interface;group:port"),
        ("epgm://eth0;239.192.1.1", "expected interface;group:port"),
        ("epgm://eth0;239.192.1.1:0", "outside 1-65535"),
        ("epgm://eth0;239.192.1.1:x", "is not a number"),
        ("epgm://eth0;192.0.2.1:5555", "is not a multicast group"),
        ("epgm://eth0;[ff02::1]:5555", "IPv4 multicast groups only"),
        ("epgm://eth0;example.com:5555", "is not an IP multicast address"),
        ("epgm://eth0;239.1.1.1,239.1.1.2:5555", "one multicast group"),
        ("epgm://a;b;239.1.1.1:5555", "one interface and one group"),
        ("pgm://eth/0;239.1.1.1:5555", "not an interface name"),
    ],
)
def test_bad_multicast_endpoints(address: str, says: str) -> None:
    with pytest.raises(safezmq.ZMQError) as info:
        parse_endpoint(address, bind=False)
    assert info.value.errno == safezmq.EINVAL
    assert says in str(info.value) and repr(address) in str(info.value)


# -- options ----------------------------------------------------------------------------------


def test_multicast_options_have_libzmqs_defaults_and_ranges(ctx: safezmq.Context) -> None:
    sock = ctx.socket(safezmq.PUB)
    assert (sock.rate, sock.recovery_ivl, sock.multicast_hops) == (100, 10_000, 1)
    assert (sock.multicast_loop, sock.multicast_maxtpdu) == (1, 1500)
    sock.rate = 50_000
    sock.recovery_ivl = 500
    assert (sock.rate, sock.recovery_ivl) == (50_000, 500)
    for name, value in (
        ("rate", 0),
        ("recovery_ivl", -1),
        ("multicast_hops", 0),
        ("multicast_hops", 256),
        ("multicast_loop", 2),
        ("multicast_maxtpdu", 64),
    ):
        with pytest.raises(safezmq.ZMQError) as info:
            setattr(sock, name, value)
        assert info.value.errno == safezmq.EINVAL and name.upper() in str(info.value)


def test_window_sizes_are_libzmqs() -> None:
    """RATE x RECOVERY_IVL / MULTICAST_MAXTPDU packets (libzmq's compute_sqns)."""
    from safezmq.engine.pgm_session import max_tsdu, window_sqns
    from safezmq.options import Options

    options = Options(safezmq.SocketType.PUB)
    assert window_sqns(options) == 80  # 100 kbit/s (12 octets/ms) x 10 s / 1500
    options.set(safezmq.RATE, 1)
    options.set(safezmq.RECOVERY_IVL, 10)
    assert window_sqns(options) == 1  # at least one packet
    assert max_tsdu(Options(safezmq.SocketType.PUB), 28) == 1448  # OpenPGM's epgm PGM_MSS


# -- the layering rule ------------------------------------------------------------------------

PGM = Path(__file__).resolve().parent.parent.parent / "src" / "safezmq" / "pgm"
FORBIDDEN = {"asyncio", "socket", "select", "selectors", "threading", "time", "logging", "random"}


def test_the_pgm_package_is_sans_io() -> None:
    """safezmq.pgm is bytes in, packets and messages out: no sockets, threads, clocks (time
    is passed in) or logging, like safezmq.protocol."""
    for path in PGM.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.ImportFrom) and node.level > 0:
                assert node.level == 1, f"{path.name} imports from outside safezmq.pgm"
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"
                assert not name.startswith("safezmq"), f"{path.name} imports {name}"
