"""A ZAP handler in its own thread (pyzmq's ``zmq.auth.thread.ThreadAuthenticator``).

The thread owns the ZAP socket while it runs.  The application talks to it over a PAIR pipe:
``TERMINATE`` to stop, and ``CONFIGURE`` for each configuration call made while it runs (the
change itself is handed over in memory, never serialized, so no password crosses a socket),
which the thread applies between two requests before answering ``OK``.  So a configuration
call returns once the change is in force, and the handler never sees half of one.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from typing import Any

from ..constants import Flag, PollEvent, SocketType
from ..context import Context
from ..error import Again, ContextTerminated, ZMQError
from ..poll import Poller
from .base import Authenticator

#: How long start() waits for the thread to run, and a configuration call for it to apply the
#: change (it waits behind the request being handled, e.g. a slow credentials provider).
START_TIMEOUT = 10.0
CONFIGURE_TIMEOUT_MS = 10_000

_TERMINATE = b"TERMINATE"
_CONFIGURE = b"CONFIGURE"


#: ZAP requests handled between two looks at the pipe, when they are queued.
ZAP_BATCH = 64


class AuthenticationThread(threading.Thread):
    """The thread that runs a ThreadAuthenticator's handler."""

    def __init__(self, authenticator: ThreadAuthenticator, pipe: Any) -> None:
        super().__init__(daemon=True, name="safezmq-auth")
        self.authenticator = authenticator
        self.log = authenticator.log
        self.pipe = pipe
        self.started = threading.Event()

    def run(self) -> None:
        loop = asyncio.new_event_loop()  # for handle_zap_message (and async providers)
        try:
            loop.run_until_complete(self._serve())
        except ContextTerminated:
            self._close_zap_socket()  # so that term() can finish
        except ZMQError as exc:
            self.log.error("ZAP handler thread stopped: %s", exc)
        finally:
            self.started.set()  # never leave start() waiting
            pipe, self.pipe = self.pipe, None
            if pipe is not None:
                pipe.close()
            loop.close()

    def _close_zap_socket(self) -> None:
        sock = self.authenticator.zap_socket
        if sock is not None:
            sock.close()

    async def _serve(self) -> None:
        # The whole service is one coroutine on this thread's own loop, which has nothing else
        # to do: a request is awaited in place (no task, no turn of the loop, which cost more
        # than the request itself), and only a handler that really waits for something (an
        # async credentials provider) lets the loop run, until it is done.  The blocking
        # poll between requests holds nothing up for the same reason.
        auth = self.authenticator
        zap = auth.zap_socket
        poller = Poller()
        poller.register(self.pipe, PollEvent.POLLIN)
        poller.register(zap, PollEvent.POLLIN)
        self.started.set()
        while True:
            events = dict(poller.poll())
            if self.pipe in events:
                command = self.pipe.recv_multipart()
                if self._handle_pipe_message(command):
                    return
            if zap in events:
                # Up to ZAP_BATCH requests that are already queued before polling again (a
                # storm of handshakes queues many); the pipe waits at most that long.
                for _ in range(ZAP_BATCH):
                    try:
                        msg = zap.recv_multipart(Flag.NOBLOCK)
                    except Again:
                        break
                    await auth.handle_zap_message(msg)

    def _handle_pipe_message(self, msg: list[bytes]) -> bool:
        """Act on a command from the application; True to stop."""
        command = msg[0] if msg else b""
        self.log.debug("auth received API command %s", command[:20])
        if command == _TERMINATE:
            return True
        if command == _CONFIGURE and len(msg) == 2:
            self.pipe.send_multipart([self.authenticator._apply_pending(msg[1]), msg[1]])
        else:
            self.log.error("Invalid auth command from API: %s", command[:20])
            self.pipe.send(b"ERROR")
        return False


