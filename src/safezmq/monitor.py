"""Socket monitoring: events as two-frame messages on an inproc PAIR, in libzmq's format.

Frame 1 is the event number (16 bits) and its value (32 bits) in native byte order, frame 2 the
endpoint.  Events never carry a key, a password or message content.  When the monitor's reader
falls behind, events are dropped rather than ever blocking the I/O thread.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from .constants import SocketType
from .error import ZMQError

if TYPE_CHECKING:
    from .core import SocketCore

_EVENT = struct.Struct("=HI")


def encode_event(event: int, value: int, endpoint: str) -> list[bytes]:
    return [_EVENT.pack(event & 0xFFFF, value & 0xFFFFFFFF), endpoint.encode("utf-8", "replace")]


class MonitorEmitter:
    """Writes the events selected by ``mask`` to a PAIR socket bound at ``address``."""

    def __init__(self, owner: SocketCore, address: str, mask: int) -> None:
        self.mask = mask
        self.address = address
        self._socket: Any = owner.context.socket(SocketType.PAIR)
        try:
            self._socket.bind(address)
        except ZMQError:
            self._socket.close()
            raise

    def emit(self, event: int, value: int, endpoint: str) -> None:
        if not event & self.mask:  # MONITOR_STOPPED too: libzmq sends it only if asked for
            return
        try:
            self._socket._send_message(encode_event(event, value, endpoint), 1)  # DONTWAIT
        except ZMQError:
            pass  # nobody reads fast enough (or yet): drop, never block

    def close(self) -> None:
        # Not LINGER 0: events already queued (MONITOR_STOPPED last) stay readable by the
        # monitor's reader, as in libzmq.  The socket is inproc-only, so closing never waits.
        self._socket.close(linger=-1)
