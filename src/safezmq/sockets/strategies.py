"""The three routing strategies every socket pattern is built from (after libzmq's lb, fq, dist).

They see pipes only through ``read()``, ``check_write()`` and ``write()`` and do no I/O.
Messages are whole (lists of frames), so none of them tracks a half-sent message.
"""

from __future__ import annotations

from typing import Any

from ..engine.pipe import Message, Pipe, message_size


class LoadBalancer:
    """Round-robin over the pipes that can take a message now (PUSH, DEALER, REQ)."""

    __slots__ = ("_active", "_current", "pipes")

    def __init__(self) -> None:
        self.pipes: list[Pipe] = []
        self._active = 0  # pipes[:_active] may be writable
        self._current = 0

    def attach(self, pipe: Pipe) -> None:
        self.pipes.append(pipe)
        self._activate(pipe)

    def _activate(self, pipe: Pipe) -> None:
        pipes = self.pipes
        i = pipes.index(pipe)
        if i >= self._active:
            pipes[i], pipes[self._active] = pipes[self._active], pipes[i]
            self._active += 1

    def write_activated(self, pipe: Pipe) -> None:
        if pipe in self.pipes:
            self._activate(pipe)

    def detach(self, pipe: Pipe) -> None:
        pipes = self.pipes
        try:
            i = pipes.index(pipe)
        except ValueError:
            return
        if i < self._active:
            self._active -= 1
            pipes[i], pipes[self._active] = pipes[self._active], pipes[i]
            i = self._active
        pipes.pop(i)
        if self._current >= self._active:
            self._current = 0

    def send(self, msg: Message) -> Pipe | None:
        """Write ``msg`` to the next pipe that has room; the pipe, or None if none has."""
        pipes = self.pipes
        nbytes = len(msg[0]) if len(msg) == 1 else message_size(msg)
        while self._active:
            current = self._current
            if current >= self._active:
                current = 0
            pipe = pipes[current]
            if pipe.outbound.offer(msg, nbytes):
                self._current = current + 1 if current + 1 < self._active else 0
                return pipe
            # Full: park it past the active range until it signals room again.
            self._active -= 1
            pipes[current], pipes[self._active] = pipes[self._active], pipes[current]
            self._current = current if current < self._active else 0
        return None

    def offer(self, msg: Message) -> bool:
        """``send`` for callers that only need to know whether it went."""
        return self.send(msg) is not None

    def has_out(self) -> bool:
        pipes = self.pipes
        while self._active:
            pipe = pipes[self._current if self._current < self._active else 0]
            if pipe.check_write():
                return True
            i = pipes.index(pipe)
            self._active -= 1
            pipes[i], pipes[self._active] = pipes[self._active], pipes[i]
            self._current = 0
        return False


class FairQueue:
    """Round-robin over the pipes that have a message (PULL, DEALER, ROUTER, SUB ...).

    A pipe whose peer is gone stays until its queued messages are read: nothing already
    received is lost because the peer disconnected.
    """

    __slots__ = ("_active", "_current", "_last", "pipes")

    def __init__(self) -> None:
        self.pipes: list[Pipe] = []
        self._active = 0
        self._current = 0
        self._last: Pipe | None = None

    def attach(self, pipe: Pipe) -> None:
        self.pipes.append(pipe)
        self.read_activated(pipe)

    def read_activated(self, pipe: Pipe) -> None:
        pipes = self.pipes
        try:
            i = pipes.index(pipe)
        except ValueError:
            return
        if i >= self._active:
            pipes[i], pipes[self._active] = pipes[self._active], pipes[i]
            self._active += 1

    def detach(self, pipe: Pipe) -> None:
        pipes = self.pipes
        try:
            i = pipes.index(pipe)
        except ValueError:
            return
        if i < self._active:
            self._active -= 1
            pipes[i], pipes[self._active] = pipes[self._active], pipes[i]
            i = self._active
        pipes.pop(i)
        if self._current >= self._active:
            self._current = 0

    def recv(self) -> tuple[Message, Pipe] | None:
        """The next message and the pipe it came from, or None."""
        pipes = self.pipes
        while self._active:
            current = self._current
            if current >= self._active:
                current = 0
            pipe = pipes[current]
            msg = pipe.inbound.read()
            if msg is not None:
                nxt = current + 1
                self._current = nxt if nxt < self._active else 0
                return msg, pipe
            # Empty (it will be re-activated when a message arrives) or terminated.
            self._active -= 1
            pipes[current], pipes[self._active] = pipes[self._active], pipes[current]
            self._current = current if current < self._active else 0
            if pipe.terminated:
                self.detach(pipe)
        return None

    def has_in(self) -> bool:
        pipes = self.pipes
        return any(pipes[i].inbound.probe() for i in range(self._active))


class Distributor:
    """Send a message to every (matching) pipe that can take it; drop it for the rest
    (PUB/XPUB semantics, RFC 29)."""

    __slots__ = ("pipes",)

    def __init__(self) -> None:
        self.pipes: list[Pipe] = []

    def attach(self, pipe: Pipe) -> None:
        self.pipes.append(pipe)

    def detach(self, pipe: Pipe) -> None:
        try:
            self.pipes.remove(pipe)
        except ValueError:
            pass

    def send_to(self, msg: Message, pipes: Any) -> int:
        """Write ``msg`` to each pipe of ``pipes`` with room; returns how many took it."""
        sent = 0
        for pipe in pipes:
            if pipe.check_write():
                pipe.write(msg)
                sent += 1
        return sent
