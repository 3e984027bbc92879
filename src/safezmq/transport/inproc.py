"""inproc://: sockets of one context joined directly by pipes; no ZMTP, no I/O thread.

Bind and connect work in either order: a connect before the bind gets its pipe at once (so it
can queue messages, within the high-water mark) and the binder receives the other end when it
binds.  Each queue's limit is the writer's SNDHWM plus the reader's RCVHWM, as in libzmq.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ..constants import Errno, SocketOption
from ..engine.pipe import Pipe, Queue
from ..error import ZMQError
from ..protocol.metadata import Metadata
from ..protocol.sockettypes import compatible

if TYPE_CHECKING:
    from ..core import SocketCore

#: The receiving side's RCVHWM assumed for a connect that happens before the bind.
_DEFAULT_RCVHWM = 1000


def _sum_hwm(sndhwm: int, rcvhwm: int) -> int:
    return 0 if sndhwm == 0 or rcvhwm == 0 else sndhwm + rcvhwm


def _metadata(sock: SocketCore) -> Metadata:
    properties = {"Socket-Type": sock.socket_type_name}
    identity = sock.options[SocketOption.ROUTING_ID]
    if identity:
        properties["Identity"] = identity
    return Metadata(properties)


class _Pending:
    __slots__ = ("connecter", "pipe_b", "pipe_c")

    def __init__(self, connecter: SocketCore, pipe_c: Pipe, pipe_b: Pipe) -> None:
        self.connecter = connecter
        self.pipe_c = pipe_c
        self.pipe_b = pipe_b


class Registry:
    """The inproc endpoints of one context (thread-safe)."""

    def __init__(self, context: Any) -> None:
        # Reentrant: a Socket.__del__ run by the garbage collector while this thread holds the
        # lock (say, allocating a pipe in connect) calls forget() on the same thread.
        self._lock = threading.RLock()
        self._bound: dict[str, SocketCore] = {}
        self._pending: dict[str, list[_Pending]] = {}

    def bind(self, name: str, sock: SocketCore) -> None:
        with self._lock:
            if name in self._bound:
                raise ZMQError(
                    Errno.EADDRINUSE, f"cannot bind inproc://{name}: another socket is bound there"
                )
            self._bound[name] = sock
            pending = self._pending.pop(name, [])
        for item in pending:
            if item.connecter._closed:
                continue
            if not compatible(sock.socket_type_name, item.connecter.socket_type_name):
                item.connecter.mailbox.post(item.connecter._pipe_terminated, item.pipe_c)
                item.pipe_b.outbound.close_write()
                continue
            self._complete(sock, item.connecter, item.pipe_c, item.pipe_b)
            sock._attach_pipe(item.pipe_b)
            item.connecter.mailbox.post(item.connecter._pipe_ready, item.pipe_c)

    def connect(self, name: str, sock: SocketCore) -> None:
        endpoint = f"inproc://{name}"
        with self._lock:
            binder = self._bound.get(name)
            if binder is not None and not compatible(
                sock.socket_type_name, binder.socket_type_name
            ):
                raise ZMQError(
                    Errno.ENOCOMPATPROTO,
                    f"cannot connect a {sock.socket_type.name} socket to {endpoint}: the "
                    f"socket bound there is a {binder.socket_type.name}",
                )
            rcvhwm = binder.options[SocketOption.RCVHWM] if binder is not None else _DEFAULT_RCVHWM
            sndhwm = binder.options[SocketOption.SNDHWM] if binder is not None else _DEFAULT_RCVHWM
            budget = sock.context.policy.pipe_max_bytes
            to_binder = Queue(_sum_hwm(sock.options[SocketOption.SNDHWM], rcvhwm), budget)
            to_connecter = Queue(_sum_hwm(sndhwm, sock.options[SocketOption.RCVHWM]), budget)
            pipe_c = Pipe(to_connecter, to_binder, endpoint)
            pipe_b = Pipe(to_binder, to_connecter, endpoint)
            pipe_c.local_id = sock.options[SocketOption.CONNECT_ROUTING_ID]
            _wire(sock, pipe_c)
            if binder is None:
                self._pending.setdefault(name, []).append(_Pending(sock, pipe_c, pipe_b))
            else:
                self._complete(binder, sock, pipe_c, pipe_b)
        sock._attach_pipe(pipe_c)
        if binder is not None:
            binder.mailbox.post(binder._attach_pipe, pipe_b)

    def _complete(
        self, binder: SocketCore, connecter: SocketCore, pipe_c: Pipe, pipe_b: Pipe
    ) -> None:
        pipe_c.routing_id = binder.options[SocketOption.ROUTING_ID]
        pipe_b.routing_id = connecter.options[SocketOption.ROUTING_ID]
        pipe_c.metadata = _metadata(binder)
        pipe_b.metadata = _metadata(connecter)
        pipe_c.peer_socket_type = binder.socket_type_name
        pipe_b.peer_socket_type = connecter.socket_type_name
        pipe_c.ready = pipe_b.ready = True
        pipe_b.inbound.hwm = _sum_hwm(
            connecter.options[SocketOption.SNDHWM], binder.options[SocketOption.RCVHWM]
        )
        pipe_b.inbound.lwm = (pipe_b.inbound.hwm + 1) // 2
        _wire(binder, pipe_b)
        pipe_c.owner = (binder, pipe_b)
        pipe_b.owner = (connecter, pipe_c)
        # Messages queued before the bind: make sure the binder looks at them.
        pipe_b.inbound.reader_asleep = False

    def is_bound(self, name: str) -> bool:
        with self._lock:
            sock = self._bound.get(name)
            return sock is not None and not sock._closed

    def unbind(self, name: str, sock: SocketCore) -> None:
        with self._lock:
            if self._bound.get(name) is sock:
                del self._bound[name]

    def forget(self, sock: SocketCore) -> None:
        """``sock`` closed: drop its binds and its connects still waiting for a bind."""
        with self._lock:
            for name in [n for n, s in self._bound.items() if s is sock]:
                del self._bound[name]
            for name, items in list(self._pending.items()):
                kept = [item for item in items if item.connecter is not sock]
                if kept:
                    self._pending[name] = kept
                else:
                    del self._pending[name]


def _wire(sock: SocketCore, pipe: Pipe) -> None:
    """Route ``pipe``'s wake-ups for ``sock``'s side to ``sock``'s mailbox."""
    post = sock.mailbox.post
    pipe.inbound.wake_reader = lambda: post(sock._read_activated, pipe)
    pipe.outbound.wake_writer = lambda: post(sock._write_activated, pipe)