class ThreadAuthenticator(Authenticator):
    """Run ZAP authentication in a background thread."""

    pipe: Any
    pipe_endpoint: str
    thread: AuthenticationThread | None

    def __init__(
        self,
        context: Context | None = None,
        encoding: str = "utf-8",
        log: Any = None,
    ) -> None:
        super().__init__(context=context, encoding=encoding, log=log)
        self.pipe = None
        self.pipe_endpoint = f"inproc://safezmq.auth.{id(self):x}.{os.urandom(4).hex()}"
        self.thread = None
        self._pipe_lock = threading.Lock()
        self._pending: tuple[bytes, Callable[[], None]] | None = None
        self._pending_error: BaseException | None = None
        self._sequence = 0

    def start(self) -> None:
        """Bind the ZAP socket and start the thread that answers it."""
        if self.is_alive():
            raise RuntimeError("this authenticator is already running; stop() it first")
        super().start()
        try:
            # Plain (blocking) sockets, whatever the context's default socket class.
            pipe_class = self._socket_class()
            self.pipe = self.context.socket(SocketType.PAIR, socket_class=pipe_class)
            self.pipe.linger = 0
            self.pipe.rcvtimeo = CONFIGURE_TIMEOUT_MS
            self.pipe.bind(self.pipe_endpoint)
            thread_pipe = self.context.socket(SocketType.PAIR, socket_class=pipe_class)
            thread_pipe.linger = 0
            thread_pipe.connect(self.pipe_endpoint)
        except BaseException:
            self._close_pipe()
            super().stop()
            raise
        self.thread = AuthenticationThread(self, thread_pipe)
        self.thread.start()
        if not self.thread.started.wait(timeout=START_TIMEOUT) or not self.thread.is_alive():
            self.stop()
            raise RuntimeError("Authenticator thread failed to start")

    def stop(self) -> None:
        """Stop the thread and close the ZAP socket (a stopped authenticator can start again)."""
        self._stop_keeper()  # first: it may be handing the thread a reloaded allow-list
        with self._pipe_lock:
            thread, self.thread = self.thread, None
            if self.pipe is not None and thread is not None and thread.is_alive():
                try:
                    self.pipe.send(_TERMINATE)
                except ZMQError:
                    pass  # the context is gone; the thread stops on its own
                thread.join(START_TIMEOUT)
            self._close_pipe()
        super().stop()

    def _close_pipe(self) -> None:
        pipe, self.pipe = self.pipe, None
        if pipe is not None:
            pipe.close()

    def is_alive(self) -> bool:
        """Is the ZAP thread running?"""
        return bool(self.thread is not None and self.thread.is_alive())

    def __del__(self) -> None:
        try:
            self.stop()
        except Exception:
            pass

    # -- configuration, applied by the thread -------------------------------------------------

    def _configure(self, change: Callable[[], None]) -> None:
        thread = self.thread
        if thread is None or threading.current_thread() is thread:
            change()
            return
        with self._pipe_lock:
            if not self.is_alive() or self.pipe is None:
                change()
                return
            self._sequence += 1
            tag = b"%d" % self._sequence
            self._pending, self._pending_error = (tag, change), None
            try:
                self.pipe.send_multipart([_CONFIGURE, tag])
                # Skip the late answer to a call that timed out, if any.
                while self.pipe.recv_multipart()[-1] != tag:
                    pass
            except ZMQError as exc:
                self._pending = None
                raise RuntimeError(
                    f"the authenticator thread did not apply the configuration ({exc})"
                ) from None
            error, self._pending_error = self._pending_error, None
        if error is not None:
            raise error

    def _apply_pending(self, tag: bytes) -> bytes:
        """In the thread: run the configuration change the application handed over."""
        pending, self._pending = self._pending, None
        if pending is None or pending[0] != tag:
            return b"ERROR"  # a call that timed out and gave up
        change = pending[1]
        try:
            change()
        except Exception as exc:
            self._pending_error = exc
            return b"ERROR"
        return b"OK"


__all__ = ["AuthenticationThread", "ThreadAuthenticator"]
