"""Leader/follower: an application thread that blocks runs the I/O loop itself.

A synchronous ``recv`` that finds nothing queued used to sleep on its mailbox's descriptor
until the I/O thread had read the message and woken it: two wake-ups of Python threads per
message that crossed (the I/O thread's, then the application's), each about 20-30 µs, and the
GIL handed over both times.  Here the waiting thread does the I/O instead.  It takes the
*lead* (a lock), runs iterations of the context's event loop -- reading, decoding, writing,
timers, for every connection of the context -- until its own mailbox has news, and gives the
lead back.  The message it waits for is decoded in the thread that wants it.

The I/O thread stays the loop's owner.  It takes the lead whenever no application thread
waits (heartbeats, accepts, reconnects, linger, and every send of a thread that never blocks)
and steps aside, parked on a condition, while one does.

The rules that keep this sound:

- Only the holder of the lead runs the loop -- its callbacks and its wait in ``epoll_wait`` --
  so the loop is single-threaded as asyncio requires, the engine's state (sessions, streams,
  the shared read buffer) needs no lock, and the loop's self-pipe wakes exactly the leader.
  (An earlier version let every waiter sit in ``epoll_wait`` at once: whoever drained the
  self-pipe swallowed a wake-up meant for another, and a thread could sleep forever.)
- Other waiting application threads follow: they sleep on a condition until their mailbox
  has news or the lead is free.  A post to a waiting socket's mailbox from another thread
  wakes its owner: through the self-pipe if the owner leads, through the condition if not
  (``Mailbox.set_waker``).  A new leader looks at its mailboxes after taking the lead and
  before it blocks, so a post racing with the change of roles is never missed.
- A leader never waits for another thread while it holds the lead (it only blocks in the
  kernel), and ``in_loop_thread()`` is true exactly for the holder, so work posted from a
  callback runs inline.
- The I/O thread, when it finds application threads waiting, gives up the lead and parks
  until none is left; a thread that wants the lead while the I/O thread sits in the kernel
  writes the self-pipe to make it step aside.  When the last waiting thread leaves, the I/O
  thread resumes (so sockets nobody waits on, timers and sends keep being served).

This needs asyncio's own selector loop (its ``_run_once`` and ``selectors`` object).  On any
other loop (uvloop, the gevent hub's) ``Leadership.attach`` declines and threads wait on their
mailbox's descriptor as before.
"""

from __future__ import annotations

import asyncio
import os
import selectors
import threading
import time
from asyncio import events
from collections.abc import Callable, Sequence
from typing import Any, Protocol


#: ``SAFEZMQ_IO_LEADER=0`` in the environment turns leading off: blocked threads sleep on their
#: mailbox's descriptor and the I/O thread does all I/O (the design before; kept to measure
#: against, and as a diagnostic switch).
ENABLED = os.environ.get("SAFEZMQ_IO_LEADER", "1") != "0"


#: How long the I/O thread stays parked after the last waiting application thread left, unless
#: work is posted or a timer is due.  Descriptors nobody waits on (another socket's input, a
#: new connection) are watched again after at most this long.
RESUME_AFTER = 0.001
#: How long a parked I/O thread leaves posted work to an application thread that may come to
#: lead before it takes the work on itself (checked every RESUME_AFTER).
POSTED_GRACE = 0.0002


class Waitable(Protocol):
    """What a leader waits on: a socket's mailbox (see ``Mailbox``)."""

    @property
    def pending(self) -> bool: ...

    def set_waker(self, ident: int, waker: Callable[[int], None] | None) -> None: ...


class _SharedSelector:
    """The loop's selector, with ``select`` routed through the leadership (see the module
    docstring); everything else goes to the real selector."""

    def __init__(self, inner: selectors.BaseSelector, leadership: Leadership) -> None:
        self._inner = inner
        self._leadership = leadership

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        return self._leadership.select(self._inner, timeout)


