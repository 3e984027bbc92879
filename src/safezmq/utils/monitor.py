"""Reading monitor events (pyzmq's ``zmq.utils.monitor``)."""

from __future__ import annotations

import struct
from typing import Any

from ..constants import Event


def parse_monitor_message(msg: list[bytes]) -> dict[str, Any]:
    """Decode a two-frame monitor message into ``{'event', 'value', 'endpoint'}``."""
    if len(msg) != 2 or len(msg[0]) != 6:
        raise RuntimeError(f"invalid monitor message: {msg!r}")
    event_id, value = struct.unpack("=HI", bytes(msg[0]))
    try:
        event: int = Event(event_id)
    except ValueError:
        event = event_id
    return {"event": event, "value": value, "endpoint": bytes(msg[1])}


def recv_monitor_message(socket: Any, flags: int = 0) -> dict[str, Any]:
    """Receive and decode one monitor event from a monitor socket."""
    return parse_monitor_message(socket.recv_multipart(flags))


__all__ = ["parse_monitor_message", "recv_monitor_message"]
