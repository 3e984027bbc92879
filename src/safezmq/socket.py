"""The public Socket: pyzmq's API over the socket core.

send/recv move single frames (SNDMORE / RCVMORE); send_multipart/recv_multipart move whole
messages and are the fast path.  Options are validated (a bad name or value is ZMQError EINVAL
saying what is allowed) and readable/writable as attributes (``sock.linger = 0``).
"""

from __future__ import annotations

import json
import pickle
import random
import sys
import types
import warnings
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from .attrs import OptionAttributes
from .constants import Errno, Event, PollEvent, SocketOption
from .core import SocketCore
from .engine.pipe import Pipe, TrackedMessage
from .error import Again, ContextTerminated, OptionTypeError, ZMQBindError, ZMQError
from .message import _FINISHED_TRACKER, DraftAPIError, Frame, MessageTracker, _repr_name
from .monitor import MonitorEmitter
from .options import ACTIONS
from .shadow import shadowed

DONTWAIT = 1
NOBLOCK = 1
SNDMORE = 2
#: pyzmq's default: below this size copy=False still copies (cheaper than tracking).
COPY_THRESHOLD = 65536

#: The tracker of a message whose buffers were copied: finished from the start.
_FINISHED = _FINISHED_TRACKER

#: Live sockets by ``underlying`` (what ``Socket.shadow(int)`` looks up).
_LIVE: weakref.WeakValueDictionary[int, Socket] = weakref.WeakValueDictionary()


class _EndpointContext:
    """What bind()/connect() return: as in pyzmq, ``with sock.bind(addr) as s:`` gives the
    socket and undoes the bind (connect) when the block ends."""

    __slots__ = ("_undo", "addr", "kind", "socket")

    def __init__(self, socket: Socket, kind: str, addr: str, undo: Callable[[str], None]) -> None:
        self.socket = socket
        self.kind = kind  # "bind" or "connect"
        self.addr = addr
        self._undo = undo

    def __enter__(self) -> Socket:
        return self.socket

    def __exit__(self, *exc: object) -> None:
        if not self.socket.closed:
            try:
                self._undo(self.addr)
            except ZMQError:
                pass

    def __repr__(self) -> str:
        return f"<SocketContext({self.kind}={self.addr!r})>"


def _frame_bytes(data: Any, copy: bool, threshold: int = COPY_THRESHOLD) -> Any:
    """What goes into the pipe for one frame, honouring copy semantics: a zero-copy frame
    (``copy=False``, at least ``threshold`` bytes) goes in as a view of the caller's buffer."""
    kind = type(data)
    if kind is bytes:
        return data
    if isinstance(data, Frame):
        return data._data
    if kind is str:
        raise TypeError("str is not allowed; use send_string() or encode it to bytes")
    try:
        view = memoryview(data)
    except TypeError:
        raise TypeError(f"expected a bytes-like object, not {kind.__name__}") from None
    if copy or view.nbytes < threshold:
        return view.tobytes()
    return view.cast("B")


def _zero_copy(frames: Sequence[Any], copy: bool, threshold: int) -> bool:
    """Whether a send with these (caller's) frames hands safezmq buffers that the caller
    still owns, so that a tracker has something to wait for (pyzmq: copy=False and a frame of
    at least copy_threshold bytes)."""
    if copy:
        return False
    return any(
        isinstance(f, Frame) or (not isinstance(f, str) and len(memoryview(f)) >= threshold)
        for f in frames
    )