class Leadership:
    """Who runs a loop right now: its I/O thread, or an application thread waiting for a
    message.  See the module docstring."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        #: Guards ``holder`` and ``_waiters``; followers and the parked I/O thread wait on it.
        #: (The lead is this state rather than a Lock: a thread blocked in Lock.acquire owns
        #: the lock before it has the GIL back, and a follower polling ``locked()`` meanwhile
        #: spins until the interpreter's switch interval -- 5 ms -- forces the GIL over.)
        self._cv = threading.Condition(threading.Lock())
        #: Application threads waiting in ``wait`` (leading or following).
        self._waiters = 0
        #: The thread holding the lead, running the loop (0 while nobody does).
        self.holder = 0
        #: The I/O thread's ident, once it runs.
        self._io_ident = 0
        #: False once the I/O thread has left its loop: nobody may lead any more.
        self._open = True
        #: Whether the I/O thread is parked, and whether work was posted for it meanwhile.
        self.parked = False
        self._posted = False
        #: When the last application thread stopped waiting (time.monotonic()).
        self._last_wait_end = 0.0
        #: Threads blocked until the lead is free: followers, the I/O thread taking it back.
        self._following = 0
        self._local = threading.local()
        self._write_to_self: Any = getattr(loop, "_write_to_self", None)

    @classmethod
    def attach(cls, loop: asyncio.AbstractEventLoop) -> Leadership | None:
        """A Leadership for ``loop``, installed in it, or None if the loop cannot be shared."""
        if (
            not ENABLED
            or type(loop).__module__ != "asyncio.unix_events"
            or not isinstance(getattr(loop, "_selector", None), selectors.BaseSelector)
            or not hasattr(loop, "_run_once")
            or not hasattr(loop, "_write_to_self")
        ):
            return None
        leadership = cls(loop)
        loop._selector = _SharedSelector(loop._selector, leadership)  # type: ignore[attr-defined]
        return leadership

    # -- the I/O thread -----------------------------------------------------------------------

    def io_thread_starts(self) -> None:
        """Called by the I/O thread before it runs the loop: it leads from now on."""
        self._io_ident = threading.get_ident()
        self._take_blocking(self._io_ident)

    def io_thread_stops(self) -> None:
        """Called by the I/O thread (holding the lead) when its loop has stopped: nobody
        leads any more; followers give up following."""
        self._open = False
        with self._cv:
            self._cv.notify_all()

    def io_thread_exits(self) -> None:
        self._give()

    def wake_io_thread(self) -> None:
        """Make a parked I/O thread look at its loop (e.g. to see ``loop.stop()``)."""
        with self._cv:
            self._cv.notify_all()

    # -- the selector -------------------------------------------------------------------------

    def select(
        self, inner: selectors.BaseSelector, timeout: float | None
    ) -> list[tuple[selectors.SelectorKey, int]]:
        """``inner.select(timeout)``, called by the lead holder from the loop's ``_run_once``."""
        if timeout is not None and timeout <= 0:
            return inner.select(0)
        if threading.get_ident() == self._io_ident:
            if self._waiters and self._open:
                self._park()
                # Whatever the leaders did (callbacks queued, timers added) is only seen by
                # a fresh pass of _run_once, which computes a fresh timeout.
                return []
            return inner.select(timeout)
        local = self._local
        for mailbox in local.mailboxes:
            if mailbox.pending:  # posted while we took the lead: do not block
                return inner.select(0)
        deadline: float | None = local.deadline
        if deadline is not None:
            remaining = max(0.0, deadline - time.monotonic())
            timeout = remaining if timeout is None else min(timeout, remaining)
        return inner.select(timeout)

    def _park(self) -> None:
        """The I/O thread steps aside while application threads wait, and for a moment
        after (RESUME_AFTER): a thread that waits again soon -- the next recv of a loop --
        then finds the lead free, with no hand-over.  Nobody wakes the parked thread (each
        wake-up would cost what leading saves): it looks again every RESUME_AFTER."""
        loop: Any = self.loop
        try:
            with self._cv:
                self.holder = 0
                if self._following:
                    self._cv.notify_all()  # a follower may take the lead now
                self.parked = True
                while self._open and not self._stopping():
                    if not self._waiters:
                        idle = time.monotonic() - self._last_wait_end
                        if idle >= RESUME_AFTER or (self._posted and idle >= POSTED_GRACE):
                            break
                    self._cv.wait(RESUME_AFTER)
                self.parked = False
                self._posted = False
        finally:
            self._take_blocking(self._io_ident)

    def posted(self) -> None:
        """Work was posted from a thread that does not lead.  Its poster usually waits next
        (a request, then its reply) and runs the work itself as leader; if nobody comes to
        lead, the parked I/O thread takes it on at its next look."""
        self._posted = True

    def _stopping(self) -> bool:
        return bool(getattr(self.loop, "_stopping", False))

    # -- application threads ------------------------------------------------------------------

    def _wake(self, ident: int) -> None:
        """A post to a mailbox thread ``ident`` waits for (``Mailbox.set_waker``)."""
        if self.holder == ident:
            self._write_to_self()  # it leads: interrupt its wait for I/O
        elif self._following:
            with self._cv:  # it follows: wake it (and it may find the lead free)
                self._cv.notify_all()

    def wait(self, mailboxes: Sequence[Waitable], deadline: float | None) -> bool | None:
        """Run the loop in this thread until one of ``mailboxes`` has news, or ``deadline``
        (``time.monotonic()``) has passed.  True: news (or maybe news); False: the deadline
        passed; None: this thread cannot lead (the loop is gone, or this thread already
        leads), and the caller must wait some other way."""
        me = threading.get_ident()
        if self.holder == me or not self._open:
            return None
        loop: Any = self.loop
        with self._cv:
            self._waiters += 1
        waker = self._wake
        for mailbox in mailboxes:
            mailbox.set_waker(me, waker)
        local = self._local
        local.deadline = deadline
        local.mailboxes = mailboxes
        scheduled = loop._scheduled
        head = scheduled[0] if scheduled else None
        try:
            while True:
                for mailbox in mailboxes:
                    if mailbox.pending:
                        return True
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                if not self._open or loop._stopping:
                    return None
                if self._take(me):
                    self._lead_once(me)
                    continue
                self._follow(mailboxes, deadline)
        finally:
            local.deadline = None
            local.mailboxes = ()
            for mailbox in mailboxes:
                mailbox.set_waker(0, None)
            with self._cv:
                self._waiters -= 1
                self._last_wait_end = time.monotonic()
            # If we leave callbacks queued or scheduled an earlier timer, whoever leads next
            # (the I/O thread, perhaps already in the kernel) must look again.
            if loop._ready or (scheduled and scheduled[0] is not head):
                self._write_to_self()

    def _follow(self, mailboxes: Sequence[Waitable], deadline: float | None) -> None:
        """Someone else leads: make the I/O thread step aside, then sleep until our mailbox
        has news or the lead is free.  (Every release of the lead while others wait is
        followed by a notification under ``_cv``, so the check below cannot miss one.)"""
        if self.holder == self._io_ident:
            self._write_to_self()  # it is in the kernel, or about to be: it parks next
        with self._cv:
            self._following += 1
            try:
                while self.holder and self._open:
                    for mailbox in mailboxes:
                        if mailbox.pending:
                            return
                    if deadline is None:
                        self._cv.wait()
                    else:
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            return
                        self._cv.wait(remaining)
            finally:
                self._following -= 1

    def _lead_once(self, me: int) -> None:
        """One pass of the loop (its callbacks, then a wait for I/O), with the lead taken."""
        loop: Any = self.loop
        try:
            if not self._open:
                return
            previous = events._get_running_loop()
            events._set_running_loop(loop)
            try:
                loop._run_once()
            finally:
                events._set_running_loop(previous)
        finally:
            self._give()

    def _take(self, me: int) -> bool:
        """Take the lead if it is free."""
        with self._cv:
            if self.holder:
                return False
            self.holder = me
            return True

    def _take_blocking(self, me: int) -> None:
        with self._cv:
            if self.holder:
                self._following += 1
                try:
                    while self.holder:
                        self._cv.wait()
                finally:
                    self._following -= 1
            self.holder = me

    def _give(self) -> None:
        """Give the lead up; a follower may take it."""
        with self._cv:
            self.holder = 0
            if self._following or self.loop._stopping:  # type: ignore[attr-defined]
                self._cv.notify_all()
