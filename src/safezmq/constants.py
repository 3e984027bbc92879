"""libzmq's numbers, as IntEnums.

These are facts of the wire and of the C API (libzmq 4.3 on Linux): socket types, error numbers,
monitor events and protocol-error codes.  They carry the same values as libzmq so that monitor
events, errno values and socket types mean the same thing to safezmq and to a libzmq peer.
"""

from __future__ import annotations

import errno as _errno
from enum import Enum, IntEnum, IntFlag

#: libzmq numbers its own error codes above this base when the platform lacks them.
ZMQ_HAUSNUMERO = 156384712


class SocketType(IntEnum):
    PAIR = 0
    PUB = 1
    SUB = 2
    REQ = 3
    REP = 4
    DEALER = 5
    ROUTER = 6
    PULL = 7
    PUSH = 8
    XPUB = 9
    XSUB = 10
    STREAM = 11
    # Draft socket types: known by number (so the error says "not implemented"), not built.
    SERVER = 12
    CLIENT = 13
    RADIO = 14
    DISH = 15
    GATHER = 16
    SCATTER = 17
    DGRAM = 18
    PEER = 19
    CHANNEL = 20
    # libzmq 2.x names, still accepted by pyzmq.
    XREQ = 5
    XREP = 6


class Errno(IntEnum):
    """libzmq's errno values: the platform's where it has one, libzmq's own otherwise."""

    EAGAIN = _errno.EAGAIN
    EFAULT = _errno.EFAULT
    EINVAL = _errno.EINVAL
    EINTR = _errno.EINTR
    ENOMEM = _errno.ENOMEM
    EACCES = _errno.EACCES
    EMFILE = _errno.EMFILE
    ENOENT = _errno.ENOENT
    EPROTO = _errno.EPROTO
    ENAMETOOLONG = _errno.ENAMETOOLONG
    EBADF = _errno.EBADF
    ENODEV = _errno.ENODEV
    ENOTSUP = getattr(_errno, "ENOTSUP", ZMQ_HAUSNUMERO + 1)
    EPROTONOSUPPORT = getattr(_errno, "EPROTONOSUPPORT", ZMQ_HAUSNUMERO + 2)
    ENOBUFS = getattr(_errno, "ENOBUFS", ZMQ_HAUSNUMERO + 3)
    ENETDOWN = getattr(_errno, "ENETDOWN", ZMQ_HAUSNUMERO + 4)
    EADDRINUSE = getattr(_errno, "EADDRINUSE", ZMQ_HAUSNUMERO + 5)
    EADDRNOTAVAIL = getattr(_errno, "EADDRNOTAVAIL", ZMQ_HAUSNUMERO + 6)
    ECONNREFUSED = getattr(_errno, "ECONNREFUSED", ZMQ_HAUSNUMERO + 7)
    EINPROGRESS = getattr(_errno, "EINPROGRESS", ZMQ_HAUSNUMERO + 8)
    ENOTSOCK = getattr(_errno, "ENOTSOCK", ZMQ_HAUSNUMERO + 9)
    EMSGSIZE = getattr(_errno, "EMSGSIZE", ZMQ_HAUSNUMERO + 10)
    EAFNOSUPPORT = getattr(_errno, "EAFNOSUPPORT", ZMQ_HAUSNUMERO + 11)
    ENETUNREACH = getattr(_errno, "ENETUNREACH", ZMQ_HAUSNUMERO + 12)
    ECONNABORTED = getattr(_errno, "ECONNABORTED", ZMQ_HAUSNUMERO + 13)
    ECONNRESET = getattr(_errno, "ECONNRESET", ZMQ_HAUSNUMERO + 14)
    ENOTCONN = getattr(_errno, "ENOTCONN", ZMQ_HAUSNUMERO + 15)
    ETIMEDOUT = getattr(_errno, "ETIMEDOUT", ZMQ_HAUSNUMERO + 16)
    EHOSTUNREACH = getattr(_errno, "EHOSTUNREACH", ZMQ_HAUSNUMERO + 17)
    ENETRESET = getattr(_errno, "ENETRESET", ZMQ_HAUSNUMERO + 18)
    EFSM = ZMQ_HAUSNUMERO + 51
    ENOCOMPATPROTO = ZMQ_HAUSNUMERO + 52
    ETERM = ZMQ_HAUSNUMERO + 53
    EMTHREAD = ZMQ_HAUSNUMERO + 54


