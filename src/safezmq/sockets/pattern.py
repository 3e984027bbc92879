"""What a socket pattern is: the rules of one socket type over its pipes (no I/O).

The socket core calls these hooks from the application's thread; the pattern answers with
whole messages.  A pattern that never receives (PUSH, PUB) still drains its inbound pipes so a
misbehaving peer cannot park messages there, and so that it notices when a peer leaves.
"""

from __future__ import annotations

from typing import Any

from ..constants import Errno, SocketOption, SocketType
from ..engine.pipe import Message, Pipe
from ..error import ZMQError


class Pattern:
    socket_type: SocketType
    #: The socket core (for what a pattern may ask of it, e.g. dropping a misbehaving peer).
    host: Any = None
    #: Whether the socket type may send / receive at all (PUSH cannot recv, PULL cannot send).
    can_send = True
    can_recv = True

    def __init__(self, options: Any) -> None:
        self.options = options

    # -- pipes --------------------------------------------------------------------------------

    def attach(self, pipe: Pipe) -> bool:
        """Take a new pipe.  False refuses it (the socket then terminates it)."""
        raise NotImplementedError

    def identified(self, pipe: Pipe) -> bool:
        """The peer behind ``pipe`` (re)completed its handshake; False refuses it."""
        return True

    def terminated(self, pipe: Pipe) -> None:
        """The peer behind ``pipe`` is gone."""
        raise NotImplementedError

    def read_activated(self, pipe: Pipe) -> None:
        """``pipe`` has a message (or its termination) to read."""
        if not self.can_recv:
            self._discard(pipe)

    def write_activated(self, pipe: Pipe) -> None:
        """``pipe`` has room again."""

    def _discard(self, pipe: Pipe) -> None:
        while pipe.read() is not None:
            pass

    # -- messages -----------------------------------------------------------------------------

    def send(self, msg: Message) -> bool:
        """Send a whole message; False if it would block now."""
        raise ZMQError(
            Errno.ENOTSUP, f"{self.socket_type.name} sockets cannot send (operation not supported)"
        )

    def recv(self) -> tuple[Message, Pipe | None] | None:
        """The next whole message (and its pipe, for metadata), or None if none is ready."""
        raise ZMQError(
            Errno.ENOTSUP,
            f"{self.socket_type.name} sockets cannot receive (operation not supported)",
        )

    def set_option(self, option: SocketOption, value: Any) -> bool:
        """Handle a pattern-specific option action (e.g. SUB's SUBSCRIBE); False: not ours."""
        return False

    def has_in(self) -> bool:
        return False

    def has_out(self) -> bool:
        return False
