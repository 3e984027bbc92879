"""Socket and context options: round trips, libzmq's defaults, strict validation with useful
messages, and secrets that never show up in a repr or an error."""

from __future__ import annotations

import traceback
from typing import Any

import pytest
import zmq as pyzmq

import safezmq
from safezmq.options import ACTIONS, SPECS
from safezmq.utils import z85
from tests.api.compat import socket

PUBLIC, SECRET = pyzmq.curve_keypair()
SERVER_PUBLIC, _ = pyzmq.curve_keypair()

#: A valid, non-default value for every option a PAIR socket accepts.  Adding an option to
#: safezmq without adding it here fails ``test_samples_cover_every_option``.
SAMPLES: dict[str, Any] = {
    "LINGER": 250,
    "SNDHWM": 5,
    "RCVHWM": 6,
    "SNDTIMEO": 100,
    "RCVTIMEO": 200,
    "RECONNECT_IVL": 250,
    "RECONNECT_IVL_MAX": 1000,
    "BACKLOG": 50,
    "MAXMSGSIZE": 1024,
    "IMMEDIATE": 1,
    "IPV6": 1,
    "TCP_KEEPALIVE": 1,
    "TCP_KEEPALIVE_CNT": 3,
    "TCP_KEEPALIVE_IDLE": 60,
    "TCP_KEEPALIVE_INTVL": 10,
    "SNDBUF": 65536,
    "RCVBUF": 32768,
    "TOS": 0x10,
    "HANDSHAKE_IVL": 5000,
    "CONNECT_TIMEOUT": 1000,
    "HEARTBEAT_IVL": 500,
    "HEARTBEAT_TTL": 2000,
    "HEARTBEAT_TIMEOUT": 1500,
    "ROUTING_ID": b"me",
    "AFFINITY": 3,
    "PLAIN_SERVER": 1,
    "PLAIN_USERNAME": b"admin",
    "PLAIN_PASSWORD": b"pw",
    "CURVE_SERVER": 1,
    "CURVE_PUBLICKEY": PUBLIC,
    "CURVE_SECRETKEY": SECRET,
    "CURVE_SERVERKEY": SERVER_PUBLIC,
    "ZAP_DOMAIN": b"global",
    "ZAP_ENFORCE_DOMAIN": 1,
    "METADATA": b"X-Key:value",
    "INVERT_MATCHING": 1,
    # Multicast (pgm/epgm): libzmq takes them on every socket type.
    "RATE": 1000,
    "RECOVERY_IVL": 2000,
    "MULTICAST_HOPS": 4,
    "MULTICAST_LOOP": 0,
    "MULTICAST_MAXTPDU": 9000,
}
#: What reading the sample back gives, where it is not the value set.
READ_BACK = {
    "CURVE_PUBLICKEY": z85.decode(PUBLIC),  # keys read back as their 32 raw bytes
    "CURVE_SECRETKEY": z85.decode(SECRET),
    "CURVE_SERVERKEY": z85.decode(SERVER_PUBLIC),
}
#: Options libzmq does not let you read back (pyzmq gets EINVAL): nothing to compare there.
WRITE_ONLY_IN_LIBZMQ = {"CURVE_PUBLICKEY", "CURVE_SECRETKEY", "CURVE_SERVERKEY", "METADATA"}

PAIR_OPTIONS = sorted(
    spec.option.name
    for spec in SPECS.values()
    if spec.check is not None
    and spec.types is None
    and spec.option not in ACTIONS
    and spec.readable  # write-only ones (IPC_FILTER_*) are tested by their effect
)


def fresh(ctx: Any, lib: Any = safezmq, kind: str = "PAIR") -> Any:
    return socket(ctx, getattr(lib, kind))


# -- round trips ------------------------------------------------------------------------------


def test_samples_cover_every_option() -> None:
    assert sorted(SAMPLES) == PAIR_OPTIONS


@pytest.mark.parametrize("name", [n for n in PAIR_OPTIONS if n != "METADATA"])
def test_option_round_trips(ctx: safezmq.Context, name: str) -> None:
    option = getattr(safezmq, name)
    expected = READ_BACK.get(name, SAMPLES[name])
    sock = fresh(ctx)
    default = sock.getsockopt(option)
    assert default != expected, "the sample must differ from the default to prove anything"
    sock.setsockopt(option, SAMPLES[name])
    assert sock.getsockopt(option) == expected
    assert sock.get(option) == expected
    assert getattr(sock, name.lower()) == expected

    by_attribute = fresh(ctx)
    setattr(by_attribute, name.lower(), SAMPLES[name])
    assert by_attribute.getsockopt(option) == expected
    by_set = fresh(ctx)
    by_set.set(option, SAMPLES[name])
    assert by_set.getsockopt(option) == expected


