"""The engine's I/O loop for a green context: a native thread that greenlets wait for through
the gevent hub.

A safezmq context runs transports and handshakes on an asyncio loop in a thread of its own.
Under gevent three things about that thread must change, and nothing else in the engine:

- It must be a real OS thread even when ``threading`` is monkey-patched (a patched Thread is a
  greenlet: the loop would then stall whenever the application runs, and asyncio allows one
  running loop per OS thread, so a second context could not start its own).  Its selector and
  its executor (used for ``getaddrinfo``) are likewise the unpatched ones.
- A greenlet that needs the loop (``call``: a bind, the first connect of a socket) must wait
  for the answer in the hub, so that the other greenlets keep running meanwhile.  The loop
  thread hands the answer over with an async watcher, the one gevent primitive that another
  thread may signal.
- What it shares with the application's thread is guarded by native locks (see
  core._native_locks), and what it runs elsewhere touches nothing of gevent's (see
  _NativeExecutor): a gevent lock contended by two native threads can miss a wake-up and
  stall one of them for good.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import encodings.idna  # noqa: F401 - see _NativeExecutor
import socket
from collections.abc import Callable
from typing import Any, TypeVar

from gevent import Timeout  # type: ignore[import-untyped]
from gevent.event import AsyncResult  # type: ignore[import-untyped]
from gevent.hub import get_hub  # type: ignore[import-untyped]
from gevent.monkey import get_original, is_module_patched  # type: ignore[import-untyped]

from ..engine.iothread import IOThread, LoopRunner

T = TypeVar("T")

#: The unpatched primitives, whether or not gevent's monkey-patching is active.
_start_thread: Callable[..., int] = get_original("_thread", "start_new_thread")
_get_ident: Callable[[], int] = get_original("_thread", "get_ident")
_allocate_lock: Callable[[], Any] = get_original("_thread", "allocate_lock")
_NativeEvent: type[Any] = get_original("threading", "Event")
_NativeSelector: type[Any] = get_original("selectors", "DefaultSelector")
#: asyncio's resolver calls, to their unpatched functions (see _NativeExecutor).
_UNPATCHED = {name: get_original("socket", name) for name in ("getaddrinfo", "getnameinfo")}

#: How long stop() waits for the loop thread to finish (as IOThread.stop's join).
STOP_TIMEOUT = 5.0


class HubResult:
    """A value (or exception) handed from any thread to one greenlet of the thread that made
    this object, which waits for it in the hub (other greenlets run meanwhile).

    Made, waited for and closed in the hub's thread; ``set``/``fail`` may come from any thread,
    even after the waiter gave up (they are then ignored)."""

    __slots__ = ("_closed", "_error", "_lock", "_result", "_value", "_watcher")

    def __init__(self) -> None:
        hub = get_hub()
        self._result = AsyncResult()
        self._value: Any = None
        self._error: BaseException | None = None
        self._lock = _allocate_lock()
        self._closed = False
        # A started async watcher also keeps the hub's loop alive: without one, a greenlet
        # that waits while nothing else is scheduled would get gevent's LoopExit.
        self._watcher = hub.loop.async_()
        self._watcher.start(self._deliver)

    def set(self, value: Any) -> None:
        self._value = value
        self._send()

    def fail(self, error: BaseException) -> None:
        self._error = error
        self._send()

    def _send(self) -> None:
        with self._lock:
            if not self._closed:
                self._watcher.send()

    def _deliver(self) -> None:  # in the hub
        if self._error is not None:
            self._result.set_exception(self._error)
        else:
            self._result.set(self._value)

    def get(self, timeout: float | None = None) -> Any:
        """The value; raises what ``fail`` passed, or gevent.Timeout after ``timeout`` s."""
        try:
            return self._result.get(timeout=timeout)
        finally:
            self.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._watcher.stop()
        self._watcher.close()


def _unpatched(fn: Callable[..., T]) -> Callable[..., T]:
    """``fn``, or the original if it is gevent's stand-in for one in _UNPATCHED."""
    for name, original in _UNPATCHED.items():
        if fn is getattr(socket, name, None):
            return original  # type: ignore[no-any-return]
    return fn


