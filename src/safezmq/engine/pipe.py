"""Pipes: bounded queues of whole messages between a socket and a session (or another socket).

A ``Queue`` carries one direction.  It has exactly one writer thread and one reader thread and
needs no lock: each counter is written by one side only, and the two "asleep" flags follow a
Dekker-style handshake (set the flag, then look again) so that a wake-up is sent only on the
transitions that matter — the reader is woken when the queue goes from empty to non-empty while
it sleeps, the writer when a full queue drains to its low-water mark.  A burst of N messages
costs one wake-up, not N.

Limits: ``hwm`` messages (0 = no limit, as libzmq) and ``max_bytes`` octets (0 = no limit).
Messages are whole (lists of frames): a message is in the queue entirely or not at all.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from itertools import chain, islice
from typing import Any

Message = list[Any]


def _nothing() -> None:
    return None


class _Delimiter:
    """Written after the last message: the writer is gone."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<pipe delimiter>"


DELIMITER = _Delimiter()


def message_size(msg: Message) -> int:
    return sum(map(len, msg))


class SubscriptionMessage(list[bytes]):
    """A subscription travelling through a pipe (``\\x01topic`` / ``\\x00topic``): sent as a
    SUBSCRIBE/CANCEL command to a ZMTP 3.1 peer and as this message to a 3.0 peer."""

    __slots__ = ()


class TrackedMessage(list[Any]):
    """A message sent with ``copy=False, track=True``: its tracker is told when safezmq no
    longer holds the frames' buffers (written to the kernel, read by an inproc peer, or
    dropped)."""

    __slots__ = ("tracker",)

    def __init__(self, frames: list[Any], tracker: Any) -> None:
        super().__init__(frames)
        self.tracker = tracker


def release(msg: Any) -> None:
    """Tell a tracked message's tracker that its buffers are free."""
    if type(msg) is TrackedMessage:
        msg.tracker._set_done()


class Queue:
    """One direction of a pipe.  See the module docstring.

    The deque is the only shared structure: its length is the message count (exact from either
    side), ``_bytes_in`` is written only by the writer and ``_bytes_out`` only by the reader.
    """

    __slots__ = (
        "_bytes_in",
        "_bytes_out",
        "_items",
        "hwm",
        "lwm",
        "max_bytes",
        "reader_asleep",
        "terminated",
        "wake_reader",
        "wake_writer",
        "writer_asleep",
    )

    def __init__(self, hwm: int, max_bytes: int = 0) -> None:
        self._items: deque[Any] = deque()
        self.hwm = hwm
        self.lwm = (hwm + 1) // 2
        self.max_bytes = max_bytes
        self._bytes_in = 0  # writer thread only
        self._bytes_out = 0  # reader thread only
        self.reader_asleep = True  # the reader found the queue empty and waits for a wake-up
        self.writer_asleep = False  # the writer found the queue full and waits for a wake-up
        self.wake_reader: Callable[[], None] = _nothing
        self.wake_writer: Callable[[], None] = _nothing
        self.terminated = False  # the reader has seen the delimiter

    # -- writer side --------------------------------------------------------------------------

    def _full(self) -> bool:
        if self.hwm and len(self._items) >= self.hwm:
            return True
        return bool(self.max_bytes) and self._bytes_in - self._bytes_out >= self.max_bytes

    def check_write(self) -> bool:
        """Whether a message may be written now.  If not, the writer is woken when it may."""
        if not self._full():
            return True
        self.writer_asleep = True
        if self._full():
            return False
        self.writer_asleep = False
        return True

    def write(self, msg: Message, nbytes: int) -> None:
        """Append a message (the writer has checked ``check_write`` or accepts overflow)."""
        self._items.append(msg)
        self._bytes_in += nbytes
        if self.reader_asleep:
            self.reader_asleep = False
            self.wake_reader()

    def offer(self, msg: Message, nbytes: int) -> bool:
        """``check_write`` and ``write`` in one call (the hot path of every send)."""
        items = self._items
        hwm = self.hwm
        full = (hwm and len(items) >= hwm) or (
            self.max_bytes and self._bytes_in - self._bytes_out >= self.max_bytes
        )
        if full and not self.check_write():
            return False
        items.append(msg)
        self._bytes_in += nbytes
        if self.reader_asleep:
            self.reader_asleep = False
            self.wake_reader()
        return True

    def write_batch(self, msgs: list[Any], nbytes: int) -> None:
        """Append many messages at once (a session delivering what one read decoded)."""
        self._items.extend(msgs)
        self._bytes_in += nbytes
        if self.reader_asleep:
            self.reader_asleep = False
            self.wake_reader()

    def close_write(self) -> None:
        """The writer is done: the reader gets the queued messages, then learns it."""
        self._items.append(DELIMITER)
        if self.reader_asleep:
            self.reader_asleep = False
            self.wake_reader()

    # -- reader side --------------------------------------------------------------------------

    def read(self) -> Any:
        """The next message, or None when empty (the writer will wake us) or terminated."""
        items = self._items
        if not items:
            self.reader_asleep = True
            if not items:
                return None
            self.reader_asleep = False
        msg = items.popleft()
        if msg is DELIMITER:
            self._delimited(msg)
            return None
        if self.max_bytes:
            self._bytes_out += len(msg[0]) if len(msg) == 1 else message_size(msg)
        if self.writer_asleep:
            self._maybe_wake_writer()
        return msg

    def read_batch(self, limit: int, max_octets: int = 0) -> list[Any]:
        """Up to ``limit`` messages (fewer when the queue runs dry or ends).  With
        ``max_octets``, also no more messages than it takes to reach that many octets of frames
        (at least one): for a reader that makes a new buffer of each message (CURVE seals a
        copy), so that a backlog of large messages is not materialised all at once."""
        items = self._items
        count = min(len(items), limit)
        if not count:
            msg = self.read()  # arms the wake-up, or notices the end, or wins a race
            return [] if msg is None else [msg]
        if max_octets:
            count = self._count_within(count, max_octets)
        popleft = items.popleft
        batch = [popleft() for _ in range(count)]
        if batch[-1] is DELIMITER:  # the writer is done: keep the marker for later reads
            self._delimited(batch.pop())
        if self.max_bytes:  # every frame's length, summed without a Python-level loop
            self._bytes_out += sum(map(len, chain.from_iterable(batch)))
        if self.writer_asleep:
            self._maybe_wake_writer()
        return batch

    def _count_within(self, count: int, max_octets: int) -> int:
        """How many of the first ``count`` queued messages fit in ``max_octets`` (at least 1)."""
        window = list(islice(self._items, count))
        if window[-1] is DELIMITER:  # the end marker goes with the batch, as in a full read
            window.pop()
        # Summed at C level first: with small messages the whole window fits, and no
        # Python-level loop runs.
        if sum(map(len, chain.from_iterable(window))) < max_octets:
            return count
        octets = 0
        taken = 0
        for msg in window:
            octets += len(msg[0]) if len(msg) == 1 else message_size(msg)
            taken += 1
            if octets >= max_octets:
                break
        return taken

    def arm(self) -> bool:
        """After a batch: ask to be woken by the next write.  True when something (a message
        or the end) is already there, so the reader should read again instead of waiting."""
        items = self._items
        if items:
            return True
        self.reader_asleep = True
        if items:  # a write raced with us: it may not have seen the flag
            self.reader_asleep = False
            return True
        return False

    def _delimited(self, delimiter: Any) -> None:
        self.terminated = True
        self.reader_asleep = False  # nothing more will come; never wake
        self._items.appendleft(delimiter)

    def _maybe_wake_writer(self) -> None:
        if len(self._items) <= self.lwm or (
            self.max_bytes and self._bytes_in - self._bytes_out <= self.max_bytes // 2
        ):
            self.writer_asleep = False
            self.wake_writer()

    def probe(self) -> bool:
        """Whether a message is ready (without taking it).  When none is, the reader asks to
        be woken by the next write, exactly as ``read()`` does."""
        items = self._items
        if not items:
            self.reader_asleep = True
            if not items:
                return False
            self.reader_asleep = False
        return items[0] is not DELIMITER

    def discard(self) -> int:
        """Drop every queued message (the reader will not read them).  Returns how many."""
        dropped = 0
        items = self._items
        while items and items[0] is not DELIMITER:
            msg = items.popleft()
            release(msg)
            self._bytes_out += message_size(msg)
            dropped += 1
        if self.writer_asleep:
            self._maybe_wake_writer()
        return dropped

    @property
    def depth(self) -> int:
        """Messages queued."""
        items = self._items
        return len(items) - (1 if items and items[-1] is DELIMITER else 0)

    def __repr__(self) -> str:
        return f"<Queue depth={self.depth} hwm={self.hwm}>"


