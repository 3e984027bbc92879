"""Linux inotify through ctypes on libc: a descriptor that becomes readable when a watched
directory changes.  Only a wake-up: what changed is found by looking again (see keeper.py), so
lost or coalesced events cannot hide a change.  Where inotify is missing, ``Inotify.create()``
returns None and the caller polls.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from typing import Any

# From <sys/inotify.h>.
_IN_MODIFY = 0x002
_IN_ATTRIB = 0x004
_IN_CLOSE_WRITE = 0x008
_IN_MOVED_FROM = 0x040
_IN_MOVED_TO = 0x080
_IN_CREATE = 0x100
_IN_DELETE = 0x200
_IN_DELETE_SELF = 0x400
_IN_MOVE_SELF = 0x800
_IN_NONBLOCK = 0o4000
_IN_CLOEXEC = 0o2000000
#: Everything that can change which certificates a directory holds, or their modes.
MASK = (
    _IN_MODIFY
    | _IN_ATTRIB
    | _IN_CLOSE_WRITE
    | _IN_MOVED_FROM
    | _IN_MOVED_TO
    | _IN_CREATE
    | _IN_DELETE
    | _IN_DELETE_SELF
    | _IN_MOVE_SELF
)


def _libc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.inotify_init1.argtypes = [ctypes.c_int]
        libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        libc.inotify_rm_watch.argtypes = [ctypes.c_int, ctypes.c_int]
    except (OSError, AttributeError):
        return None
    return libc


class Inotify:
    """One inotify descriptor and the directories it watches."""

    def __init__(self, libc: Any, fd: int) -> None:
        self._libc = libc
        self.fd = fd
        self._watches: dict[str, int] = {}

    @classmethod
    def create(cls) -> Inotify | None:
        libc = _libc()
        if libc is None:
            return None
        fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        if fd < 0:
            return None
        return cls(libc, fd)

    def watch(self, directory: str) -> bool:
        """Watch ``directory`` (again: after it was replaced, the old watch is gone)."""
        wd = self._libc.inotify_add_watch(self.fd, os.fsencode(directory), MASK)
        if wd < 0:
            self._watches.pop(directory, None)
            return False
        self._watches[directory] = wd
        return True

    def unwatch(self, directory: str) -> None:
        wd = self._watches.pop(directory, None)
        if wd is not None and wd not in self._watches.values():
            self._libc.inotify_rm_watch(self.fd, wd)

    def drain(self) -> bool:
        """Read and drop pending events; True if there were any."""
        seen = False
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return seen
            except OSError:
                return seen
            if not data:
                return seen
            seen = True

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


__all__ = ["Inotify"]