class Event(IntFlag):
    """Socket monitor events (zmq_socket_monitor), and, as in pyzmq, the protocol-error codes
    a HANDSHAKE_FAILED_PROTOCOL event carries as its value (``PROTOCOL_ERROR_*``)."""

    # The protocol-error codes come first: their values overlap the event bits, and the first
    # name given to a value is the one a repr shows.
    PROTOCOL_ERROR_WS_UNSPECIFIED = 0x30000000
    PROTOCOL_ERROR_ZMTP_UNSPECIFIED = 0x10000000
    PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND = 0x10000001
    PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE = 0x10000002
    PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE = 0x10000003
    PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED = 0x10000011
    PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_MESSAGE = 0x10000012
    PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO = 0x10000013
    PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE = 0x10000014
    PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR = 0x10000015
    PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY = 0x10000016
    PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_WELCOME = 0x10000017
    PROTOCOL_ERROR_ZMTP_INVALID_METADATA = 0x10000018
    PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC = 0x11000001
    PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH = 0x11000002
    PROTOCOL_ERROR_ZAP_UNSPECIFIED = 0x20000000
    PROTOCOL_ERROR_ZAP_MALFORMED_REPLY = 0x20000001
    PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID = 0x20000002
    PROTOCOL_ERROR_ZAP_BAD_VERSION = 0x20000003
    PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE = 0x20000004
    PROTOCOL_ERROR_ZAP_INVALID_METADATA = 0x20000005

    CONNECTED = 0x0001
    CONNECT_DELAYED = 0x0002
    CONNECT_RETRIED = 0x0004
    LISTENING = 0x0008
    BIND_FAILED = 0x0010
    ACCEPTED = 0x0020
    ACCEPT_FAILED = 0x0040
    CLOSED = 0x0080
    CLOSE_FAILED = 0x0100
    DISCONNECTED = 0x0200
    MONITOR_STOPPED = 0x0400
    HANDSHAKE_FAILED_NO_DETAIL = 0x0800
    HANDSHAKE_SUCCEEDED = 0x1000
    HANDSHAKE_FAILED_PROTOCOL = 0x2000
    HANDSHAKE_FAILED_AUTH = 0x4000
    #: safezmq's own event (the one free bit of libzmq's 16-bit event field): a peer broke a
    #: resource limit (its value says which) and was disconnected.  pyzmq's parser, which
    #: reads the field as signed, shows it as -32768.
    LIMIT_EXCEEDED = 0x8000
    ALL_V1 = 0xFFFF  # first, so that repr(EVENT_ALL) names ALL_V1 as pyzmq's does
    ALL = 0xFFFF
    PIPES_STATS = 0x10000
    ALL_V2 = 0x1FFFF


