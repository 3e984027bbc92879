"""The three routing strategies every socket pattern is built from (after libzmq's lb, fq, dist).

They see pipes only through ``read()``, ``check_write()`` and ``write()`` and do no I/O.
Messages are whole (lists of frames), so none of them tracks a half-sent message.
"""

from __future__ import annotations

from typing import Any

from ..engine.pipe import Message, Pipe, message_size


class _RoundRobin:
    """Pipes in an array whose first ``_active`` entries are the ones worth trying, with a
    cursor going round them (libzmq's array-with-active-prefix).  Activating moves a pipe
    into the prefix, parking moves it out; both are swaps, so order within is not kept."""

    __slots__ = ("_active", "_current", "pipes")

    def __init__(self) -> None:
        self.pipes: list[Pipe] = []
        self._active = 0  # pipes[:_active] are active
        self._current = 0

    def attach(self, pipe: Pipe) -> None:
        self.pipes.append(pipe)
        self.activate(pipe)

    def activate(self, pipe: Pipe) -> None:
        pipes = self.pipes
        try:
            i = pipes.index(pipe)
        except ValueError:
            return
        if i >= self._active:
            pipes[i], pipes[self._active] = pipes[self._active], pipes[i]
            self._active += 1

    def _park(self, i: int) -> None:
        """Move the active pipe at ``i`` out of the active prefix (it will be re-activated)."""
        pipes = self.pipes
        self._active -= 1
        pipes[i], pipes[self._active] = pipes[self._active], pipes[i]
        self._current = i if i < self._active else 0

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


class LoadBalancer(_RoundRobin):
    """Round-robin over the pipes that can take a message now (PUSH, DEALER, REQ)."""

    __slots__ = ()

    def write_activated(self, pipe: Pipe) -> None:
        self.activate(pipe)

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
            self._park(current)  # full: out of the way until it signals room again
        return None

    def offer(self, msg: Message) -> bool:
        """``send`` for callers that only need to know whether it went."""
        return self.send(msg) is not None

    def has_out(self) -> bool:
        pipes = self.pipes
        while self._active:
            current = self._current if self._current < self._active else 0
            if pipes[current].check_write():
                return True
            self._park(current)
        return False


class FairQueue(_RoundRobin):
    """Round-robin over the pipes that have a message (PULL, DEALER, ROUTER, SUB ...).

    A pipe whose peer is gone stays until its queued messages are read: nothing already
    received is lost because the peer disconnected.
    """

    __slots__ = ()

    def read_activated(self, pipe: Pipe) -> None:
        self.activate(pipe)

    def terminated(self, pipe: Pipe) -> None:
        """``pipe``'s peer is gone: drop it now if nothing of it is left to read, otherwise
        ``recv`` drops it once its last message has been read."""
        if not pipe.inbound.probe():
            self.detach(pipe)

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
            self._park(current)
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
        # Its size once for all pipes, and one call per pipe (a PUB's hot path runs this for
        # every message and every subscriber).
        nbytes = len(msg[0]) if len(msg) == 1 else message_size(msg)
        sent = 0
        for pipe in pipes:
            if pipe.outbound.offer(msg, nbytes):
                sent += 1
        return sent
