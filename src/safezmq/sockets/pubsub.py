"""PUB, XPUB, SUB and XSUB (RFC 29).

Subscriptions travel as one-frame messages ``\\x01topic`` / ``\\x00topic`` through the pipes (the
session turns them into ZMTP 3.1 SUBSCRIBE/CANCEL commands and back, and leaves them as messages
for ZMTP 3.0 peers).  The publisher filters with a radix trie; each subscriber peer may hold at
most ``MAX_SUBSCRIPTIONS`` subscriptions totalling ``MAX_SUBSCRIPTION_BYTES`` octets — a peer that
goes beyond is disconnected and a LIMIT_EXCEEDED monitor event is emitted (CVE-2021-20236 was
a subscription trie that recursed once per octet of a topic).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection
from typing import Any

from ..constants import Errno, Limit, SocketOption, SocketType
from ..engine.pipe import Message, Pipe, SubscriptionMessage
from ..error import ZMQError
from .pattern import Pattern
from .strategies import Distributor, FairQueue
from .trie import Trie

#: Subscriptions one subscriber may hold, and their total size.  Far above real use (libzmq
#: has no limit); what a peer can make a publisher remember must be bounded.
MAX_SUBSCRIPTIONS = 65_536
MAX_SUBSCRIPTION_BYTES = 8 * 1024 * 1024

#: Limit codes carried by a LIMIT_EXCEEDED monitor event.
LIMIT_SUBSCRIPTIONS = Limit.SUBSCRIPTIONS
LIMIT_SUBSCRIPTION_BYTES = Limit.SUBSCRIPTION_BYTES


_INVERT_MATCHING = SocketOption.INVERT_MATCHING
_XPUB_NODROP = SocketOption.XPUB_NODROP


def _subscription(msg: Message) -> tuple[bool, bytes] | None:
    """(subscribe?, topic) if ``msg`` is a subscription message, else None."""
    if len(msg) != 1:
        return None
    frame = msg[0]
    if not frame:
        return None
    kind = frame[0]
    if kind == 1:
        return True, bytes(frame[1:])
    if kind == 0:
        return False, bytes(frame[1:])
    return None


class _Usage:
    """A subscriber's subscription count and bytes (pipe.state of an XPUB's pipes)."""

    __slots__ = ("bytes", "count", "kicked", "pending", "requested", "stalled")

    def __init__(self) -> None:
        self.count = 0
        self.bytes = 0
        #: What this peer sent that the application has yet to receive (an XPUB's), and
        #: whether reading its pipe stopped because that reached RCVHWM.
        self.pending: deque[Message] = deque()
        self.stalled = False
        #: Disconnected for breaking a limit: nothing more is read from it.
        self.kicked = False
        #: XPUB_MANUAL: the topics the peer asked for (they are not in the trie, which holds
        #: what the application chose), to cancel them for the application when it leaves.
        self.requested: set[bytes] = set()


class XPub(Pattern):
    socket_type = SocketType.XPUB
    #: XPUB hands subscriptions (and upstream messages) to the application.
    delivers = True

    def __init__(self, options: Any) -> None:
        super().__init__(options)
        self.trie: Trie[Pipe] = Trie(counted=False)
        self.dist = Distributor()
        #: The pipes with messages for the application, served in turn (RFC 29: XPUB "SHALL
        #: receive incoming messages from its subscribers using a fair-queuing strategy").
        self.ready: deque[Pipe] = deque()
        self.manual_pipe: Pipe | None = None

    # -- pipes --------------------------------------------------------------------------------

    def attach(self, pipe: Pipe) -> bool:
        pipe.state = _Usage()
        self.dist.attach(pipe)
        welcome = self.options[SocketOption.XPUB_WELCOME_MSG]
        if welcome and pipe.check_write():
            pipe.write([welcome])
        self._read(pipe)
        # Its first subscriptions may already have broken a limit (it was dropped then, and
        # must not be taken in now).
        return not pipe.state.kicked

    def read_activated(self, pipe: Pipe) -> None:
        self._read(pipe)

    def terminated(self, pipe: Pipe) -> None:
        usage: _Usage = pipe.state
        self._read(pipe)
        usage.stalled = False  # what it sent beyond RCVHWM goes with it
        self.dist.detach(pipe)
        if self.manual_pipe is pipe:
            self.manual_pipe = None
        if self.options[SocketOption.XPUB_MANUAL]:
            # RFC 29: the application learns that the subscriber left, also in manual mode
            # (libzmq cancels each subscription the peer had made).
            self.trie.remove_pipe(pipe)
            gone = sorted(usage.requested)
            usage.requested.clear()
        else:
            # XPUB_VERBOSER: a cancel for each of its topics, not only those nobody else wants.
            gone = self.trie.remove_pipe(pipe, every=bool(self.options[SocketOption.XPUB_VERBOSER]))
        if self.delivers:
            for topic in gone:
                self._deliver(pipe, [b"\x00" + topic])

    def _deliver(self, pipe: Pipe, msg: Message) -> None:
        pending = pipe.state.pending
        if not pending:
            self.ready.append(pipe)
        pending.append(msg)

    def _read(self, pipe: Pipe) -> None:
        usage: _Usage = pipe.state
        limit = self.options[SocketOption.RCVHWM] if self.delivers else 0
        while True:
            if usage.kicked:
                # Dropped for breaking a limit (perhaps just now, by the loop below, or we are
                # called again from terminated() inside that kick): ignore the rest.  Reading
                # on would charge, kick and re-enter once per queued message (recursion).
                return
            if limit and len(usage.pending) >= limit:
                # The application is not receiving: leave the rest in the pipe (which then
                # fills, and the peer is slowed down) rather than hold it here without bound.
                usage.stalled = True  # recv() reads on
                return
            msg = pipe.read()
            if msg is None:
                return
            sub = _subscription(msg)
            if sub is None:
                if self.delivers:
                    self._deliver(pipe, msg)  # upstream data from an XSUB
                continue
            subscribe, topic = sub
            if self.options[SocketOption.XPUB_MANUAL]:
                requested = pipe.state.requested
                if subscribe and topic not in requested:
                    if not self._charge(pipe, topic):
                        return
                    requested.add(topic)
                elif not subscribe and topic in requested:
                    requested.discard(topic)
                    self._refund(pipe, topic)
                self._deliver(pipe, msg)
                continue
            if subscribe:
                first = not self.trie.subscribed(topic)
                if not self.trie.has(topic, pipe):
                    if not self._charge(pipe, topic):
                        return
                    self.trie.add(topic, pipe)
                # libzmq: XPUB_VERBOSER passes every subscription as well as every cancel.
                notify = (
                    first
                    or bool(self.options[SocketOption.XPUB_VERBOSE])
                    or bool(self.options[SocketOption.XPUB_VERBOSER])
                )
            else:
                if not self.trie.remove(topic, pipe):
                    notify = bool(self.options[SocketOption.XPUB_VERBOSER])
                else:
                    self._refund(pipe, topic)
                    last = not self.trie.subscribed(topic)
                    notify = last or bool(self.options[SocketOption.XPUB_VERBOSER])
            if notify and self.delivers:
                self._deliver(pipe, [bytes(msg[0])])

    def _caps(self) -> tuple[int, int]:
        """The subscription caps: the context's policy, or the module defaults."""
        policy = getattr(getattr(self.host, "context", None), "policy", None)
        if policy is None:
            return MAX_SUBSCRIPTIONS, MAX_SUBSCRIPTION_BYTES
        return policy.max_subscriptions, policy.max_subscription_bytes

    def _charge(self, pipe: Pipe, topic: bytes) -> bool:
        usage: _Usage = pipe.state
        max_count, max_bytes = self._caps()
        if usage.count + 1 > max_count:
            self._kick(pipe, LIMIT_SUBSCRIPTIONS)
            return False
        if usage.bytes + len(topic) > max_bytes:
            self._kick(pipe, LIMIT_SUBSCRIPTION_BYTES)
            return False
        usage.count += 1
        usage.bytes += len(topic)
        return True

    def _kick(self, pipe: Pipe, limit: int) -> None:
        pipe.state.kicked = True  # before the host calls terminated(): see _read()
        self.host._kick_pipe(pipe, limit)

    def _refund(self, pipe: Pipe, topic: bytes) -> None:
        usage: _Usage = pipe.state
        usage.count -= 1
        usage.bytes -= len(topic)

    # -- manual subscriptions -----------------------------------------------------------------

    def set_option(self, option: SocketOption, value: bytes) -> bool:
        """XPUB_MANUAL: SUBSCRIBE/UNSUBSCRIBE apply to the peer of the last subscription.

        Not charged to the peer: the limits bound what a peer can make us remember (in manual
        mode, its requests, charged in _read()), not what the application decides."""
        if option not in (SocketOption.SUBSCRIBE, SocketOption.UNSUBSCRIBE):
            return False
        if not self.options[SocketOption.XPUB_MANUAL]:
            raise ZMQError(Errno.EINVAL, "SUBSCRIBE on an XPUB socket needs XPUB_MANUAL")
        pipe = self.manual_pipe
        if pipe is not None:
            if option == SocketOption.SUBSCRIBE:
                self.trie.add(value, pipe)
            else:
                self.trie.remove(value, pipe)
        return True

    # -- messages -----------------------------------------------------------------------------

    def send(self, msg: Message) -> bool:
        # The option values read straight from their dict, by keys looked up once: this runs
        # for every message a PUB sends, and Options[...] with an enum attribute cost about
        # 0.2 µs a message.
        values = self.options._values
        trie = self.trie
        # The commonest PUB: every subscriber takes everything.  The answer is then the root's
        # holders whatever the message, read in place (nothing below changes the trie).
        matched: Collection[Pipe] = trie.match(bytes(msg[0])) if trie.longer else trie.takes_all
        if values[_INVERT_MATCHING]:
            targets: Any = [p for p in self.dist.pipes if p not in matched]
        else:
            targets = matched
        if values[_XPUB_NODROP] and not all(p.check_write() for p in targets):
            return False  # EAGAIN / block rather than drop
        self.dist.send_to(msg, targets)
        return True

    def recv(self) -> tuple[Message, Pipe | None] | None:
        ready = self.ready
        if not ready:
            return None
        pipe = ready.popleft()
        usage: _Usage = pipe.state
        msg = usage.pending.popleft()
        if usage.pending:
            ready.append(pipe)  # its next message after the other peers' (fair queuing)
        if usage.stalled:
            usage.stalled = False
            self._read(pipe)
        if self.options[SocketOption.XPUB_MANUAL]:
            self.manual_pipe = pipe
        return msg, pipe

    def has_in(self) -> bool:
        return bool(self.ready)

    def has_out(self) -> bool:
        if not self.options[SocketOption.XPUB_NODROP]:
            return True
        return all(p.check_write() for p in self.dist.pipes)


