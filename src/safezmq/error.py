"""The errors of the public API: ZMQError and its subclasses, with libzmq's errno values.

A message says what was wrong and what to do about it; it never carries a key, a password or
an address of memory.
"""

from __future__ import annotations

import os

from .constants import Errno

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
        if msg is None:
            msg = strerror(errno) if errno is not None else "unknown error"
        self.strerror = msg
        super().__init__(errno, msg)

    def __str__(self) -> str:
        return self.strerror

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.strerror!r})"


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


_SUBCLASSES: dict[int, type[ZMQError]] = {
    Errno.EAGAIN: Again,
    Errno.ETERM: ContextTerminated,
    Errno.EINTR: InterruptedSystemCall,
}


def error_for(errno: int, msg: str | None = None) -> ZMQError:
    """The most specific ZMQError for ``errno``, with ``msg``."""
    cls = _SUBCLASSES.get(errno, ZMQError)
    if cls is ZMQError:
        return ZMQError(errno, msg)
    return cls(errno, msg)
