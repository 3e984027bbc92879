"""A connected byte stream (tcp or ipc) driven by the event loop's reader/writer callbacks.

Our own small transport rather than asyncio's, for two reasons: writes go out as one
``sendmsg`` of many buffers (headers and bodies, bodies never copied or joined when large), and
reads hand the handler whole ``recv`` chunks so the protocol decodes many frames per call.
A chunk is handed over as a view of the loop's shared read buffer, valid only during the
``data_received`` call: the handler copies out what it keeps, once, straight into the objects
it keeps (a 64 KiB frame is copied once between the kernel and the application, not twice).
It knows nothing about ZMTP.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from itertools import islice
from typing import Any, Protocol

#: Octets asked of the kernel per read.
READ_SIZE = 256 * 1024
#: Buffers per sendmsg (Linux IOV_MAX is 1024).
MAX_IOV = 512
#: Below this total, small buffers are joined into one before sending (cheaper than iovecs).
JOIN_BELOW = 64 * 1024
#: Pending output above which the handler is asked to stop producing, and below which it may
#: resume.  Together with the pipe's HWM this is what turns a slow peer into backpressure.
WRITE_HIGH = 1024 * 1024
WRITE_LOW = 256 * 1024

#: A handler's own buffer smaller than this (the end of a large frame's body) is read
#: together with what follows it, into the shared buffer, in one ``recvmsg_into``: one system
#: call and one turn of the loop instead of two.  Larger ones are read alone, so that octets
#: of a body never land in the shared buffer only to be copied into the body.
SCATTER_BELOW = 64 * 1024
_HAS_SCATTER = hasattr(socket.socket, "recvmsg_into")

_RETRY = (BlockingIOError, InterruptedError)

#: One read buffer per event loop: every stream of a loop reads in the loop's thread and its
#: handler copies what it keeps out at once, so they can share it (a buffer per connection
#: would cost READ_SIZE of memory per idle connection).
_READ_BUFFERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, bytearray] = (
    weakref.WeakKeyDictionary()
)


def _read_buffer(loop: asyncio.AbstractEventLoop) -> bytearray:
    buffer = _READ_BUFFERS.get(loop)
    if buffer is None:
        buffer = _READ_BUFFERS[loop] = bytearray(READ_SIZE)
    return buffer


Buffer = bytes | bytearray | memoryview


class StreamHandler(Protocol):
    # ``data`` is a memoryview of the loop's shared read buffer, which the next read of any
    # stream of the loop overwrites: valid during the call only, so copy what you keep.
    # (Annotated Any so that a handler may declare the type it works with.)
    def data_received(self, data: Any) -> None: ...

    def get_buffer(self) -> memoryview | None: ...

    def buffer_updated(self, nbytes: int) -> None: ...

    def connection_lost(self, exc: BaseException | None) -> None: ...

    def pause_writing(self) -> None: ...

    def resume_writing(self) -> None: ...


class Stream:
    """A non-blocking connected socket with write buffering and read pausing."""

    __slots__ = (
        "_closing",
        "_fd",
        "_flushed_callbacks",
        "_lost",
        "_out",
        "_out_bytes",
        "_reading",
        "_writing_paused",
        "handler",
        "loop",
        "sock",
    )

    def __init__(
        self, loop: asyncio.AbstractEventLoop, sock: socket.socket, handler: StreamHandler
    ) -> None:
        sock.setblocking(False)
        self.loop = loop
        self.sock = sock
        self.handler = handler
        self._fd = sock.fileno()
        self._out: deque[Buffer] = deque()
        self._out_bytes = 0
        self._reading = False
        self._writing_paused = False
        self._closing = False
        self._lost = False
        self._flushed_callbacks: list[Callable[[], None]] = []

    # -- reading ------------------------------------------------------------------------------

    def start(self) -> None:
        self.resume_reading()

    def pause_reading(self) -> None:
        if self._reading:
            self._reading = False
            self.loop.remove_reader(self._fd)

    def resume_reading(self) -> None:
        if not self._reading and not self._lost and not self._closing:
            self._reading = True
            self.loop.add_reader(self._fd, self._on_readable)

    @property
    def reading(self) -> bool:
        return self._reading

    def _on_readable(self) -> None:
        handler = self.handler
        buffer = handler.get_buffer()
        shared: bytearray | None = None
        into_buffer = 0  # of nbytes, how many went into the handler's own buffer
        try:
            if buffer is not None:  # the handler wants these octets in a buffer of its own
                if len(buffer) < SCATTER_BELOW and _HAS_SCATTER:
                    shared = _read_buffer(self.loop)
                    nbytes = self.sock.recvmsg_into((buffer, shared))[0]
                    into_buffer = min(nbytes, len(buffer))
                else:
                    nbytes = into_buffer = self.sock.recv_into(buffer)
            else:
                # Into the loop's shared buffer, handed over as a view: no copy here, and no
                # recv(READ_SIZE), which would allocate (mmap) a large object on every call.
                shared = _read_buffer(self.loop)
                nbytes = self.sock.recv_into(shared)
        except _RETRY:
            return
        except OSError as exc:
            self._lose(exc)
            return
        finally:
            if buffer is not None:
                buffer.release()
        if not nbytes:
            self._lose(None)
            return
        try:
            if into_buffer:
                handler.buffer_updated(into_buffer)
                nbytes -= into_buffer
                if not nbytes or self._lost or self._closing:
                    return  # (the rest, if any, is dropped with the connection)
            if shared is not None:
                with memoryview(shared)[:nbytes] as data:
                    # Released on return: a handler that kept the view by mistake gets an
                    # error on its next use, never octets of a later read.
                    handler.data_received(data)
        except Exception as exc:  # a bug in the handler must not kill the loop
            self._lose(exc)
            raise

    # -- writing ------------------------------------------------------------------------------

    @property
    def write_buffer_size(self) -> int:
        return self._out_bytes

    def write(self, buffers: Sequence[Buffer]) -> None:
        """Send ``buffers`` in order; what the kernel does not take now is kept and sent later."""
        if self._lost or not buffers:
            return
        out = self._out
        was_empty = not out
        total = 0
        for b in buffers:
            total += len(b)
        if total < JOIN_BELOW and len(buffers) > 1:
            out.append(b"".join(buffers))
        else:
            out.extend(buffers)
        self._out_bytes += total
        if was_empty:
            # Nothing was pending: try at once, and wait for writability only if needed.
            self._flush()
            if self._out:
                self.loop.add_writer(self._fd, self._on_writable)
        if self._out_bytes > WRITE_HIGH and not self._writing_paused:
            self._writing_paused = True
            self.handler.pause_writing()

    def _flush(self) -> None:
        out = self._out
        sock = self.sock
        while out:
            try:
                # (islice: a deque's items are not indexed one by one)
                sent = sock.send(out[0]) if len(out) == 1 else sock.sendmsg(islice(out, MAX_IOV))
            except _RETRY:
                return
            except OSError as exc:
                self._lose(exc)
                return
            self._out_bytes -= sent
            # Drop what went out.  An empty buffer (the body of an empty frame) goes with what
            # precedes it: left alone at the head, send() would return 0 for it for ever and
            # the loop would spin (a large frame then an empty one used to hang the I/O thread).
            while out:
                head = out[0]
                size = len(head)
                if sent >= size:
                    sent -= size
                    out.popleft()
                else:
                    if sent:
                        out[0] = memoryview(head)[sent:]
                    break

    def when_flushed(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once everything written so far has left our buffers."""
        if not self._out or self._lost:
            callback()
        else:
            self._flushed_callbacks.append(callback)

    def _run_flushed(self) -> None:
        callbacks, self._flushed_callbacks = self._flushed_callbacks, []
        for callback in callbacks:
            callback()

    def _on_writable(self) -> None:
        self._flush()
        if self._lost:
            return
        if not self._out:
            self.loop.remove_writer(self._fd)
            if self._flushed_callbacks:
                self._run_flushed()
            if self._closing:
                self._lose(None)
                return
        if self._writing_paused and self._out_bytes <= WRITE_LOW:
            self._writing_paused = False
            self.handler.resume_writing()

    # -- closing ------------------------------------------------------------------------------

    def close(self) -> None:
        """Close once everything written so far is sent."""
        if self._lost or self._closing:
            return
        self._closing = True
        self.pause_reading()
        if not self._out:
            self._lose(None)

    def abort(self) -> None:
        """Close now, dropping unsent data."""
        self._lose(None)

    @property
    def closed(self) -> bool:
        return self._lost

    def _lose(self, exc: BaseException | None) -> None:
        if self._lost:
            return
        self._lost = True
        if self._reading:
            self._reading = False
            self.loop.remove_reader(self._fd)
        if self._out:
            self.loop.remove_writer(self._fd)
            self._out.clear()
        self._out_bytes = 0
        if self._flushed_callbacks:
            self._run_flushed()
        try:
            self.sock.close()
        except OSError:
            pass
        if isinstance(exc, OSError) and exc.errno in (errno.ECONNRESET, errno.EPIPE):
            exc = ConnectionResetError(exc.errno, "connection reset by peer")
        self.loop.call_soon(self.handler.connection_lost, exc)
