"""Which socket types may talk to which (RFC 37 "The Socket-Type Property"), as one table."""

from __future__ import annotations

from types import MappingProxyType

#: For each socket type, the peer types it accepts.
COMPATIBLE = MappingProxyType(
    {
        b"REQ": frozenset({b"REP", b"ROUTER"}),
        b"REP": frozenset({b"REQ", b"DEALER"}),
        b"DEALER": frozenset({b"REP", b"DEALER", b"ROUTER"}),
        b"ROUTER": frozenset({b"REQ", b"DEALER", b"ROUTER"}),
        b"PUB": frozenset({b"SUB", b"XSUB"}),
        b"XPUB": frozenset({b"SUB", b"XSUB"}),
        b"SUB": frozenset({b"PUB", b"XPUB"}),
        b"XSUB": frozenset({b"PUB", b"XPUB"}),
        b"PUSH": frozenset({b"PULL"}),
        b"PULL": frozenset({b"PUSH"}),
        b"PAIR": frozenset({b"PAIR"}),
        b"CLIENT": frozenset({b"SERVER"}),
        b"SERVER": frozenset({b"CLIENT"}),
        b"RADIO": frozenset({b"DISH"}),
        b"DISH": frozenset({b"RADIO"}),
        b"SCATTER": frozenset({b"GATHER"}),
        b"GATHER": frozenset({b"SCATTER"}),
        b"PEER": frozenset({b"PEER"}),
        b"CHANNEL": frozenset({b"CHANNEL"}),
    }
)

#: Socket types that may announce an Identity the peer should use (RFC 37 "Identity Property").
SENDS_IDENTITY = frozenset({b"REQ", b"DEALER", b"ROUTER"})


def compatible(ours: bytes, theirs: bytes) -> bool:
    """Whether a socket of type ``ours`` may talk to a peer of type ``theirs``."""
    return theirs in COMPATIBLE.get(ours, frozenset())
