"""JSON to and from bytes (pyzmq's ``zmq.utils.jsonapi``): what send_json/recv_json use."""

from __future__ import annotations

import json
from typing import Any

#: The json module in use (pyzmq code checks ``jsonapi.jsonmod`` before using JSON).
jsonmod = json


def dumps(o: object, **kwargs: Any) -> bytes:
    """``o`` as UTF-8 JSON bytes (keyword arguments go to ``json.dumps``)."""
    return json.dumps(o, **kwargs).encode("utf-8")


def loads(s: bytes | bytearray | memoryview | str, **kwargs: Any) -> Any:
    """The object encoded by JSON ``s`` (bytes are decoded as UTF-8)."""
    if not isinstance(s, str):
        s = bytes(s).decode("utf-8")
    return json.loads(s, **kwargs)


__all__ = ["dumps", "loads"]
