"""Frame and MessageTracker, with pyzmq's API.

A ``Frame`` wraps one frame's bytes (without copying) and, on receipt, the metadata of the
connection it came from: ``frame.get("User-Id")``, ``"Peer-Address"``, ``"Socket-Type"``.
A ``MessageTracker`` says when safezmq no longer holds a zero-copy buffer (``copy=False``).
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Mapping
from typing import Any

from .constants import Errno
from .error import NotDone, ZMQError

_EMPTY: Mapping[str, bytes] = {}


class MessageTracker:
    """Tracks whether the buffers of one or more sent messages are still in use."""

    def __init__(self, *towatch: Any) -> None:
        self._event = threading.Event()
        self._parents = [t for t in towatch if isinstance(t, MessageTracker)]
        if not towatch:
            pass

    def _set_done(self) -> None:
        self._event.set()

    @property
    def done(self) -> bool:
        return self._event.is_set() and all(p.done for p in self._parents)

    def wait(self, timeout: float | int = -1) -> None:
        """Block until done (``timeout`` in seconds; -1 or None: forever).  Raises NotDone."""
        limit = None if timeout is None or timeout < 0 else float(timeout)
        if not self._event.wait(limit):
            raise NotDone()
        for parent in self._parents:
            parent.wait(timeout)


class Frame:
    """One message frame (``zmq.Frame`` / ``zmq.Message``)."""

    __slots__ = ("_data", "_metadata", "more", "tracker")

    def __init__(self, data: Any = b"", track: bool = False, copy: bool | None = None) -> None:
        if isinstance(data, str):
            raise TypeError("Frame data must be bytes-like; encode str first (send_string)")
        if isinstance(data, Frame):
            data = data._data
        if copy and not isinstance(data, bytes):
            data = bytes(data)
        self._data: Any = data
        self.more = False
        self.tracker: MessageTracker | None = MessageTracker() if track else None
        self._metadata: Mapping[str, bytes] = _EMPTY

    @property
    def bytes(self) -> builtins.bytes:
        data = self._data
        return data if type(data) is bytes else bytes(data)

    @property
    def buffer(self) -> memoryview:
        return memoryview(self._data)

    def __len__(self) -> int:
        data = self._data
        return data.nbytes if isinstance(data, memoryview) else len(data)

    def __bytes__(self) -> builtins.bytes:
        return self.bytes

    def __buffer__(self, flags: int) -> memoryview:
        return memoryview(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Frame):
            return self.bytes == other.bytes
        if isinstance(other, (bytes, bytearray, memoryview)):
            return self.bytes == bytes(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def get(self, option: int | str | builtins.bytes) -> Any:
        """A metadata property of the connection (by name, str or bytes), or MORE (by int)."""
        if isinstance(option, bytes):
            option = option.decode("utf-8", "replace")
        if isinstance(option, str):
            value = self._metadata.get(option)
            if value is None:
                raise ZMQError(Errno.EINVAL, f"no metadata property {option!r} on this frame")
            try:
                return value.decode("utf-8")
            except UnicodeDecodeError:
                return value
        if option == 1:  # MORE
            return int(self.more)
        raise ZMQError(Errno.EINVAL, f"unknown frame option {option!r}")

    def set(self, option: int, value: int) -> None:
        raise ZMQError(Errno.EINVAL, "frame options are read-only")

    def __copy__(self) -> Frame:
        clone = Frame(self._data)
        clone._metadata = self._metadata
        return clone

    def __repr__(self) -> str:
        size = len(self)
        preview = bytes(self.buffer[:32])
        return f"<safezmq.Frame({preview!r}{'...' if size > 32 else ''}, {size}B)>"


Message = Frame
