"""``allow_interrupt`` (pyzmq's ``zmq.utils.win32``): let CTRL-C interrupt a blocking call.

On Windows pyzmq installs a console control handler that runs ``action`` (typically a
function that closes or signals something, so that a blocking ``recv`` returns).  safezmq's
blocking calls wait on Python primitives, which already see KeyboardInterrupt, so outside
Windows this is a context manager that does nothing; on Windows it installs the same handler."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any


class allow_interrupt:
    """Run ``action`` when CTRL-C arrives while the ``with`` block runs (Windows)."""

    def __init__(self, action: Callable[[], Any] | None = None) -> None:
        self.action: Callable[[], Any] = action if action is not None else _nothing
        self._handler: Any = None

    def __enter__(self) -> None:
        if sys.platform == "win32":
            import ctypes
            from ctypes import wintypes

            routine = ctypes.WINFUNCTYPE(wintypes.BOOL, wintypes.DWORD)
            action = self.action

            def handle(event: int) -> int:
                if event == 0:  # CTRL_C_EVENT
                    action()
                return 0  # not handled: Python still raises KeyboardInterrupt

            self._handler = routine(handle)
            if not ctypes.windll.kernel32.SetConsoleCtrlHandler(self._handler, 1):
                raise ctypes.WinError()

    def __exit__(self, *exc: object) -> None:
        if sys.platform == "win32" and self._handler is not None:
            import ctypes

            if not ctypes.windll.kernel32.SetConsoleCtrlHandler(self._handler, 0):
                raise ctypes.WinError()
            self._handler = None


def _nothing() -> None:
    return None


__all__ = ["allow_interrupt"]