class ProtocolErrorCode(IntEnum):
    """The value of a HANDSHAKE_FAILED_PROTOCOL event (ZMQ_PROTOCOL_ERROR_*)."""

    ZMTP_UNSPECIFIED = 0x10000000
    ZMTP_UNEXPECTED_COMMAND = 0x10000001
    ZMTP_INVALID_SEQUENCE = 0x10000002
    ZMTP_KEY_EXCHANGE = 0x10000003
    ZMTP_MALFORMED_COMMAND_UNSPECIFIED = 0x10000011
    ZMTP_MALFORMED_COMMAND_MESSAGE = 0x10000012
    ZMTP_MALFORMED_COMMAND_HELLO = 0x10000013
    ZMTP_MALFORMED_COMMAND_INITIATE = 0x10000014
    ZMTP_MALFORMED_COMMAND_ERROR = 0x10000015
    ZMTP_MALFORMED_COMMAND_READY = 0x10000016
    ZMTP_MALFORMED_COMMAND_WELCOME = 0x10000017
    ZMTP_INVALID_METADATA = 0x10000018
    ZMTP_CRYPTOGRAPHIC = 0x11000001
    ZMTP_MECHANISM_MISMATCH = 0x11000002
    ZAP_UNSPECIFIED = 0x20000000
    ZAP_MALFORMED_REPLY = 0x20000001
    ZAP_BAD_REQUEST_ID = 0x20000002
    ZAP_BAD_VERSION = 0x20000003
    ZAP_INVALID_STATUS_CODE = 0x20000004
    ZAP_INVALID_METADATA = 0x20000005
    WS_UNSPECIFIED = 0x30000000


class ContextOption(IntEnum):
    """Context options (zmq_ctx_set)."""

    IO_THREADS = 1
    MAX_SOCKETS = 2
    SOCKET_LIMIT = 3
    THREAD_PRIORITY = 3  # write-only in libzmq, where SOCKET_LIMIT is read-only
    THREAD_SCHED_POLICY = 4
    MAX_MSGSZ = 5
    MSG_T_SIZE = 6
    THREAD_AFFINITY_CPU_ADD = 7
    THREAD_AFFINITY_CPU_REMOVE = 8
    THREAD_NAME_PREFIX = 9


class _OptType(Enum):
    """The C type of a socket option's value (pyzmq's ``SocketOption._opt_type``)."""

    int = "int"
    int64 = "int64"
    bytes = "bytes"
    fd = "fd"


