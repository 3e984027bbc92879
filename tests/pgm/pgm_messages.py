"""The messages the multicast tests send, and their checks (shared by both sides).

This file is imported by the safezmq scenarios and by ``libzmq_peer.py``, which runs under the
system's Python with Debian's pyzmq: standard library only.  Each message is four frames,
``[topic, index, payload, crc32(index + payload)]``, with a payload whose length varies from
one octet to ``max_size``: messages straddle packet boundaries, so a loss in the middle of one
shows up as a broken or partial message if it is ever delivered.
"""

from __future__ import annotations

import hashlib
import json
import struct
import sys
import zlib
from typing import Any

TOPICS = (b"A", b"B")


def payload(index: int, max_size: int) -> bytes:
    size = 1 + (index * 7919) % max_size
    block = hashlib.sha256(b"%d" % index).digest()
    return (block * (size // len(block) + 1))[:size]


def message(index: int, max_size: int) -> list[bytes]:
    number = struct.pack("!I", index)
    body = payload(index, max_size)
    return [TOPICS[index % 2], number, body, struct.pack("!I", zlib.crc32(number + body))]


def transmit_time(count: int, max_size: int, rate_kbit: int) -> float:
    """Seconds a publisher needs to send ``count`` messages at RATE (with ~5% of headers):
    publishers stay that long, plus a margin, to answer NAKs for their last packets."""
    octets = sum(len(b"".join(message(index, max_size))) + 12 for index in range(count))
    return octets * 1.05 * 8 / (rate_kbit * 1000)


def check(frames: list[bytes], max_size: int) -> int | None:
    """The message's index if it is whole and intact, else None."""
    if len(frames) != 4 or len(frames[1]) != 4 or len(frames[3]) != 4:
        return None
    index = struct.unpack("!I", frames[1])[0]
    if frames != message(index, max_size):
        return None
    return index


class Tally:
    """What a subscriber received: every index once, in order, intact."""

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self.indices: list[int] = []
        self.bad = 0
        self.out_of_order = 0
        self.duplicates = 0
        self._seen: set[int] = set()

    def add(self, frames: list[bytes]) -> None:
        index = check(frames, self.max_size)
        if index is None:
            self.bad += 1
            return
        if index in self._seen:
            self.duplicates += 1
        elif self.indices and index < self.indices[-1]:
            self.out_of_order += 1
        self._seen.add(index)
        self.indices.append(index)

    def summary(self) -> dict[str, Any]:
        found = sorted(self._seen)
        missing: list[list[int]] = []
        if found:
            expected = found[0]
            for index in found:
                if index != expected:
                    missing.append([expected, index - 1])
                expected = index + 1
        return {
            "count": len(self.indices),
            "first": found[0] if found else None,
            "last": found[-1] if found else None,
            "missing": missing,
            "bad": self.bad,
            "out_of_order": self.out_of_order,
            "duplicates": self.duplicates,
            "topics": sorted({TOPICS[i % 2].decode() for i in found}),
        }


def report(result: dict[str, Any]) -> None:
    """The last line of a scenario's output: its result, as JSON."""
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()