class Pipe:
    """A socket's end of a bidirectional pipe: it reads ``inbound`` and writes ``outbound``.

    Patterns see only this.  ``routing_id`` and ``metadata`` describe the peer.
    """

    __slots__ = (
        "active",
        "endpoint",
        "inbound",
        "local_id",
        "metadata",
        "outbound",
        "owner",
        "peer_socket_type",
        "ready",
        "routing_id",
        "state",
    )

    def __init__(self, inbound: Queue, outbound: Queue, endpoint: str = "") -> None:
        self.inbound = inbound
        self.outbound = outbound
        self.endpoint = endpoint
        #: The peer's Identity (from its handshake), and the id we chose for it with
        #: CONNECT_ROUTING_ID (which a ROUTER prefers).
        self.routing_id = b""
        self.local_id = b""
        #: True once the peer is known (handshake done, or inproc bound).
        self.ready = False
        self.metadata: Mapping[str, bytes] = {}
        self.peer_socket_type: bytes | None = None
        #: Pattern bookkeeping (e.g. whether the fair-queue considers it readable).
        self.active = True
        #: Pattern-private state (REQ/ROUTER use it).
        self.state: Any = None
        #: Who holds the other end (a session or a socket), for termination.
        self.owner: Any = None

    def read(self) -> Any:
        return self.inbound.read()

    def check_write(self) -> bool:
        return self.outbound.check_write()

    def write(self, msg: Message) -> None:
        self.outbound.write(msg, message_size(msg))

    def offer(self, msg: Message) -> bool:
        """Write ``msg`` if there is room; False (and a wake-up later) if not."""
        return self.outbound.offer(msg, len(msg[0]) if len(msg) == 1 else message_size(msg))

    @property
    def terminated(self) -> bool:
        return self.inbound.terminated

    def __repr__(self) -> str:
        return f"<Pipe {self.endpoint or 'inproc'} routing_id={self.routing_id!r}>"


def pipe_pair(hwm_a_to_b: int, hwm_b_to_a: int, max_bytes: int = 0) -> tuple[Queue, Queue]:
    """Two queues for a bidirectional pipe: (a->b, b->a)."""
    return Queue(hwm_a_to_b, max_bytes), Queue(hwm_b_to_a, max_bytes)
