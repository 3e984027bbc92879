"""Drive a protocol Connection over a plain blocking socket: the wire proof against libzmq
before any runtime exists."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

from safezmq.protocol import Connection, ZapRequestNeeded
from safezmq.protocol.zap import ZapReply, ZapRequest, reply_for

ZapHandler = Callable[[ZapRequest], ZapReply]


def allow_all(request: ZapRequest) -> ZapReply:
    return reply_for(request, 200, b"OK", b"tester")


class WirePeer:
    """A Connection joined to a connected TCP socket, pumped by hand."""

    def __init__(
        self, sock: socket.socket, conn: Connection, zap: ZapHandler | None = allow_all
    ) -> None:
        self.sock = sock
        self.conn = conn
        self.zap = zap
        self.events: list[object] = []
        self.closed_by_peer = False
        sock.settimeout(0.05)
        self.flush()

    def flush(self) -> None:
        data = b"".join(bytes(b) for b in self.conn.data_to_send())
        if data:
            self.sock.sendall(data)

    def pump_until(self, done: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met; events so far: {self.events!r}")
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            if not data:
                self.closed_by_peer = True
                return
            try:
                got = self.conn.receive_data(data)
            finally:
                self.flush()
            self.events += got
            for event in got:
                if isinstance(event, ZapRequestNeeded) and self.zap is not None:
                    self.events += self.conn.zap_reply(self.zap(event.request))
                    self.flush()

    def messages(self) -> list[list[bytes]]:
        return [[bytes(f) for f in e] for e in self.events if isinstance(e, list)]

    def close(self) -> None:
        self.sock.close()


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)
