"""Frame and MessageTracker, with pyzmq's API.

A ``Frame`` wraps one frame's bytes (without copying) and, on receipt, the metadata of the
connection it came from: ``frame.get("User-Id")``, ``"Peer-Address"``, ``"Socket-Type"``.
A ``MessageTracker`` says when safezmq no longer holds a zero-copy buffer (``copy=False``).
"""

from __future__ import annotations

import builtins
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any

from .constants import Errno
from .error import NotDone, ZMQError

_EMPTY: Mapping[str, bytes] = {}


class MessageTracker:
    """Whether safezmq is done with the buffers of one or more messages.

    Built from ``threading.Event`` objects, other trackers and tracked Frames (``track=True``);
    done once every one of them is.  A tracker made by a send is done when the message has
    left safezmq (written to the kernel, read by an inproc peer, or dropped); a Frame's own
    tracker when the Frame is gone and each zero-copy send of it is done."""

    events: set[threading.Event]
    peers: set[MessageTracker]

    def __init__(self, *towatch: Any) -> None:
        self.events = set()
        self.peers = set()
        # The event that _set_done() sets: safezmq's own trackers start with one.
        self._own = threading.Event()
        if not towatch:
            self.events.add(self._own)
        for obj in towatch:
            if isinstance(obj, threading.Event):
                self.events.add(obj)
            elif isinstance(obj, MessageTracker):
                self.peers.add(obj)
            elif isinstance(obj, Frame):
                if obj.tracker is None:
                    raise ValueError("not a tracked Frame: create it with track=True")
                self.peers.add(obj.tracker)
            else:
                raise TypeError(
                    f"MessageTracker watches Events, MessageTrackers and Frames, "
                    f"not {type(obj).__name__}"
                )

    def _set_done(self) -> None:
        self._own.set()

    @property
    def done(self) -> bool:
        """True once safezmq holds none of the tracked buffers."""
        return all(e.is_set() for e in self.events) and all(p.done for p in self.peers)

    def wait(self, timeout: float | int | None = -1) -> None:
        """Block until done, for at most ``timeout`` seconds (-1 or None: no limit).
        Raises NotDone if the time runs out first."""
        deadline = None if timeout is None or timeout < 0 else time.monotonic() + timeout
        for event in self.events:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not event.wait(remaining):
                raise NotDone()
        for peer in self.peers:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            peer.wait(-1 if remaining is None else remaining)


#: The tracker of a message whose buffers were copied: done from the start (pyzmq's name).
_FINISHED_TRACKER = MessageTracker()
_FINISHED_TRACKER._set_done()


class DraftAPIError(ZMQError, RuntimeError):
    """A draft-API feature (RADIO/DISH groups, CLIENT/SERVER routing ids): safezmq implements
    no draft API, as pyzmq built without it (which raises RuntimeError, hence the base)."""

    def __init__(self, feature: str) -> None:
        super().__init__(
            Errno.ENOTSUP,
            f"{feature} is part of libzmq's draft API, which safezmq does not implement "
            "(safezmq.DRAFT_API is False)",
        )


class _Owners:
    """The Frames (a Frame and its copies) sharing one buffer and tracker: the tracker's own
    part is done when the last of them is gone, as libzmq frees a message with its last copy."""

    __slots__ = ("count", "tracker")

    def __init__(self, tracker: MessageTracker) -> None:
        self.count = 1
        self.tracker = tracker

    def drop(self) -> None:
        self.count -= 1
        if self.count <= 0:
            self.tracker._set_done()


def _frame_data(data: Any) -> Any:
    """``data`` checked to be one contiguous buffer (bytes kept as they are)."""
    if type(data) is bytes:
        return data
    if isinstance(data, str):
        raise TypeError("Frame data must be bytes-like; encode str first (or use send_string)")
    try:
        view = memoryview(data)
    except TypeError:
        raise TypeError(
            f"Frame data must support the buffer protocol, not {type(data).__name__}"
        ) from None
    if not view.contiguous:
        raise BufferError("Frame data must be a contiguous buffer")
    return data