@pytest.mark.parametrize("name", [n for n in PAIR_OPTIONS if n not in WRITE_ONLY_IN_LIBZMQ])
def test_option_reads_back_as_in_libzmq(ctx: safezmq.Context, name: str) -> None:
    zctx = pyzmq.Context()
    try:
        theirs = fresh(zctx, pyzmq)
        theirs.setsockopt(getattr(pyzmq, name), SAMPLES[name])
        ours = fresh(ctx)
        ours.setsockopt(getattr(safezmq, name), SAMPLES[name])
        assert ours.getsockopt(getattr(safezmq, name)) == theirs.getsockopt(getattr(pyzmq, name))
        # Security options also choose the mechanism, the same way.
        assert ours.mechanism == theirs.mechanism
    finally:
        zctx.destroy(linger=0)


def test_heartbeat_ttl_is_kept_in_deciseconds_as_libzmq(ctx: safezmq.Context) -> None:
    sock = fresh(ctx)
    sock.heartbeat_ttl = 2050
    assert sock.heartbeat_ttl == 2000
    sock.heartbeat_ttl = 6_553_599
    assert sock.heartbeat_ttl == 6_553_500


def test_metadata_is_set_not_read(ctx: safezmq.Context) -> None:
    sock = fresh(ctx)
    sock.setsockopt(safezmq.METADATA, b"X-Key:value")
    sock.metadata = b"X-Other:2"
    assert sock.options.metadata == {"X-Key": b"value", "X-Other": b"2"}


def test_linger_none_means_forever(ctx: safezmq.Context) -> None:
    sock = fresh(ctx)
    sock.linger = 0
    sock.setsockopt(safezmq.LINGER, None)
    assert sock.linger == -1


def test_routing_id_alias_identity(lib: Any, lib_ctx: Any) -> None:
    sock = fresh(lib_ctx, lib)
    sock.identity = b"peer-1"
    assert sock.routing_id == b"peer-1"
    assert sock.getsockopt(lib.IDENTITY) == b"peer-1"
    assert lib.IDENTITY == lib.ROUTING_ID


# -- defaults ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["PAIR", "PUSH", "PULL"])
def test_defaults_are_libzmqs(ctx: safezmq.Context, kind: str) -> None:
    zctx = pyzmq.Context()
    try:
        theirs = zctx.socket(getattr(pyzmq, kind))
        ours = ctx.socket(getattr(safezmq, kind))
        names = [
            spec.option.name
            for spec in SPECS.values()
            if spec.readable and spec.types is None and spec.option.name not in WRITE_ONLY_IN_LIBZMQ
        ]
        names += ["RCVMORE", "EVENTS"]
        differ = {}
        for name in names:
            mine = ours.getsockopt(getattr(safezmq, name))
            reference = theirs.getsockopt(getattr(pyzmq, name))
            if mine != reference:
                differ[name] = (mine, reference)
        # The one deliberate difference: a finite message size (CVE-2019-6250 class).
        assert differ == {"MAXMSGSIZE": (64 * 1024 * 1024, -1)}
        theirs.close()
        ours.close()
    finally:
        zctx.term()


def test_unset_keys_and_metadata_read_empty(ctx: safezmq.Context) -> None:
    sock = fresh(ctx)
    for name in ("CURVE_PUBLICKEY", "CURVE_SECRETKEY", "CURVE_SERVERKEY", "METADATA"):
        assert sock.getsockopt(getattr(safezmq, name)) == b""


# -- bad values -------------------------------------------------------------------------------

