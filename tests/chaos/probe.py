"""What the chaos tests measure about this process: descriptors, threads, RSS, live objects.

Every leak check compares a ``Snapshot`` taken before the churn with one taken after it, so
the numbers are measured, never assumed.  The figures each test measured are kept in
``FIGURES`` and printed by conftest.py at the end of the session.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from safezmq.engine.pipe import Pipe, Queue
from safezmq.engine.raw_session import RawSession
from safezmq.engine.session import Session
from safezmq.protocol.connection import Connection

#: The internal objects whose count must return to its baseline: one of each per connection.
LIVE_TYPES: tuple[type, ...] = (Session, RawSession, Connection, Pipe, Queue)

#: (test, figure, value) rows printed at the end of the session.
FIGURES: list[tuple[str, str, str]] = []


def record(test: str, figure: str, value: object) -> None:
    FIGURES.append((test, figure, str(value)))


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_bytes() -> int:
    """VmRSS from /proc/self/status."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def live_objects() -> dict[str, int]:
    """How many instances of each of LIVE_TYPES are alive (after a full collection)."""
    gc.collect()
    counts = {t.__name__: 0 for t in LIVE_TYPES}
    for obj in gc.get_objects():
        kind = type(obj)
        if kind in LIVE_TYPES:
            counts[kind.__name__] += 1
    return counts


@dataclass(frozen=True)
class Snapshot:
    fds: int
    threads: int
    rss: int
    live: dict[str, int]
    #: sys.getallocatedblocks(): one object left behind per cycle shows here as the cycle count.
    blocks: int

    @classmethod
    def take(cls) -> Snapshot:
        live = live_objects()
        return cls(
            fd_count(), threading.active_count(), rss_bytes(), live, sys.getallocatedblocks()
        )

    def leaks(self, after: Snapshot, rss_slack: int, blocks_slack: int = 500) -> list[str]:
        """What ``after`` has more of than this baseline (empty when nothing leaked)."""
        found = []
        if after.fds > self.fds:
            found.append(f"file descriptors {self.fds} -> {after.fds}")
        if after.threads > self.threads:
            names = sorted(t.name for t in threading.enumerate())
            found.append(f"threads {self.threads} -> {after.threads} ({names})")
        if after.rss > self.rss + rss_slack:
            found.append(f"RSS {self.rss} -> {after.rss} (slack {rss_slack})")
        if after.blocks > self.blocks + blocks_slack:
            found.append(f"allocated blocks {self.blocks} -> {after.blocks}")
        for name, count in after.live.items():
            if count > self.live.get(name, 0):
                found.append(f"live {name} {self.live.get(name, 0)} -> {count}")
        return found


def settle(check: Callable[[], list[str]], timeout: float = 10.0) -> list[str]:
    """Re-run ``check`` until it finds nothing or ``timeout`` passes (teardown is asynchronous:
    the I/O thread closes sessions after the application's call returned)."""
    deadline = time.monotonic() + timeout
    found = check()
    while found and time.monotonic() < deadline:
        time.sleep(0.05)
        found = check()
    return found


class FigureSink:
    """``figures.add(name, value)`` for one test."""

    def __init__(self, test: str) -> None:
        self.test = test

    def add(self, figure: str, value: object) -> None:
        record(self.test, figure, value)
