"""STREAM: talk to non-ZeroMQ TCP peers.  Each message is [routing id, data]; sending
[routing id, b""] closes that connection; receiving [routing id, b""] says a peer connected or
went away (STREAM_NOTIFY)."""

from __future__ import annotations

import os
from typing import Any

from ..constants import Errno, SocketType
from ..engine.pipe import Message, Pipe
from ..error import ZMQError
from .pattern import Pattern
from .strategies import FairQueue


class StreamPattern(Pattern):
    socket_type = SocketType.STREAM

    def __init__(self, options: Any) -> None:
        super().__init__(options)
        self.fq = FairQueue()
        self.by_id: dict[bytes, Pipe] = {}
        self._next_id = int.from_bytes(os.urandom(4), "big")

    def attach(self, pipe: Pipe) -> bool:
        rid = pipe.local_id
        if not rid or rid in self.by_id:
            while True:
                self._next_id = (self._next_id + 1) & 0xFFFFFFFF
                rid = b"\x00" + self._next_id.to_bytes(4, "big")
                if rid not in self.by_id:
                    break
        pipe.state = rid
        self.by_id[rid] = pipe
        self.fq.attach(pipe)
        return True

    def terminated(self, pipe: Pipe) -> None:
        if self.by_id.get(pipe.state) is pipe:
            del self.by_id[pipe.state]
        self.fq.terminated(pipe)

    def read_activated(self, pipe: Pipe) -> None:
        self.fq.read_activated(pipe)

    def send(self, msg: Message) -> bool:
        if len(msg) < 2:
            raise ZMQError(Errno.EINVAL, "a STREAM message is [routing id, data] (data b'' closes)")
        pipe = self.by_id.get(bytes(msg[0]))
        if pipe is None:
            raise ZMQError(Errno.EHOSTUNREACH, "no STREAM peer with that routing id")
        if not pipe.check_write():
            return False
        pipe.write(msg[1:])
        return True

    def recv(self) -> tuple[Message, Pipe | None] | None:
        got = self.fq.recv()
        if got is None:
            return None
        msg, pipe = got
        return [pipe.state, *msg], pipe

    def has_in(self) -> bool:
        return self.fq.has_in()

    def has_out(self) -> bool:
        return True