class SocketOption(IntEnum):
    """Socket options (zmq_setsockopt), with libzmq's numbers."""

    #: Set on every member below the class (see _OPTION_TYPES).
    _opt_type: _OptType

    HWM = 1
    AFFINITY = 4
    ROUTING_ID = 5
    IDENTITY = 5
    SUBSCRIBE = 6
    UNSUBSCRIBE = 7
    RATE = 8
    RECOVERY_IVL = 9
    SNDBUF = 11
    RCVBUF = 12
    RCVMORE = 13
    FD = 14
    EVENTS = 15
    TYPE = 16
    LINGER = 17
    RECONNECT_IVL = 18
    BACKLOG = 19
    RECONNECT_IVL_MAX = 21
    MAXMSGSIZE = 22
    SNDHWM = 23
    RCVHWM = 24
    MULTICAST_HOPS = 25
    RCVTIMEO = 27
    SNDTIMEO = 28
    LAST_ENDPOINT = 32
    ROUTER_MANDATORY = 33
    TCP_KEEPALIVE = 34
    TCP_KEEPALIVE_CNT = 35
    TCP_KEEPALIVE_IDLE = 36
    TCP_KEEPALIVE_INTVL = 37
    IMMEDIATE = 39
    DELAY_ATTACH_ON_CONNECT = 39
    XPUB_VERBOSE = 40
    ROUTER_RAW = 41
    IPV6 = 42
    MECHANISM = 43
    PLAIN_SERVER = 44
    PLAIN_USERNAME = 45
    PLAIN_PASSWORD = 46
    CURVE_SERVER = 47
    CURVE_PUBLICKEY = 48
    CURVE_SECRETKEY = 49
    CURVE_SERVERKEY = 50
    PROBE_ROUTER = 51
    REQ_CORRELATE = 52
    REQ_RELAXED = 53
    CONFLATE = 54
    ZAP_DOMAIN = 55
    ROUTER_HANDOVER = 56
    TOS = 57
    CONNECT_ROUTING_ID = 61
    CONNECT_RID = 61
    GSSAPI_SERVER = 62
    GSSAPI_PRINCIPAL = 63
    GSSAPI_SERVICE_PRINCIPAL = 64
    GSSAPI_PLAINTEXT = 65
    HANDSHAKE_IVL = 66
    SOCKS_PROXY = 68
    XPUB_NODROP = 69
    BLOCKY = 70
    XPUB_MANUAL = 71
    XPUB_WELCOME_MSG = 72
    STREAM_NOTIFY = 73
    INVERT_MATCHING = 74
    HEARTBEAT_IVL = 75
    HEARTBEAT_TTL = 76
    HEARTBEAT_TIMEOUT = 77
    XPUB_VERBOSER = 78
    CONNECT_TIMEOUT = 79
    TCP_MAXRT = 80
    THREAD_SAFE = 81
    MULTICAST_MAXTPDU = 84
    VMCI_BUFFER_SIZE = 85
    VMCI_BUFFER_MIN_SIZE = 86
    VMCI_BUFFER_MAX_SIZE = 87
    VMCI_CONNECT_TIMEOUT = 88
    USE_FD = 89
    GSSAPI_PRINCIPAL_NAMETYPE = 90
    GSSAPI_SERVICE_PRINCIPAL_NAMETYPE = 91
    BINDTODEVICE = 92
    TCP_ACCEPT_FILTER = 38
    IPC_FILTER_PID = 58
    IPC_FILTER_UID = 59
    IPC_FILTER_GID = 60
    IPV4ONLY = 31
    FAIL_UNROUTABLE = 33
    ROUTER_BEHAVIOR = 33
    ZAP_ENFORCE_DOMAIN = 93
    LOOPBACK_FASTPATH = 94
    METADATA = 95
    MULTICAST_LOOP = 96
    ROUTER_NOTIFY = 97
    XPUB_MANUAL_LAST_VALUE = 98
    SOCKS_USERNAME = 99
    SOCKS_PASSWORD = 100
    IN_BATCH_SIZE = 101
    OUT_BATCH_SIZE = 102
    WSS_KEY_PEM = 103
    WSS_CERT_PEM = 104
    WSS_TRUST_PEM = 105
    WSS_HOSTNAME = 106
    WSS_TRUST_SYSTEM = 107
    ONLY_FIRST_SUBSCRIBE = 108
    RECONNECT_STOP = 109
    HELLO_MSG = 110
    DISCONNECT_MSG = 111
    PRIORITY = 112
    BUSY_POLL = 113
    HICCUP_MSG = 114
    XSUB_VERBOSE_UNSUBSCRIBE = 115
    TOPICS_COUNT = 116
    NORM_MODE = 117
    NORM_UNICAST_NACK = 118
    NORM_BUFFER_SIZE = 119
    NORM_SEGMENT_SIZE = 120
    NORM_BLOCK_SIZE = 121
    NORM_NUM_PARITY = 122
    NORM_NUM_AUTOPARITY = 123
    NORM_PUSH = 124


class Flag(IntFlag):
    DONTWAIT = 1
    SNDMORE = 2
    NOBLOCK = 1


class MessageOption(IntEnum):
    MORE = 1
    SHARED = 3
    SRCFD = 2


class PollEvent(IntFlag):
    POLLIN = 1
    POLLOUT = 2
    POLLERR = 4
    POLLPRI = 8


class DeviceType(IntEnum):
    STREAMER = 1
    FORWARDER = 2
    QUEUE = 3


class RouterNotify(IntEnum):
    CONNECT = 1
    DISCONNECT = 2


class ReconnectStop(IntEnum):
    CONN_REFUSED = 1
    HANDSHAKE_FAILED = 2
    AFTER_DISCONNECT = 4


class Limit(IntEnum):
    """The value of an EVENT_LIMIT_EXCEEDED monitor event: which limit the peer broke."""

    SUBSCRIPTIONS = 1  # too many subscriptions from one subscriber
    SUBSCRIPTION_BYTES = 2  # too many octets of topics (or a command larger than any topic)
    MESSAGE_SIZE = 3  # a message over MAXMSGSIZE (or with too many frames)
    #: pgm/epgm (nobody is disconnected: multicast has no connection): packets of a source
    #: were lost beyond repair (they left its RATE x RECOVERY_IVL window, or the NAK retries
    #: ran out); the messages they cut were dropped, never delivered in part.
    MULTICAST_LOSS = 4


