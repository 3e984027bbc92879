"""Transmit and receive windows, NAKs and repairs, sans I/O, with a virtual clock."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safezmq.pgm import limits, seq
from safezmq.pgm import packet as pgm
from safezmq.pgm.framing import ApduEncoder
from safezmq.pgm.receiver import Loss, Receiver
from safezmq.pgm.source import Source

GSI = b"source"
SPORT, DPORT = 4321, 5555
GROUP, NLA = "239.1.2.3", "192.0.2.1"
TSDU = 1448


def make_source(now: float = 0.0, window: int = 1000, rate: float = 1e9, first: int = 0) -> Source:
    return Source(
        gsi=GSI,
        sport=SPORT,
        dport=DPORT,
        group=GROUP,
        nla=NLA,
        window_sqns=window,
        rate=rate,
        now=now,
        first_sqn=first,
    )


def make_receiver(window: int = 1000, **kw: object) -> Receiver:
    return Receiver(
        dport=DPORT, group=GROUP, window_sqns=window, random=random.Random(1).random, **kw
    )  # type: ignore[arg-type]


def message(i: int, size: int = 100) -> list[bytes]:
    return [b"t", i.to_bytes(4, "big") + bytes([i % 251]) * size]


def packets_for(source: Source, messages: list[list[bytes]], now: float = 0.0) -> list[bytes]:
    encoder = ApduEncoder(TSDU)
    for m in messages:
        encoder.add(m)
    out = []
    while (tsdu := encoder.next_tsdu()) is not None:
        out.append(source.odata(tsdu, now))
    return out


def feed(receiver: Receiver, packets: list[bytes], now: float = 0.0) -> list[object]:
    out: list[object] = []
    for p in packets:
        parsed = pgm.parse_packet(p)
        assert not isinstance(parsed, pgm.Spmr)
        out += receiver.receive(parsed, NLA, now)
    return out


def messages_of(events: list[object]) -> list[list[bytes]]:
    return [e for e in events if isinstance(e, list)]


def naks(receiver: Receiver) -> list[pgm.Nak]:
    out = []
    for packet, address in receiver.outgoing:
        parsed = pgm.parse_packet(packet)
        if isinstance(parsed, pgm.Nak):
            assert address == NLA
            out.append(parsed)
    receiver.outgoing.clear()
    return out


# -- the receive window -------------------------------------------------------------------------


def test_in_order_and_reordered_delivery() -> None:
    source, receiver = make_source(), make_receiver()
    msgs = [message(i, 500) for i in range(40)]
    packets = packets_for(source, msgs)
    order = packets[:1] + packets[1:][::-1]  # all but the first arrive backwards
    assert messages_of(feed(receiver, order)) == msgs
    assert receiver.held_bytes == 0


def test_a_gap_is_naked_after_the_backoff_with_libzmqs_fields() -> None:
    source, receiver = make_source(), make_receiver()
    feed(receiver, [source.spm(0.0)])
    packets = packets_for(source, [message(i, 1000) for i in range(10)])
    feed(receiver, packets[:2] + packets[3:])
    assert receiver.poll(0.0) == [] and naks(receiver) == []  # still backing off
    receiver.poll(limits.NAK_BO_IVL)
    (nak,) = naks(receiver)
    assert nak.kind == pgm.NAK and nak.sqns == (2,)
    assert (nak.gsi, nak.sport, nak.dport) == (GSI, DPORT, SPORT)  # ports swapped upstream
    assert (nak.source_nla, nak.group_nla) == (NLA, GROUP)
    # The source confirms and repairs; the receiver delivers the rest in order.
    assert source.receive(nak, 0.06)
    answers = [pgm.parse_packet(p) for p in source.poll(0.06)]
    assert [type(a).__name__ for a in answers] == ["Nak", "Data"]
    assert answers[0].kind == pgm.NCF and answers[1].repair  # type: ignore[union-attr]
    events: list[object] = []
    for answer in answers:
        events += receiver.receive(answer, NLA, 0.06)  # type: ignore[arg-type]
    assert len(messages_of(events)) > 0 and receiver.held_bytes == 0


def test_ncf_suppresses_the_nak_until_the_repair_is_late() -> None:
    source, receiver = make_source(), make_receiver()
    packets = packets_for(source, [message(i, 1000) for i in range(5)])
    feed(receiver, packets[:1] + packets[2:])
    ncf = pgm.encode_nak(pgm.NCF, GSI, SPORT, DPORT, [1], NLA, GROUP)
    feed(receiver, [ncf], 0.01)  # another receiver's NAK was confirmed: wait for the repair
    receiver.poll(0.1)
    assert naks(receiver) == []
    receiver.poll(0.01 + limits.NAK_RDATA_IVL)  # the repair is late: back off, then NAK
    receiver.poll(0.01 + limits.NAK_RDATA_IVL + limits.NAK_BO_IVL)
    assert [n.sqns for n in naks(receiver)] == [(1,)]


def test_loss_after_the_retries_resets_the_decoder() -> None:
    source, receiver = make_source(), make_receiver()
    msgs = [message(i, 1000) for i in range(20)]
    packets = packets_for(source, msgs)
    delivered = messages_of(feed(receiver, packets[:5] + packets[6:]))
    now, events = 0.0, []
    sent = 0
    while now < 30:
        now += 0.05
        events += receiver.poll(now)
        sent += len(naks(receiver))  # nobody answers
    assert sent == limits.NAK_NCF_RETRIES + 1
    losses = [e for e in events if isinstance(e, Loss)]
    assert losses == [Loss(GSI, SPORT, 1)] and receiver.losses == 1
    delivered += messages_of(events)
    # Whole messages in order, only those touching the lost packet missing.
    indices = [int.from_bytes(m[1][:4], "big") for m in delivered]
    assert indices == sorted(indices) and all(
        msgs[i] == m for i, m in zip(indices, delivered, strict=True)
    )
    assert 1 <= len(msgs) - len(delivered) <= 2
    assert receiver.sources[(GSI, SPORT)].gaps == {}


def test_the_sources_trail_declares_losses_at_once() -> None:
    source, receiver = make_source(window=5), make_receiver()
    msgs = [message(i, 1000) for i in range(30)]
    packets = packets_for(source, msgs)
    events = feed(receiver, packets[:3])
    # Packets 3 and 4 never arrive; by packet 10 the source's window (5) has moved past them.
    events += feed(receiver, packets[5:])
    losses = [e for e in events if isinstance(e, Loss)]
    assert sum(e.count for e in losses) == 2 and receiver.losses == 2
    assert receiver.sources[(GSI, SPORT)].gaps == {}
    indices = [int.from_bytes(m[1][:4], "big") for m in messages_of(events)]
    assert indices == sorted(indices) and 1 <= len(msgs) - len(indices) <= 5


def test_late_joiner_defines_its_window_at_the_first_packet() -> None:
    source, receiver = make_source(), make_receiver()
    packets = packets_for(source, [message(i, 3000) for i in range(20)])
    events = feed(receiver, packets[7:])
    assert receiver.poll(1.0) == [] and naks(receiver) == []  # nothing older is asked for
    got = messages_of(events)
    assert got and got[-1] == message(19, 3000)
    assert [e for e in events if isinstance(e, Loss)] == []


def test_repairs_do_not_start_a_source() -> None:
    source, receiver = make_source(), make_receiver()
    (packet,) = packets_for(source, [message(1)])
    repair = pgm.parse_packet(packet)
    assert isinstance(repair, pgm.Data)
    rdata = pgm.encode_data(GSI, SPORT, DPORT, repair.sqn, 0, repair.payload, repair=True)
    assert feed(receiver, [rdata]) == [] and receiver.sources == {}


def test_sequence_numbers_wrap() -> None:
    source, receiver = make_source(first=seq.MASK - 5), make_receiver()
    msgs = [message(i, 1500) for i in range(12)]
    packets = packets_for(source, msgs)
    assert pgm.parse_packet(packets[-1]).sqn < 10  # type: ignore[union-attr]
    got = messages_of(feed(receiver, packets[:4] + packets[5:]))
    source.receive(pgm.Nak(pgm.NAK, GSI, DPORT, SPORT, (seq.MASK - 1,), NLA, GROUP), 0.0)
    for packet in source.poll(0.0):
        got += messages_of(receiver.receive(pgm.parse_packet(packet), NLA, 0.0))  # type: ignore[arg-type]
    assert got == msgs


def test_wrong_port_and_duplicates() -> None:
    source, receiver = make_source(), make_receiver()
    packets = packets_for(source, [message(i) for i in range(3)])
    other = Receiver(dport=DPORT + 1, group=GROUP, window_sqns=10)
    assert feed(other, packets) == [] and other.wrong_port == len(packets)
    assert len(messages_of(feed(receiver, packets + packets))) == 3
    assert receiver.duplicates == len(packets)


# -- hostile input at the receiver ------------------------------------------------------------


def test_absurd_sequence_numbers_cost_at_most_a_window() -> None:
    receiver = make_receiver(window=100)
    source = make_source()
    feed(receiver, packets_for(source, [message(0)]))
    for far in (1 << 30, (1 << 31) - 2, 12345678):
        lie = pgm.encode_data(GSI, SPORT, DPORT, far, far - 10, b"\xff\xff")
        feed(receiver, [lie])
        peer = receiver.sources[(GSI, SPORT)]
        assert len(peer.gaps) + len(peer.held) <= 100
    far_behind = seq.add(receiver.sources[(GSI, SPORT)].lead, (1 << 31) + 5)
    behind = pgm.encode_data(GSI, SPORT, DPORT, far_behind, far_behind - 10, b"\xff\xff")
    before = receiver.duplicates
    feed(receiver, [behind])
    assert receiver.duplicates == before + 1  # more than half the space ahead is behind
    # An SPM claiming a far lead: bounded too, and the NAKs it causes are bounded by the window.
    feed(receiver, [pgm.encode_spm(GSI, SPORT, DPORT, 5, 0, 0x7FFFFFF0, NLA)])
    receiver.poll(1.0)
    assert sum(len(n.sqns) for n in naks(receiver)) <= 100


def test_an_spm_cannot_point_naks_at_a_group() -> None:
    receiver = make_receiver()
    source = make_source()
    feed(receiver, [pgm.encode_spm(GSI, SPORT, DPORT, 0, 0, seq.MASK, "239.9.9.9")])
    packets = packets_for(source, [message(i, 1400) for i in range(3)])
    feed(receiver, packets[:1] + packets[2:])
    receiver.poll(1.0)
    # The NAK (and an SPM request: no valid SPM yet) go where the data came from.
    assert {address for _, address in receiver.outgoing} == {NLA}
    assert naks(receiver)


def test_made_up_sources_never_evict_a_delivering_one() -> None:
    receiver = make_receiver(max_sources=4)
    source = make_source()
    real = packets_for(source, [message(i) for i in range(50)])
    first = len(messages_of(feed(receiver, real[:1])))
    assert first
    rng = random.Random(5)
    for i in range(1000):
        fake = pgm.encode_data(rng.randbytes(6), rng.randrange(1, 65535), DPORT, i, 0, b"\xff\xff")
        feed(receiver, [fake])
    assert len(receiver.sources) == 4 and (GSI, SPORT) in receiver.sources
    assert receiver.refused_sources == 0  # idle fakes were evicted for newer fakes
    assert first + len(messages_of(feed(receiver, real[1:]))) == 50


def test_held_bytes_are_capped() -> None:
    receiver = make_receiver(max_held_bytes=10_000)
    source = make_source()
    packets = packets_for(source, [message(i, 1400) for i in range(40)])
    feed(receiver, packets[:1] + packets[2:])  # a gap at 1: everything after is held
    assert receiver.held_bytes <= 10_000 and receiver.dropped_held > 0


def test_fragments_are_losses_not_gaps() -> None:
    receiver = make_receiver()
    source = make_source()
    first = packets_for(source, [message(0)])
    feed(receiver, first)
    payload = b"\x00\x00abc"
    header = pgm.HEADER.pack(SPORT, DPORT, pgm.ODATA, pgm.OPT_PRESENT, 0, GSI, len(payload))
    options = bytes([0, 4, 0, 20, pgm.OPT_FRAGMENT | pgm.OPT_END, 16, 0, 0])
    options += (1).to_bytes(4, "big") + bytes(4) + (3000).to_bytes(4, "big")
    raw = bytearray(header + (1).to_bytes(4, "big") + bytes(4) + options + payload)
    raw[6:8] = pgm.checksum(raw).to_bytes(2, "big")
    feed(receiver, [bytes(raw)])
    assert receiver.fragments == 1 and receiver.losses == 1
    assert receiver.poll(1.0) == [] and naks(receiver) == []


# -- the transmit window ----------------------------------------------------------------------


def test_transmit_window_trail_and_out_of_window_naks() -> None:
    source = make_source(window=4)
    packets_for(source, [message(i, 1400) for i in range(10)])
    assert (source.trail, source.lead) == (6, 9)
    assert source.receive(pgm.Nak(pgm.NAK, GSI, DPORT, SPORT, (2, 7, 2**31), NLA, GROUP), 0.0)
    out = [pgm.parse_packet(p) for p in source.poll(0.0)]
    ncf = [p for p in out if isinstance(p, pgm.Nak)]
    rdata = [p for p in out if isinstance(p, pgm.Data)]
    assert [n.sqns for n in ncf] == [(7,)] and [r.sqn for r in rdata] == [7]
    assert all(r.trail == 6 and r.repair for r in rdata)


def test_naks_for_someone_else_are_ignored() -> None:
    source = make_source()
    packets_for(source, [message(0)])
    for nak in (
        pgm.Nak(pgm.NAK, GSI, DPORT, SPORT, (0,), "10.9.9.9", GROUP),  # another source address
        pgm.Nak(pgm.NAK, GSI, DPORT, SPORT, (0,), NLA, "239.9.9.9"),  # another group
        pgm.Nak(pgm.NAK, GSI, DPORT, SPORT, (0,), NLA, GROUP, parity=True),  # no FEC here
    ):
        assert source.receive(nak, 0.0)
    assert not source.receive(pgm.Nak(pgm.NAK, b"other!", DPORT, SPORT, (0,), NLA, GROUP), 0.0)
    assert not source.receive(pgm.Nak(pgm.NAK, GSI, DPORT + 1, SPORT, (0,), NLA, GROUP), 0.0)
    assert source.naks_ignored == 3
    assert [p for p in map(pgm.parse_packet, source.poll(0.0)) if not isinstance(p, pgm.Spm)] == []


def test_nak_storm_is_bounded_by_rate_and_suppression() -> None:
    rate = 125_000.0  # 1 Mbit/s
    source = make_source(rate=rate, window=200)
    packets_for(source, [message(i, 1400) for i in range(200)])
    nak = pgm.Nak(pgm.NAK, GSI, DPORT, SPORT, tuple(range(100, 163)), NLA, GROUP)
    repaired = 0
    now = 10.0  # the ODATA burst is long paid for
    for _ in range(1000):  # 1000 NAKs of 63 numbers every millisecond, for one second
        source.receive(nak, now)
        repaired += sum(isinstance(pgm.parse_packet(p), pgm.Data) for p in source.poll(now))
        now += 0.001
    assert repaired > 0
    assert source.repair_octets <= rate * (1.0 + limits.RATE_BURST) + TSDU + 52
    assert source.repairs_suppressed > 0
    assert len(source._repairs) <= 200 and len(source._queued) <= 200


def test_spm_schedule_and_spmr_answers() -> None:
    source = make_source()
    start = [pgm.parse_packet(p) for p in source.poll(0.0)]
    assert [type(p).__name__ for p in start] == ["Spm"] * 3  # announced three times
    assert source.next_deadline(0.0) == pytest.approx(limits.AMBIENT_SPM)
    packets_for(source, [message(0)], now=1.0)
    assert source.next_deadline(1.0) == pytest.approx(1.0 + limits.HEARTBEAT_SPM[0])
    spm = pgm.parse_packet(source.poll(1.1)[0])
    assert isinstance(spm, pgm.Spm) and (spm.trail, spm.lead, spm.nla) == (0, 0, NLA)
    spmr = pgm.Spmr(GSI, DPORT, SPORT)
    answered = 0
    now = 2.0
    for _ in range(100):  # SPM requests every millisecond: answered every 50 ms
        source.receive(spmr, now)
        answered += len(source.poll(now))
        now += 0.001
    assert 2 <= answered <= 0.1 / limits.SPMR_ANSWER_IVL + 2
    assert all(p.fin for p in map(pgm.parse_packet, source.fin(now)))  # type: ignore[union-attr]


def test_odata_is_paced_to_rate() -> None:
    source = make_source(rate=100_000.0)
    now, sent = 0.0, 0
    while now < 2.0:
        if source.odata_delay(TSDU, now) == 0:
            source.odata(b"\x00" * TSDU, now)
            sent += 1
        now += 0.001
    assert sent * (TSDU + 24 + 28) <= 100_000 * (2.0 + limits.RATE_BURST) + TSDU + 52


# -- a lossy network, end to end --------------------------------------------------------------


def run_network(
    messages: list[list[bytes]], lose: Callable[[int, bytes], bool], window: int = 10_000
) -> tuple[list[list[bytes]], Receiver, Source]:
    """Source -> network -> receiver with repairs; ``lose(n, packet)`` drops the n-th packet
    the network carries (either way).  Returns what was delivered."""
    source, receiver = make_source(window=window), make_receiver()
    count = 0
    delivered: list[object] = []
    now = 0.0

    def carry(packet: bytes, upstream: bool) -> None:
        nonlocal count
        count += 1
        if lose(count, packet):
            return
        parsed = pgm.parse_packet(packet)
        if upstream:
            source.receive(parsed, now)  # type: ignore[arg-type]
        else:
            delivered.extend(receiver.receive(parsed, NLA, now))  # type: ignore[arg-type]

    for packet in source.poll(now):
        carry(packet, False)
    for packet in packets_for(source, messages, now):
        carry(packet, False)
    while now < 60:
        now += 0.01
        for packet in source.poll(now):
            carry(packet, False)
        delivered.extend(receiver.poll(now))
        for packet, _ in receiver.outgoing:
            carry(packet, True)
        receiver.outgoing.clear()
        peer = receiver.sources.get((GSI, SPORT))
        if peer is not None and not peer.gaps and seq.lte(source.lead, peer.lead):
            break
    return messages_of(delivered), receiver, source


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 4000), min_size=1, max_size=40),
    loss=st.floats(0.0, 0.5),
    seed=st.integers(0, 2**32 - 1),
)
def test_lossy_network_delivers_everything_in_order(
    sizes: list[int], loss: float, seed: int
) -> None:
    rng = random.Random(seed)
    messages = [message(i, size) for i, size in enumerate(sizes)]

    def lose(n: int, packet: bytes) -> bool:
        return packet[4] != pgm.SPM and rng.random() < loss  # SPMs get through (for the NLA)

    got, receiver, _ = run_network(messages, lose)
    if receiver.losses == 0:
        assert got == messages
    else:  # 50 retries can run out at 50% loss: then whole messages in order, no more
        indices = [int.from_bytes(m[1][:4], "big") for m in got]
        assert indices == sorted(set(indices))
        assert all(messages[i] == m for i, m in zip(indices, got, strict=True))


# -- any sequence of packets ------------------------------------------------------------------

near = st.integers(0, 60).map(lambda n: seq.add(seq.MASK - 30, n))  # around the wrap
anywhere = st.one_of(near, st.integers(0, seq.MASK))
gsis = st.sampled_from([GSI, b"other1", b"other2"])
payloads = st.one_of(
    st.binary(max_size=40),  # any framing, valid or not
    st.sampled_from([b"\x00\x00\x03\x00ab", b"\xff\xff\x01\x02", b"\x00\x00\x05\x01abcd"]),
)
downstream = st.one_of(
    st.builds(
        lambda g, s, t, r, p: pgm.encode_data(
            g, SPORT, DPORT, s, t if seq.diff(s, t) >= 0 else s, p, repair=r
        ),
        gsis,
        anywhere,
        anywhere,
        st.booleans(),
        payloads,
    ),
    st.builds(
        lambda g, q, t, ld: pgm.encode_spm(g, SPORT, DPORT, q, t, ld, NLA),
        gsis,
        st.integers(0, 5),
        anywhere,
        anywhere,
    ),
    st.builds(
        lambda g, sqns: pgm.encode_nak(pgm.NCF, g, SPORT, DPORT, sqns, NLA, GROUP),
        gsis,
        st.lists(anywhere, min_size=1, max_size=63),
    ),
)


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(st.tuples(downstream, st.floats(0, 0.3)), max_size=40))
def test_any_packets_keep_the_receiver_bounded(steps: list[tuple[bytes, float]]) -> None:
    receiver = make_receiver(window=50, max_sources=2, max_held_bytes=200)
    now = 0.0
    for data, wait in steps:
        now += wait
        packet = pgm.parse_packet(data)
        assert not isinstance(packet, pgm.Spmr)
        events = receiver.receive(packet, NLA, now) + receiver.poll(now)
        for event in events:
            assert isinstance(event, (list, Loss))
        assert len(receiver.sources) <= 2
        held = 0
        for peer in receiver.sources.values():
            assert len(peer.gaps) + len(peer.held) <= 50
            assert seq.diff(peer.lead, peer.trail) + 1 <= 50
            held += sum(map(len, peer.held.values()))
        assert held == receiver.held_bytes <= 200 + 40
        assert receiver.next_deadline() is not None or not receiver.sources
        receiver.outgoing.clear()


upstream = st.one_of(
    st.builds(
        lambda sqns, nla, grp: pgm.Nak(pgm.NAK, GSI, DPORT, SPORT, tuple(sqns), nla, grp),
        st.lists(anywhere, min_size=1, max_size=63),
        st.sampled_from([NLA, "10.0.0.9"]),
        st.sampled_from([GROUP, "239.0.0.9"]),
    ),
    st.just(pgm.Spmr(GSI, DPORT, SPORT)),
)


@settings(max_examples=200, deadline=None)
@given(
    sent=st.integers(0, 80),
    steps=st.lists(st.tuples(upstream, st.floats(0, 0.05)), max_size=60),
)
def test_any_upstream_keeps_the_source_bounded(
    sent: int, steps: list[tuple[pgm.Nak | pgm.Spmr, float]]
) -> None:
    source = make_source(window=30, rate=50_000.0, first=seq.MASK - 20)
    now = 0.0
    for i in range(sent):
        source.odata(b"\x00\x00" + bytes([i % 256]) * 100, now)
    for packet, wait in steps:
        now += wait
        source.receive(packet, now)
        for out in source.poll(now):
            parsed = pgm.parse_packet(out)
            if isinstance(parsed, pgm.Data):
                assert parsed.repair and source.in_window(parsed.sqn)
        assert len(source._repairs) == len(source._queued) <= 30
        assert source.next_deadline(now) >= now
