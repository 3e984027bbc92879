"""Reading monitor events (pyzmq's ``zmq.utils.monitor``)."""

from __future__ import annotations

import asyncio
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


def recv_monitor_message(socket: Any, flags: int = 0) -> Any:
    """Receive and decode one monitor event from a monitor socket.  From an asyncio socket
    (whose recv_multipart returns a future) the result is a future of the event, as in pyzmq."""
    msg = socket.recv_multipart(flags)
    if isinstance(msg, asyncio.Future):
        return _parse_when_done(msg)
    return parse_monitor_message(msg)


def _parse_when_done(received: asyncio.Future[Any]) -> asyncio.Future[dict[str, Any]]:
    event: asyncio.Future[dict[str, Any]] = received.get_loop().create_future()

    def parse(done: asyncio.Future[Any]) -> None:
        if event.done():
            return
        if done.cancelled():
            event.cancel()
            return
        try:
            event.set_result(parse_monitor_message(done.result()))
        except Exception as exc:
            event.set_exception(exc)

    received.add_done_callback(parse)
    return event


__all__ = ["parse_monitor_message", "recv_monitor_message"]
