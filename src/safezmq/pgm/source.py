"""The sending side of PGM (RFC 3208 sections 5.1 and 6): transmit window, SPMs, repairs, sans I/O.

A ``Source`` numbers the TSDUs it is given (ODATA), keeps the last ``window_sqns`` of them (the
transmit window, RATE x RECOVERY_IVL as libzmq sizes it) and answers NAKs for what is still there
with an NCF at once and the repair (RDATA) soon after.  It announces itself and its window edges
with SPMs: three at start, heartbeats after data, one every ``AMBIENT_SPM`` otherwise, and on an
SPM request.  Everything goes to the multicast group.

Original data is paced to RATE by a token bucket (``odata_delay``).  Repairs and NCFs have a
bucket of their own at RATE, a sequence number is repaired at most once per
``REPAIR_SUPPRESS_IVL``, the repair queue holds each sequence number once (so at most the
window), and SPM requests are answered at most once per ``SPMR_ANSWER_IVL``: a NAK storm costs
bounded work and bounded traffic.
"""

from __future__ import annotations

from collections import deque

from . import limits
from . import seq as sq
from .packet import NAK, NCF, Nak, Spmr, encode_data, encode_nak, encode_spm


class TokenBucket:
    """``rate`` octets per second, bursts of ``burst`` octets."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = now

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def delay(self, size: int, now: float) -> float:
        """Seconds until ``size`` octets may be sent (0: now)."""
        self._refill(now)
        need = min(size, self.burst)
        if self.tokens >= need:
            return 0.0
        return (need - self.tokens) / self.rate

    def take(self, size: int, now: float) -> None:
        self._refill(now)
        self.tokens -= size


class Source:
    """See the module docstring."""

    def __init__(
        self,
        *,
        gsi: bytes,
        sport: int,
        dport: int,
        group: str,
        nla: str,
        window_sqns: int,
        rate: float,
        now: float,
        overhead: int = 28,
        max_tpdu: int = 1500,
        first_sqn: int = 0,
    ) -> None:
        """``rate`` is in octets per second; ``overhead`` is the IP (and UDP) header octets
        each packet adds on the wire, counted against the rate as OpenPGM does."""
        if len(gsi) != 6:
            raise ValueError("a GSI is 6 octets")
        self.gsi = gsi
        self.sport = sport
        self.dport = dport
        self.group = group
        self.nla = nla
        self.window_sqns = max(1, min(window_sqns, limits.MAX_WINDOW_SQNS))
        self.overhead = overhead
        burst = max(rate * limits.RATE_BURST, max_tpdu + overhead)
        self._odata_rate = TokenBucket(rate, burst, now)
        self._repair_rate = TokenBucket(rate, burst, now)
        #: The transmit window: TSDUs from ``trail`` on.
        self._window: deque[bytes] = deque()
        self.trail = first_sqn & sq.MASK
        self.spm_sqn = 0
        #: Repairs asked for (each sequence number once), and when each was last repaired.
        self._repairs: deque[int] = deque()
        self._queued: set[int] = set()
        self._repaired_at: dict[int, float] = {}
        #: Sequence numbers to confirm in the next NCF.
        self._ncf: list[int] = []
        self._heartbeat = len(limits.HEARTBEAT_SPM)
        self._next_spm = now
        self._startup_spms = 3
        self._last_spmr_answer = -1e9
        # Counters.
        self.odata_sent = 0
        self.rdata_sent = 0
        self.ncf_sent = 0
        self.repair_octets = 0  # RDATA and NCF octets on the wire (IP/UDP headers included)
        self.naks_received = 0
        self.naks_ignored = 0
        self.repairs_suppressed = 0
        self.spmr_received = 0

    # -- the window -----------------------------------------------------------------------------

    @property
    def lead(self) -> int:
        """The last sequence number sent (trail - 1 while nothing was)."""
        return sq.add(self.trail, len(self._window) - 1)

    @property
    def next_sqn(self) -> int:
        return sq.add(self.trail, len(self._window))

    def in_window(self, sqn: int) -> bool:
        return 0 <= sq.diff(sqn, self.trail) < len(self._window)

    # -- original data --------------------------------------------------------------------------

    def odata_delay(self, tsdu_size: int, now: float) -> float:
        """Seconds to wait before an ODATA of ``tsdu_size`` octets fits RATE (0: send now)."""
        return self._odata_rate.delay(self._wire_size(tsdu_size), now)

    def _wire_size(self, tsdu_size: int) -> int:
        return tsdu_size + 24 + self.overhead

    def odata(self, tsdu: bytes, now: float) -> bytes:
        """Number ``tsdu``, keep it for repairs, and return its ODATA packet."""
        if len(self._window) >= self.window_sqns:
            old = self.trail
            self._window.popleft()
            self._repaired_at.pop(old, None)
            self.trail = sq.add(old, 1)
        sqn = self.next_sqn
        self._window.append(tsdu)
        self._odata_rate.take(self._wire_size(len(tsdu)), now)
        self.odata_sent += 1
        self._reset_heartbeat(now)
        return encode_data(self.gsi, self.sport, self.dport, sqn, self.trail, tsdu)

    def _reset_heartbeat(self, now: float) -> None:
        self._heartbeat = 0
        self._next_spm = now + limits.HEARTBEAT_SPM[0]

    # -- upstream -------------------------------------------------------------------------------

    def receive(self, packet: Nak | Spmr, now: float) -> bool:
        """Handle a NAK or an SPM request; False if it was not for this source (ignored).

        The answers (NCF, RDATA, SPM) come out of ``poll``."""
        if packet.gsi != self.gsi or packet.dport != self.sport or packet.sport != self.dport:
            return False
        if isinstance(packet, Spmr):
            self.spmr_received += 1
            if now - self._last_spmr_answer >= limits.SPMR_ANSWER_IVL:
                self._last_spmr_answer = now
                self._next_spm = min(self._next_spm, now)
            return True
        if packet.kind != NAK:
            return False  # an N-NAK (from a designated local repairer): nothing to do
        self.naks_received += 1
        if packet.source_nla != self.nla or packet.group_nla != self.group or packet.parity:
            self.naks_ignored += 1  # for another address, another group, or parity (no FEC)
            return True
        for sqn in packet.sqns:
            if not self.in_window(sqn):
                continue  # gone (or never sent): the receiver learns from the trail
            if sqn in self._queued:
                continue  # already on its way
            last = self._repaired_at.get(sqn)
            if last is not None and now - last < limits.REPAIR_SUPPRESS_IVL:
                self.repairs_suppressed += 1
                continue
            self._queued.add(sqn)
            self._repairs.append(sqn)
            if len(self._ncf) < limits.MAX_NCF_SQNS:
                self._ncf.append(sqn)
        return True

    # -- timers ---------------------------------------------------------------------------------

    def spm(self, now: float, *, fin: bool = False) -> bytes:
        packet = encode_spm(
            self.gsi,
            self.sport,
            self.dport,
            self.spm_sqn,
            self.trail,
            self.lead,
            self.nla,
            fin=fin,
        )
        self.spm_sqn = sq.add(self.spm_sqn, 1)
        return packet

    def poll(self, now: float) -> list[bytes]:
        """Packets due now: SPMs, the NCF for new NAKs, repairs within the repair budget."""
        out: list[bytes] = []
        if now >= self._next_spm:
            # Three at start (as OpenPGM announces a source), one otherwise.
            for _ in range(self._startup_spms or 1):
                out.append(self.spm(now))
            self._startup_spms = 0
            if self._heartbeat < len(limits.HEARTBEAT_SPM) - 1:
                self._heartbeat += 1
                self._next_spm = now + limits.HEARTBEAT_SPM[self._heartbeat]
            else:
                self._heartbeat = len(limits.HEARTBEAT_SPM)
                self._next_spm = now + limits.AMBIENT_SPM
        if self._ncf:
            ncf = encode_nak(NCF, self.gsi, self.sport, self.dport, self._ncf, self.nla, self.group)
            self._ncf = []
            # NCFs are cheap but a storm of NAKs must not become a storm of NCFs: they share
            # the repair budget (a dropped NCF only makes a receiver ask again).
            if self._repair_rate.delay(len(ncf) + self.overhead, now) == 0.0:
                self._repair_rate.take(len(ncf) + self.overhead, now)
                out.append(ncf)
                self.ncf_sent += 1
                self.repair_octets += len(ncf) + self.overhead
        repairs = self._repairs
        while repairs and len(out) < limits.MAX_PACKETS_PER_POLL:
            sqn = repairs[0]
            if not self.in_window(sqn):
                repairs.popleft()
                self._queued.discard(sqn)
                continue
            tsdu = self._window[sq.diff(sqn, self.trail)]
            size = self._wire_size(len(tsdu))
            if self._repair_rate.delay(size, now) > 0.0:
                break
            repairs.popleft()
            self._queued.discard(sqn)
            self._repair_rate.take(size, now)
            self.repair_octets += size
            self._repaired_at[sqn] = now
            out.append(
                encode_data(self.gsi, self.sport, self.dport, sqn, self.trail, tsdu, repair=True)
            )
            self.rdata_sent += 1
        if len(self._repaired_at) > 2 * self.window_sqns:
            self._repaired_at = {
                s: t
                for s, t in self._repaired_at.items()
                if now - t < limits.REPAIR_SUPPRESS_IVL and self.in_window(s)
            }
        return out

    def next_deadline(self, now: float) -> float:
        """When ``poll`` has work next."""
        deadline = self._next_spm
        if self._ncf:
            return now
        if self._repairs:
            sqn = self._repairs[0]
            if not self.in_window(sqn):
                return now
            size = self._wire_size(len(self._window[sq.diff(sqn, self.trail)]))
            deadline = min(deadline, now + self._repair_rate.delay(size, now))
        return deadline

    def fin(self, now: float) -> list[bytes]:
        """The SPMs that say this source is closing (OPT_FIN), as OpenPGM sends three."""
        return [self.spm(now, fin=True) for _ in range(3)]
