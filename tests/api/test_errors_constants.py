"""Errors, errno values and constants are pyzmq's, number for number; versions, capabilities
and the CURVE key helpers agree with pyzmq."""

from __future__ import annotations

import errno
import pickle
from typing import Any

import pytest
import zmq as pyzmq

import safezmq
from safezmq.utils import z85


def _int_constants(module: Any) -> dict[str, int]:
    found = {}
    for name in dir(module):
        if not name.isupper() or name.startswith("_"):
            continue
        value = getattr(module, name)
        if isinstance(value, int) and not isinstance(value, bool):
            found[name] = int(value)
    return found


PYZMQ_CONSTANTS = _int_constants(pyzmq)
SAFEZMQ_CONSTANTS = _int_constants(safezmq)


# -- constants --------------------------------------------------------------------------------


def test_every_shared_constant_has_pyzmqs_value() -> None:
    shared = PYZMQ_CONSTANTS.keys() & SAFEZMQ_CONSTANTS.keys()
    assert len(shared) > 200
    differ = {n: (SAFEZMQ_CONSTANTS[n], PYZMQ_CONSTANTS[n]) for n in shared}
    differ = {n: v for n, v in differ.items() if v[0] != v[1]}
    assert differ == {}


def test_every_pyzmq_constant_exists() -> None:
    """``import safezmq as zmq`` must not break on any constant a pyzmq program names."""
    assert sorted(PYZMQ_CONSTANTS.keys() - SAFEZMQ_CONSTANTS.keys()) == []


