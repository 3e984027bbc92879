"""``ZMQStream``: callbacks for a socket's messages on the tornado IOLoop (pyzmq's
``zmq.eventloop.zmqstream``).

The stream watches the socket's ``FD`` with the IOLoop (tornado 6 runs on asyncio, so that is
``add_reader`` on the running loop): nothing runs while nothing happens.  The FD is
edge-triggered, as libzmq's is: it says "look at EVENTS", not "a message is waiting".  So each
time the FD fires, or a callback changes what the stream waits for, the stream asks ``EVENTS``
and, while work is left (a message to receive with an ``on_recv`` callback, a queued send the
socket can take), handles one message and schedules itself again with ``add_callback``.  One
message per loop iteration keeps other streams and callbacks served, and the socket is drained
until it would block (EAGAIN) before the stream waits on the FD again.  Callbacks run on the
loop, in message order; a coroutine callback is scheduled as a task, and its error is logged.
"""

from __future__ import annotations

import asyncio
import pickle
import warnings
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from tornado.ioloop import IOLoop
from tornado.log import gen_log

from .. import asyncio as _zasyncio
from ..constants import Errno, PollEvent
from ..error import ContextTerminated, ZMQError
from ..message import MessageTracker
from ..poll import Poller
from ..socket import Socket
from ..utils import jsonapi

__all__ = ["ZMQStream"]

POLLIN = int(PollEvent.POLLIN)
POLLOUT = int(PollEvent.POLLOUT)
NOBLOCK = 1

RecvCallback = Callable[[list[Any]], object]
SendCallback = Callable[[list[Any], "MessageTracker | ZMQError | None"], object]


def _ignore_sent(msg: list[Any], status: Any) -> None:
    return None


