"""Spare receive chunks for large frame bodies, kept for the next body.

A large body arrives into chunks that double in size and are joined when it is complete (see
``frames.LargeBody``).  Each chunk used to be a new zero-filled ``bytearray``: for a stream of
1 MiB messages that was a megabyte a message of fresh memory, which glibc often had to map
and the kernel to fault in page by page, only to be overwritten by ``recv_into`` and then freed
after the join.  Chunks of 64 KiB and more are now views of power-of-two buffers that go back to
a ``ChunkPool`` after the join, for the next body's chunks.  (``LargeBody`` sizes its chunks in
powers of two, no larger than what has arrived, so that they match from one body to the next.)

Nothing stale can leak: a body is joined only when complete, and every octet of every chunk of
it has then been written by received data.  A body abandoned half way (its connection lost)
drops its chunks instead of returning them.

The runtime keeps one pool per event loop (the connections it serves run in that loop's thread
only, so the pool needs no lock) and empties it when a connection ends.  A pool is bounded: at
most ``POOL_OCTETS``, in buffers of at most ``POOLED_UP_TO``.  Without a pool a decoder makes
new chunks, as before.
"""

from __future__ import annotations

#: Chunks smaller than this are cheap to allocate (glibc serves them from its heap): not pooled.
POOLED_FROM = 64 * 1024
#: Larger chunks are not kept: they belong to bodies of several MiB, rare and dominated by
#: their copies, and keeping them would hold megabytes after one such body.
POOLED_UP_TO = 1024 * 1024
#: Octets of spare chunks kept per pool at most: enough for the chunks of a 2 MiB body.
POOL_OCTETS = 2 * 1024 * 1024


class ChunkPool:
    """Spare power-of-two buffers, by size.  Used from one thread (its event loop's)."""

    __slots__ = ("free", "octets")

    def __init__(self) -> None:
        self.free: dict[int, list[bytearray]] = {}
        self.octets = 0

    def take(self, size: int) -> bytearray | memoryview:
        """A writable chunk of exactly ``size`` octets; its contents are undefined until
        written.  A pooled size gets a view of a buffer whose size is the power of two at least
        ``size``: a spare one, or a new one.  ``LargeBody`` asks for at most a power of two no
        larger than the octets received so far, so the rounding never takes it past that."""
        if size < POOLED_FROM:
            return bytearray(size)
        capacity = 1 << (size - 1).bit_length()
        free = self.free.get(capacity)
        if free:
            buffer = free.pop()
            self.octets -= capacity
        else:
            buffer = bytearray(capacity)
        return memoryview(buffer)[:size]

    def give_back(self, chunk: bytes | bytearray | memoryview) -> None:
        """Return a chunk that ``take`` handed out (others are ignored), if there is room.  The
        caller must not use ``chunk`` after this."""
        if type(chunk) is not memoryview:
            return
        buffer = chunk.obj
        chunk.release()
        if type(buffer) is not bytearray:
            return
        capacity = len(buffer)
        if (
            capacity > POOLED_UP_TO
            or capacity & (capacity - 1)  # not a power of two: not one of ours
            or self.octets + capacity > POOL_OCTETS
        ):
            return
        self.free.setdefault(capacity, []).append(buffer)
        self.octets += capacity

    def release(self) -> None:
        """Drop every spare chunk (the runtime does when a connection ends)."""
        if self.octets:
            self.free.clear()
            self.octets = 0


def footprint(chunk: bytearray | memoryview) -> int:
    """The octets of memory behind a chunk (a pooled chunk's whole buffer)."""
    if type(chunk) is memoryview:
        buffer = chunk.obj
        return len(buffer) if isinstance(buffer, bytearray) else chunk.nbytes
    return len(chunk)
