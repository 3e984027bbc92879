"""A socket's mailbox: commands posted from other threads, run in the socket's own thread.

The I/O thread (or an inproc peer) never touches a socket's pattern state directly; it posts a
command here and the socket runs it at its next API call, as libzmq does.  The mailbox's
signaler is the socket's ``FD``: it becomes readable when a command is posted, which wakes a
blocked send/recv, a Poller, or a foreign event loop.

Signalling costs a system call per post (and another to drain), which is wasted while nobody
waits on the descriptor.  An asyncio socket wakes its waiters through ``on_post`` instead and
starts with ``use_fd`` off; the first time anyone asks for ``signaler`` (``socket.FD``,
``fileno()``, a sync Poller, a blocking call) the mailbox switches to signalling for good, and
signals at once if commands are already queued so the descriptor tells the truth.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from .signaler import Signaler

Command = tuple[Callable[[Any], None], Any]


class Mailbox:
    __slots__ = ("_closed", "_items", "_lock", "_signaled", "_signaler", "on_post", "use_fd")

    def __init__(self, use_fd: bool = True) -> None:
        self._items: deque[Command] = deque()
        self._signaled = False
        self._closed = False
        # Posts are rare (only on pipe transitions); the lock keeps a post from signalling a
        # descriptor that close() has just released (and the OS may have reused).
        # Reentrant: the garbage collector may run a Socket.__del__ (which posts to its peers'
        # mailboxes) on this thread while it holds this lock, e.g. inside post's append.
        self._lock = threading.RLock()
        self._signaler = Signaler()
        #: Whether posts write the signaler.  Only ever turns on (see ``signaler``).
        self.use_fd = use_fd
        #: Called (in the posting thread) after each post: the asyncio socket uses it to wake
        #: its waiters without a file descriptor when both live on the same loop.
        self.on_post: Callable[[], None] | None = None

    @property
    def signaler(self) -> Signaler:
        """The wake-up descriptor.  Whoever asks for it may wait on it, so from then on every
        post signals it."""
        if not self.use_fd:
            self.enable_fd()
        return self._signaler

    def enable_fd(self) -> None:
        """Signal the descriptor on every post from now on (and now, if commands wait)."""
        with self._lock:
            if self.use_fd:
                return
            self.use_fd = True
            if self._items and not self._closed:
                self._signaled = True
                self._signaler.signal()

    def post(self, fn: Callable[[Any], None], arg: Any) -> None:
        """Queue ``fn(arg)`` for the socket's thread (callable from any thread)."""
        with self._lock:
            if self._closed:
                return
            self._items.append((fn, arg))
            if self.use_fd:
                self._signaled = True
                self._signaler.signal()
        hook = self.on_post
        if hook is not None:
            hook()

    def process(self) -> bool:
        """Run every queued command (in the socket's thread).  True if any ran."""
        if self._signaled:
            # Clear the flag before draining: a post racing with us sets it again, so its
            # signal is drained by the next call rather than left to wake a poller forever.
            self._signaled = False
            self._signaler.drain()
        items = self._items
        if not items:
            return False
        while items:
            fn, arg = items.popleft()
            fn(arg)
        return True

    @property
    def pending(self) -> bool:
        return bool(self._items) or self._signaled

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._items.clear()
            self._signaler.close()
