"""Where transports, handshakes and sessions run: an asyncio event loop.

A Context normally owns an ``IOThread``: a daemon thread running its own loop.  An asyncio
Context created inside a running loop uses that loop instead (``LoopRunner``), so asyncio
applications pay no thread hop at all.  Both offer the same three calls.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from ..protocol.chunkpool import ChunkPool

T = TypeVar("T")


class LoopRunner:
    """Runs engine work on an existing loop (the application's, for asyncio contexts)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._thread_id: int | None = None
        #: Spare receive chunks for the large bodies of this loop's connections (they run in
        #: its thread only).  Emptied whenever one of them ends (see Session).
        self.chunk_pool = ChunkPool()

    def in_loop_thread(self) -> bool:
        if self._thread_id is None:
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                return False
            if running is self.loop:
                self._thread_id = threading.get_ident()
            return running is self.loop
        return threading.get_ident() == self._thread_id

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the loop soon (from any thread)."""
        if self.in_loop_thread():
            self.loop.call_soon(fn, *args)
        else:
            self.loop.call_soon_threadsafe(fn, *args)

    def call(self, fn: Callable[..., T], *args: Any, timeout: float | None = None) -> T:
        """Run ``fn(*args)`` on the loop and return its result (blocking the caller)."""
        if self.in_loop_thread():
            return fn(*args)
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # handed to the caller
                future.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return future.result(timeout)

    def stop(self) -> None:
        """Nothing to stop: the loop belongs to the application."""


class IOThread(LoopRunner):
    """A loop in a daemon thread of its own."""

    def __init__(self, name: str = "safezmq-io") -> None:
        loop = asyncio.new_event_loop()
        super().__init__(loop)
        self._ready = threading.Event()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()
        self._ready.wait()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self._thread_id = threading.get_ident()
        self.loop.call_soon(self._ready.set)
        try:
            self.loop.run_forever()
        finally:
            try:
                pending = asyncio.all_tasks(self.loop)
                for task in pending:
                    task.cancel()
                if pending:
                    self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            finally:
                self.loop.close()

    def in_loop_thread(self) -> bool:
        return threading.get_ident() == self._thread_id

    def stop(self) -> None:
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            if not self.in_loop_thread():
                self.thread.join(5)