class Socket(SocketCore, OptionAttributes):
    """A safezmq socket (pyzmq's ``zmq.Socket``).

    ``Socket(context, kind, **options)`` makes a socket (options as keyword arguments,
    ``linger=0``); ``Socket(other)`` or ``Socket.shadow(other.underlying)`` another handle on an
    existing socket (a *shadow*: the same socket, which is not closed when the shadow is
    collected; close() closes it, as in pyzmq)."""

    # A shadow shares the __dict__ (all state) of the socket it shadows; what belongs to the
    # handle itself lives in a slot.
    __slots__ = ("_shadow_obj",)

    copy_threshold = COPY_THRESHOLD

    def __init__(
        self,
        ctx_or_socket: Any = None,
        socket_type: int = 0,
        *,
        shadow: Socket | int = 0,
        copy_threshold: int | None = None,
        **options: Any,
    ) -> None:
        if isinstance(ctx_or_socket, Socket) and not shadow:
            shadow, ctx_or_socket = ctx_or_socket, None
        if shadow:
            target = _shadowed(shadow)
            object.__setattr__(self, "_shadow_obj", shadow)
            self.__dict__ = target.__dict__
            return
        object.__setattr__(self, "_shadow_obj", None)
        # The state lives in a plain dict of its own from the start (with what a subclass set
        # before calling this).  The dict is shared with shadows (and named by
        # ``underlying``), so it is always materialised, and on CPython 3.11 a dict
        # materialised from an object's inline attribute values makes every ``self.x`` miss
        # the interpreter's fast path (about 37 ns a read instead of 8).
        object.__setattr__(self, "__dict__", dict(self.__dict__))
        if ctx_or_socket is None:
            raise ZMQError(Errno.EINVAL, "Socket(context, socket_type): a context is required")
        SocketCore.__init__(self, ctx_or_socket, socket_type)
        object.__setattr__(self, "_tx", [])
        object.__setattr__(self, "_rx", None)
        object.__setattr__(self, "_rx_pipe", None)
        if copy_threshold is not None:
            object.__setattr__(self, "copy_threshold", copy_threshold)
        _LIVE[id(self.__dict__)] = self
        for name, value in options.items():
            setattr(self, name, value)

    # -- lifecycle ----------------------------------------------------------------------------

    @classmethod
    def shadow(cls, address: Socket | int) -> Socket:
        """Another handle on an existing socket: a safezmq Socket, or its ``underlying``."""
        return cls(shadow=address)

    @property
    def underlying(self) -> int:
        """An int naming this socket (pyzmq: the libzmq socket's address), for shadow()."""
        return id(self.__dict__)

    @property
    def _shadow(self) -> bool:
        return self._shadow_obj is not None

    def __copy__(self, memo: Any = None) -> Socket:
        """A copy of a socket is a shadow of it (as in pyzmq)."""
        return type(self).shadow(self.underlying)

    __deepcopy__ = __copy__

    def __reduce__(self) -> Any:
        raise TypeError(
            "a safezmq Socket cannot be pickled: it is a live connection in this process; "
            "pass its endpoint and create a new socket on the other side"
        )

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self, linger: int | None = None) -> None:
        """Close the socket; queued messages are sent for at most LINGER (or ``linger``) ms."""
        self._close(linger)

    def __enter__(self) -> Socket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # As pyzmq: a socket collected while open is closed, with a ResourceWarning (shadows
        # are handles and own nothing).
        if getattr(self, "_shadow_obj", 1) is None and not getattr(self, "_closed", True):
            try:
                if not sys.is_finalizing():
                    warnings.warn(
                        f"unclosed socket {self!r}", ResourceWarning, stacklevel=2, source=self
                    )
                self.close()
            except Exception:
                pass

    def __repr__(self) -> str:
        closed = " closed" if self.closed else ""
        return (
            f"<{_repr_name(self)}(zmq.{self.socket_type_name.decode()}) at {id(self):#x}{closed}>"
        )

    def __class_getitem__(cls, item: Any) -> Any:
        """``Socket[bytes]``: pyzmq's sockets are generic in what recv returns."""
        return types.GenericAlias(cls, item)

    def __dir__(self) -> list[str]:
        """Attributes and, as in pyzmq, the option names (``sock.LINGER``)."""
        return sorted({*super().__dir__(), *SocketOption.__members__})

    def fileno(self) -> int:
        return int(self.FD)

    def _check_live(self) -> None:
        """ENOTSOCK once closed; ETERM once the context is terminating (as libzmq, where every
        call but close() then fails, so a thread learns it must close its socket)."""
        self._check_open()
        if self._ctx_terminated or self.context.closed:
            raise ContextTerminated()

    # -- endpoints ----------------------------------------------------------------------------

    def bind(self, addr: str) -> _EndpointContext:
        """Bind to ``addr`` (``tcp://*:5555``, ``ipc:///tmp/x``, ``inproc://name``)."""
        self._check_live()
        resolved = self._bind(addr)
        return _EndpointContext(self, "bind", resolved, self.unbind)

    def connect(self, addr: str) -> _EndpointContext:
        """Connect to ``addr``; the connection is made (and remade) in the background."""
        self._check_live()
        self._connect(addr)
        return _EndpointContext(self, "connect", addr, self.disconnect)

    def unbind(self, addr: str | bytes) -> None:
        self._check_live()
        self._unbind(addr if isinstance(addr, str) else addr.decode())

    def disconnect(self, addr: str | bytes) -> None:
        self._check_live()
        self._disconnect(addr if isinstance(addr, str) else addr.decode())

    def bind_to_random_port(
        self,
        addr: str,
        min_port: int = 49152,
        max_port: int = 65536,
        max_tries: int = 100,
    ) -> int:
        """Bind ``addr`` (``tcp://host``) to a port in [min_port, max_port); return the port."""
        if min_port == 49152 and max_port == 65536:
            # Let the kernel choose: it knows which ports are free.
            self.bind(f"{addr}:*")
            return int(self._last_endpoint.decode().rsplit(":", 1)[-1])
        for _ in range(max_tries):
            port = random.randrange(min_port, max_port)
            try:
                self.bind(f"{addr}:{port}")
            except ZMQError as exc:
                if exc.errno in (Errno.EADDRINUSE, Errno.EACCES):
                    continue
                raise
            return port
        raise ZMQBindError("Could not bind socket to random port.")

    # -- options ------------------------------------------------------------------------------

    def setsockopt(self, option: int, value: Any) -> None:
        self._check_live()
        if option == SocketOption.LINGER and value is None:
            value = -1
        _check_type(option, value)
        opt, checked = self.options.check(option, value)
        if opt in ACTIONS:  # e.g. SUBSCRIBE: the pattern acts on it; nothing is stored
            # Attach peers that connected meanwhile first, so the action reaches them now
            # (libzmq sends it only at the next call: libzmq#2267).
            self._process_commands()
            if not self.pattern.set_option(opt, checked):
                raise ZMQError(
                    Errno.EINVAL, f"socket option {opt.name} does not apply to this socket"
                )
            return
        self.options.apply(opt, checked)
        if opt == SocketOption.CONFLATE:
            self._conflate = bool(checked)

    def getsockopt(self, option: int) -> Any:
        self._check_live()
        try:
            opt = SocketOption(option)
        except ValueError:
            raise ZMQError(Errno.EINVAL, f"unknown socket option {option!r}") from None
        if opt in (SocketOption.RCVMORE,):
            return int(self._rx is not None)
        return self._get_dynamic(opt)

    set = setsockopt
    get = getsockopt

    def __setattr__(self, key: str, value: Any) -> None:
        # ``sock.subscribe = b"topic"`` sets the option, as in pyzmq, although subscribe and
        # unsubscribe are also methods.
        lowered = key.lower()
        if lowered in ("subscribe", "unsubscribe") and key not in self.__dict__:
            getattr(Socket, lowered)(self, value)
            return
        super().__setattr__(key, value)

    def subscribe(self, topic: str | bytes) -> None:
        """SUB: receive messages starting with ``topic`` (str is encoded as UTF-8)."""
        self.setsockopt(SocketOption.SUBSCRIBE, topic.encode() if isinstance(topic, str) else topic)

    def unsubscribe(self, topic: str | bytes) -> None:
        """SUB: cancel one subscription to ``topic``."""
        self.setsockopt(
            SocketOption.UNSUBSCRIBE, topic.encode() if isinstance(topic, str) else topic
        )

    def set_string(self, option: int, optval: str, encoding: str = "utf-8") -> None:
        """Set a bytes option (SUBSCRIBE, ROUTING_ID ...) from a str, encoded."""
        if not isinstance(optval, str):
            raise TypeError(f"expected str, not {type(optval).__name__}")
        self.setsockopt(option, optval.encode(encoding))

    def get_string(self, option: int, encoding: str = "utf-8") -> str:
        """A bytes option (ROUTING_ID, LAST_ENDPOINT ...), decoded."""
        try:
            opt_type = SocketOption(option)._opt_type
        except ValueError:
            raise ZMQError(Errno.EINVAL, f"unknown socket option {option!r}") from None
        if opt_type.value != "bytes":
            raise TypeError(f"option {SocketOption(option).name} is not a string option")
        value: bytes = self.getsockopt(option)
        return value.decode(encoding)

    setsockopt_string = setsockopt_unicode = set_string
    getsockopt_string = getsockopt_unicode = get_string

    def get_hwm(self) -> int:
        """The high-water mark (SNDHWM; RCVHWM where a socket has no sending side)."""
        try:
            return int(self.getsockopt(SocketOption.SNDHWM))
        except ZMQError:
            return int(self.getsockopt(SocketOption.RCVHWM))

    def set_hwm(self, value: int) -> None:
        """Set both SNDHWM and RCVHWM."""
        failure: ZMQError | None = None
        for opt in (SocketOption.SNDHWM, SocketOption.RCVHWM):
            try:
                self.setsockopt(opt, value)
            except ZMQError as exc:
                failure = exc
        if failure is not None:
            raise failure

    hwm = property(get_hwm, set_hwm)

    def _set_attr_opt(self, name: str, value: Any) -> None:
        if name not in SocketOption.__members__:
            raise AttributeError(f"Socket has no such option: {name}")
        self.setsockopt(SocketOption[name], value)

    def _get_attr_opt(self, name: str) -> Any:
        if name not in SocketOption.__members__:
            raise AttributeError(f"Socket has no such option: {name}")
        return self.getsockopt(SocketOption[name])

    # -- sending ------------------------------------------------------------------------------

    def send(
        self,
        data: Any,
        flags: int = 0,
        copy: bool = True,
        track: bool = False,
        routing_id: int | None = None,
        group: str | None = None,
    ) -> MessageTracker | None:
        """Send one frame; with SNDMORE, more frames of the same message follow."""
        if type(data) is bytes and not flags and not track and not self._tx:
            # The common case (one immutable frame, nothing queued), with the socket core's
            # steps inlined while there are no commands to process: this is the hot path.
            msg = [data]
            if not self._closed:
                mailbox = self.mailbox
                idle = not (mailbox._signaled or mailbox._items or self._ctx_terminated)
                if idle and self.pattern.send(msg):
                    return None
            self._send_message(msg)
            return None
        if routing_id is not None or group is not None:
            raise ZMQError(Errno.ENOTSUP, "routing_id/group are for draft sockets (unsupported)")
        if isinstance(data, Frame) and track and data.tracker is None:
            raise ValueError("not a tracked Frame: create it with track=True")
        frame = _frame_bytes(data, copy, self.copy_threshold)
        tx = self._tx
        pending, returned = self._trackers([data], copy, track)
        if flags & SNDMORE:
            if self._closed:
                self._check_open()
            tx.append(frame)
            if pending is not None:  # finished by the send of the message's last frame
                self.__dict__.setdefault("_tx_trackers", []).append(pending)
            return returned
        msg = [*tx, frame] if tx else [frame]
        parts: list[MessageTracker] | None = self.__dict__.pop("_tx_trackers", None)
        if parts:
            if pending is None:
                pending = MessageTracker()
            for part in parts:
                part.peers.add(pending)
                part._set_done()
        self._send_message(msg if pending is None else TrackedMessage(msg, pending), flags)
        tx.clear()
        return returned

    def _trackers(
        self, sources: Sequence[Any], copy: bool, track: bool
    ) -> tuple[MessageTracker | None, MessageTracker | None]:
        """(the tracker the pipe finishes, the tracker the send returns), as pyzmq's sends
        behave.  A copying send returns None.  A zero-copy one (``copy=False``, or a Frame)
        returns a tracker: finished at once when every frame was copied anyway (smaller than
        copy_threshold), else done when safezmq lets go of the caller's buffers — or None
        when ``track`` is false; a Frame's send returns the Frame's own tracker, which also
        waits for this send."""
        frames = [f for f in sources if isinstance(f, Frame)]
        if copy and not frames:
            return None, None
        if not frames and not _zero_copy(sources, copy, self.copy_threshold):
            return None, _FINISHED
        pending = MessageTracker() if track or any(f.tracker for f in frames) else None
        returned: MessageTracker | None = pending if track else None
        for f in frames:
            own = f.tracker
            if own is not None and pending is not None:
                own.peers.add(pending)
            returned = own
        return pending, returned

    def send_multipart(
        self, msg_parts: Sequence[Any], flags: int = 0, copy: bool = True, track: bool = False
    ) -> MessageTracker | None:
        """Send a whole message (the fast path)."""
        if not msg_parts:
            raise ZMQError(Errno.EINVAL, "a message needs at least one frame")
        threshold = self.copy_threshold
        frames = [_frame_bytes(part, copy, threshold) for part in msg_parts]
        if self._tx:
            frames = [*self._tx, *frames]
        if flags & SNDMORE:
            self._tx[:] = frames
            return None
        pending, returned = self._trackers(msg_parts, copy, track)
        self._send_message(frames if pending is None else TrackedMessage(frames, pending), flags)
        self._tx.clear()
        return returned

    def send_string(
        self, u: str, flags: int = 0, copy: bool = True, encoding: str = "utf-8", **kw: Any
    ) -> MessageTracker | None:
        if not isinstance(u, str):
            raise TypeError("send_string needs a str")
        return self.send(u.encode(encoding), flags=flags, copy=copy, **kw)

    send_unicode = send_string

    def send_json(self, obj: Any, flags: int = 0, **kwargs: Any) -> MessageTracker | None:
        return self.send(json.dumps(obj, **kwargs).encode("utf-8"), flags)

    def send_pyobj(self, obj: Any, flags: int = 0, protocol: int = pickle.DEFAULT_PROTOCOL) -> Any:
        return self.send(pickle.dumps(obj, protocol), flags)

    def send_serialized(
        self, msg: Any, serialize: Callable[[Any], Sequence[Any]], flags: int = 0, **kw: Any
    ) -> MessageTracker | None:
        return self.send_multipart(serialize(msg), flags=flags, **kw)

    # -- receiving ----------------------------------------------------------------------------

    def _next_message(self, flags: int) -> tuple[list[Any], Pipe | None]:
        msg, pipe = self._recv_message(flags)
        return msg, pipe

    def recv(self, flags: int = 0, copy: bool = True, track: bool = False) -> Any:
        """Receive one frame (bytes, or a Frame with ``copy=False``)."""
        rx = self._rx
        if rx is None:
            got = None
            if not self._closed and not self._conflate:
                # The socket core's steps inlined while there are no commands to process.
                mailbox = self.mailbox
                if not (mailbox._signaled or mailbox._items or self._ctx_terminated):
                    got = self.pattern.recv()
                    if got is not None and type(got[0]) is not list:
                        got = self._received(got)  # a tracked message: release its tracker
            msg, pipe = got if got is not None else self._recv_message(flags)
            if len(msg) == 1:
                data = msg[0]
                if copy:
                    return data if type(data) is bytes else bytes(data)
                return self._frame(data, pipe, False)
            object.__setattr__(self, "_rx", msg)
            object.__setattr__(self, "_rx_pipe", pipe)
            object.__setattr__(self, "_rx_index", 0)
            rx = msg
        index = self.__dict__["_rx_index"]
        data = rx[index]
        index += 1
        more = index < len(rx)
        if more:
            object.__setattr__(self, "_rx_index", index)
        else:
            object.__setattr__(self, "_rx", None)
        if copy:
            return data if type(data) is bytes else bytes(data)
        return self._frame(data, self.__dict__["_rx_pipe"], more)

    def _frame(self, data: Any, pipe: Pipe | None, more: bool) -> Frame:
        frame = Frame(data)
        if type(data) is bytes:
            frame._bytes = data  # received bytes are immutable and ours: no copy for .bytes
        frame.more = more
        if pipe is not None:
            frame._metadata = pipe.metadata
        return frame

    def recv_multipart(self, flags: int = 0, copy: bool = True, track: bool = False) -> list[Any]:
        """Receive a whole message (the rest of it, if recv() already took some frames)."""
        rx = self._rx
        if rx is not None:
            index = self.__dict__["_rx_index"]
            frames, pipe = rx[index:], self.__dict__["_rx_pipe"]
            object.__setattr__(self, "_rx", None)
        else:
            frames, pipe = self._recv_message(flags)
        if copy:
            return [f if type(f) is bytes else bytes(f) for f in frames]
        last = len(frames) - 1
        return [self._frame(f, pipe, i < last) for i, f in enumerate(frames)]

    def recv_string(self, flags: int = 0, encoding: str = "utf-8") -> str:
        data: bytes = self.recv(flags)
        return data.decode(encoding)

    recv_unicode = recv_string

    def recv_json(self, flags: int = 0, **kwargs: Any) -> Any:
        return json.loads(self.recv(flags), **kwargs)

    def recv_pyobj(self, flags: int = 0) -> Any:
        """Unpickle a received object — only if the context's policy allows it: unpickling
        bytes from the network runs code chosen by whoever sent them."""
        if not getattr(self.context, "allow_pickle", False):
            raise ZMQError(
                Errno.ENOTSUP,
                "recv_pyobj is disabled: unpickling network data executes code chosen by the "
                "sender. Use recv_json/recv_serialized, or opt in with context.allow_pickle = True",
            )
        return pickle.loads(self.recv(flags))

    def recv_serialized(
        self, deserialize: Callable[[list[Any]], Any], flags: int = 0, copy: bool = True
    ) -> Any:
        return deserialize(self.recv_multipart(flags, copy=copy))

    def recv_into(self, buffer: Any, /, *, nbytes: int = 0, flags: int = 0) -> int:
        """Receive one frame into ``buffer``; returns the frame's full size (like zmq_recv)."""
        view = memoryview(buffer)
        if not view.contiguous:
            raise BufferError("recv_into needs a contiguous buffer")
        if view.readonly:
            raise BufferError("recv_into needs a writable buffer")
        view = view.cast("B")
        if nbytes < 0:
            raise ValueError("nbytes must be non-negative")
        limit = nbytes or len(view)
        if limit > len(view):
            raise ValueError(f"nbytes={nbytes} is larger than the buffer ({len(view)})")
        data = self.recv(flags, copy=False)
        size = len(data)
        view[: min(size, limit)] = data.buffer[: min(size, limit)]
        return size

    def join(self, group: str | bytes) -> None:
        """RADIO/DISH groups are libzmq's draft API, which safezmq does not implement."""
        raise DraftAPIError("RADIO-DISH groups (Socket.join)")

    def leave(self, group: str | bytes) -> None:
        """RADIO/DISH groups are libzmq's draft API, which safezmq does not implement."""
        raise DraftAPIError("RADIO-DISH groups (Socket.leave)")

    # -- polling ------------------------------------------------------------------------------

    def poll(self, timeout: int | None = None, flags: int = PollEvent.POLLIN) -> int:
        """Wait until the socket is ready for ``flags``; returns the ready events (0: timeout).
        ``timeout`` is in milliseconds (None or -1: forever)."""
        from .poll import Poller

        self._check_open()
        poller = Poller()
        poller.register(self, flags)
        events = dict(poller.poll(timeout))
        return int(events.get(self, 0))

    def audit(self) -> list[Any]:
        """Findings about this socket's security configuration (see safezmq.audit)."""
        from .audit import audit_socket

        return audit_socket(self)

    # -- monitoring ---------------------------------------------------------------------------

    def monitor(self, addr: str | None, events: int = Event.ALL) -> None:
        """Publish this socket's events on a PAIR bound at ``addr`` (None stops monitoring)."""
        self._check_live()
        if addr is None:
            self.disable_monitor()
            return
        if not addr.startswith("inproc://"):
            raise ZMQError(Errno.EPROTONOSUPPORT, "monitor addresses must be inproc://")
        emitter = MonitorEmitter(self, addr, events)
        with self._monitor_lock:
            old, self._monitor = self._monitor, emitter
        if old is not None:
            old.close()

    def get_monitor_socket(self, events: int | None = None, addr: str | None = None) -> Socket:
        """A PAIR socket connected to this socket's monitor (the same one while it is open)."""
        existing: Socket | None = self.__dict__.get("_monitor_socket")
        if existing is not None and not existing.closed:
            return existing
        if addr is None:
            addr = f"inproc://monitor.s-{id(self)}"
        self.monitor(addr, Event.ALL if events is None else events)
        sock: Socket = self.context.socket(0)  # PAIR
        sock.connect(addr)
        object.__setattr__(self, "_monitor_socket", sock)
        return sock

    def disable_monitor(self) -> None:
        """Stop monitoring.  As in pyzmq, the socket from get_monitor_socket() stays open, so
        its reader still gets the events queued so far and the final MONITOR_STOPPED."""
        self.__dict__.pop("_monitor_socket", None)
        self._emit_monitor_stopped()


def _check_type(option: int, value: Any) -> None:
    """An unknown option must have an int value (libzmq then says EINVAL); anything else is a
    TypeError in pyzmq, here a TypeError that is also ZMQError EINVAL.  A known option's own
    check (options.py) refuses values of the wrong type the same way."""
    try:
        SocketOption(option)
    except ValueError:
        if not isinstance(value, int):
            raise OptionTypeError(
                f"unknown socket option {option!r}: an unknown option takes an int (libzmq "
                f"answers EINVAL for it), not {type(value).__name__}"
            ) from None


def _shadowed(shadow: Socket | int) -> Socket:
    """The socket a shadow is made of: a Socket, or the ``underlying`` of a live one."""
    return shadowed(shadow, Socket, _LIVE, "socket")


# ``sock.linger``, ``sock.rcvhwm`` ...: every socket option, as a descriptor on the class.
Socket._option_attributes(SocketOption.__members__)

#: pyzmq's name for a socket whose recv returns bytes (``Socket[bytes]``).
SyncSocket = Socket

__all__ = ["DONTWAIT", "NOBLOCK", "SNDMORE", "Again", "Socket", "SyncSocket"]
