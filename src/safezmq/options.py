"""Socket options: one table of every option, its type, range, default and who may use it.

``Options`` holds a socket's values.  ``set()`` validates type and range and raises ZMQError
EINVAL naming the option and what it accepts; an option libzmq has but safezmq does not
implement raises EINVAL saying so, rather than being silently ignored.  Sessions take a snapshot
(``copy()``) when they are created, as libzmq does at bind/connect time.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .constants import Errno, SocketOption, SocketType
from .error import OptionTypeError, ZMQError
from .protocol.keys import decode_key
from .protocol.metadata import valid_property_name
from .protocol.secret import Secret

INT_MAX = (1 << 31) - 1
INT64_MAX = (1 << 63) - 1

Validator = Callable[[Any], Any]


def _error(name: str, expected: str, value: Any, wrong_type: bool = False) -> ZMQError:
    """EINVAL naming the option and its rule.  ``wrong_type``: the value is of the wrong Python
    type, for which pyzmq raises TypeError; the error is then both (OptionTypeError)."""
    shown = "<redacted>" if name in _SECRET_OPTIONS else repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    text = f"invalid value {shown} for socket option {name}: {expected}"
    return OptionTypeError(text) if wrong_type else ZMQError(Errno.EINVAL, text)


def _int_range(low: int, high: int = INT_MAX) -> Callable[[str, Any], int]:
    def check(name: str, value: Any) -> int:
        if isinstance(value, bool):
            value = int(value)
        if not isinstance(value, int):
            raise _error(name, f"expected an integer from {low} to {high}", value, True)
        if not low <= value <= high:
            raise _error(name, f"must be from {low} to {high}", value)
        return value

    return check


def _flag(name: str, value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if not isinstance(value, int):
        raise _error(name, "expected 0 or 1", value, True)
    if value not in (0, 1):
        raise _error(name, "expected 0 or 1", value)
    return int(value)


def _bytes(max_len: int, min_len: int = 0) -> Callable[[str, Any], bytes]:
    def check(name: str, value: Any) -> bytes:
        if isinstance(value, str):
            raise _error(
                name, "expected bytes; encode text first or use setsockopt_string()", value, True
            )
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise _error(name, "expected bytes", value, True)
        raw = bytes(value)
        if not min_len <= len(raw) <= max_len:
            raise _error(name, f"length must be {min_len} to {max_len} bytes", value)
        return raw

    return check


def _routing_id(name: str, value: Any) -> bytes:
    raw = _bytes(255, 1)(name, value)
    if raw[0] == 0:
        raise _error(
            name, "a routing id may not start with a zero byte (reserved by libzmq)", value
        )
    return raw


def _curve_key(name: str, value: Any) -> bytes:
    # A str goes to decode_key as it is: it refuses non-ASCII text rather than turning each
    # such character into "?", which is a Z85 digit.
    if not isinstance(value, (str, bytes, bytearray, memoryview)):
        raise _error(name, "expected a key of 32 raw bytes or 40 Z85 characters", value, True)
    try:
        return decode_key(value if isinstance(value, str) else bytes(value), name)
    except ValueError as exc:
        raise ZMQError(Errno.EINVAL, f"invalid socket option {name}: {exc}") from None


def _heartbeat_ttl(name: str, value: Any) -> int:
    """libzmq keeps the TTL in deciseconds (it travels in a 16-bit PING field), so it reads back
    rounded down to a multiple of 100 ms."""
    checked: int = _int_range(0, 6_553_599)(name, value)
    return checked - checked % 100


def _metadata(name: str, value: Any) -> bytes:
    raw = _bytes(INT_MAX)(name, value)
    key, sep, _ = raw.partition(b":")
    if not sep or not key.lower().startswith(b"x-") or len(key) < 3:
        raise _error(name, 'expected b"X-Name:value" (application properties start with X-)', value)
    if not valid_property_name(key):
        # Checked here, not at the first connection: a name the wire cannot carry would
        # otherwise make every later handshake of the socket fail.
        raise _error(name, "the name must be 1-255 characters of A-Z, a-z, 0-9, '-_.+'", value)
    return raw


@dataclass(frozen=True, slots=True)
class OptionSpec:
    option: SocketOption
    default: Any
    check: Callable[[str, Any], Any] | None  # None: read-only
    readable: bool = True
    #: Socket types that accept the option (None: all).
    types: frozenset[SocketType] | None = None


_ALL = None
_SECRET_OPTIONS = {"CURVE_SECRETKEY", "PLAIN_PASSWORD"}


def _spec(option: SocketOption, default: Any, check: Any, **kw: Any) -> OptionSpec:
    return OptionSpec(option, default, check, **kw)


_TIMEOUT = _int_range(-1)
_NONNEG = _int_range(0)


def _types(*names: str) -> frozenset[SocketType]:
    return frozenset(SocketType[name] for name in names)


# Pattern options go to the socket types libzmq accepts them on (where safezmq has a matching
# pattern; libzmq's REP, built on its ROUTER, also takes the ROUTER options).
_ROUTER = _types("ROUTER")
_XPUB = _types("PUB", "XPUB")
_SUBSCRIBERS = _types("SUB", "XPUB")  # XPUB only with XPUB_MANUAL (the pattern checks)

#: Every option safezmq implements.
SPECS: dict[SocketOption, OptionSpec] = {
    s.option: s
    for s in (
        _spec(SocketOption.LINGER, -1, _TIMEOUT),
        _spec(SocketOption.SNDHWM, 1000, _NONNEG),
        _spec(SocketOption.RCVHWM, 1000, _NONNEG),
        _spec(SocketOption.SNDTIMEO, -1, _TIMEOUT),
        _spec(SocketOption.RCVTIMEO, -1, _TIMEOUT),
        _spec(SocketOption.RECONNECT_IVL, 100, _TIMEOUT),
        _spec(SocketOption.RECONNECT_IVL_MAX, 0, _NONNEG),
        _spec(SocketOption.BACKLOG, 100, _NONNEG),
        _spec(SocketOption.MAXMSGSIZE, 64 * 1024 * 1024, _int_range(-1, INT64_MAX)),
        _spec(SocketOption.IMMEDIATE, 0, _flag),
        _spec(SocketOption.IPV6, 0, _flag),
        _spec(SocketOption.TCP_KEEPALIVE, -1, _int_range(-1, 1)),
        _spec(SocketOption.TCP_KEEPALIVE_CNT, -1, _TIMEOUT),
        _spec(SocketOption.TCP_KEEPALIVE_IDLE, -1, _TIMEOUT),
        _spec(SocketOption.TCP_KEEPALIVE_INTVL, -1, _TIMEOUT),
        _spec(SocketOption.SNDBUF, -1, _TIMEOUT),
        _spec(SocketOption.RCVBUF, -1, _TIMEOUT),
        _spec(SocketOption.TOS, 0, _int_range(0, 255)),
        _spec(SocketOption.HANDSHAKE_IVL, 30_000, _NONNEG),
        _spec(SocketOption.CONNECT_TIMEOUT, 0, _NONNEG),
        _spec(SocketOption.HEARTBEAT_IVL, 0, _NONNEG),
        _spec(SocketOption.HEARTBEAT_TTL, 0, _heartbeat_ttl),
        _spec(SocketOption.HEARTBEAT_TIMEOUT, -1, _TIMEOUT),
        _spec(SocketOption.ROUTING_ID, b"", _routing_id),
        _spec(SocketOption.AFFINITY, 0, _int_range(0, (1 << 64) - 1)),
        _spec(SocketOption.MECHANISM, 0, None),
        _spec(SocketOption.PLAIN_SERVER, 0, _flag),
        _spec(SocketOption.PLAIN_USERNAME, b"", _bytes(255)),
        _spec(SocketOption.PLAIN_PASSWORD, b"", _bytes(255)),
        _spec(SocketOption.CURVE_SERVER, 0, _flag),
        _spec(SocketOption.CURVE_PUBLICKEY, b"", _curve_key),
        _spec(SocketOption.CURVE_SECRETKEY, b"", _curve_key),
        _spec(SocketOption.CURVE_SERVERKEY, b"", _curve_key),
        _spec(SocketOption.ZAP_DOMAIN, b"", _bytes(255)),
        _spec(SocketOption.ZAP_ENFORCE_DOMAIN, 0, _flag),
        _spec(SocketOption.METADATA, b"", _metadata),
        _spec(SocketOption.TYPE, 0, None),
        _spec(SocketOption.LAST_ENDPOINT, b"", None),
        # Pattern options.
        _spec(SocketOption.CONNECT_ROUTING_ID, b"", _routing_id, types=_types("ROUTER", "STREAM")),
        _spec(SocketOption.PROBE_ROUTER, 0, _flag, types=_types("REQ", "DEALER", "ROUTER")),
        _spec(SocketOption.REQ_CORRELATE, 0, _flag, types=_types("REQ")),
        _spec(SocketOption.REQ_RELAXED, 0, _flag, types=_types("REQ")),
        _spec(SocketOption.ROUTER_MANDATORY, 0, _flag, types=_ROUTER),
        _spec(SocketOption.ROUTER_HANDOVER, 0, _flag, types=_ROUTER),
        _spec(SocketOption.XPUB_VERBOSE, 0, _flag, types=_XPUB),
        _spec(SocketOption.XPUB_VERBOSER, 0, _flag, types=_XPUB),
        _spec(SocketOption.XPUB_NODROP, 0, _flag, types=_XPUB),
        _spec(SocketOption.XPUB_MANUAL, 0, _flag, types=_XPUB),
        _spec(SocketOption.XPUB_WELCOME_MSG, b"", _bytes(255), types=_XPUB),
        _spec(SocketOption.INVERT_MATCHING, 0, _flag),
        _spec(
            SocketOption.CONFLATE, 0, _flag, types=_types("PUSH", "PULL", "PUB", "SUB", "DEALER")
        ),
        _spec(SocketOption.STREAM_NOTIFY, 1, _flag, types=_types("STREAM")),
        # Multicast (pgm/epgm), with libzmq's defaults: RATE in kbit/s, RECOVERY_IVL in ms
        # (together they size the repair window), MULTICAST_MAXTPDU in octets per packet.
        # libzmq's PGM ignores MULTICAST_LOOP (always off); safezmq's honours it.
        _spec(SocketOption.RATE, 100, _int_range(1)),
        _spec(SocketOption.RECOVERY_IVL, 10_000, _NONNEG),
        _spec(SocketOption.MULTICAST_HOPS, 1, _int_range(1, 255)),
        _spec(SocketOption.MULTICAST_LOOP, 1, _flag),
        _spec(SocketOption.MULTICAST_MAXTPDU, 1500, _int_range(128, 65535)),
        # ipc peer filters: each setsockopt adds one allowed uid/gid/pid (libzmq semantics).
        _spec(SocketOption.IPC_FILTER_UID, (), _int_range(0), readable=False),
        _spec(SocketOption.IPC_FILTER_GID, (), _int_range(0), readable=False),
        _spec(SocketOption.IPC_FILTER_PID, (), _int_range(0), readable=False),
        # Actions, not values: the socket's pattern carries them out (write-only).
        _spec(SocketOption.SUBSCRIBE, b"", _bytes(INT_MAX), readable=False, types=_SUBSCRIBERS),
        _spec(SocketOption.UNSUBSCRIBE, b"", _bytes(INT_MAX), readable=False, types=_SUBSCRIBERS),
    )
}

_FILTERS = frozenset(
    {SocketOption.IPC_FILTER_UID, SocketOption.IPC_FILTER_GID, SocketOption.IPC_FILTER_PID}
)

#: Options that are actions for the socket's pattern (``Pattern.set_option``), not stored.
ACTIONS = frozenset({SocketOption.SUBSCRIBE, SocketOption.UNSUBSCRIBE})

#: Options a user may read but never set, and options computed by the socket itself.
DYNAMIC = frozenset(
    {
        SocketOption.RCVMORE,
        SocketOption.EVENTS,
        SocketOption.FD,
        SocketOption.TYPE,
        SocketOption.LAST_ENDPOINT,
        SocketOption.MECHANISM,
        SocketOption.HWM,
    }
)


class Options:
    """A socket's option values."""

    __slots__ = ("_values", "curve_public_set", "metadata", "socket_type")

    def __init__(self, socket_type: SocketType) -> None:
        self.socket_type = socket_type
        self._values: dict[SocketOption, Any] = {opt: s.default for opt, s in SPECS.items()}
        self._values[SocketOption.TYPE] = int(socket_type)
        #: Application metadata (ZMQ_METADATA), name -> value.
        self.metadata: dict[str, bytes] = {}
        self.curve_public_set = False

    def copy(self) -> Options:
        clone = copy.copy(self)
        clone._values = dict(self._values)
        clone.metadata = dict(self.metadata)
        return clone

    def __getitem__(self, option: SocketOption) -> Any:
        return self._values[option]

    def get(self, option: int) -> Any:
        opt = _option(option)
        if opt == SocketOption.HWM:
            return self._values[SocketOption.SNDHWM]
        if opt == SocketOption.IPV4ONLY:  # libzmq's old inverse of IPV6
            return 1 - int(self._values[SocketOption.IPV6])
        spec = SPECS.get(opt)
        if spec is None:
            if opt in FIXED:
                return FIXED[opt]
            raise _unsupported(opt)
        if not spec.readable:
            raise ZMQError(Errno.EINVAL, f"socket option {opt.name} is write-only")
        if opt == SocketOption.CURVE_SECRETKEY or opt == SocketOption.PLAIN_PASSWORD:
            value = self._values[opt]
            return value.reveal() if isinstance(value, Secret) else value
        return self._values[opt]

    def set(self, option: int, value: Any) -> None:
        opt, checked = self.check(option, value)
        if opt in ACTIONS:
            raise ZMQError(Errno.EINVAL, f"socket option {opt.name} is an action for the socket")
        self.apply(opt, checked)

    def check(self, option: int, value: Any) -> tuple[SocketOption, Any]:
        """The option and its validated value; ZMQError EINVAL saying what is allowed."""
        opt = _option(option)
        if opt == SocketOption.HWM:
            return opt, _NONNEG("HWM", value)
        if opt == SocketOption.IPV4ONLY:
            return SocketOption.IPV6, 1 - _flag(opt.name, value)
        spec = SPECS.get(opt)
        if spec is None:
            if opt in DYNAMIC:
                raise ZMQError(Errno.EINVAL, f"socket option {opt.name} is read-only")
            raise _unsupported(opt)
        if spec.check is None:
            raise ZMQError(Errno.EINVAL, f"socket option {opt.name} is read-only")
        if spec.types is not None and self.socket_type not in spec.types:
            allowed = ", ".join(sorted(t.name for t in spec.types))
            raise ZMQError(
                Errno.EINVAL,
                f"socket option {opt.name} does not apply to {self.socket_type.name} sockets "
                f"(only {allowed})",
            )
        return opt, spec.check(opt.name, value)

    def apply(self, opt: SocketOption, value: Any) -> None:
        """Store a value ``check()`` accepted."""
        if opt == SocketOption.HWM:
            self._values[SocketOption.SNDHWM] = self._values[SocketOption.RCVHWM] = value
            return
        values = self._values
        if opt in _FILTERS:
            values[opt] = (*values[opt], value)
        elif opt == SocketOption.PLAIN_SERVER:
            values[opt] = value
            values[SocketOption.MECHANISM] = 1 if value else 0
        elif opt in (SocketOption.PLAIN_USERNAME, SocketOption.PLAIN_PASSWORD):
            values[opt] = Secret(value, "password") if opt == SocketOption.PLAIN_PASSWORD else value
            values[SocketOption.PLAIN_SERVER] = 0
            values[SocketOption.MECHANISM] = 1 if value else 0
        elif opt == SocketOption.CURVE_SERVER:
            values[opt] = value
            values[SocketOption.MECHANISM] = 2 if value else 0
        elif opt == SocketOption.CURVE_SERVERKEY:
            values[opt] = value
            values[SocketOption.CURVE_SERVER] = 0
            values[SocketOption.MECHANISM] = 2
        elif opt == SocketOption.CURVE_SECRETKEY:
            values[opt] = Secret(value, "CURVE secret key")
            values[SocketOption.MECHANISM] = 2
        elif opt == SocketOption.CURVE_PUBLICKEY:
            values[opt] = value
            values[SocketOption.MECHANISM] = 2
        elif opt == SocketOption.METADATA:
            name, _, data = value.partition(b":")
            self.metadata[name.decode("ascii", "replace")] = data
        else:
            values[opt] = value

    @property
    def mechanism(self) -> int:
        return int(self._values[SocketOption.MECHANISM])


#: Options safezmq does not implement but that libzmq lets any socket read: their libzmq
#: values, which are what safezmq does (no thread-safe sockets, no caller-given descriptors,
#: no Windows loopback fast path).
FIXED: dict[SocketOption, Any] = {
    SocketOption.THREAD_SAFE: 0,
    SocketOption.USE_FD: -1,
    SocketOption.LOOPBACK_FASTPATH: 0,
}


def _option(option: int) -> SocketOption:
    try:
        return SocketOption(option)
    except ValueError:
        raise ZMQError(Errno.EINVAL, f"unknown socket option {option!r}") from None


def _unsupported(opt: SocketOption) -> ZMQError:
    return ZMQError(
        Errno.EINVAL,
        f"socket option {opt.name} is not supported by safezmq (or not by this socket type)",
    )
