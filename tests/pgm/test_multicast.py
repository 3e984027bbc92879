"""PGM over a real (private) network: safezmq to safezmq, and interop with libzmq + OpenPGM.

Each test runs its scenario in a network namespace built for it (netns.py): no test touches the
host's own network.  The libzmq side is Debian's python3-zmq under the system's Python (its
libzmq is built with OpenPGM; the PyPI wheel is not).  The lossy network is safezmq's
PACKET_FILTER hook, installed by the scenario on the safezmq side.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from safezmq.constants import Errno, Event, Limit

from . import netns

REASON = netns.unavailable()
pytestmark = [
    pytest.mark.skipif(REASON is not None, reason=REASON or ""),
    pytest.mark.timeout(180),
]

EADDRINUSE = Errno.EADDRINUSE
LOSS_EVENT = {"event": int(Event.LIMIT_EXCEEDED), "value": int(Limit.MULTICAST_LOSS)}


@pytest.fixture(scope="module")
def lo() -> Iterator[netns.Namespace]:
    with netns.loopback_namespace() as namespace:
        yield namespace


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[netns.Namespace, netns.Namespace]]:
    with netns.veth_pair() as namespaces:
        yield namespaces


@pytest.fixture(scope="module")
def libzmq() -> None:
    reason = netns.libzmq_with_pgm()
    if reason is not None:
        if os.environ.get("SAFEZMQ_REQUIRE_PGM_INTEROP"):
            pytest.fail(reason)  # CI installs it: its absence there is a failure
        pytest.skip(reason)


def endpoint(transport: str, namespace: netns.Namespace, port: int = 5555) -> str:
    """The interface by name on loopback, by address on the veth pair (OpenPGM does not find
    interfaces by such generated names)."""
    interface = namespace.interface if namespace.interface == "lo" else namespace.address
    return f"{transport}://{interface};239.192.7.1:{port}"


def assert_complete(result: dict[str, Any], count: int) -> None:
    assert result["bad"] == 0, result
    assert result["out_of_order"] == 0 and result["duplicates"] == 0, result
    assert result["count"] == count, result
    assert result["missing"] == [], result


# -- safezmq to safezmq ---------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["epgm", "pgm"])
def test_pub_to_sub(lo: netns.Namespace, transport: str) -> None:
    result = lo.scenario(
        "pair",
        {"endpoint": endpoint(transport, lo), "count": 3000, "max_size": 4000, "rate": 100_000},
    )
    assert_complete(result, 3000)
    assert result["topics"] == ["A", "B"]
    assert result["events"] == []
    assert result["last_endpoint"] == [endpoint(transport, lo)] * 2
    # The audit names the relaxed policy and each socket's multicast endpoint, as high.
    audit = result["audit"]
    assert sum("[high] policy: pgm/epgm multicast is allowed" in f for f in audit) == 2
    for kind in ("PUB", "SUB"):
        assert any(
            f.startswith(f"[high] {kind} socket {endpoint(transport, lo)}: PGM multicast")
            for f in audit
        ), audit


def test_bind_joins_like_connect_and_sub_filters(lo: netns.Namespace) -> None:
    """libzmq: bind is connect for PGM.  The publisher sends every message (no upstream for
    subscriptions) and SUB keeps only what it subscribed to."""
    result = lo.scenario(
        "pair",
        {
            "endpoint": endpoint("epgm", lo, 5556),
            "count": 1000,
            "max_size": 500,
            "subscribe": "B",
            "expect": 500,
            "pub_verb": "bind",
            "sub_verb": "bind",
            "idle": 1.5,
        },
    )
    assert result["topics"] == ["B"] and result["count"] == 500 and result["bad"] == 0
    assert result["pub_stats"]["source.odata_sent"] > 0


def test_xpub_to_xsub(lo: netns.Namespace) -> None:
    """XSUB receives everything; XPUB sees no subscription from a PGM peer (none travels, as
    in libzmq) and still sends to it."""
    result = lo.scenario(
        "pair",
        {
            "endpoint": endpoint("epgm", lo, 5557),
            "count": 500,
            "max_size": 2000,
            "xpub": True,
            "xsub": True,
        },
    )
    assert_complete(result, 500)
    assert result["xpub_saw"] == []


def test_lifecycle(lo: netns.Namespace) -> None:
    """disconnect leaves the group, connect joins again; unbind and bind make a new source; a
    socket joins an endpoint once (EADDRINUSE); close() sends what is queued within LINGER."""
    result = lo.scenario("lifecycle", {"endpoint": endpoint("epgm", lo, 5563)})
    assert result["joined"] == 10 and result["after_disconnect"] == 0
    assert result["reconnected"] == 10 and result["new_source"] == 10
    assert result["joined_twice"] == int(EADDRINUSE)
    assert result["lingered"] == 200


def test_lossy_network_is_repaired(lo: netns.Namespace) -> None:
    """One ODATA in ten never reaches the subscriber: it NAKs, the publisher confirms (NCF)
    and repairs (RDATA), and every message arrives in order."""
    result = lo.scenario(
        "pair",
        {
            "endpoint": endpoint("epgm", lo, 5558),
            "count": 2000,
            "max_size": 3000,
            "rate": 50_000,
            "drop": {"dir": "in", "every": 10, "offset": 3},
        },
    )
    assert_complete(result, 2000)
    assert result["dropped"]["in"] > 50
    stats, pub = result["stats"], result["pub_stats"]
    assert stats["receiver.naks_sent"] > 0 and stats["receiver.losses"] == 0
    assert pub["source.rdata_sent"] >= result["dropped"]["in"]
    assert pub["source.ncf_sent"] > 0
    assert result["events"] == []


def test_unrecoverable_loss_drops_whole_messages_and_is_reported(lo: netns.Namespace) -> None:
    """Packets lost for good (original and repairs): the publisher's repair window is small,
    so its trailing edge passes them.  The messages they cut are dropped, whole; the rest
    arrive intact; each loss is a LIMIT_EXCEEDED event with value MULTICAST_LOSS."""
    result = lo.scenario(
        "pair",
        {
            "endpoint": endpoint("epgm", lo, 5559),
            "count": 1000,
            "max_size": 3000,
            "pub": {"rate": 10_000, "recovery_ivl": 100},  # a window of 83 packets
            "sub": {"rate": 10_000},
            "drop": {"dir": "in", "types": [4, 5], "sqns": [50, 51, 200]},
            "idle": 2.0,
        },
    )
    assert result["bad"] == 0 and result["out_of_order"] == 0, result
    assert result["stats"]["receiver.losses"] == 3
    assert 0 < sum(b - a + 1 for a, b in result["missing"]) <= 8, result["missing"]
    assert result["count"] >= 990
    assert LOSS_EVENT in result["events"]


def test_late_joiner_starts_at_a_message_boundary(lo: netns.Namespace) -> None:
    result = lo.scenario(
        "pair",
        {
            "endpoint": endpoint("epgm", lo, 5560),
            "count": 400,
            "max_size": 6000,  # messages span several packets
            "late_join": 0.5,
            "pace": 0.002,
            "idle": 1.5,
        },
    )
    assert result["bad"] == 0 and result["missing"] == [] and result["out_of_order"] == 0
    assert 0 < result["first"] < 399 and result["last"] == 399
    assert result["events"] == []  # what a late joiner never had is not a loss


def test_hostile_packets_are_bounded_and_the_stream_survives(lo: netns.Namespace) -> None:
    """Garbage, bad checksums, truncated packets, lying lengths and options, absurd sequence
    numbers, made-up sources beyond the limit, forged NCFs and framing: the legitimate stream
    is delivered whole, and each hostile packet was counted, not obeyed."""
    result = lo.scenario(
        "malformed",
        {"endpoint": endpoint("epgm", lo, 5561), "count": 1500, "max_size": 3000, "pace": 0.0005},
    )
    assert_complete(result, 1500)
    assert result["attack_packets"] > 1000
    stats = result["stats"]
    assert stats["malformed"] > 100
    assert stats["receiver.wrong_port"] > 0
    assert stats["receiver.held_bytes"] < 1 << 20
    assert result["events"] == []  # made-up sources never delivered: no loss to report


def test_nak_storm_is_bounded(lo: netns.Namespace) -> None:
    """An attacker floods the publisher with NAKs (63 sequence numbers each), NAKs for other
    addresses and absurd numbers, and SPM requests.  Repairs stay within RATE, the same
    sequence number is repaired at most once per 50 ms, and the subscriber gets everything."""
    rate_kbit = 10_000
    result = lo.scenario(
        "nak_storm",
        {
            "endpoint": endpoint("epgm", lo, 5562),
            "count": 2000,
            "max_size": 3000,
            "rate": rate_kbit,
            "pace": 0.0005,
        },
    )
    assert_complete(result, 2000)
    pub = result["pub_stats"]
    assert pub["source.naks_received"] > 1000 and pub["source.naks_ignored"] > 0
    assert pub["source.repairs_suppressed"] > 0
    # Repairs and NCFs: at most RATE for the attack's duration, plus one burst (0.1 s).
    budget = rate_kbit * 1000 / 8 * (result["elapsed"] + 0.1)
    assert 0 < pub["source.repair_octets"] <= budget, (pub["source.repair_octets"], budget)
    # SPM requests are answered at most every 50 ms (plus heartbeats).
    assert pub["source.spm_sqn"] <= result["elapsed"] / 0.05 + 20


# -- interop with libzmq (OpenPGM) -----------------------------------------------------------


@pytest.mark.parametrize("transport", ["epgm", "pgm"])
def test_safezmq_pub_to_libzmq_sub_with_repairs(
    libzmq: None, pair: tuple[netns.Namespace, netns.Namespace], transport: str
) -> None:
    """safezmq's ODATA of every 20th sequence number never leaves: libzmq's receiver NAKs
    them, safezmq repairs them, and libzmq delivers every message intact and in order."""
    ours, theirs = pair
    count, size = 2000, 2000
    peer = theirs.start(
        netns.libzmq_peer(
            "sub", {"endpoint": endpoint(transport, theirs), "count": count, "max_size": size}
        )
    )
    sent = ours.scenario(
        "pub",
        {
            "endpoint": endpoint(transport, ours),
            "count": count,
            "max_size": size,
            "drop": {"dir": "out", "every": 20, "offset": 7},
        },
    )
    got = netns.finish(peer)
    assert_complete(got, count)
    assert sent["dropped"]["out"] > 20
    assert sent["stats"]["source.naks_received"] > 0
    assert sent["stats"]["source.rdata_sent"] >= sent["dropped"]["out"]


@pytest.mark.parametrize("transport", ["epgm", "pgm"])
def test_libzmq_pub_to_safezmq_sub_with_repairs(
    libzmq: None, pair: tuple[netns.Namespace, netns.Namespace], transport: str
) -> None:
    """libzmq's ODATA of every 20th sequence number is dropped on arrival: safezmq NAKs,
    libzmq repairs, and safezmq delivers every message intact and in order."""
    ours, theirs = pair
    count, size = 2000, 2000
    peer = ours.start_scenario(
        "sub",
        {
            "endpoint": endpoint(transport, ours),
            "count": count,
            "max_size": size,
            "drop": {"dir": "in", "every": 20, "offset": 7},
        },
    )
    libzmq_pub = theirs.start(
        netns.libzmq_peer(
            "pub", {"endpoint": endpoint(transport, theirs), "count": count, "max_size": size}
        )
    )
    got = netns.finish(peer)
    netns.stop(libzmq_pub)
    assert_complete(got, count)
    assert got["dropped"]["in"] > 20
    assert got["stats"]["receiver.naks_sent"] > 0
    assert got["stats"]["receiver.losses"] == 0
    assert got["events"] == []


def test_libzmq_unrecoverable_loss_is_reported(
    libzmq: None, pair: tuple[netns.Namespace, netns.Namespace]
) -> None:
    """OpenPGM's trailing edge passes packets safezmq never got (original and repairs
    dropped): safezmq drops the messages they cut, reports the loss, and goes on."""
    ours, theirs = pair
    count, size = 1500, 3000
    peer = ours.start_scenario(
        "sub",
        {
            "endpoint": endpoint("epgm", ours, 5600),
            "count": count,
            "max_size": size,
            "drop": {"dir": "in", "types": [4, 5], "sqns": [40, 41]},
            "idle": 2.5,
        },
    )
    libzmq_pub = theirs.start(
        netns.libzmq_peer(
            "pub",
            {
                "endpoint": endpoint("epgm", theirs, 5600),
                "count": count,
                "max_size": size,
                "recovery_ivl": 200,  # a window of 166 packets at 10 Mbit/s
            },
        )
    )
    got = netns.finish(peer)
    netns.stop(libzmq_pub)
    assert got["bad"] == 0 and got["out_of_order"] == 0, got
    assert got["stats"]["receiver.losses"] == 2
    assert 0 < sum(b - a + 1 for a, b in got["missing"]) <= 6, got["missing"]
    assert LOSS_EVENT in got["events"]
