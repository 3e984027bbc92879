"""REQ, REP, DEALER and ROUTER (RFC 28), from the load-balancer and the fair-queue.

Envelopes: a REQ puts an empty delimiter frame (and, with REQ_CORRELATE, a request id before
it) in front of each request; a REP keeps everything up to the delimiter of the request it
serves and puts it back in front of its reply; a ROUTER prefixes each message with the routing
id of the peer it came from and routes by the first frame of what it sends.
"""

from __future__ import annotations

import os
import struct
from typing import Any

from ..constants import Errno, SocketOption, SocketType
from ..engine.pipe import Message, Pipe
from ..error import ZMQError
from .pattern import Pattern
from .strategies import FairQueue, LoadBalancer

_REQUEST_ID = struct.Struct("=I")  # libzmq copies a native uint32


class Dealer(Pattern):
    """Load-balanced sends, fair-queued receives, no envelope handling."""

    socket_type = SocketType.DEALER

    def __init__(self, options: Any) -> None:
        super().__init__(options)
        self.lb = LoadBalancer()
        self.fq = FairQueue()

    def attach(self, pipe: Pipe) -> bool:
        self.lb.attach(pipe)
        self.fq.attach(pipe)
        if self.options[SocketOption.PROBE_ROUTER] and pipe.check_write():
            pipe.write([b""])  # tells a ROUTER peer we exist (PROBE_ROUTER)
        return True

    def terminated(self, pipe: Pipe) -> None:
        self.lb.detach(pipe)
        self.fq.terminated(pipe)

    def read_activated(self, pipe: Pipe) -> None:
        self.fq.read_activated(pipe)

    def write_activated(self, pipe: Pipe) -> None:
        self.lb.write_activated(pipe)

    def send(self, msg: Message) -> bool:
        return self.lb.send(msg) is not None

    def recv(self) -> tuple[Message, Pipe | None] | None:
        return self.fq.recv()

    def has_in(self) -> bool:
        return self.fq.has_in()

    def has_out(self) -> bool:
        return self.lb.has_out()


class Req(Dealer):
    """Strict request/reply alternation (EFSM otherwise), unless REQ_RELAXED."""

    socket_type = SocketType.REQ

    def __init__(self, options: Any) -> None:
        super().__init__(options)
        self.receiving = False  # a request is out; its reply is awaited
        self.reply_pipe: Pipe | None = None
        self.request_id = int.from_bytes(os.urandom(4), "little")
        #: The reply has_in() found (see there); recv() hands it over.
        self._reply: tuple[Message, Pipe | None] | None = None

    def send(self, msg: Message) -> bool:
        if self.receiving and not self.options[SocketOption.REQ_RELAXED]:
            raise ZMQError(
                Errno.EFSM,
                "a REQ socket must receive the reply before sending another request "
                "(or set REQ_RELAXED)",
            )
        if self.options[SocketOption.REQ_CORRELATE]:
            request_id = (self.request_id + 1) & 0xFFFFFFFF
            frames = [_REQUEST_ID.pack(request_id), b"", *msg]
        else:
            request_id = self.request_id
            frames = [b"", *msg]
        pipe = self.lb.send(frames)
        if pipe is None:
            return False
        self.request_id = request_id
        self.reply_pipe = pipe
        self.receiving = True
        self._reply = None  # (REQ_RELAXED) a reply found for the previous request is stale
        return True

    def recv(self) -> tuple[Message, Pipe | None] | None:
        if not self.receiving:
            raise ZMQError(
                Errno.EFSM, "a REQ socket must send a request before it can receive a reply"
            )
        got, self._reply = self._reply or self._next_reply(), None
        if got is not None:
            self.receiving = False
            self.reply_pipe = None
        return got

    def _next_reply(self) -> tuple[Message, Pipe | None] | None:
        """The reply to the current request, dropping anything else before it."""
        correlate = self.options[SocketOption.REQ_CORRELATE]
        while True:
            got = self.fq.recv()
            if got is None:
                return None
            msg, pipe = got
            if pipe is not self.reply_pipe:
                continue  # a late reply to an abandoned request, or not a reply at all
            if correlate:
                if len(msg) < 3 or msg[0] != _REQUEST_ID.pack(self.request_id) or msg[1] != b"":
                    continue
                body = msg[2:]
            else:
                if len(msg) < 2 or msg[0] != b"":
                    continue  # RFC 28: a reply without the delimiter is discarded
                body = msg[1:]
            return body, pipe

    def has_in(self) -> bool:
        # POLLIN must mean that recv() has a reply, not merely that something arrived (a
        # stale reply with REQ_CORRELATE, one from another peer): poll() would say "readable"
        # and recv() then block.  So look for the reply now and keep it.
        if not self.receiving:
            return False
        if self._reply is None:
            self._reply = self._next_reply()
        return self._reply is not None

    def has_out(self) -> bool:
        if self.receiving and not self.options[SocketOption.REQ_RELAXED]:
            return False
        return super().has_out()


