"""``safezmq.asyncio.Socket``: send/recv/poll returning futures, served from the mailbox hook
(the package docstring describes how)."""

from __future__ import annotations

import asyncio
import json
import pickle
import warnings
from collections.abc import Callable, Sequence
from threading import get_ident
from typing import Any

from .. import socket as _socket
from ..constants import Errno, SocketOption
from ..engine.iothread import IOThread
from ..error import Again, ContextTerminated, ZMQError
from ..message import Frame, MessageTracker
from ..socket import DONTWAIT, SNDMORE, _frame_bytes
from ._waiters import (
    _POLL,
    _RECEIVERS,
    _RECV,
    _RECV_MULTIPART,
    _SEND,
    POLLIN,
    POLLOUT,
    _decode_utf8,
    _done_tracker,
    _finish,
    _nothing,
    _running_loop,
    _sync_recv_multipart,
    _SyncSocket,
    _Waiter,
    _Waiters,
)


class Socket(_SyncSocket):
    """A socket whose send/recv/poll return ``asyncio.Future`` objects (``zmq.asyncio.Socket``)."""

    _loop: asyncio.AbstractEventLoop | None
    _loop_thread: int
    _recv_waiters: _Waiters
    _send_waiters: _Waiters
    _wake_pending: bool
    _sent: asyncio.Future[Any]

    def __init__(
        self,
        context: Any = None,
        socket_type: int = -1,
        io_loop: Any = None,
        _from_socket: _SyncSocket | None = None,
        **kwargs: Any,
    ) -> None:
        # ``Socket(sync_socket)``, ``Socket.from_socket(s)`` and ``Socket(shadow=...)`` make an
        # asyncio handle on an existing socket (pyzmq's shadow); it shares all of its state.
        if isinstance(context, _SyncSocket):
            context, _from_socket = None, context
        shadow = kwargs.pop("shadow", 0)
        if _from_socket is not None:
            shadow = _from_socket
        if io_loop is not None:
            warnings.warn(
                f"{type(self).__name__}(io_loop) is deprecated and ignored (as in pyzmq 22.2): "
                "the running event loop is always used",
                DeprecationWarning,
                stacklevel=2,
            )
        if shadow:
            super().__init__(shadow=shadow)
            if "_recv_waiters" in self.__dict__:
                return  # it shadows an asyncio socket: its asyncio state is already shared
        else:
            super().__init__(context, socket_type, **kwargs)
        self._loop = None
        self._loop_thread = 0
        self._recv_waiters = _Waiters()
        self._send_waiters = _Waiters()
        self._wake_pending = False
        self._waking = False  # inside _wake: a post meanwhile defers to the loop
        mailbox = self.mailbox
        if not shadow:
            # A shadowed socket's FD may already be watched: leave it signalled.
            mailbox.use_fd = False  # until someone asks for the FD (see engine/mailbox.py)
        mailbox.on_post = self._on_post

    @classmethod
    def from_socket(cls, socket: _SyncSocket, io_loop: Any = None) -> Socket:
        """An asyncio socket that is a shadow of ``socket`` (a safezmq Socket): the same
        socket, which the new handle does not close when it is collected."""
        return cls(_from_socket=socket, io_loop=io_loop)

    @property
    def _recv_futures(self) -> list[asyncio.Future[Any]]:
        """The receive/poll calls still waiting (pyzmq's name; used by its tests)."""
        return [w.future for w in self._recv_waiters if not w.future.done()]

    @property
    def _send_futures(self) -> list[asyncio.Future[Any]]:
        """The send/poll calls still waiting."""
        return [w.future for w in self._send_waiters if not w.future.done()]

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<safezmq.asyncio.Socket({self.socket_type_name.decode()}) {state}>"

    # -- the loop -----------------------------------------------------------------------------

    def _loop_for_call(self) -> asyncio.AbstractEventLoop:
        """The running loop, which must be this socket's.  Cheaply: while the socket's loop
        runs in the thread that attached it, no other loop can be running there (asking asyncio
        costs a getpid() system call per call on Python 3.11)."""
        loop = self._loop
        if loop is not None and get_ident() == self._loop_thread and loop.is_running():
            return loop
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._attach_loop(loop)
        return loop

    def _attach_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """First use, or use from another loop than before."""
        self._check_engine_loop(loop)
        old = self._loop
        if old is not None:
            if old.is_closed():
                # Futures of a closed loop can never be resolved or awaited again.
                self._recv_waiters.clear()
                self._send_waiters.clear()
            elif not (self._recv_waiters.prune() and self._send_waiters.prune()):
                raise RuntimeError(
                    "this safezmq.asyncio socket has calls still waiting on another event "
                    "loop; a socket can be used by one loop at a time"
                )
        self._loop = loop
        self._loop_thread = get_ident()
        self._wake_pending = False
        # What every send that completes at once returns: one finished future per loop (a
        # finished future cannot change, so sharing it is safe and saves an allocation).
        sent: asyncio.Future[Any] = loop.create_future()
        sent.set_result(None)
        self._sent = sent

    def _check_engine_loop(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """Refuse use from ``loop`` when this socket's connections live on another loop that
        cannot serve them (closed, or not running)."""
        engine = self._engine
        if engine is None or isinstance(engine.runner, IOThread) or engine.loop is loop:
            return
        if engine.loop.is_closed():
            raise RuntimeError(
                "this safezmq.asyncio socket's connections ran on an event loop that is now "
                "closed; create a new socket (and bind/connect it) in the loop that uses it"
            )
        if loop is not None and not engine.loop.is_running():
            # While that loop runs (in another thread: this one runs ``loop``) it serves the
            # connections as an I/O thread would; stopped, nothing would.
            raise RuntimeError(
                "this safezmq.asyncio socket's connections run on another event loop that is "
                "open but not running; use each socket from the loop where it bound or "
                "connected, or keep that loop running"
            )

    def _on_post(self) -> None:
        """Mailbox hook (in the posting thread): wake the waiters, once."""
        if self._wake_pending or not (self._recv_waiters or self._send_waiters):
            return
        loop = self._loop
        if loop is None:
            return
        self._wake_pending = True
        try:
            if get_ident() == self._loop_thread:
                if not self._waking:
                    # Same thread, same loop (a session or an inproc peer posted): serve the
                    # waiters now rather than one loop iteration later — the futures' own
                    # callbacks still run from the loop, so no coroutine is re-entered.
                    self._wake()
                else:
                    loop.call_soon(self._wake)
            else:
                loop.call_soon_threadsafe(self._wake)
        except RuntimeError:  # the loop is closed: nobody is left to wake
            pass

    def _schedule_wake(self) -> None:
        """Wake from the loop's own thread (after queueing, if a post may have been missed)."""
        if not self._wake_pending and self._loop is not None:
            self._wake_pending = True
            self._loop.call_soon(self._wake)

    def _queue(self, waiters: _Waiters, waiter: _Waiter, timeout_ms: int) -> None:
        waiters.add(waiter)
        if timeout_ms >= 0:
            assert self._loop is not None
            waiter.timer = self._loop.call_later(timeout_ms / 1000, self._timed_out, waiter)
        # A post that raced with this call saw no waiter and woke nobody: look again.
        if self.mailbox._items:
            self._schedule_wake()

    def _timed_out(self, waiter: _Waiter) -> None:
        future = waiter.future
        if future.done():
            return
        if waiter.kind == _POLL:
            future.set_result(0)
        elif waiter.kind == _SEND:
            future.set_exception(
                Again(msg="send timed out (SNDTIMEO); no peer could take the message")
            )
        else:
            future.set_exception(Again(msg="receive timed out (RCVTIMEO)"))

    def _wake(self) -> None:
        self._wake_pending = False
        if self._closed:
            return
        self._waking = True
        try:
            self._wake_now()
        finally:
            self._waking = False

    def _wake_now(self) -> None:
        try:
            self._process_commands()
        except ContextTerminated:
            self._fail_waiters()
            return
        if self._recv_waiters:
            self._serve_recv()
        if self._send_waiters:
            self._serve_send()

    def _serve_recv(self) -> None:
        self._serve(self._recv_waiters, self._attempt_recv)

    def _serve_send(self) -> None:
        self._serve(self._send_waiters, self._attempt_send)

    def _attempt_recv(self, waiter: _Waiter) -> Any:
        return self._recv_now(waiter.kind, waiter.copy, waiter.track)

    def _attempt_send(self, waiter: _Waiter) -> Any:
        assert waiter.msg is not None
        self._send_message(waiter.msg, DONTWAIT)
        return _done_tracker() if waiter.track else None

    def _serve(self, waiters: _Waiters, attempt: Callable[[_Waiter], Any]) -> None:
        """Finish the waiters at the head of ``waiters``, in order, while they can be: a poll
        when its events are there, a receive or send when ``attempt`` does not raise Again.
        An error fails that waiter only."""
        while waiters:
            waiter = waiters[0]
            future = waiter.future
            if future.done():
                waiters.popleft()
                continue
            if waiter.kind == _POLL:
                events = self._events() & waiter.flags
                if not events:
                    return
                result: Any = events
            else:
                try:
                    result = attempt(waiter)
                except Again:
                    return
                except Exception as exc:
                    waiters.popleft()
                    self._stop_timer(waiter)
                    future.set_exception(exc)
                    continue
            waiters.popleft()
            self._stop_timer(waiter)
            _finish(future, result, waiter.load)

    @staticmethod
    def _stop_timer(waiter: _Waiter) -> None:
        timer = waiter.timer
        if timer is not None:
            timer.cancel()

    def _fail_waiters(self) -> None:
        """The context was terminated: every waiting call fails with ContextTerminated."""
        waiters = [*self._recv_waiters, *self._send_waiters]
        self._recv_waiters.clear()
        self._send_waiters.clear()
        for waiter in waiters:
            self._stop_timer(waiter)
            if not waiter.future.done():
                waiter.future.set_exception(ContextTerminated())

    # -- receiving ----------------------------------------------------------------------------

    # The hot paths (recv, recv_multipart, send, send_multipart) are written out in full: on
    # the way to an already-completed future every Python call counts.  They fall back to the
    # general paths (_recv_async, _send_async) for everything but the plain case.

    def _recv_now(self, kind: int, copy: bool, track: bool) -> Any:
        """One frame or message now, or Again."""
        return _RECEIVERS[kind](self, DONTWAIT, copy, track)

    def _recv_async(
        self,
        kind: int,
        flags: int,
        copy: bool,
        track: bool,
        load: Callable[[Any], Any] | None,
    ) -> asyncio.Future[Any]:
        future = self._loop_for_call().create_future()
        if self._recv_waiters.prune():
            try:
                result = _RECEIVERS[kind](self, DONTWAIT, copy, track)
            except Again:
                return self._recv_later(future, kind, flags, copy, track, load)
            except Exception as exc:
                future.set_exception(exc)
            else:
                _finish(future, result, load)
            return future
        return self._recv_later(future, kind, flags, copy, track, load)

    def _recv_later(
        self,
        future: asyncio.Future[Any],
        kind: int,
        flags: int,
        copy: bool,
        track: bool,
        load: Callable[[Any], Any] | None,
    ) -> asyncio.Future[Any]:
        """Nothing to receive now: queue (or fail, with DONTWAIT)."""
        waiters = self._recv_waiters
        if flags & DONTWAIT:
            future.set_exception(
                Again(msg="earlier receives are still waiting") if waiters else Again()
            )
        else:
            self._queue(
                waiters,
                _Waiter(future, kind, flags, copy, track, load),
                self.options[SocketOption.RCVTIMEO],
            )
        return future

    def recv(self, flags: int = 0, copy: bool = True, track: bool = False) -> asyncio.Future[Any]:
        """Receive one frame: a future of bytes (or of a Frame with ``copy=False``)."""
        loop = self._loop
        if (
            not copy
            or self._rx is not None
            or self._recv_waiters
            or loop is None
            or get_ident() != self._loop_thread
            or not loop.is_running()
        ):
            return self._recv_async(_RECV, flags, copy, track, None)
        future = loop.create_future()
        try:
            got = self._recv_nowait()
        except Exception as exc:
            future.set_exception(exc)
            return future
        if got is None:
            return self._recv_later(future, _RECV, flags, copy, track, None)
        msg, pipe = got
        data = msg[0]
        if len(msg) > 1:
            # The rest of the message is for the next recv() calls (Socket.recv's bookkeeping).
            object.__setattr__(self, "_rx", msg)
            object.__setattr__(self, "_rx_pipe", pipe)
            object.__setattr__(self, "_rx_index", 1)
        future.set_result(data if type(data) is bytes else bytes(data))
        return future

    def recv_multipart(  # type: ignore[override]
        self, flags: int = 0, copy: bool = True, track: bool = False
    ) -> asyncio.Future[list[Any]]:
        """Receive a whole message: a future of its frames."""
        loop = self._loop
        if (
            self._recv_waiters
            or loop is None
            or get_ident() != self._loop_thread
            or not loop.is_running()
        ):
            return self._recv_async(_RECV_MULTIPART, flags, copy, track, None)
        future = loop.create_future()
        try:
            future.set_result(_sync_recv_multipart(self, DONTWAIT, copy, track))
        except Again:
            return self._recv_later(future, _RECV_MULTIPART, flags, copy, track, None)
        except Exception as exc:
            future.set_exception(exc)
        return future

    def recv_string(  # type: ignore[override]
        self, flags: int = 0, encoding: str = "utf-8"
    ) -> asyncio.Future[str]:
        if encoding == "utf-8":
            return self._recv_async(_RECV, flags, True, False, _decode_utf8)
        return self._recv_async(_RECV, flags, True, False, lambda data: data.decode(encoding))

    recv_unicode = recv_string  # type: ignore[assignment]

    def recv_json(self, flags: int = 0, **kwargs: Any) -> asyncio.Future[Any]:
        return self._recv_async(_RECV, flags, True, False, lambda data: json.loads(data, **kwargs))

    def recv_pyobj(self, flags: int = 0) -> asyncio.Future[Any]:
        """Unpickle a received object — only if ``context.allow_pickle`` is True (unpickling
        network data runs code chosen by the sender)."""
        if not getattr(self.context, "allow_pickle", False):
            return self._completed(
                exc=ZMQError(
                    Errno.ENOTSUP,
                    "recv_pyobj is disabled: unpickling network data executes code chosen by "
                    "the sender. Use recv_json/recv_serialized, or opt in with "
                    "context.allow_pickle = True",
                )
            )
        return self._recv_async(_RECV, flags, True, False, pickle.loads)

    def recv_serialized(
        self, deserialize: Callable[[list[Any]], Any], flags: int = 0, copy: bool = True
    ) -> asyncio.Future[Any]:
        return self._recv_async(_RECV_MULTIPART, flags, copy, False, deserialize)

    def recv_into(  # type: ignore[override]
        self, buffer: Any, /, *, nbytes: int = 0, flags: int = 0
    ) -> asyncio.Future[int]:
        """Receive one frame into ``buffer``: a future of the frame's full size."""
        view = memoryview(buffer).cast("B")
        if nbytes < 0:
            raise ValueError("nbytes must be non-negative")
        limit = nbytes or len(view)
        if limit > len(view):
            raise ValueError(f"nbytes={nbytes} is larger than the buffer ({len(view)})")

        def into(frame: Frame) -> int:
            size = len(frame)
            n = min(size, limit)
            view[:n] = frame.buffer[:n]
            return size

        return self._recv_async(_RECV, flags, False, False, into)

    # -- sending ------------------------------------------------------------------------------

    def _send_async(self, msg: list[Any], flags: int, track: bool) -> asyncio.Future[Any]:
        """Send the whole message ``msg``.  Frames queued with SNDMORE are already in it; they
        are kept for a retry only when a DONTWAIT send fails with Again, as in the sync API."""
        loop = self._loop_for_call()
        if self._send_waiters.prune():
            try:
                self._send_message(msg, DONTWAIT)
            except Again:
                return self._send_later(loop, msg, flags, track)
            except Exception as exc:
                self._tx.clear()
                return self._completed(exc=exc)
            self._tx.clear()
            return self._completed(_done_tracker()) if track else self._sent
        return self._send_later(loop, msg, flags, track)

    def _send_later(
        self, loop: asyncio.AbstractEventLoop, msg: list[Any], flags: int, track: bool
    ) -> asyncio.Future[Any]:
        """No room now: queue (or fail, with DONTWAIT)."""
        waiters = self._send_waiters
        if flags & DONTWAIT:
            return self._completed(
                exc=Again(msg="earlier sends are still waiting") if waiters else Again()
            )
        self._tx.clear()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue(
            waiters,
            _Waiter(future, _SEND, flags, track=track, msg=msg),
            self.options[SocketOption.SNDTIMEO],
        )
        return future

    def _completed(
        self, result: Any = None, exc: BaseException | None = None
    ) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = self._loop_for_call().create_future()
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)
        return future

    def send(  # type: ignore[override]
        self,
        data: Any,
        flags: int = 0,
        copy: bool = True,
        track: bool = False,
        routing_id: int | None = None,
        group: str | None = None,
    ) -> asyncio.Future[MessageTracker | None]:
        """Send one frame (with SNDMORE, more of the same message follow): a future that
        completes once the message is queued for sending."""
        loop = self._loop
        if (
            flags
            or track
            or type(data) is not bytes
            or self._tx
            or self._send_waiters
            or routing_id is not None
            or group is not None
            or loop is None
            or get_ident() != self._loop_thread
            or not loop.is_running()
        ):
            return self._send_frame(data, flags, copy, track, routing_id, group)
        msg = [data]
        try:
            self._send_message(msg, DONTWAIT)
        except Again:
            return self._send_later(loop, msg, 0, False)
        except Exception as exc:
            return self._completed(exc=exc)
        return self._sent

    def _send_frame(
        self,
        data: Any,
        flags: int,
        copy: bool,
        track: bool,
        routing_id: int | None,
        group: str | None,
    ) -> asyncio.Future[Any]:
        if routing_id is not None or group is not None:
            return self._completed(
                exc=ZMQError(Errno.ENOTSUP, "routing_id/group are for draft sockets (unsupported)")
            )
        try:
            frame = _frame_bytes(data, copy)
        except TypeError as exc:
            return self._completed(exc=exc)
        tx = self._tx
        if flags & SNDMORE:
            if self._closed:
                return self._completed(exc=ZMQError(Errno.ENOTSOCK, "the socket is closed"))
            tx.append(frame)
            if track:
                return self._completed(MessageTracker())
            self._loop_for_call()
            return self._sent
        return self._send_async([*tx, frame] if tx else [frame], flags, track)

    def send_multipart(  # type: ignore[override]
        self, msg_parts: Sequence[Any], flags: int = 0, copy: bool = True, track: bool = False
    ) -> asyncio.Future[MessageTracker | None]:
        """Send a whole message: a future that completes once it is queued for sending."""
        loop = self._loop
        if (
            flags
            or track
            or not msg_parts
            or self._tx
            or self._send_waiters
            or loop is None
            or get_ident() != self._loop_thread
            or not loop.is_running()
        ):
            return self._send_parts(msg_parts, flags, copy, track)
        try:
            msg = [_frame_bytes(part, copy) for part in msg_parts]
        except TypeError as exc:
            return self._completed(exc=exc)
        try:
            self._send_message(msg, DONTWAIT)
        except Again:
            return self._send_later(loop, msg, 0, False)
        except Exception as exc:
            return self._completed(exc=exc)
        return self._sent

    def _send_parts(
        self, msg_parts: Sequence[Any], flags: int, copy: bool, track: bool
    ) -> asyncio.Future[Any]:
        if not msg_parts:
            return self._completed(exc=ZMQError(Errno.EINVAL, "a message needs at least one frame"))
        try:
            frames = [_frame_bytes(part, copy) for part in msg_parts]
        except TypeError as exc:
            return self._completed(exc=exc)
        tx = self._tx
        if tx:
            frames = [*tx, *frames]
        if flags & SNDMORE:
            if self._closed:
                return self._completed(exc=ZMQError(Errno.ENOTSOCK, "the socket is closed"))
            tx[:] = frames
            self._loop_for_call()
            return self._sent
        return self._send_async(frames, flags, track)

    def send_string(  # type: ignore[override]
        self, u: str, flags: int = 0, copy: bool = True, encoding: str = "utf-8", **kw: Any
    ) -> asyncio.Future[MessageTracker | None]:
        if not isinstance(u, str):
            raise TypeError("send_string needs a str")
        return self.send(u.encode(encoding), flags=flags, copy=copy, **kw)

    send_unicode = send_string  # type: ignore[assignment]

    def send_json(  # type: ignore[override]
        self, obj: Any, flags: int = 0, **kwargs: Any
    ) -> asyncio.Future[MessageTracker | None]:
        return self.send(json.dumps(obj, **kwargs).encode("utf-8"), flags)

    def send_pyobj(
        self, obj: Any, flags: int = 0, protocol: int = pickle.DEFAULT_PROTOCOL
    ) -> asyncio.Future[MessageTracker | None]:
        return self.send(pickle.dumps(obj, protocol), flags)

    def send_serialized(  # type: ignore[override]
        self, msg: Any, serialize: Callable[[Any], Sequence[Any]], flags: int = 0, **kw: Any
    ) -> asyncio.Future[MessageTracker | None]:
        return self.send_multipart(serialize(msg), flags=flags, **kw)

    # -- polling ------------------------------------------------------------------------------

    def poll(  # type: ignore[override]
        self, timeout: float | None = None, flags: int = POLLIN
    ) -> asyncio.Future[int]:
        """A future of the events ready among ``flags`` (0 after ``timeout`` ms; None or -1:
        no timeout).  Closing the socket cancels it."""
        loop = self._loop_for_call()
        future: asyncio.Future[int] = loop.create_future()
        if self._closed:
            future.set_exception(ZMQError(Errno.ENOTSOCK, "cannot poll a closed socket"))
            return future
        events = self._events() & flags
        if self._ctx_terminated:
            future.set_exception(ContextTerminated())
        elif events or timeout == 0:
            future.set_result(events)
        else:
            ms = -1 if timeout is None or timeout < 0 else int(timeout)
            self._add_poll_waiter(future, flags, ms)
        return future

    def _add_poll_waiter(self, future: asyncio.Future[Any], flags: int, timeout_ms: int) -> None:
        """Resolve ``future`` (with the ready events) once any of ``flags`` is ready."""
        waiter = _Waiter(future, _POLL, flags)
        if flags & POLLIN:
            self._queue(self._recv_waiters, waiter, timeout_ms)
            timeout_ms = -1
        if flags & POLLOUT:
            self._queue(self._send_waiters, waiter, timeout_ms)

    # -- endpoints ----------------------------------------------------------------------------

    def _check_io_loop(self) -> None:
        """Before bind/connect: this socket's and its context's I/O must run on this loop."""
        running = _running_loop()
        self._check_engine_loop(running)
        context = self.context
        # An asyncio Context (which imports this module) checks its own loop.
        check_loop = getattr(context, "_check_loop", None)
        if self._engine is None and check_loop is not None:
            check_loop(running)

    def bind(self, addr: str) -> _socket._EndpointContext:
        self._check_io_loop()
        return super().bind(addr)

    def connect(self, addr: str) -> _socket._EndpointContext:
        self._check_io_loop()
        return super().connect(addr)

    def unbind(self, addr: str | bytes) -> None:
        self._check_engine_loop(_running_loop())
        super().unbind(addr)

    def disconnect(self, addr: str | bytes) -> None:
        self._check_engine_loop(_running_loop())
        super().disconnect(addr)

    # -- closing ------------------------------------------------------------------------------

    def _close(self, linger: int | None = None) -> None:
        if self._closed:
            return
        self.mailbox.on_post = None
        waiters = [*self._recv_waiters, *self._send_waiters]
        self._recv_waiters.clear()
        self._send_waiters.clear()
        engine = self._engine
        if engine is not None and engine.loop.is_closed():
            # Its loop is gone, and with it every connection: nothing is left to linger, and
            # nothing may be scheduled there.  (Inproc pipes, owned by a peer socket, stay.)
            self._engine = None
            for pipe in self._pipes:
                if not isinstance(pipe.owner, tuple):
                    pipe.outbound.wake_reader = _nothing
        super()._close(linger)
        if engine is not None and not engine.loop.is_running():
            # The engine closes on its loop, which is not running now (perhaps never again):
            # stop the monitor now, or its PAIR stays open and term() waits for it forever.
            self._emit_monitor_stopped()
        if not waiters:
            return
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if get_ident() == self._loop_thread:
            self._cancel_waiters(waiters)
        else:
            loop.call_soon_threadsafe(self._cancel_waiters, waiters)

    @staticmethod
    def _cancel_waiters(waiters: list[_Waiter]) -> None:
        for waiter in waiters:
            if waiter.timer is not None:
                waiter.timer.cancel()
            waiter.future.cancel()
