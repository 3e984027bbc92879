"""Two protocol Connections joined by an in-memory link, for tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from safezmq.protocol import Connection, ZapReply, ZapRequestNeeded
from safezmq.protocol.zap import reply_for


def flush(conn: Connection) -> bytes:
    return b"".join(bytes(b) for b in conn.data_to_send())


@dataclass
class Link:
    """Moves bytes between ``a`` and ``b`` until both are quiet, collecting what each reports."""

    a: Connection
    b: Connection
    events_a: list[object] = field(default_factory=list)
    events_b: list[object] = field(default_factory=list)
    zap_status: int | None = 200
    zap_user: bytes = b"user"

    def pump(self, chunk: int | None = None) -> None:
        for _ in range(100):
            moved = False
            for src, dst, events in ((self.a, self.b, self.events_b), (self.b, self.a, self.events_a)):
                data = flush(src)
                if not data:
                    continue
                moved = True
                step = chunk or len(data)
                for i in range(0, len(data), step):
                    got = dst.receive_data(data[i : i + step])
                    events += got
                    self._answer_zap(dst, got, events)
            if not moved:
                return
        raise AssertionError("link never went quiet")

    def _answer_zap(self, conn: Connection, got: list[object], events: list[object]) -> None:
        for event in got:
            if isinstance(event, ZapRequestNeeded) and self.zap_status is not None:
                reply = reply_for(event.request, self.zap_status, b"", self.zap_user)
                events += conn.zap_reply(reply)


def messages(events: list[object]) -> list[list[bytes]]:
    return [[bytes(f) for f in e] for e in events if isinstance(e, list)]


def of_type(events: list[object], cls: type) -> list[object]:
    return [e for e in events if isinstance(e, cls)]


__all__ = ["Link", "ZapReply", "flush", "messages", "of_type"]
