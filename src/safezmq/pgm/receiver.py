"""The receiving side of PGM (RFC 3208 sections 5 and 6): receive windows and NAKs, sans I/O.

A ``Receiver`` takes parsed downstream packets (SPM, ODATA, RDATA, NCF) with the time, and gives
back whole ZeroMQ messages in order, per source, plus ``Loss`` events; ``poll(now)`` runs the
timers and leaves the NAKs and SPM requests to send in ``outgoing`` as (packet, address).

Per source (TSI = GSI + source port) the receive window runs from ``trail`` (the next sequence
number to deliver) to ``lead`` (the highest known).  A packet that arrives after a gap is held,
and each missing sequence number gets a NAK state machine (RFC 3208 5.3), with libzmq's timers:

    BACK_OFF --(random 0..NAK_BO_IVL)--> NAK sent, WAIT_NCF --(NCF)--> WAIT_DATA --(RDATA)--> done
       ^                                          |                       |
       +---- NAK_RPT_IVL / NAK_RDATA_IVL expired: back off and retry, or lost after the retries

A packet is also lost when the source's advertised trailing edge (in SPM, ODATA and RDATA) moves
past it: the source can no longer repair it.  A loss resets that source's decoder, so the message
it cut is dropped and delivery resumes at the next message boundary.  The first ODATA or SPM from
a source defines its window there (a late joiner asks for nothing older), and its decoder starts
at the first message boundary.

Bounds: ``MAX_SOURCES`` sources, a window of at most ``window_sqns`` packets each (work per packet
is O(window) whatever sequence number it claims), ``MAX_HELD_BYTES`` of held packets in all.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from . import limits
from . import seq as sq
from .framing import ApduDecoder
from .packet import NCF, Data, Nak, Spm, encode_nak, encode_spmr

BACK_OFF, WAIT_NCF, WAIT_DATA, LOST = 0, 1, 2, 3

Message = list[bytes]
Outgoing = tuple[bytes, str]


@dataclass(frozen=True, slots=True)
class Loss:
    """``count`` packets from source (``gsi``, ``sport``) were lost beyond repair."""

    gsi: bytes
    sport: int
    count: int


def _unicast(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return not (ip.is_multicast or ip.is_unspecified or address == "255.255.255.255")


class _Gap:
    """The NAK state of one missing sequence number."""

    __slots__ = ("data_retries", "deadline", "ncf_retries", "state")

    def __init__(self, deadline: float) -> None:
        self.state = BACK_OFF
        self.deadline = deadline
        self.ncf_retries = 0
        self.data_retries = 0


class _Source:
    __slots__ = (
        "decoder",
        "defined",
        "delivered",
        "gaps",
        "gsi",
        "held",
        "last_heard",
        "lead",
        "lost",
        "nla",
        "source_address",
        "spm_sqn",
        "spmr_due",
        "sport",
        "trail",
    )

    def __init__(
        self, gsi: bytes, sport: int, source_address: str, now: float, decoder: ApduDecoder
    ) -> None:
        self.gsi = gsi
        self.sport = sport
        #: Where its packets come from, and its NLA as its SPMs give it (NAKs go there).
        self.source_address = source_address
        self.nla: str | None = None
        self.spm_sqn: int | None = None
        self.spmr_due: float | None = now + limits.SPMR_EXPIRY
        self.last_heard = now
        self.defined = False
        self.trail = 0
        self.lead = sq.MASK
        self.held: dict[int, bytes] = {}
        self.gaps: dict[int, _Gap] = {}
        self.decoder = decoder
        self.delivered = 0
        self.lost = 0


class Receiver:
    """See the module docstring."""

    def __init__(
        self,
        *,
        dport: int,
        group: str,
        window_sqns: int,
        max_tpdu: int = 1500,
        max_message_size: int = -1,
        max_sources: int = limits.MAX_SOURCES,
        max_held_bytes: int = limits.MAX_HELD_BYTES,
        random: Callable[[], float] | None = None,
    ) -> None:
        self.dport = dport
        self.group = group
        self.window_sqns = max(1, min(window_sqns, limits.MAX_WINDOW_SQNS))
        self.max_tpdu = max_tpdu
        self.max_message_size = max_message_size
        self.max_sources = max_sources
        self.max_held_bytes = max_held_bytes
        self._random = random or secrets.SystemRandom().random
        self.sources: dict[tuple[bytes, int], _Source] = {}
        self.held_bytes = 0
        #: The earliest timer (None: none).  New timers lower it at once; poll() recomputes it
        #: (timers only move later in between, so it may be early, which costs a wasted poll).
        self._next: float | None = None
        #: Packets to send, (PGM packet, unicast address), taken by the I/O side.
        self.outgoing: list[Outgoing] = []
        # Counters.
        self.wrong_port = 0
        self.duplicates = 0
        self.refused_sources = 0
        self.dropped_held = 0
        self.fragments = 0
        self.naks_sent = 0
        self.spmrs_sent = 0
        self.losses = 0

    # -- input ----------------------------------------------------------------------------------

    def receive(self, packet: Spm | Data | Nak, source_address: str, now: float) -> list[object]:
        """Handle one downstream packet; returns messages (lists of frames) and ``Loss``es."""
        if packet.dport != self.dport:
            self.wrong_port += 1
            return []
        key = (packet.gsi, packet.sport)
        peer = self.sources.get(key)
        out: list[object] = []
        if isinstance(packet, Nak):
            if packet.kind == NCF and peer is not None and packet.group_nla == self.group:
                self._on_ncf(peer, packet, now)
            return out
        if peer is None:
            if isinstance(packet, Data) and packet.repair:
                return out  # a repair for someone else: no reason to start tracking a source
            peer = self._new_source(packet.gsi, packet.sport, source_address, now)
            if peer is None:
                return out
        peer.last_heard = now
        if isinstance(packet, Spm):
            self._on_spm(peer, packet, now, out)
        else:
            self._on_data(peer, packet, now, out)
        return out

    def _new_source(
        self, gsi: bytes, sport: int, source_address: str, now: float
    ) -> _Source | None:
        if len(self.sources) >= self.max_sources:
            # Make room only at the expense of a source that never delivered anything.
            idle = [s for s in self.sources.values() if not s.delivered]
            if not idle:
                self.refused_sources += 1
                return None
            self._forget(min(idle, key=lambda s: s.last_heard))
        peer = _Source(gsi, sport, source_address, now, ApduDecoder(self.max_message_size))
        self.sources[(gsi, sport)] = peer
        assert peer.spmr_due is not None
        self._lower(peer.spmr_due)
        return peer

    def _lower(self, deadline: float) -> None:
        if self._next is None or deadline < self._next:
            self._next = deadline

    def _forget(self, peer: _Source) -> None:
        self.held_bytes -= sum(map(len, peer.held.values()))
        peer.held.clear()
        peer.gaps.clear()
        self.sources.pop((peer.gsi, peer.sport), None)

    def _define(self, peer: _Source, lead: int) -> None:
        peer.defined = True
        peer.lead = lead & sq.MASK
        peer.trail = sq.add(lead, 1)

    def _on_spm(self, peer: _Source, spm: Spm, now: float, out: list[object]) -> None:
        if peer.spm_sqn is not None and sq.lt(spm.sqn, peer.spm_sqn):
            self.duplicates += 1
            return  # an old SPM (reordered or replayed)
        peer.spm_sqn = spm.sqn
        if _unicast(spm.nla):
            # (An SPM naming a group or a broadcast address would turn NAKs into multicast.)
            peer.nla = spm.nla
            peer.spmr_due = None
        if not peer.defined:
            self._define(peer, spm.lead)
            return
        self._update_trail(peer, spm.trail, out)
        if sq.gt(spm.lead, peer.lead):
            self._extend(peer, spm.lead, now, out)
        self._advance(peer, out)

    def _on_data(self, peer: _Source, data: Data, now: float, out: list[object]) -> None:
        if not peer.defined:
            self._define(peer, sq.add(data.sqn, -1))
        else:
            self._update_trail(peer, data.trail, out)
        s = data.sqn
        if sq.lt(s, peer.trail):
            self.duplicates += 1
            return
        if sq.lte(s, peer.lead):
            if s not in peer.gaps:  # (a gap declared lost but not yet passed is still welcome)
                self.duplicates += 1
                return
        else:
            self._extend(peer, s, now, out)  # the gap made for s itself is filled just below
        payload = data.payload
        if data.fragment is not None:
            # Part of a multi-packet APDU: libzmq never sends these (each of its TSDUs fits one
            # packet), so safezmq does not reassemble them; the packet is a loss, not a gap.
            self.fragments += 1
            peer.gaps[s].state = LOST
            self._advance(peer, out)
            return
        if s != peer.trail and self.held_bytes + len(payload) > self.max_held_bytes:
            self.dropped_held += 1  # leave the gap: repaired later or lost
            return
        del peer.gaps[s]
        peer.held[s] = payload
        self.held_bytes += len(payload)
        self._advance(peer, out)

    def _on_ncf(self, peer: _Source, ncf: Nak, now: float) -> None:
        for s in ncf.sqns:
            gap = peer.gaps.get(s)
            if gap is not None and gap.state in (BACK_OFF, WAIT_NCF):
                gap.state = WAIT_DATA
                gap.deadline = now + limits.NAK_RDATA_IVL

    # -- the window -----------------------------------------------------------------------------

    def _extend(self, peer: _Source, lead: int, now: float, out: list[object]) -> None:
        """Make ``lead`` the leading edge: the sequence numbers up to it are missing."""
        if sq.lte(lead, peer.lead):
            return
        # Keep the window at most window_sqns long: what falls out of it is final now,
        # delivered or lost.  So the loop below never runs more than window_sqns times,
        # whatever sequence number a packet claims.
        if sq.diff(lead, peer.trail) + 1 > self.window_sqns:
            self._force_trail(peer, sq.add(lead, 1 - self.window_sqns), out)
        first = sq.add(peer.lead, 1)
        count = sq.diff(lead, peer.lead)
        backoff = limits.NAK_BO_IVL
        rand = self._random
        for i in range(count):
            peer.gaps[sq.add(first, i)] = _Gap(now + rand() * backoff)
        peer.lead = lead
        if count:
            self._lower(now)  # (an upper bound of the earliest new deadline is enough)

    def _update_trail(self, peer: _Source, trail: int, out: list[object]) -> None:
        """The source can no longer repair what precedes ``trail``."""
        if sq.gt(trail, peer.trail):
            self._force_trail(peer, trail, out)

    def _force_trail(self, peer: _Source, trail: int, out: list[object]) -> None:
        """Everything before ``trail`` is final: deliver what is held, the rest is lost."""
        lost = 0
        decoder = peer.decoder
        while sq.lt(peer.trail, trail) and sq.lte(peer.trail, peer.lead):
            s = peer.trail
            payload = peer.held.pop(s, None)
            if payload is not None:
                self.held_bytes -= len(payload)
                self._deliver(peer, payload, out)
            else:
                peer.gaps.pop(s, None)
                lost += 1
                decoder.reset()
            peer.trail = sq.add(s, 1)
        if sq.lt(peer.trail, trail):  # beyond anything seen: never arrived
            lost += sq.diff(trail, peer.trail)
            decoder.reset()
            peer.trail = trail
            peer.lead = sq.add(trail, -1)
        if lost:
            self._lost(peer, lost, out)

    def _advance(self, peer: _Source, out: list[object]) -> None:
        """Deliver from the trailing edge while packets are there (or known lost)."""
        lost = 0
        held, gaps = peer.held, peer.gaps
        while sq.lte(peer.trail, peer.lead):
            s = peer.trail
            payload = held.pop(s, None)
            if payload is not None:
                self.held_bytes -= len(payload)
                self._deliver(peer, payload, out)
            else:
                gap = gaps.get(s)
                if gap is None or gap.state != LOST:
                    break
                del gaps[s]
                lost += 1
                peer.decoder.reset()
            peer.trail = sq.add(s, 1)
        if lost:
            self._lost(peer, lost, out)

    def _deliver(self, peer: _Source, payload: bytes, out: list[object]) -> None:
        messages = peer.decoder.feed(payload)
        if messages:
            peer.delivered += len(messages)
            out.extend(messages)

    def _lost(self, peer: _Source, count: int, out: list[object]) -> None:
        peer.lost += count
        self.losses += count
        if peer.delivered:
            # Reported once the source has delivered a message: before that, lost packets are
            # the part of the stream a late joiner does not expect anyway (and made-up
            # sources, which never deliver, cannot flood the monitor with losses).
            out.append(Loss(peer.gsi, peer.sport, count))

    # -- timers ---------------------------------------------------------------------------------

    def poll(self, now: float) -> list[object]:
        """Run the timers: NAKs and SPM requests go to ``outgoing``; losses they declare (and
        the messages that follow them) are returned."""
        out: list[object] = []
        self._next = None
        for peer in list(self.sources.values()):
            if now - peer.last_heard >= limits.PEER_EXPIRY:
                self._forget(peer)
                continue
            self._lower(peer.last_heard + limits.PEER_EXPIRY)
            if peer.spmr_due is not None and now >= peer.spmr_due:
                peer.spmr_due = now + limits.SPMR_INTERVAL
                packet = encode_spmr(peer.gsi, self.dport, peer.sport)
                self.outgoing.append((packet, peer.source_address))
                self.spmrs_sent += 1
            if peer.spmr_due is not None:
                self._lower(peer.spmr_due)
            if peer.gaps:
                self._nak_timers(peer, now, out)
        return out

    def _nak_timers(self, peer: _Source, now: float, out: list[object]) -> None:
        naks: list[int] = []
        any_lost = False
        rand = self._random
        earliest: float | None = None
        for s, gap in peer.gaps.items():
            if gap.state == LOST:
                continue
            if gap.deadline > now:
                if earliest is None or gap.deadline < earliest:
                    earliest = gap.deadline
                continue
            if gap.state == BACK_OFF:
                naks.append(s)
                gap.state = WAIT_NCF
                gap.deadline = now + limits.NAK_RPT_IVL
                if earliest is None or gap.deadline < earliest:
                    earliest = gap.deadline
                continue
            if gap.state == WAIT_NCF:
                gap.ncf_retries += 1
                retry = gap.ncf_retries <= limits.NAK_NCF_RETRIES
            else:
                gap.data_retries += 1
                retry = gap.data_retries <= limits.NAK_DATA_RETRIES
            if retry:
                gap.state = BACK_OFF
                gap.deadline = now + rand() * limits.NAK_BO_IVL
                if earliest is None or gap.deadline < earliest:
                    earliest = gap.deadline
            else:
                gap.state = LOST
                any_lost = True
        if earliest is not None:
            self._lower(earliest)
        target = peer.nla or peer.source_address
        for i in range(0, len(naks), 63):
            chunk = naks[i : i + 63]
            packet = encode_nak(0x08, peer.gsi, self.dport, peer.sport, chunk, target, self.group)
            self.outgoing.append((packet, target))
            self.naks_sent += 1
        if any_lost:
            self._advance(peer, out)

    def next_deadline(self) -> float | None:
        """When ``poll`` has work next (None: no source to look after)."""
        return self._next