@pytest.mark.parametrize(
    "names",
    [
        ["PAIR", "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "PUSH", "XPUB", "XSUB"],
        ["STREAM", "XREQ", "XREP", "SERVER", "CLIENT", "RADIO", "DISH"],
        ["LINGER", "SNDHWM", "RCVHWM", "ROUTING_ID", "IDENTITY", "SUBSCRIBE", "RCVMORE", "FD"],
        ["EVENTS", "LAST_ENDPOINT", "CURVE_SERVER", "CURVE_SECRETKEY", "PLAIN_PASSWORD"],
        ["IMMEDIATE", "HEARTBEAT_IVL", "HANDSHAKE_IVL", "MAXMSGSIZE", "ZAP_DOMAIN", "METADATA"],
        ["IO_THREADS", "MAX_SOCKETS", "SOCKET_LIMIT", "THREAD_PRIORITY"],
        ["NOBLOCK", "DONTWAIT", "SNDMORE", "POLLIN", "POLLOUT", "POLLERR", "MORE", "SHARED"],
        ["EVENT_CONNECTED", "EVENT_CONNECT_DELAYED", "EVENT_CONNECT_RETRIED", "EVENT_LISTENING"],
        ["EVENT_ACCEPTED", "EVENT_CLOSED", "EVENT_DISCONNECTED", "EVENT_MONITOR_STOPPED"],
        ["EVENT_HANDSHAKE_SUCCEEDED", "EVENT_HANDSHAKE_FAILED_PROTOCOL", "EVENT_ALL"],
        ["EVENT_HANDSHAKE_FAILED_NO_DETAIL", "EVENT_HANDSHAKE_FAILED_AUTH"],
        ["PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH", "PROTOCOL_ERROR_ZMTP_INVALID_METADATA"],
        ["PROTOCOL_ERROR_ZMTP_UNSPECIFIED", "PROTOCOL_ERROR_ZAP_UNSPECIFIED"],
        ["PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC", "PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO"],
        ["NULL", "PLAIN", "CURVE", "STREAMER", "FORWARDER", "QUEUE"],
        ["COPY_THRESHOLD", "IPC_PATH_MAX_LEN", "NOTIFY_CONNECT", "RECONNECT_STOP_CONN_REFUSED"],
    ],
)
def test_named_constants(names: list[str]) -> None:
    for name in names:
        assert getattr(safezmq, name) == getattr(pyzmq, name), name


@pytest.mark.parametrize(
    "enum",
    [
        "SocketType",
        "SocketOption",
        "ContextOption",
        "Errno",
        "Event",
        "Flag",
        "PollEvent",
        "MessageOption",
        "SecurityMechanism",
        "DeviceType",
        "ReconnectStop",
        "RouterNotify",
        "NormMode",
    ],
)
def test_enums_match(enum: str) -> None:
    ours = getattr(safezmq, enum)
    theirs = getattr(pyzmq, enum)
    shared = ours.__members__.keys() & theirs.__members__.keys()
    assert shared
    for name in shared:
        assert int(ours[name]) == int(theirs[name]), f"{enum}.{name}"


def test_socket_types_have_names() -> None:
    assert safezmq.SocketType(safezmq.PUSH).name == "PUSH"
    assert safezmq.SocketType(safezmq.XREQ) is safezmq.SocketType.DEALER


def test_draft_socket_types_are_known_but_not_built(ctx: safezmq.Context) -> None:
    with pytest.raises(safezmq.ZMQError) as info:
        ctx.socket(safezmq.SERVER)
    assert info.value.errno == safezmq.EINVAL
    assert "SERVER" in str(info.value) and "not implemented" in str(info.value)
    with pytest.raises(safezmq.ZMQError) as unknown:
        ctx.socket(99)
    assert unknown.value.errno == safezmq.EINVAL


# -- errno values and error classes -----------------------------------------------------------


def test_errno_values_match_pyzmq() -> None:
    for name in pyzmq.Errno.__members__:
        assert int(getattr(safezmq, name)) == int(getattr(pyzmq, name)), name
    # libzmq's own numbers, above ZMQ_HAUSNUMERO.
    assert safezmq.EFSM == pyzmq.EFSM == 156384763
    assert safezmq.ENOCOMPATPROTO == pyzmq.ENOCOMPATPROTO
    assert safezmq.ETERM == pyzmq.ETERM == 156384765
    assert safezmq.EMTHREAD == pyzmq.EMTHREAD
    # The platform's own numbers where it has them.
    assert safezmq.EAGAIN == errno.EAGAIN and safezmq.EINVAL == errno.EINVAL
    assert safezmq.ENOTSUP == errno.ENOTSUP and safezmq.ENOTSOCK == errno.ENOTSOCK


@pytest.mark.parametrize("name", list(pyzmq.Errno.__members__))
def test_strerror_matches_libzmq(name: str) -> None:
    assert safezmq.strerror(getattr(safezmq, name)) == pyzmq.strerror(getattr(pyzmq, name))


def test_libzmq_own_error_texts() -> None:
    assert safezmq.strerror(safezmq.ETERM) == "Context was terminated"
    assert safezmq.strerror(safezmq.EFSM) == "Operation cannot be accomplished in current state"
    assert safezmq.strerror(safezmq.EHOSTUNREACH) == "Host unreachable"


def test_exception_hierarchy(lib: Any) -> None:
    assert issubclass(lib.ZMQError, lib.ZMQBaseError)
    assert issubclass(lib.ZMQBaseError, Exception)
    assert issubclass(lib.Again, lib.ZMQError)
    assert issubclass(lib.ContextTerminated, lib.ZMQError)
    assert issubclass(lib.InterruptedSystemCall, lib.ZMQError)
    assert issubclass(lib.InterruptedSystemCall, InterruptedError)
    assert issubclass(lib.ZMQBindError, lib.ZMQBaseError)
    assert not issubclass(lib.ZMQBindError, lib.ZMQError)
    assert issubclass(lib.NotDone, lib.ZMQBaseError)
    assert lib.error.ZMQError is lib.ZMQError


@pytest.mark.parametrize(
    ("cls", "code", "text"),
    [
        ("Again", "EAGAIN", "Resource temporarily unavailable"),
        ("ContextTerminated", "ETERM", "Context was terminated"),
        ("InterruptedSystemCall", "EINTR", None),
    ],
)
def test_subclasses_carry_their_errno(lib: Any, cls: str, code: str, text: str | None) -> None:
    exc = getattr(lib, cls)()
    assert exc.errno == getattr(errno, code, None) or exc.errno == getattr(lib, code)
    assert isinstance(exc, lib.ZMQError)
    if text is not None:
        assert str(exc) == exc.strerror == text


def test_zmq_error_fields(lib: Any) -> None:
    exc = lib.ZMQError(lib.EINVAL)
    assert exc.errno == lib.EINVAL
    assert exc.strerror == str(exc) == "Invalid argument"
    custom = lib.ZMQError(lib.EINVAL, "bad endpoint")
    assert custom.errno == lib.EINVAL and str(custom) == "bad endpoint"
    with pytest.raises(lib.ZMQError) as info:
        raise lib.ZMQError(lib.EFSM)
    assert str(info.value) == "Operation cannot be accomplished in current state"


def test_errors_raised_by_operations_use_the_specific_class(lib: Any, lib_ctx: Any) -> None:
    sock = lib_ctx.socket(lib.PULL)
    sock.linger = 0
    with pytest.raises(lib.Again) as info:
        sock.recv(lib.NOBLOCK)
    assert type(info.value) is lib.Again
    sock.close()


def test_errors_pickle(ctx: safezmq.Context) -> None:
    """Errors cross process boundaries (multiprocessing) intact."""
    for exc in (
        safezmq.ZMQError(safezmq.EINVAL, "why"),
        safezmq.Again(),
        safezmq.ContextTerminated(),
    ):
        clone = pickle.loads(pickle.dumps(exc))
        assert type(clone) is type(exc)
        assert clone.errno == exc.errno and str(clone) == str(exc)


# -- versions and capabilities ----------------------------------------------------------------


def test_libzmq_version() -> None:
    assert safezmq.zmq_version_info() == (4, 3, 5)
    assert safezmq.zmq_version() == "4.3.5"
    assert (safezmq.VERSION_MAJOR, safezmq.VERSION_MINOR, safezmq.VERSION_PATCH) == (4, 3, 5)
    assert safezmq.zmq_version_info() == pyzmq.zmq_version_info()  # the libzmq we test against
    assert isinstance(safezmq.pyzmq_version(), str)
    assert safezmq.__version__ == safezmq.pyzmq_version()


@pytest.mark.parametrize(
    ("capability", "expected"),
    [
        ("ipc", True),
        ("curve", True),
        ("pgm", True),
        ("norm", False),
        ("gssapi", False),
        ("draft", False),
        ("no-such-thing", False),
    ],
)
def test_has(capability: str, expected: bool) -> None:
    assert safezmq.has(capability) is expected


def test_has_agrees_with_pyzmq() -> None:
    for capability in ("ipc", "curve"):
        assert safezmq.has(capability) == pyzmq.has(capability), capability


# -- CURVE key helpers ------------------------------------------------------------------------


def test_curve_keypair_shape() -> None:
    public, secret = safezmq.curve_keypair()
    assert isinstance(public, bytes) and isinstance(secret, bytes)
    assert len(public) == len(secret) == 40
    assert len(z85.decode(public)) == len(z85.decode(secret)) == 32
    assert public != secret
    assert safezmq.curve_keypair() != (public, secret)  # fresh keys each time


def test_curve_public_agrees_with_pyzmq() -> None:
    public, secret = safezmq.curve_keypair()
    assert pyzmq.curve_public(secret) == public
    assert safezmq.curve_public(secret) == public
    their_public, their_secret = pyzmq.curve_keypair()
    assert safezmq.curve_public(their_secret) == their_public


def test_curve_public_refuses_bad_secrets() -> None:
    with pytest.raises((ValueError, safezmq.ZMQError)):
        safezmq.curve_public(b"too short")
