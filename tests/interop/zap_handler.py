"""A tiny ZAP handler (RFC 27) for a safezmq context: the interop tests' stand-in for the
safezmq.auth that does not exist yet.

A REP socket bound at inproc://zeromq.zap.01 in the context, answered from a thread.  Request
frames: [version, request_id, domain, address, identity, mechanism, *credentials]; reply:
[b"1.0", request_id, status, text, user_id, b""].
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import safezmq
from safezmq.constants import SocketType

ZAP_ENDPOINT = "inproc://zeromq.zap.01"

#: Decides a request: the user id to allow it with, or None to refuse it (status 400).
Decide = Callable[[bytes, list[bytes]], bytes | None]


class SafeZapHandler:
    """Answers ZAP requests in a safezmq context with ``decide(mechanism, credentials)``;
    records every request it sees (``requests``)."""

    def __init__(self, context: safezmq.Context, decide: Decide) -> None:
        self.context = context
        self.decide = decide
        self.requests: list[list[bytes]] = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="safezmq-zap", daemon=True)

    def start(self) -> SafeZapHandler:
        self._thread.start()
        assert self._ready.wait(5), "the ZAP handler did not start"
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def mechanisms(self) -> list[bytes]:
        return [request[5] for request in self.requests]

    def answer(self, request: list[bytes]) -> list[bytes]:
        version, request_id, _domain, _address, _identity, mechanism, *credentials = request
        assert version == b"1.0", request
        user_id = self.decide(mechanism, credentials)
        if user_id is None:
            return [b"1.0", request_id, b"400", b"refused", b"", b""]
        return [b"1.0", request_id, b"200", b"OK", user_id, b""]

    def _run(self) -> None:
        rep = self.context.socket(SocketType.REP)
        rep.linger = 0
        rep.bind(ZAP_ENDPOINT)
        self._ready.set()
        try:
            while not self._stop.is_set():
                if not rep.poll(50):
                    continue
                request = [bytes(f) for f in rep.recv_multipart()]
                self.requests.append(request)
                rep.send_multipart(self.answer(request))
        finally:
            rep.close()