#: (option, value, a fragment of the message saying what is allowed, libzmq refuses it too)
BAD_VALUES: list[tuple[str, Any, str, bool]] = [
    ("LINGER", -2, "from -1 to 2147483647", True),
    ("LINGER", 2**31, "from -1 to 2147483647", False),
    ("LINGER", "10", "expected an integer", False),
    ("LINGER", 1.5, "expected an integer", False),
    ("LINGER", b"1", "expected an integer", False),
    ("SNDHWM", -1, "from 0 to", True),
    ("RCVHWM", -1, "from 0 to", True),
    ("HWM", -1, "from 0 to", False),
    ("SNDTIMEO", -5, "from -1 to", True),
    ("RECONNECT_IVL", -2, "from -1 to", True),
    ("BACKLOG", -1, "from 0 to", True),
    ("HANDSHAKE_IVL", -1, "from 0 to", True),
    ("HEARTBEAT_IVL", -1, "from 0 to", True),
    ("HEARTBEAT_TTL", 6_553_600, "from 0 to 6553599", True),
    ("MAXMSGSIZE", -2, "from -1 to", False),
    ("TOS", 256, "from 0 to 255", False),
    ("IMMEDIATE", 2, "expected 0 or 1", True),
    ("IPV6", "yes", "expected 0 or 1", False),
    ("TCP_KEEPALIVE", 2, "from -1 to 1", True),
    ("ROUTING_ID", b"", "length must be 1 to 255 bytes", True),
    ("ROUTING_ID", b"x" * 256, "length must be 1 to 255 bytes", True),
    ("ROUTING_ID", b"\x00abc", "may not start with a zero byte", False),
    ("ROUTING_ID", "text", "setsockopt_string", False),
    ("ROUTING_ID", 5, "expected bytes", False),
    ("PLAIN_USERNAME", b"u" * 256, "length must be 0 to 255 bytes", True),
    ("ZAP_DOMAIN", b"d" * 256, "length must be 0 to 255 bytes", True),
    ("CURVE_PUBLICKEY", b"short", "32 raw bytes or 40 Z85 characters", True),
    ("CURVE_SERVERKEY", b"x" * 33, "32 raw bytes or 40 Z85 characters", True),
    ("CURVE_PUBLICKEY", "~" * 40, "not valid Z85", False),
    ("CURVE_SERVERKEY", "é" * 40, "ASCII", False),
    ("CURVE_PUBLICKEY", 123, "32 raw bytes or 40 Z85 characters", False),
    ("METADATA", b"foo", "X-Name:value", True),
    ("METADATA", b"Name:value", "start with X-", False),
]


@pytest.mark.parametrize(
    ("name", "value", "allowed", "libzmq_refuses"),
    BAD_VALUES,
    ids=[f"{n}={v!r}"[:40] for n, v, _, _ in BAD_VALUES],
)
def test_bad_values_are_einval_naming_option_and_rule(
    ctx: safezmq.Context, name: str, value: Any, allowed: str, libzmq_refuses: bool
) -> None:
    sock = fresh(ctx)
    option = getattr(safezmq, name)
    before = sock.getsockopt(option) if name not in ("HWM", "METADATA") else None
    with pytest.raises(safezmq.ZMQError) as info:
        sock.setsockopt(option, value)
    assert info.value.errno == safezmq.EINVAL
    message = str(info.value)
    assert name in message
    assert allowed in message
    if before is not None:
        assert sock.getsockopt(option) == before  # a refused value changes nothing
    with pytest.raises(safezmq.ZMQError):
        setattr(sock, name.lower(), value)
    if libzmq_refuses:
        zctx = pyzmq.Context()
        try:
            with pytest.raises(pyzmq.ZMQError) as theirs:
                fresh(zctx, pyzmq).setsockopt(getattr(pyzmq, name), value)
            assert theirs.value.errno == pyzmq.EINVAL
        finally:
            zctx.destroy(linger=0)


def test_hwm_sets_both_directions(lib: Any, lib_ctx: Any) -> None:
    sock = fresh(lib_ctx, lib)
    sock.hwm = 7
    assert sock.sndhwm == 7 and sock.rcvhwm == 7
    assert sock.hwm == 7
    sock.sndhwm = 3
    assert sock.hwm == 3  # HWM reads as SNDHWM


def test_setsockopt_hwm_sets_both(ctx: safezmq.Context) -> None:
    sock = fresh(ctx)
    sock.setsockopt(safezmq.HWM, 9)
    assert sock.getsockopt(safezmq.SNDHWM) == sock.getsockopt(safezmq.RCVHWM) == 9


# -- unknown, read-only, unsupported, not for this socket type ---------------------------------


