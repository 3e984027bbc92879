"""PUSH and PULL (RFC 30): load-balanced sending, fair-queued receiving."""

from __future__ import annotations

from ..constants import SocketType
from ..engine.pipe import Message, Pipe
from .pattern import Pattern
from .strategies import FairQueue, LoadBalancer


class Push(Pattern):
    socket_type = SocketType.PUSH
    can_recv = False

    def __init__(self, options: object) -> None:
        super().__init__(options)
        self.lb = LoadBalancer()
        self.send = self.lb.offer  # type: ignore[method-assign]  # one call less per message

    def attach(self, pipe: Pipe) -> bool:
        self.lb.attach(pipe)
        return True

    def terminated(self, pipe: Pipe) -> None:
        self.lb.detach(pipe)

    def write_activated(self, pipe: Pipe) -> None:
        self.lb.write_activated(pipe)

    def send(self, msg: Message) -> bool:
        return self.lb.send(msg) is not None

    def has_out(self) -> bool:
        return self.lb.has_out()


class Pull(Pattern):
    socket_type = SocketType.PULL
    can_send = False

    def __init__(self, options: object) -> None:
        super().__init__(options)
        self.fq = FairQueue()
        self.recv = self.fq.recv  # type: ignore[method-assign]  # one call less per message

    def attach(self, pipe: Pipe) -> bool:
        self.fq.attach(pipe)
        return True

    def terminated(self, pipe: Pipe) -> None:
        self.fq.terminated(pipe)

    def read_activated(self, pipe: Pipe) -> None:
        self.fq.read_activated(pipe)

    def recv(self) -> tuple[Message, Pipe | None] | None:
        return self.fq.recv()

    def has_in(self) -> bool:
        return self.fq.has_in()