class Rep(Pattern):
    """Serves one request at a time: recv a request, then send its reply (EFSM otherwise)."""

    socket_type = SocketType.REP

    def __init__(self, options: Any) -> None:
        super().__init__(options)
        self.fq = FairQueue()
        self.serving: tuple[Message, Pipe] | None = None
        #: The request has_in() found (envelope, body, pipe); recv() hands it over.
        self._request: tuple[Message, Message, Pipe] | None = None

    def attach(self, pipe: Pipe) -> bool:
        self.fq.attach(pipe)
        return True

    def terminated(self, pipe: Pipe) -> None:
        self.fq.terminated(pipe)

    def read_activated(self, pipe: Pipe) -> None:
        self.fq.read_activated(pipe)

    def recv(self) -> tuple[Message, Pipe | None] | None:
        if self.serving is not None:
            raise ZMQError(
                Errno.EFSM, "a REP socket must send the reply before receiving another request"
            )
        got, self._request = self._request or self._next_request(), None
        if got is None:
            return None
        envelope, body, pipe = got
        self.serving = (envelope, pipe)
        return body, pipe

    def _next_request(self) -> tuple[Message, Message, Pipe] | None:
        """The next well-formed request (malformed ones are dropped on the way)."""
        while True:
            got = self.fq.recv()
            if got is None:
                return None
            msg, pipe = got
            try:
                bottom = msg.index(b"")
            except ValueError:
                continue  # RFC 28: a request without an envelope delimiter is discarded
            if bottom == len(msg) - 1:
                continue  # nothing after the delimiter: not a request
            return msg[: bottom + 1], msg[bottom + 1 :], pipe

    def send(self, msg: Message) -> bool:
        if self.serving is None:
            raise ZMQError(
                Errno.EFSM, "a REP socket must receive a request before it can send a reply"
            )
        envelope, pipe = self.serving
        self.serving = None
        if not pipe.terminated and pipe.check_write():
            pipe.write([*envelope, *msg])
        # else: the requester is gone or not reading; RFC 28 says the reply is discarded
        return True

    def has_in(self) -> bool:
        # As REQ's: POLLIN means a well-formed request is there, not a malformed one.
        if self.serving is not None:
            return False
        if self._request is None:
            self._request = self._next_request()
        return self._request is not None

    def has_out(self) -> bool:
        return self.serving is not None


class Router(Pattern):
    """Routes by routing id: the first frame of every message in and out."""

    socket_type = SocketType.ROUTER

    def __init__(self, options: Any) -> None:
        super().__init__(options)
        self.fq = FairQueue()
        self.by_id: dict[bytes, Pipe] = {}
        # libzmq numbers anonymous peers from a random start: 0x00 then a 32-bit counter.
        self._next_id = int.from_bytes(os.urandom(4), "big")

    # -- identities ---------------------------------------------------------------------------

    def _generate_id(self) -> bytes:
        while True:
            self._next_id = (self._next_id + 1) & 0xFFFFFFFF
            rid = b"\x00" + self._next_id.to_bytes(4, "big")
            if rid not in self.by_id:
                return rid

    def _identify(self, pipe: Pipe) -> bool:
        """Give ``pipe`` its routing id; False refuses it (a duplicate without HANDOVER)."""
        old = pipe.state
        if old is not None and self.by_id.get(old) is pipe:
            del self.by_id[old]
        rid = pipe.local_id or pipe.routing_id
        if not rid or rid[0] == 0:
            rid = self._generate_id()  # ids starting with 0x00 are reserved for us (RFC 37)
        elif rid in self.by_id:
            if not self.options[SocketOption.ROUTER_HANDOVER]:
                return False
            previous = self.by_id.pop(rid)
            previous.state = None  # the old connection can no longer be addressed
            # ...so, as libzmq, close it: kept open it would be a zombie whose messages are
            # never delivered (yet made poll() report POLLIN), one per reconnecting impostor.
            self.fq.detach(previous)
            if self.host is not None:
                self.host._terminate_pipe(previous)
        pipe.state = rid
        self.by_id[rid] = pipe
        return True

    def attach(self, pipe: Pipe) -> bool:
        # A pipe we connected with CONNECT_ROUTING_ID is addressable at once, before its
        # handshake, so messages for it queue (libzmq's behaviour); others wait for the peer.
        if (pipe.ready or pipe.local_id) and not self._identify(pipe):
            return False
        self.fq.attach(pipe)
        if self.options[SocketOption.PROBE_ROUTER] and pipe.check_write():
            pipe.write([b""])
        return True

    def identified(self, pipe: Pipe) -> bool:
        return self._identify(pipe)

    def terminated(self, pipe: Pipe) -> None:
        rid = pipe.state
        if rid is not None and self.by_id.get(rid) is pipe:
            del self.by_id[rid]
        self.fq.terminated(pipe)

    def read_activated(self, pipe: Pipe) -> None:
        self.fq.read_activated(pipe)

    # -- messages -----------------------------------------------------------------------------

    def send(self, msg: Message) -> bool:
        rid = bytes(msg[0])
        pipe = self.by_id.get(rid)
        if pipe is None:
            if self.options[SocketOption.ROUTER_MANDATORY]:
                raise ZMQError(
                    Errno.EHOSTUNREACH,
                    "no peer with that routing id is connected (ROUTER_MANDATORY)",
                )
            return True  # RFC 28: unroutable messages are dropped silently
        if not pipe.check_write():
            # ROUTER_MANDATORY blocks (or EAGAIN) instead of dropping.
            return not self.options[SocketOption.ROUTER_MANDATORY]
        if len(msg) > 1:
            pipe.write(msg[1:])
        return True

    def recv(self) -> tuple[Message, Pipe | None] | None:
        while True:
            got = self.fq.recv()
            if got is None:
                return None
            msg, pipe = got
            rid = pipe.state
            if rid is None:
                continue  # from a peer whose id was handed over to a newer connection
            return [rid, *msg], pipe

    def has_in(self) -> bool:
        return self.fq.has_in()

    def has_out(self) -> bool:
        return True  # a ROUTER never blocks on send without ROUTER_MANDATORY