def test_unknown_option_numbers_and_names(lib: Any, lib_ctx: Any) -> None:
    sock = fresh(lib_ctx, lib)
    for call in (lambda: sock.setsockopt(9999, 1), lambda: sock.getsockopt(9999)):
        with pytest.raises(lib.ZMQError) as info:
            call()
        assert info.value.errno == lib.EINVAL
    with pytest.raises(AttributeError, match="NO_SUCH_OPTION"):
        sock.no_such_option = 1
    # Reading one names it too, in pyzmq's words ("no such option: NO_SUCH_OPTION") or, in
    # safezmq, Python's own ("has no attribute 'no_such_option'"): safezmq's Socket has no
    # __getattr__, which would slow down every attribute read of a socket (docs/performance.md).
    with pytest.raises(AttributeError, match=r"(?i)no_such_option"):
        _ = sock.no_such_option


def test_every_option_reads_as_an_attribute_in_either_case(ctx: safezmq.Context) -> None:
    """``sock.name`` and ``sock.NAME`` read the option NAME, as getsockopt does; an option that
    cannot be read here (write-only, not for this socket type) is a missing attribute."""
    sock = fresh(ctx)
    sock.setsockopt(safezmq.LINGER, 250)
    readable = 0
    for name, option in safezmq.SocketOption.__members__.items():
        try:
            expected = sock.getsockopt(option)
        except safezmq.ZMQError as exc:
            if exc.errno not in (safezmq.EINVAL, safezmq.EFAULT):
                continue  # an error of its own (ENOTSUP ...): covered elsewhere
            if name.lower() not in ("subscribe", "unsubscribe"):  # methods as well
                assert not hasattr(sock, name.lower()), name
            assert not hasattr(sock, name), name
            continue
        for key in (name.lower(), name):
            got = getattr(sock, key)
            if name not in ("EVENTS", "FD"):  # FD/EVENTS are properties of their own
                assert got == expected, key
        readable += 1
    assert readable > 40
    assert sock.linger == sock.LINGER == 250
    sock.LINGER = 10
    assert sock.getsockopt(safezmq.LINGER) == 10


def test_socket_has_no_getattr_hook() -> None:
    """Options are descriptors on the class, not a ``__getattr__``: a class with one loses
    CPython's specialised attribute reads, which made every ``self.x`` on a socket's
    per-message path about five times slower (docs/performance.md).  Nor may its subclasses."""
    import safezmq.asyncio
    import safezmq.green

    for cls in (safezmq.Socket, safezmq.asyncio.Socket, safezmq.green.Socket):
        assert all("__getattr__" not in vars(klass) for klass in cls.__mro__), cls


def test_unknown_option_message(ctx: safezmq.Context) -> None:
    sock = fresh(ctx)
    with pytest.raises(safezmq.ZMQError, match="unknown socket option 9999"):
        sock.setsockopt(9999, 1)


@pytest.mark.parametrize("name", ["TYPE", "MECHANISM", "LAST_ENDPOINT", "EVENTS", "FD", "RCVMORE"])
def test_read_only_options_cannot_be_set(lib: Any, lib_ctx: Any, name: str) -> None:
    sock = fresh(lib_ctx, lib)
    value = b"tcp://127.0.0.1:5555" if name == "LAST_ENDPOINT" else 1
    with pytest.raises(lib.ZMQError) as info:
        sock.setsockopt(getattr(lib, name), value)
    assert info.value.errno == lib.EINVAL
    if lib is safezmq:
        assert str(info.value) == f"socket option {name} is read-only"


@pytest.mark.parametrize(
    "name", ["TCP_MAXRT", "BINDTODEVICE", "ROUTER_RAW", "GSSAPI_SERVER", "SOCKS_PROXY"]
)
def test_unsupported_libzmq_options_say_so(ctx: safezmq.Context, name: str) -> None:
    sock = fresh(ctx)
    option = getattr(safezmq, name)
    for call in (lambda: sock.setsockopt(option, 1), lambda: sock.getsockopt(option)):
        with pytest.raises(safezmq.ZMQError) as info:
            call()
        assert info.value.errno == safezmq.EINVAL
        assert f"socket option {name} is not supported by safezmq" in str(info.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [("THREAD_SAFE", 0), ("USE_FD", -1), ("LOOPBACK_FASTPATH", 0), ("IPV4ONLY", 1)],
)
def test_fixed_options_read_as_libzmq_defaults(
    lib: Any, lib_ctx: Any, name: str, value: int
) -> None:
    """Options safezmq does not implement but that any libzmq socket reads (pyzmq's
    test_int_sockopts reads them all) give libzmq's value, which is what safezmq does."""
    sock = fresh(lib_ctx, lib)
    assert sock.getsockopt(getattr(lib, name)) == value
    assert getattr(sock, name.lower()) == value