class Pub(XPub):
    socket_type = SocketType.PUB
    can_recv = False
    delivers = False

    def recv(self) -> tuple[Message, Pipe | None] | None:
        return Pattern.recv(self)  # ENOTSUP (XPub.recv would just never have anything)


class XSub(Pattern):
    socket_type = SocketType.XSUB
    #: SUB filters what it receives by its own subscriptions; XSUB delivers everything.
    filters = False

    def __init__(self, options: Any) -> None:
        super().__init__(options)
        self.fq = FairQueue()
        self.dist = Distributor()
        self.subscriptions: Trie[int] = Trie()
        #: A SUB's next wanted message, found by has_in() (see there).
        self._prefetched: tuple[Message, Pipe | None] | None = None

    def attach(self, pipe: Pipe) -> bool:
        self.fq.attach(pipe)
        self.dist.attach(pipe)
        self._send_subscriptions(pipe)
        return True

    def _send_subscriptions(self, pipe: Pipe) -> None:
        for topic in self.subscriptions.topics():
            # Subscriptions are never dropped for a full pipe: a lost one would silently
            # stop a flow of messages.  They are few and small.
            pipe.outbound.write(SubscriptionMessage([b"\x01" + topic]), len(topic) + 1)

    def identified(self, pipe: Pipe) -> bool:
        """A pipe we connected has a (new) peer.  The first time, the subscriptions queued
        since attach() go to it; after a reconnection the new publisher knows nothing of us,
        so they are all sent again (libzmq "hiccups" the pipe for the same reason)."""
        if pipe.state is None:
            pipe.state = True  # has had a peer
        else:
            self._send_subscriptions(pipe)
        return True

    def terminated(self, pipe: Pipe) -> None:
        self.dist.detach(pipe)
        self.fq.terminated(pipe)

    def read_activated(self, pipe: Pipe) -> None:
        self.fq.read_activated(pipe)

    def send(self, msg: Message) -> bool:
        sub = _subscription(msg)
        if sub is None:
            self.dist.send_to(msg, self.dist.pipes)  # upstream data
            return True
        subscribe, topic = sub
        if subscribe:
            self.subscriptions.add(topic, 0)
        elif not self.subscriptions.remove(topic, 0) and self.subscriptions.subscribed(topic):
            return True  # still subscribed (counted twice): the publisher keeps sending
        frame = (b"\x01" if subscribe else b"\x00") + topic
        for pipe in self.dist.pipes:
            pipe.outbound.write(SubscriptionMessage([frame]), len(frame))
        return True

    def recv(self) -> tuple[Message, Pipe | None] | None:
        got = self._prefetched
        if got is not None:
            self._prefetched = None
            return got
        while True:
            got = self.fq.recv()
            if got is None or not self.filters:
                return got
            # Subscribed to everything (the commonest SUB): no message needs a look.
            subscriptions = self.subscriptions
            matched = bool(subscriptions.takes_all) or subscriptions.matches(bytes(got[0][0]))
            if matched != bool(self.options._values[_INVERT_MATCHING]):
                return got

    def has_in(self) -> bool:
        if not self.filters:
            return self.fq.has_in()
        # A SUB must not report POLLIN for messages its filter will drop (poll() would say
        # "readable" and recv() then block): find a wanted one and keep it, as libzmq does.
        if self._prefetched is None:
            self._prefetched = self.recv()
        return self._prefetched is not None

    def has_out(self) -> bool:
        return True


class Sub(XSub):
    socket_type = SocketType.SUB
    can_send = False
    filters = True

    def set_option(self, option: SocketOption, value: bytes) -> bool:
        if option == SocketOption.SUBSCRIBE:
            XSub.send(self, [b"\x01" + value])
            return True
        if option == SocketOption.UNSUBSCRIBE:
            XSub.send(self, [b"\x00" + value])
            return True
        return False

    def send(self, msg: Message) -> bool:
        raise ZMQError(
            Errno.ENOTSUP,
            "SUB sockets cannot send; use setsockopt(SUBSCRIBE, topic) or an XSUB socket",
        )
