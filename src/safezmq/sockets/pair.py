"""PAIR (RFC 31): exactly one peer; a second connection is refused."""

from __future__ import annotations

from ..constants import SocketType
from ..engine.pipe import Message, Pipe
from .pattern import Pattern


class Pair(Pattern):
    socket_type = SocketType.PAIR

    def __init__(self, options: object) -> None:
        super().__init__(options)
        self.pipe: Pipe | None = None

    def attach(self, pipe: Pipe) -> bool:
        if self.pipe is not None and not self.pipe.terminated:
            return False  # RFC 31: a PAIR talks to one peer at a time
        self.pipe = pipe
        return True

    def terminated(self, pipe: Pipe) -> None:
        if pipe is self.pipe and not pipe.inbound.probe():
            self.pipe = None

    def send(self, msg: Message) -> bool:
        pipe = self.pipe
        if pipe is None or not pipe.check_write():
            return False
        pipe.write(msg)
        return True

    def recv(self) -> tuple[Message, Pipe | None] | None:
        pipe = self.pipe
        if pipe is None:
            return None
        msg = pipe.read()
        if msg is None:
            if pipe.terminated:
                self.pipe = None
            return None
        return msg, pipe

    def has_in(self) -> bool:
        return self.pipe is not None and self.pipe.inbound.probe()

    def has_out(self) -> bool:
        return self.pipe is not None and self.pipe.check_write()