def test_ipv4only_is_the_inverse_of_ipv6(lib: Any, lib_ctx: Any) -> None:
    sock = fresh(lib_ctx, lib)
    sock.setsockopt(lib.IPV4ONLY, 0)
    assert sock.getsockopt(lib.IPV6) == 1
    sock.setsockopt(lib.IPV6, 0)
    assert sock.getsockopt(lib.IPV4ONLY) == 1


def test_use_fd_cannot_be_set(ctx: safezmq.Context) -> None:
    sock = fresh(ctx)
    with pytest.raises(safezmq.ZMQError) as info:
        sock.setsockopt(safezmq.USE_FD, 3)
    assert "socket option USE_FD is not supported by safezmq" in str(info.value)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("SUBSCRIBE", "text"),
        ("ROUTING_ID", "text"),
        ("AFFINITY", "1"),
        ("LINGER", b"1"),
        (9999, b"5"),
    ],
)
def test_wrong_python_types_are_type_errors(
    lib: Any, lib_ctx: Any, option: Any, value: Any
) -> None:
    """pyzmq raises TypeError for a value of the wrong type; safezmq's error is both that and
    ZMQError EINVAL."""
    sock = fresh(lib_ctx, lib, "SUB")
    with pytest.raises(TypeError):
        sock.setsockopt(getattr(lib, option) if isinstance(option, str) else option, value)
    if lib is safezmq:
        with pytest.raises(safezmq.ZMQError) as info:
            sock.setsockopt(getattr(lib, option) if isinstance(option, str) else option, value)
        assert info.value.errno == safezmq.EINVAL


@pytest.mark.parametrize(
    ("name", "value"),
    [("ROUTER_MANDATORY", 1), ("SUBSCRIBE", b""), ("XPUB_VERBOSE", 1), ("REQ_RELAXED", 1)],
)
@pytest.mark.parametrize("kind", ["PAIR", "PUSH", "PULL"])
def test_pattern_options_refused_by_other_socket_types(
    lib: Any, lib_ctx: Any, name: str, value: Any, kind: str
) -> None:
    sock = fresh(lib_ctx, lib, kind)
    with pytest.raises(lib.ZMQError) as info:
        sock.setsockopt(getattr(lib, name), value)
    assert info.value.errno == lib.EINVAL
    if lib is safezmq:
        assert f"socket option {name} does not apply to {kind} sockets" in str(info.value)


# -- string helpers ---------------------------------------------------------------------------


def test_string_option_helpers(lib: Any, lib_ctx: Any) -> None:
    sock = fresh(lib_ctx, lib)
    sock.setsockopt_string(lib.ROUTING_ID, "ïd")
    assert sock.getsockopt(lib.ROUTING_ID) == "ïd".encode()
    assert sock.getsockopt_string(lib.ROUTING_ID) == "ïd"
    sock.set_string(lib.ZAP_DOMAIN, "dömain", encoding="latin-1")
    assert sock.getsockopt(lib.ZAP_DOMAIN) == "dömain".encode("latin-1")
    assert sock.get_string(lib.ZAP_DOMAIN, encoding="latin-1") == "dömain"
    sock.bind("inproc://string-helpers")
    assert sock.get_string(lib.LAST_ENDPOINT) == "inproc://string-helpers"
    with pytest.raises(TypeError):
        sock.getsockopt_string(lib.LINGER)  # an int option has no text
    with pytest.raises(TypeError):
        sock.setsockopt_string(lib.ROUTING_ID, b"bytes")


# -- context defaults and context options -----------------------------------------------------


def test_context_default_socket_options(lib: Any, lib_ctx: Any) -> None:
    before = lib_ctx.socket(lib.PUSH)
    lib_ctx.linger = 0
    lib_ctx.setsockopt(lib.RCVHWM, 7)
    lib_ctx.sndhwm = 11
    lib_ctx.setsockopt(lib.SUBSCRIBE, b"")  # does not apply to PUSH: silently skipped
    assert lib_ctx.linger == 0
    assert lib_ctx.getsockopt(lib.RCVHWM) == 7
    after = lib_ctx.socket(lib.PUSH)
    assert (after.linger, after.rcvhwm, after.sndhwm) == (0, 7, 11)
    assert (before.linger, before.rcvhwm, before.sndhwm) == (-1, 1000, 1000)  # unchanged
    before.close(linger=0)
    with pytest.raises(AttributeError):
        lib_ctx.no_such_option = 1