class SecurityMechanism(IntEnum):
    NULL = 0
    PLAIN = 1
    CURVE = 2
    GSSAPI = 3


class NormMode(IntEnum):
    """ZMQ_NORM_MODE values (NORM transport, which safezmq does not implement)."""

    FIXED = 0
    CC = 1
    CCL = 2
    CCE = 3
    CCE_ECNONLY = 4


#: The options whose value is not a C int (every other option is _OptType.int).
_OPTION_TYPES: dict[str, _OptType] = {
    **dict.fromkeys(["AFFINITY", "MAXMSGSIZE"], _OptType.int64),
    **dict.fromkeys(
        ["VMCI_BUFFER_SIZE", "VMCI_BUFFER_MIN_SIZE", "VMCI_BUFFER_MAX_SIZE"], _OptType.int64
    ),
    "FD": _OptType.fd,
    **dict.fromkeys(
        [
            "ROUTING_ID",
            "SUBSCRIBE",
            "UNSUBSCRIBE",
            "LAST_ENDPOINT",
            "PLAIN_USERNAME",
            "PLAIN_PASSWORD",
            "CURVE_PUBLICKEY",
            "CURVE_SECRETKEY",
            "CURVE_SERVERKEY",
            "ZAP_DOMAIN",
            "CONNECT_ROUTING_ID",
            "GSSAPI_PRINCIPAL",
            "GSSAPI_SERVICE_PRINCIPAL",
            "SOCKS_PROXY",
            "XPUB_WELCOME_MSG",
            "BINDTODEVICE",
            "TCP_ACCEPT_FILTER",
            "METADATA",
            "SOCKS_USERNAME",
            "SOCKS_PASSWORD",
            "WSS_KEY_PEM",
            "WSS_CERT_PEM",
            "WSS_TRUST_PEM",
            "WSS_HOSTNAME",
            "HELLO_MSG",
            "DISCONNECT_MSG",
            "HICCUP_MSG",
        ],
        _OptType.bytes,
    ),
}
for _member in SocketOption:
    _member._opt_type = _OPTION_TYPES.get(_member.name, _OptType.int)


def _global_name(enum: type[Enum], name: str) -> str:
    """The module-level name of an enum member, as pyzmq spells it (``zmq.EVENT_CONNECTED``,
    ``zmq.PROTOCOL_ERROR_ZAP_UNSPECIFIED``, ``zmq.NOTIFY_CONNECT``, ``zmq.PUSH`` ...)."""
    if enum is Event:
        return name if name.startswith("PROTOCOL_ERROR_") else "EVENT_" + name
    prefix: dict[type[Enum], str] = {
        RouterNotify: "NOTIFY_",
        NormMode: "NORM_",
        ReconnectStop: "RECONNECT_STOP_",
    }
    return prefix.get(enum, "") + name


#: The enums whose members are module-level constants here and in ``safezmq``.
_EXPORTED_ENUMS: tuple[type[Enum], ...] = (
    ContextOption,
    DeviceType,
    Errno,
    Event,
    Flag,
    MessageOption,
    NormMode,
    PollEvent,
    ReconnectStop,
    RouterNotify,
    SecurityMechanism,
    SocketOption,
    SocketType,
)


def _export() -> list[str]:
    names: list[str] = []
    namespace = globals()
    for enum in _EXPORTED_ENUMS:
        names.append(enum.__name__)
        for name, member in enum.__members__.items():
            public = _global_name(enum, name)
            namespace[public] = member
            names.append(public)
    return names


__all__ = ["Enum", "IntEnum", "IntFlag", *_export()]
