"""The key keeper: one thread per running authenticator that keeps its decisions current.

It follows what an authenticator's answers depend on — watched certificate directories,
revocation lists, certificate expiry, credentials providers (whose answer may change at any
time) — and after every change asks again, for each live session ZAP admitted in the context,
whether its key (or PLAIN user) is still allowed.  Those that are not are closed on their I/O
loop (``engine/zap.py``'s register), within a second of the change:

- a watched directory or a revocation list is looked at again when inotify says it changed
  (Linux), or every ``POLL_INTERVAL`` where inotify is missing;
- a credentials provider is asked again every ``POLL_INTERVAL`` for every live key;
- an expiry wakes the keeper when it is reached.

After a change the check runs twice, ``SETTLE`` apart, so that a session whose handshake was
being answered during the first pass is not missed.
"""

from __future__ import annotations

import asyncio
import os
import select
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .inotify import Inotify

if TYPE_CHECKING:
    from .base import Authenticator

#: How often a directory is looked at without inotify, and a credentials provider re-asked.
POLL_INTERVAL = 0.4
#: How long to wait after an inotify event before looking (a file written in steps settles).
COALESCE = 0.05
#: The second look after a change (see the module docstring).
SETTLE = 0.3
#: Longest sleep when nothing is due (a safety net; changes wake the keeper anyway).  It also
#: bounds how long the keeper outlives an authenticator whose context was destroyed.
MAX_SLEEP = 5.0


def fingerprint(path: str, suffix: str | None) -> tuple[Any, ...]:
    """What changes when ``path`` (a directory, or with ``suffix=None`` a file) or the files of
    it ending in ``suffix`` change: names, inodes, sizes, times, modes."""
    try:
        info = os.stat(path)
    except OSError as exc:
        return ("missing", exc.errno)
    own = (info.st_ino, info.st_mode, info.st_mtime_ns, info.st_ctime_ns, info.st_size)
    if suffix is None:
        return own
    entries = []
    try:
        with os.scandir(path) as it:
            for entry in it:
                if not entry.name.endswith(suffix):
                    continue
                try:
                    st = entry.stat()
                except OSError:
                    continue
                entries.append(
                    (entry.name, st.st_ino, st.st_mode, st.st_mtime_ns, st.st_ctime_ns, st.st_size)
                )
    except OSError as exc:
        return (*own, "unreadable", exc.errno)
    return (*own, tuple(sorted(entries)))


@dataclass
class Followed:
    """A directory or file the keeper follows, and what it looked like last time."""

    path: str
    suffix: str | None  # None: a file (its directory is what inotify watches)
    seen: tuple[Any, ...] = field(default_factory=tuple)

    @property
    def directory(self) -> str:
        return self.path if self.suffix is not None else os.path.dirname(self.path) or "."

    def changed(self) -> bool:
        now = fingerprint(self.path, self.suffix)
        if now == self.seen:
            return False
        self.seen = now
        return True


