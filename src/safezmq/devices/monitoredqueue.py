"""monitored_queue: the queue device that predates zmq_proxy (pyzmq's own)."""

from __future__ import annotations

from ..proxy import _monitored_queue
from ..socket import Socket


def monitored_queue(
    in_socket: Socket,
    out_socket: Socket,
    mon_socket: Socket,
    in_prefix: bytes = b"in",
    out_prefix: bytes = b"out",
) -> int:
    """Forward messages both ways between ``in_socket`` and ``out_socket`` and send each one
    to ``mon_socket`` prefixed with a frame saying where it came from (``in_prefix`` or
    ``out_prefix``).  Unlike ``proxy``, two ROUTERs work: the first two frames (the routing
    ids) are swapped on the way through.  Runs until the context is terminated (then raises
    ContextTerminated).  Copies to ``mon_socket`` are sent without blocking: a slow monitor
    loses copies rather than stalling the queue."""
    for name, prefix in (("in_prefix", in_prefix), ("out_prefix", out_prefix)):
        if not isinstance(prefix, bytes):
            raise TypeError(f"{name} must be bytes, not {type(prefix).__name__}")
    return _monitored_queue(in_socket, out_socket, mon_socket, in_prefix, out_prefix)


__all__ = ["monitored_queue"]