def test_context_options(lib: Any) -> None:
    ctx = lib.Context(io_threads=2)
    try:
        assert ctx.get(lib.IO_THREADS) == 2 and ctx.io_threads == 2
        assert ctx.get(lib.MAX_SOCKETS) == 1023
        ctx.set(lib.MAX_SOCKETS, 10)
        assert ctx.get(lib.MAX_SOCKETS) == 10
        ctx.max_sockets = 20
        assert ctx.max_sockets == 20
        ctx.set(lib.IO_THREADS, 1)
        assert ctx.get(lib.IO_THREADS) == 1
        assert ctx.get(lib.SOCKET_LIMIT) == 65535
        for call in (
            lambda: ctx.set(lib.MAX_SOCKETS, 0),
            lambda: ctx.set(lib.IO_THREADS, -1),
            lambda: ctx.get(999),
            lambda: ctx.set(999, 1),
        ):
            with pytest.raises(lib.ZMQError) as info:
                call()
            assert info.value.errno == lib.EINVAL
    finally:
        ctx.term()


def test_context_default_io_threads_is_one(lib: Any, lib_ctx: Any) -> None:
    assert lib_ctx.get(lib.IO_THREADS) == 1


# -- secrets ----------------------------------------------------------------------------------

PASSWORD = b"hunter2-correct-horse"
SECRET_Z85 = SECRET  # a real CURVE secret key, Z85
SECRET_RAW = z85.decode(SECRET)


def _shown(obj: object) -> str:
    return repr(obj) + str(obj)


def _exception_text(exc: BaseException) -> str:
    parts = ["".join(traceback.format_exception(exc)), repr(exc), str(exc), repr(exc.args)]
    for linked in (exc.__cause__, exc.__context__):
        if linked is not None:
            parts.append(repr(linked) + str(linked))
    return "\n".join(parts)


def _assert_secret_free(text: str) -> None:
    # Any recognisable piece of a secret counts: a prefix is as bad as the whole.
    for fragment in (PASSWORD[:7], SECRET_Z85[:12], SECRET_Z85[-12:], SECRET_RAW[:8]):
        assert fragment.decode("latin-1") not in text
        assert repr(fragment)[2:-1] not in text


def test_socket_and_options_never_show_secrets(ctx: safezmq.Context) -> None:
    sock = fresh(ctx)
    sock.plain_password = PASSWORD
    sock.curve_secretkey = SECRET_Z85
    _assert_secret_free(_shown(sock))
    _assert_secret_free(_shown(sock.options))
    _assert_secret_free(repr(sock.options._values))
    copied = sock.options.copy()
    _assert_secret_free(repr(copied._values))
    # ...while the socket itself can still use (and, like libzmq, return) them.
    assert sock.plain_password == PASSWORD
    assert sock.curve_secretkey == SECRET_RAW


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PLAIN_PASSWORD", PASSWORD.decode()),  # str: wrong type
        ("PLAIN_PASSWORD", PASSWORD * 20),  # too long
        ("PLAIN_PASSWORD", list(PASSWORD)),
        ("CURVE_SECRETKEY", SECRET_Z85[:-1]),  # wrong length
        ("CURVE_SECRETKEY", SECRET_Z85[:-1] + b"~"),  # 40 characters, not Z85
        ("CURVE_SECRETKEY", SECRET_Z85.decode()[:-1] + "é"),  # not ASCII
        ("CURVE_SECRETKEY", SECRET_RAW + b"!"),
        ("CURVE_SECRETKEY", PASSWORD),
    ],
)
def test_errors_setting_secrets_never_show_them(
    ctx: safezmq.Context, name: str, value: Any
) -> None:
    sock = fresh(ctx)
    with pytest.raises(safezmq.ZMQError) as info:
        sock.setsockopt(getattr(safezmq, name), value)
    assert info.value.errno == safezmq.EINVAL
    assert name in str(info.value)
    _assert_secret_free(_exception_text(info.value))
    with pytest.raises(safezmq.ZMQError) as by_attribute:
        setattr(sock, name.lower(), value)
    _assert_secret_free(_exception_text(by_attribute.value))