class Frame:
    """One message frame (``zmq.Frame`` / ``zmq.Message``).

    ``frame["User-Id"]`` / ``frame.get("Peer-Address")`` read the metadata of the connection a
    received frame came from.  ``track=True`` gives the frame a MessageTracker that is done
    once the frame (and its copies) are gone and every zero-copy send of it is done."""

    __slots__ = ("__weakref__", "_buffer", "_bytes", "_data", "_metadata", "_owners", "more")

    def __init__(
        self,
        data: Any = b"",
        track: bool = False,
        copy: bool | None = None,
        copy_threshold: int | None = None,
    ) -> None:
        if isinstance(data, Frame):
            data = data._data
        data = _frame_data(data)
        if copy and type(data) is not bytes:
            data = bytes(memoryview(data))
        self._data: Any = data
        # As pyzmq, .bytes of a Frame made from the caller's buffer is a copy of it (made once);
        # frames safezmq makes from received bytes set _bytes to them (see Socket._frame).
        self._bytes: builtins.bytes | None = None
        self._buffer: memoryview | None = None
        self.more = False
        self._owners: _Owners | None = _Owners(MessageTracker()) if track else None
        self._metadata: Mapping[str, bytes] = _EMPTY

    def __del__(self) -> None:
        owners = getattr(self, "_owners", None)
        if owners is not None:
            owners.drop()

    @property
    def tracker(self) -> MessageTracker | None:
        """The MessageTracker of a frame made with ``track=True`` (None otherwise)."""
        owners = self._owners
        return None if owners is None else owners.tracker

    @property
    def tracker_event(self) -> threading.Event | None:
        """The event set when the Frame and its copies are gone (None if not tracked)."""
        owners = self._owners
        return None if owners is None else owners.tracker._own

    @property
    def bytes(self) -> builtins.bytes:
        """The frame's content as bytes (made once, then the same object)."""
        cached = self._bytes
        if cached is None:
            cached = self._bytes = bytes(memoryview(self._data))
        return cached

    @property
    def buffer(self) -> memoryview:
        """A memoryview of the frame's content, without copying (the same view each time)."""
        view = self._buffer
        if view is None:
            view = self._buffer = memoryview(self._data).cast("B")
        return view

    def __len__(self) -> int:
        data = self._data
        return data.nbytes if isinstance(data, memoryview) else len(data)

    def __bytes__(self) -> builtins.bytes:
        return self.bytes

    def __buffer__(self, flags: int) -> memoryview:
        """The buffer protocol (``memoryview(frame)``) on Python 3.12+ (PEP 688)."""
        return memoryview(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Frame):
            return self.bytes == other.bytes
        if isinstance(other, (bytes, bytearray, memoryview)):
            return self.bytes == bytes(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __getitem__(self, key: int | str | builtins.bytes) -> Any:
        """``frame["User-Id"]``: the same as ``frame.get("User-Id")``."""
        return self.get(key)

    def get(self, option: int | str | builtins.bytes) -> Any:
        """A metadata property of the connection (by name, str or bytes), or a frame option
        (MORE, SHARED) by number."""
        if isinstance(option, bytes):
            option = option.decode("utf-8", "replace")
        if isinstance(option, str):
            if option in ("group", "routing_id"):
                raise DraftAPIError(f"Frame {option}")
            value = self._metadata.get(option)
            if value is None:
                raise ZMQError(Errno.EINVAL, f"no metadata property {option!r} on this frame")
            try:
                return value.decode("utf-8")
            except UnicodeDecodeError:
                return value
        if option == 1:  # MORE
            return int(self.more)
        if option == 3:  # SHARED: whether another Frame shares this buffer
            owners = self._owners
            return int(owners is not None and owners.count > 1)
        raise ZMQError(Errno.EINVAL, f"unknown frame option {option!r}")

    def set(self, option: int | str, value: Any) -> None:
        if option in ("group", "routing_id"):
            raise DraftAPIError(f"Frame {option}")
        raise ZMQError(Errno.EINVAL, "frame options are read-only")

    @property
    def group(self) -> str:
        """The RADIO/DISH group (draft API: raises DraftAPIError)."""
        raise DraftAPIError("RADIO-DISH groups")

    @group.setter
    def group(self, group: str | builtins.bytes) -> None:
        raise DraftAPIError("RADIO-DISH groups")

    @property
    def routing_id(self) -> int:
        """The CLIENT/SERVER routing id (draft API: raises DraftAPIError)."""
        raise DraftAPIError("CLIENT-SERVER routing ids")

    @routing_id.setter
    def routing_id(self, routing_id: int) -> None:
        raise DraftAPIError("CLIENT-SERVER routing ids")

    def __copy__(self) -> Frame:
        """A frame sharing this one's buffer and tracker (no copy of the content)."""
        clone = Frame.__new__(Frame)
        clone._data = self._data
        clone._bytes = self._bytes
        clone._buffer = None
        clone.more = self.more
        clone._metadata = self._metadata
        owners = self._owners
        if owners is not None:
            owners.count += 1
        clone._owners = owners
        return clone

    fast_copy = __copy__

    def __repr__(self) -> str:
        size = len(self)
        if size <= 16:
            return f"<{_repr_name(self)}({self.bytes!r})>"
        head = bytes(self.buffer[:12])
        for limit, divisor, unit in ((1e9, 1e9, "GB"), (2**20, 1e6, "MB"), (1e3, 1e3, "kB")):
            if size >= limit:
                return f"<{_repr_name(self)}({head!r}...{size // divisor:.0f}{unit})>"
        return f"<{_repr_name(self)}({head!r}...{size}B)>"


def _repr_name(obj: object) -> str:
    """How a repr names ``obj``'s class: ``safezmq.Frame`` for safezmq's own public classes
    (as pyzmq says ``zmq.Frame``), module and name for subclasses elsewhere.  In a program that
    chose ``import zmq`` to mean safezmq (safezmq.aszmq), the name it imports is the one shown:
    ``zmq.Frame``, as pyzmq's programs and tests expect."""
    cls = type(obj)
    module = cls.__module__
    if module.startswith("safezmq."):
        aliased = sys.modules.get("zmq")
        module = "zmq" if aliased is not None and aliased is sys.modules["safezmq"] else "safezmq"
    return f"{module}.{cls.__name__}"


Message = Frame
