"""pyzmq's zero-copy garbage collector (``zmq.utils.garbage``), for code that names it.

pyzmq keeps a Python object alive here while libzmq still reads its buffer (a zero-copy send),
and drops it when libzmq's free callback fires.  safezmq's frames hold their buffers as ordinary
Python references, so nothing ever needs storing: ``gc.refs`` stays empty unless a caller
stores something itself with ``store()``."""

from __future__ import annotations

import itertools
import threading
from typing import Any, NamedTuple


class gcref(NamedTuple):
    obj: object
    event: threading.Event | None


class GarbageCollector:
    """Holds objects until their event is set (or ``collect`` is called for their key)."""

    def __init__(self, context: Any = None) -> None:
        self.refs: dict[int, gcref] = {}
        self.context = context
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def store(self, obj: object, event: threading.Event | None = None) -> int:
        """Keep ``obj`` alive; returns the key that releases it."""
        with self._lock:
            self._reap()
            key = next(self._ids)
            self.refs[key] = gcref(obj, event)
        return key

    def collect(self, key: int) -> None:
        """Release the object stored under ``key``."""
        with self._lock:
            self.refs.pop(key, None)

    def _reap(self) -> None:
        for key, ref in list(self.refs.items()):
            if ref.event is not None and ref.event.is_set():
                del self.refs[key]

    def start(self) -> None:
        """Nothing to start: safezmq needs no collector thread."""

    def stop(self) -> None:
        with self._lock:
            self.refs.clear()

    def is_alive(self) -> bool:
        return True


gc = GarbageCollector()

__all__ = ["GarbageCollector", "gc", "gcref"]
