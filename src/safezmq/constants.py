"""libzmq's numbers, as IntEnums.

These are facts of the wire and of the C API (libzmq 4.3 on Linux): socket types, error numbers,
monitor events and protocol-error codes.  They carry the same values as libzmq so that monitor
events, errno values and socket types mean the same thing to safezmq and to a libzmq peer.
"""

from __future__ import annotations

import errno as _errno
from enum import IntEnum

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


class Event(IntEnum):
    """Socket monitor events (zmq_socket_monitor)."""

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
    PIPES_STATS = 0x10000
    ALL = 0xFFFF


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


class SecurityMechanism(IntEnum):
    NULL = 0
    PLAIN = 1
    CURVE = 2