def _settle(
    future: concurrent.futures.Future[Any], value: Any, error: BaseException | None
) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


class _NativeExecutor(concurrent.futures.ThreadPoolExecutor):
    """The loop's default executor: each job in a native thread of its own.  asyncio uses it
    for ``getaddrinfo``; a patched ThreadPoolExecutor's workers would be greenlets of the loop
    thread, which never yields to a hub, so they would never run.  (asyncio accepts only a
    ThreadPoolExecutor; none of its pool machinery is used.)

    The job's thread touches nothing of gevent's, because gevent locks contended by two native
    threads can miss a wake-up and stall them for good: a patched getaddrinfo is replaced by
    the original (gevent's would also start a hub and a thread pool in that thread, and leave
    them behind); the result is handed to the future on the loop, so the future's lock is only
    ever taken by the loop's thread; and the codec getaddrinfo imports on first use
    (``encodings.idna``) is imported with this module, since import locks are patched too."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(max_workers=1)
        self._loop = loop

    def submit(
        self, fn: Callable[..., T], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        future.set_running_or_notify_cancel()  # asyncio submits from the loop's thread
        call = _unpatched(fn)

        def job() -> None:
            value: Any = None
            error: BaseException | None = None
            try:
                value = call(*args, **kwargs)
            except BaseException as exc:  # handed to whoever awaits the future
                error = exc
            try:
                self._loop.call_soon_threadsafe(_settle, future, value, error)
            except RuntimeError:
                pass  # the loop is closed: nobody waits for the answer any more

        _start_thread(job, ())
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Nothing to shut down: each job's thread ends with the job."""


class HubIOThread(IOThread):
    """IOThread for green contexts (see the module docstring)."""

    def __init__(self) -> None:
        LoopRunner.__init__(self, asyncio.SelectorEventLoop(_NativeSelector()))
        self.loop.set_default_executor(_NativeExecutor(self.loop))
        self._ready = _NativeEvent()  # set by IOThread._run; nobody needs to wait for it
        self._native_id: int | None = None
        self._exit_lock = _allocate_lock()
        self._exited = False
        self._on_exit: Callable[[], None] | None = None
        # Not waiting for the thread to start: posts queue on the loop until it runs, and
        # in_loop_thread() is False for every other thread meanwhile.
        _start_thread(self._main, ())

    def _main(self) -> None:
        self._native_id = _get_ident()
        try:
            self._run()
            if is_module_patched("socket"):
                # The sockets a patched module makes here (on accept) gave this thread a
                # gevent hub; it would outlive the thread, with its loop's descriptors.
                get_hub().destroy(destroy_loop=True)
        finally:
            with self._exit_lock:
                self._exited = True
                on_exit = self._on_exit
            if on_exit is not None:
                on_exit()

    def in_loop_thread(self) -> bool:
        return _get_ident() == self._native_id

    def call(self, fn: Callable[..., T], *args: Any, timeout: float | None = None) -> T:
        """Run ``fn(*args)`` on the loop; the calling greenlet waits in the hub."""
        if self.in_loop_thread():
            return fn(*args)
        result = HubResult()

        def run() -> None:
            try:
                value = fn(*args)
            except BaseException as exc:  # handed to the caller
                result.fail(exc)
            else:
                result.set(value)

        try:
            self.loop.call_soon_threadsafe(run)
        except BaseException:
            result.close()
            raise
        value: T = result.get(timeout)
        return value

    def stop(self) -> None:
        """Stop the loop; from another thread, wait (in the hub) until the thread is done."""
        if self.loop.is_closed():
            return
        try:
            self.loop.call_soon_threadsafe(self.loop.stop)
        except RuntimeError:  # closed meanwhile
            return
        if self.in_loop_thread():
            return
        done = HubResult()
        with self._exit_lock:
            exited = self._exited
            if not exited:
                self._on_exit = lambda: done.set(None)
        if exited:
            done.close()
            return
        try:
            done.get(STOP_TIMEOUT)
        except Timeout:  # the thread is a daemon: leave it be
            pass
