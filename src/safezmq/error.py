"""The errors of the public API: ZMQError and its subclasses, with libzmq's errno values.

A message says what was wrong and what to do about it; it never carries a key, a password or
an address of memory.
"""

from __future__ import annotations

import os
import threading

from .constants import Errno

#: The errno of the last ZMQError raised in each thread (what zmq_errno() reports).
_last = threading.local()

_OWN_MESSAGES = {
    Errno.EFSM: "Operation cannot be accomplished in current state",
    Errno.ENOCOMPATPROTO: "The protocol is not compatible with the socket type",
    Errno.ETERM: "Context was terminated",
    Errno.EMTHREAD: "No thread available",
    Errno.EHOSTUNREACH: "Host unreachable",  # libzmq's own wording, on every platform
}


def strerror(errnum: int) -> str:
    """The description libzmq gives for an errno value."""
    own = _OWN_MESSAGES.get(errnum)  # type: ignore[call-overload]
    return own if own is not None else os.strerror(errnum)


class ZMQBaseError(Exception):
    """Base class of every safezmq error."""


class ZMQError(ZMQBaseError):
    """An error with a libzmq errno value (``.errno``) and a message (``.strerror``)."""

    errno: int | None
    strerror: str

    def __init__(self, errno: int | None = None, msg: str | None = None) -> None:
        self.errno = errno
        _last.errno = errno
        if msg is None:
            msg = strerror(errno) if errno is not None else "unknown error"
        self.strerror = msg
        super().__init__(errno, msg)

    def __str__(self) -> str:
        return self.strerror

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.strerror!r})"


def zmq_errno() -> int:
    """The errno of the last ZMQError raised in this thread (0 if none): safezmq has no C
    errno, and this is what pyzmq's ``zmq_errno()`` tells after a failed call."""
    return getattr(_last, "errno", None) or 0


class ZMQBindError(ZMQBaseError):
    """``Socket.bind_to_random_port`` found no free port."""


class NotDone(ZMQBaseError):
    """A MessageTracker wait timed out before the message was sent."""


_EAGAIN_TEXT = strerror(Errno.EAGAIN)


class Again(ZMQError):
    """EAGAIN: the operation would block (non-blocking call, or a timeout expired)."""

    def __init__(self, errno: int | None = Errno.EAGAIN, msg: str | None = None) -> None:
        # Raised on every non-blocking miss: keep it cheap (no strerror lookup).
        super().__init__(Errno.EAGAIN, _EAGAIN_TEXT if msg is None else msg)


class ContextTerminated(ZMQError):
    """ETERM: the socket's context was terminated."""

    def __init__(self, errno: int | None = Errno.ETERM, msg: str | None = None) -> None:
        super().__init__(Errno.ETERM, msg)


class InterruptedSystemCall(ZMQError, InterruptedError):  # type: ignore[misc]
    """EINTR: a blocking call was interrupted by a signal."""

    def __init__(self, errno: int | None = Errno.EINTR, msg: str | None = None) -> None:
        super().__init__(Errno.EINTR, msg)


class OptionTypeError(ZMQError, TypeError):
    """EINVAL for an option value of the wrong Python type (a str for a bytes option, bytes
    for an int one).  Also a TypeError, which is what pyzmq raises there."""

    def __init__(self, msg: str) -> None:
        super().__init__(Errno.EINVAL, msg)


_SUBCLASSES: dict[int, type[ZMQError]] = {
    Errno.EAGAIN: Again,
    Errno.ETERM: ContextTerminated,
    Errno.EINTR: InterruptedSystemCall,
}


class DraftFDWarning(RuntimeWarning):
    """pyzmq warns with this about FD on thread-safe draft sockets; safezmq has no draft
    sockets, so it is never raised, but code that filters it can still name it."""

    def __init__(self, msg: str = "") -> None:
        super().__init__(msg or "FD on thread-safe (draft) sockets is experimental")


class ZMQVersionError(NotImplementedError):
    """A feature needs a newer libzmq than the one safezmq reproduces (``zmq_version()``)."""

    msg: str
    min_version: str
    version: str

    def __init__(self, min_version: str, msg: str = "Feature") -> None:
        from .sugar.version import zmq_version

        self.msg = msg
        self.min_version = min_version
        self.version = zmq_version()
        super().__init__(str(self))

    def __repr__(self) -> str:
        return f"ZMQVersionError('{self}')"

    def __str__(self) -> str:
        return f"{self.msg} requires libzmq >= {self.min_version}, have {self.version}"


def _check_version(min_version_info: tuple[int, ...], msg: str = "Feature") -> None:
    """Raise ZMQVersionError unless the reproduced libzmq is at least ``min_version_info``."""
    from .sugar.version import zmq_version_info

    if zmq_version_info() < min_version_info:
        raise ZMQVersionError(".".join(str(v) for v in min_version_info), msg)


def error_for(errno: int, msg: str | None = None) -> ZMQError:
    """The most specific ZMQError for ``errno``, with ``msg``."""
    cls = _SUBCLASSES.get(errno, ZMQError)
    if cls is ZMQError:
        return ZMQError(errno, msg)
    return cls(errno, msg)


__all__ = [
    "Again",
    "ContextTerminated",
    "DraftFDWarning",
    "InterruptedSystemCall",
    "NotDone",
    "ZMQBaseError",
    "ZMQBindError",
    "ZMQError",
    "ZMQVersionError",
]