class ZMQStream:
    """A socket watched by the IOLoop: ``on_recv`` callbacks get each message, ``send*``
    queue messages that go out as the socket can take them (``on_send`` callbacks see each)."""

    socket: Socket | None  # None once the stream is closed
    io_loop: IOLoop
    poller: Poller

    def __init__(self, socket: Socket, io_loop: IOLoop | None = None) -> None:
        if isinstance(socket, _zasyncio.Socket):
            # As pyzmq: a stream drives the socket itself from the FD, which would fight the
            # asyncio socket's own waiters; it works on a plain shadow of it instead.
            warnings.warn(
                "ZMQStream needs a plain (non-asyncio) Socket; it uses a safezmq.Socket "
                f"shadow of {socket!r}. Create the socket from safezmq.Context to avoid this",
                RuntimeWarning,
                stacklevel=2,
            )
            socket = Socket.shadow(socket)
        self.socket = socket
        self.io_loop = io_loop or IOLoop.current()
        self.poller = Poller()  # pyzmq's attribute, kept for code that reads it
        self._fd = int(socket.FD)
        self._send_queue: deque[tuple[Sequence[Any], dict[str, Any]]] = deque()
        self._recv_callback: RecvCallback | None = None
        self._send_callback: SendCallback | None = None
        self._close_callback: Callable[[], object] | None = None
        self._recv_copy = True
        self._flushed = False  # flush() handled events: skip the loop's handling this round
        self._state = 0  # what the stream waits for: POLLIN (receiving) | POLLOUT (sending)
        self._pending_check = False  # a _handle_events is already scheduled
        # Registered as the socket (not its bare FD), as pyzmq does: IOLoop.close(all_fds=True)
        # then closes the socket rather than the descriptor under it.
        self.io_loop.add_handler(socket, self._handle_events, IOLoop.READ)
        # The socket's own methods, as pyzmq's stream offers them.
        self.bind = socket.bind
        self.bind_to_random_port = socket.bind_to_random_port
        self.connect = socket.connect
        self.setsockopt = socket.setsockopt
        self.getsockopt = socket.getsockopt
        self.setsockopt_string = socket.setsockopt_string
        self.getsockopt_string = socket.getsockopt_string
        self.setsockopt_unicode = socket.setsockopt_string
        self.getsockopt_unicode = socket.getsockopt_string

    def __repr__(self) -> str:
        return f"<ZMQStream {self.socket!r}>"

    # -- callbacks ----------------------------------------------------------------------------

    def on_recv(self, callback: RecvCallback | None, copy: bool = True) -> None:
        """Call ``callback(msg)`` with each message (a list of bytes, or of Frames when
        ``copy=False``); None stops receiving (messages then wait in the socket)."""
        self._check_closed()
        assert callback is None or callable(callback), "on_recv needs a callable or None"
        self._recv_callback = callback
        self._recv_copy = copy
        if callback is None:
            self._set_state(self._state & ~POLLIN)
        else:
            self._set_state(self._state | POLLIN)

    def on_recv_stream(
        self, callback: Callable[[ZMQStream, list[Any]], object] | None, copy: bool = True
    ) -> None:
        """As on_recv, with the stream as the callback's first argument."""
        if callback is None:
            self.stop_on_recv()
            return
        stream_callback = callback

        def with_stream(msg: list[Any]) -> object:
            return stream_callback(self, msg)

        self.on_recv(with_stream, copy=copy)

    def on_send(self, callback: SendCallback | None) -> None:
        """Call ``callback(msg, status)`` after each message is sent (status: the
        MessageTracker or None, or the ZMQError the send raised)."""
        self._check_closed()
        assert callback is None or callable(callback), "on_send needs a callable or None"
        self._send_callback = callback

    def on_send_stream(
        self, callback: Callable[[ZMQStream, list[Any], Any], object] | None
    ) -> None:
        """As on_send, with the stream as the callback's first argument."""
        if callback is None:
            self.stop_on_send()
            return
        stream_callback = callback

        def with_stream(msg: list[Any], status: Any) -> object:
            return stream_callback(self, msg, status)

        self.on_send(with_stream)

    def stop_on_recv(self) -> None:
        """Stop receiving (messages wait in the socket)."""
        self.on_recv(None)

    def stop_on_send(self) -> None:
        """Stop calling back after sends (queued messages are still sent)."""
        self.on_send(None)

    def stop_on_err(self) -> None:
        """Does nothing (as in pyzmq, where on_err was removed)."""
        gen_log.warning("on_err does nothing, and will be removed")

    def on_err(self, callback: Callable[..., object]) -> None:
        """Does nothing (as in pyzmq, where on_err was removed)."""
        gen_log.warning("on_err does nothing, and will be removed")

    def set_close_callback(self, callback: Callable[[], object] | None) -> None:
        """Call ``callback()`` when the stream is closed."""
        self._close_callback = callback

    # -- sending ------------------------------------------------------------------------------

    def send(
        self,
        msg: Any,
        flags: int = 0,
        copy: bool = True,
        track: bool = False,
        callback: SendCallback | None = None,
        **kwargs: Any,
    ) -> None:
        """Queue a one-frame message (sent from the loop as the socket can take it)."""
        self.send_multipart([msg], flags=flags, copy=copy, track=track, callback=callback, **kwargs)

    def send_multipart(
        self,
        msg: Sequence[Any],
        flags: int = 0,
        copy: bool = True,
        track: bool = False,
        callback: SendCallback | None = None,
        **kwargs: Any,
    ) -> None:
        """Queue a message; ``callback`` (or the on_send one) runs once it is sent.  As in
        pyzmq, a ``callback`` given here stays the stream's send callback."""
        kwargs.update(flags=flags, copy=copy, track=track)
        self._send_queue.append((msg, kwargs))
        self.on_send(callback or self._send_callback or _ignore_sent)
        self._set_state(self._state | POLLOUT)

    def send_string(
        self,
        u: str,
        flags: int = 0,
        encoding: str = "utf-8",
        callback: SendCallback | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(u, str):
            raise TypeError("send_string needs a str")
        self.send(u.encode(encoding), flags=flags, callback=callback, **kwargs)

    send_unicode = send_string

    def send_json(
        self, obj: Any, flags: int = 0, callback: SendCallback | None = None, **kwargs: Any
    ) -> None:
        self.send(jsonapi.dumps(obj), flags=flags, callback=callback, **kwargs)

    def send_pyobj(
        self,
        obj: Any,
        flags: int = 0,
        protocol: int = -1,
        callback: SendCallback | None = None,
        **kwargs: Any,
    ) -> None:
        self.send(pickle.dumps(obj, protocol), flags, callback=callback, **kwargs)

    # -- state --------------------------------------------------------------------------------

    def receiving(self) -> bool:
        """Whether an on_recv callback is set."""
        return self._recv_callback is not None

    def sending(self) -> bool:
        """Whether messages are queued for sending."""
        return bool(self._send_queue)

    def closed(self) -> bool:
        """Whether the stream is closed (closing it if its socket was closed behind its
        back)."""
        if self.socket is None:
            return True
        if self.socket.closed:
            self.close()
            return True
        return False

    def close(self, linger: int | None = None) -> None:
        """Stop watching the socket, close it (with ``linger``) and run the close callback."""
        sock = self.socket
        if sock is None:
            return
        if sock.closed:
            warnings.warn(
                f"Unregistering FD {self._fd} after closing socket. Another socket may now own "
                "that descriptor; close the stream (stream.close()) rather than its socket",
                stacklevel=2,
            )
            self.io_loop.remove_handler(self._fd)
        else:
            self.io_loop.remove_handler(self._fd)  # before the socket's FD goes away
            sock.close(linger)
        self.socket = None
        if self._close_callback is not None:
            self._run_callback(self._close_callback)

    # -- flushing -----------------------------------------------------------------------------

    def flush(self, flag: int = POLLIN | POLLOUT, limit: int | None = None) -> int:
        """Handle waiting messages now, without the loop: received ones (even with no on_recv
        callback: they are then dropped) when ``flag`` has POLLIN, queued sends when it has
        POLLOUT, until none is left or ``limit`` were handled.  Returns how many."""
        self._check_closed()
        already_flushed = self._flushed
        self._flushed = False
        count = 0
        while not limit or count < limit:  # None or 0: no limit
            wanted = flag & POLLIN | (POLLOUT if self.sending() else 0) & flag
            if not wanted:
                break
            events = self._live().EVENTS & wanted
            if not events:
                break
            if events & POLLIN:
                self._handle_recv()
                count += 1
                if self.socket is None:
                    break
            if events & POLLOUT and self.sending():
                self._handle_send()
                count += 1
                if self.socket is None:
                    break
        if count or already_flushed:
            # The loop may already hold a notification for what was handled here: skip it.
            self._flushed = True
            if not already_flushed:
                self.io_loop.add_callback(self._finish_flush)
        self._set_state(self._computed_state())
        return count

    def _finish_flush(self) -> None:
        self._flushed = False

    # -- the loop side ------------------------------------------------------------------------

    def _check_closed(self) -> None:
        if self.socket is None:
            raise OSError("Stream is closed")

    def _live(self) -> Socket:
        sock = self.socket
        if sock is None:
            raise OSError("Stream is closed")
        return sock

    def _computed_state(self) -> int:
        return (POLLIN if self.receiving() else 0) | (POLLOUT if self.sending() else 0)

    def _set_state(self, state: int) -> None:
        """Wait for ``state``; the FD is edge-triggered, so if it is already ready nothing
        will fire: look again from the loop."""
        self._state = state
        sock = self.socket
        if sock is None or not state or self._pending_check:
            return
        if sock.closed or sock.EVENTS & state:
            self._pending_check = True
            self.io_loop.add_callback(self._scheduled_check)

    def _scheduled_check(self) -> None:
        self._pending_check = False
        self._handle_events(self._fd, 0)

    def _handle_events(self, fd: Any, events: int) -> None:
        """The FD fired (or a look was scheduled): handle one message each way."""
        sock = self.socket
        if sock is None:
            gen_log.warning("Got events for closed stream %s", self)
            return
        try:
            ready = sock.EVENTS
        except ContextTerminated:
            gen_log.warning("Got events for stream %s after terminating context", self)
            self.closed()
            return
        except ZMQError as exc:
            # A socket closed through another handle (a shadow) says ENOTSOCK here.
            if self.closed():
                gen_log.warning("Got events for stream %s attached to closed socket: %s", self, exc)
            else:
                gen_log.error("Error getting events for %s: %s", self, exc)
            return
        try:
            if ready & POLLIN and self.receiving():
                self._handle_recv()
                if self.socket is None:
                    return
            if ready & POLLOUT and self.sending():
                self._handle_send()
                if self.socket is None:
                    return
            self._set_state(self._computed_state())
        except Exception:
            gen_log.error("Uncaught exception in zmqstream callback", exc_info=True)
            raise

    def _handle_recv(self) -> None:
        if self._flushed:
            return
        try:
            msg = self._live().recv_multipart(NOBLOCK, copy=self._recv_copy)
        except ZMQError as exc:
            if exc.errno == Errno.EAGAIN:
                return  # taken meanwhile (flush, another handle)
            raise
        callback = self._recv_callback
        if callback is not None:
            self._run_callback(callback, msg)

    def _handle_send(self) -> None:
        if self._flushed:
            return
        msg, kwargs = self._send_queue.popleft()
        status: Any
        try:
            status = self._live().send_multipart(msg, **kwargs)
        except ZMQError as exc:
            gen_log.error("SEND Error: %s", exc)
            status = exc
        callback = self._send_callback
        if callback is not None:
            self._run_callback(callback, msg, status)

    def _run_callback(self, callback: Callable[..., object], *args: Any) -> None:
        """Run a callback; a coroutine's errors are logged when it finishes."""
        try:
            result = callback(*args)
        except Exception:
            gen_log.error("Uncaught exception in ZMQStream callback", exc_info=True)
            raise
        if isinstance(result, Awaitable):
            asyncio.ensure_future(result).add_done_callback(_log_callback_error)


def _log_callback_error(task: asyncio.Future[Any]) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        gen_log.error(
            "Uncaught exception in ZMQStream callback",
            exc_info=(type(exc), exc, exc.__traceback__),
        )
