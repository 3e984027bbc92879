"""``Stopwatch``: microseconds between start() and stop() (deprecated in pyzmq too)."""

from __future__ import annotations

import time
import warnings

from ..constants import Errno
from ..error import ZMQError


class Stopwatch:
    """A timer in microseconds.  Deprecated: use ``time.monotonic()``."""

    def __init__(self) -> None:
        warnings.warn(
            "Stopwatch is deprecated (as zmq.Stopwatch is in pyzmq); use time.monotonic()",
            DeprecationWarning,
            stacklevel=2,
        )
        self._start: float | None = None

    def start(self) -> None:
        """Start (or restart) counting."""
        self._start = time.monotonic()

    def stop(self) -> int:
        """Microseconds since start()."""
        if self._start is None:
            raise ZMQError(Errno.EINVAL, "Stopwatch.stop() called before start()")
        return int(1e6 * (time.monotonic() - self._start))


__all__ = ["Stopwatch"]
