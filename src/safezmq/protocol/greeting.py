"""The 64-octet ZMTP greeting: signature, version, mechanism, as-server flag, filler.

safezmq speaks ZMTP 3.1 and accepts 3.0 peers (speaking 3.0 to them).  It sends its whole greeting
at once and does not downgrade: a ZMTP 1.0 or 2.0 peer is recognised from its first octets and
refused at once, without waiting for 64 octets it will never send.  The legacy protocols had no
security mechanism and their decoders held CVE-2014-9721 and CVE-2021-20235.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import GreetingError, MechanismMismatch, ProtocolError

GREETING_SIZE = 64
#: The version we announce: ZMTP 3.1.
VERSION_MAJOR = 3
VERSION_MINOR = 1

_MECHANISM_SIZE = 20
# A mechanism is 1-20 characters from this set, then NUL padding (RFC 23/37).
_MECHANISM = re.compile(rb"[A-Z0-9_.+-]{1,20}\x00*")

#: Mechanisms whose handshake has a client and a server role (the as-server flag matters).
ROLE_MECHANISMS = frozenset({b"PLAIN", b"CURVE"})


@dataclass(frozen=True, slots=True)
class Greeting:
    """What a peer announced in its greeting."""

    major: int
    minor: int
    mechanism: bytes
    as_server: bool

    @property
    def version(self) -> tuple[int, int]:
        return (self.major, self.minor)


def build_greeting(mechanism: bytes, as_server: bool) -> bytes:
    """Our full greeting: signature, version 3.1, mechanism, as-server, filler."""
    if not _MECHANISM.fullmatch(mechanism) or len(mechanism) > _MECHANISM_SIZE:
        raise ValueError(f"invalid mechanism name {mechanism!r}")
    return b"".join(
        (
            b"\xff" + bytes(8) + b"\x7f",
            bytes((VERSION_MAJOR, VERSION_MINOR)),
            mechanism.ljust(_MECHANISM_SIZE, b"\x00"),
            b"\x01" if as_server else b"\x00",
            bytes(31),
        )
    )


def check_greeting_prefix(data: bytes) -> None:
    """Refuse a legacy or foreign peer as early as its first octets show it.

    ``data`` is what has arrived of the peer's greeting so far (any length).  Following RFC 37's
    detection rules: a first octet other than 0xFF is a ZMTP 1.0 identity frame; an octet 9 with
    its low bit clear is a ZMTP 1.0 long identity frame; a major version below 3 is ZMTP 2.0.
    """
    if len(data) >= 1 and data[0] != 0xFF:
        raise GreetingError(
            "the peer did not send a ZMTP signature (a ZMTP 1.0 peer or not ZMTP at all); "
            "safezmq speaks ZMTP 3.0 and 3.1 only"
        )
    if len(data) >= 10 and data[9] != 0x7F:
        if not data[9] & 0x01:
            raise GreetingError("the peer speaks ZMTP 1.0, which safezmq refuses")
        raise GreetingError(f"invalid ZMTP signature: octet 9 is {data[9]:#04x}, not 0x7f")
    if len(data) >= 11 and data[10] < 3:
        raise GreetingError(
            f"the peer speaks ZMTP 2.0 (version octet {data[10]}), which safezmq refuses; "
            "upgrade the peer to libzmq 4 or later"
        )


def parse_greeting(data: bytes) -> Greeting:
    """Parse the peer's 64-octet greeting (its signature and version already checked)."""
    if len(data) != GREETING_SIZE:
        raise ValueError("a greeting is 64 octets")
    check_greeting_prefix(data)
    raw_mechanism = data[12:32]
    if not _MECHANISM.fullmatch(raw_mechanism):
        raise GreetingError(f"invalid mechanism field {raw_mechanism!r}")
    flag = data[32]
    if flag not in (0, 1):
        raise GreetingError(f"invalid as-server octet {flag:#04x}")
    return Greeting(data[10], data[11], raw_mechanism.rstrip(b"\x00"), bool(flag))


def check_peer_greeting(peer: Greeting, mechanism: bytes, as_server: bool) -> None:
    """Check the peer's mechanism and role against ours (both greetings are now exchanged)."""
    if peer.mechanism != mechanism:
        raise MechanismMismatch(
            f"the peer uses the {peer.mechanism.decode()} mechanism but this socket uses "
            f"{mechanism.decode()}; both ends must be configured with the same mechanism"
        )
    if mechanism in ROLE_MECHANISMS:
        # libzmq 4.3 never sets the as-server octet (it sends 32 zero octets after the
        # mechanism), so a peer that claims "client" proves nothing; two servers is an error.
        if peer.as_server and as_server:
            raise ProtocolError(
                f"both peers are {mechanism.decode()} servers; exactly one end must be the server",
                MechanismMismatch.code,
            )
    elif peer.as_server:
        raise ProtocolError(
            f"the as-server flag must be zero with the {mechanism.decode()} mechanism",
            MechanismMismatch.code,
        )