class Keeper(threading.Thread):
    """See the module docstring.  ``wake()`` from any thread asks for a check now."""

    def __init__(self, authenticator: Authenticator) -> None:
        super().__init__(daemon=True, name="safezmq-auth-keeper")
        self.authenticator = authenticator
        self._inotify = Inotify.create()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._stopping = False
        self._dirty = True
        self._settle_at: float | None = None
        self._lock = threading.Lock()
        self._followed: dict[str, Followed] = {}
        #: Directories inotify could not watch (missing, say): those are polled.
        self._unwatched: set[str] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def uses_inotify(self) -> bool:
        return self._inotify is not None

    # -- from any thread ----------------------------------------------------------------------

    def follow(self, key: str, path: str, suffix: str | None) -> None:
        """Follow a directory (``suffix``: which files count) or a file, under ``key``; its
        current state is the baseline (the caller just read it)."""
        item = Followed(os.path.abspath(path), suffix)
        item.changed()
        with self._lock:
            self._followed[key] = item
        self._watch(item.directory)
        self.wake()

    def _watch(self, directory: str) -> None:
        if self._inotify is None:
            return
        if self._inotify.watch(directory):
            self._unwatched.discard(directory)
        else:
            self._unwatched.add(directory)

    def unfollow(self, key: str) -> None:
        with self._lock:
            item = self._followed.pop(key, None)
            still = {f.directory for f in self._followed.values()}
        if item is not None and self._inotify is not None and item.directory not in still:
            self._inotify.unwatch(item.directory)
            self._unwatched.discard(item.directory)

    def wake(self, dirty: bool = True) -> None:
        if dirty:
            self._dirty = True
        with self._lock:  # never write to a descriptor number _close() gave back
            if self._wake_w < 0:
                return
            try:
                os.write(self._wake_w, b"!")
            except (BlockingIOError, OSError):
                pass  # already awake (pipe full)

    def stop(self) -> None:
        self._stopping = True
        self.wake(dirty=False)
        if self.is_alive() and threading.current_thread() is not self:
            self.join(5)
        if not self.is_alive():
            self._close()

    def _close(self) -> None:
        with self._lock:
            fds = [fd for fd in (self._wake_r, self._wake_w) if fd >= 0]
            self._wake_r = self._wake_w = -1
            for fd in fds:
                os.close(fd)
            if self._inotify is not None:
                self._inotify.close()

    # -- the thread ---------------------------------------------------------------------------

    def run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            while True:
                self._sleep(self._timeout())
                if self.stopping or self.authenticator._gone():
                    break
                try:
                    self._tick()
                except Exception as exc:  # never let the keeper die: revocation depends on it
                    self.authenticator.log.error(
                        "key keeper: check failed (%s); retrying", type(exc).__name__
                    )
                    self._dirty = True
                    time.sleep(POLL_INTERVAL)
        finally:
            self._loop.close()
            self._close()

    def _timeout(self) -> float:
        auth = self.authenticator
        now = time.time()
        timeout = MAX_SLEEP
        with self._lock:
            following = bool(self._followed)
        polled = self._inotify is None or bool(self._unwatched)
        if (following and polled) or auth.credentials_providers:
            timeout = POLL_INTERVAL
        if self._settle_at is not None:
            timeout = min(timeout, max(0.0, self._settle_at - time.monotonic()))
        expiry = auth._next_expiry(now)
        if expiry is not None:
            timeout = min(timeout, max(0.0, expiry - now) + 0.01)
        return 0.0 if self._dirty else timeout

    def _sleep(self, timeout: float) -> None:
        fds = [self._wake_r]
        if self._inotify is not None:
            fds.append(self._inotify.fd)
        ready, _, _ = select.select(fds, [], [], timeout)
        if self._inotify is not None and self._inotify.fd in ready:
            time.sleep(COALESCE)
            self._inotify.drain()
        if self._wake_r in ready:
            try:
                while os.read(self._wake_r, 4096):
                    pass
            except (BlockingIOError, OSError):
                pass

    def _tick(self) -> None:
        auth = self.authenticator
        with self._lock:
            followed = list(self._followed.items())
        for key, item in followed:
            if item.changed():
                self._watch(item.directory)  # it may have been replaced (or be gone)
                auth._reload(key)
                self._dirty = True
        now = time.time()
        if auth._expiry_passed(now):
            self._dirty = True
        dirty, self._dirty = self._dirty, False
        if dirty:
            self._settle_at = time.monotonic() + SETTLE
        elif self._settle_at is not None and time.monotonic() >= self._settle_at:
            self._settle_at = None
            dirty = True
        if dirty or auth.credentials_providers:
            auth._revalidate(self._run)

    def _run(self, awaitable: Any) -> Any:
        """Wait for what an async credentials provider returned (on the keeper's own loop)."""
        assert self._loop is not None
        return self._loop.run_until_complete(awaitable)


__all__ = ["Keeper"]
