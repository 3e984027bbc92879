"""PGM packets (RFC 3208 section 8 and 9), as OpenPGM and therefore libzmq put them on the wire.

Every packet starts with a 16-octet header::

    source port (16) | destination port (16) | type (8) | options (8) | checksum (16)
    global source id (48)                    | TSDU length (16)

then a type-specific part (SPM, ODATA/RDATA, NAK/NCF/N-NAK, SPMR) and, when the header's
OPT_PRESENT bit is set, option extensions (the first is always OPT_LENGTH, giving their total
length).  The checksum is the Internet checksum (RFC 1071) of the whole PGM packet with the
checksum field zero, with OpenPGM's rule that a result of 0 is sent as 0xffff (0 means "no
checksum", allowed for every type but ODATA and RDATA).

``parse_packet`` accepts any bytes and returns one of the frozen packet classes below or raises
``PgmError``: every length is checked against what is actually there before it is used, options
are bounded (at most ``MAX_OPTIONS``, each inside the packet), and nothing is allocated from a
declared size.  For ``pgm://`` (raw IP) ``parse_ip`` first strips and checks the IPv4 header.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

from . import seq

SPM = 0x00
POLL = 0x01
POLR = 0x02
ODATA = 0x04
RDATA = 0x05
NAK = 0x08
NNAK = 0x09
NCF = 0x0A
SPMR = 0x0C
ACK = 0x0D

TYPE_NAMES = {
    SPM: "SPM",
    POLL: "POLL",
    POLR: "POLR",
    ODATA: "ODATA",
    RDATA: "RDATA",
    NAK: "NAK",
    NNAK: "NNAK",
    NCF: "NCF",
    SPMR: "SPMR",
    ACK: "ACK",
}

# Header option bits.
OPT_PRESENT = 0x01
OPT_NETWORK = 0x02
OPT_VAR_PKTLEN = 0x40
OPT_PARITY = 0x80

# Option types (the high bit of an option's type marks the last option).
OPT_LENGTH = 0x00
OPT_FRAGMENT = 0x01
OPT_NAK_LIST = 0x02
OPT_JOIN = 0x03
OPT_SYN = 0x0D
OPT_FIN = 0x0E
OPT_RST = 0x0F
OPT_END = 0x80
OPT_MASK = 0x7F

AFI_IP = 1
AFI_IP6 = 2

HEADER = struct.Struct("!HHBBH6sH")
HEADER_SIZE = HEADER.size  # 16
_SPM = struct.Struct("!IIIHH")  # sqn, trail, lead, nla afi, reserved (then the NLA)
_DATA = struct.Struct("!II")  # sqn, trail
_DATA_SIZE = _DATA.size
_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_FRAGMENT = struct.Struct("!xIII")  # reserved, first sqn, offset, APDU length

#: RFC 3208 section 9: "at most 16 options" in one packet.
MAX_OPTIONS = 16
#: OPT_NAK_LIST carries at most 62 sequence numbers (plus the one in the NAK itself).
MAX_NAK_LIST = 62
#: Octets of ODATA/RDATA header before the payload: PGM header + sequence and trail.
DATA_HEADER_SIZE = HEADER_SIZE + _DATA_SIZE  # 24
#: OpenPGM's limit on an APDU (MS08-036): a fragmented APDU longer than this is malformed.
MAX_APDU = 0xFFFF


class PgmError(ValueError):
    """Bytes that are not a well-formed PGM packet (dropped and counted, never fatal)."""


@dataclass(frozen=True, slots=True)
class Spm:
    """Source Path Message: the source's window edges and its unicast address (for NAKs)."""

    gsi: bytes
    sport: int
    dport: int
    sqn: int
    trail: int
    lead: int
    nla: str
    fin: bool = False


@dataclass(frozen=True, slots=True)
class Data:
    """ODATA (original) or RDATA (repair) carrying one TSDU."""

    gsi: bytes
    sport: int
    dport: int
    sqn: int
    trail: int
    payload: bytes
    repair: bool = False
    #: OPT_FRAGMENT: (first sequence number of the APDU, offset, APDU length), if present.
    fragment: tuple[int, int, int] | None = None


@dataclass(frozen=True, slots=True)
class Nak:
    """NAK (receiver to source, unicast), NCF (source's confirmation, multicast) or N-NAK."""

    kind: int  # NAK, NCF or NNAK
    gsi: bytes
    sport: int
    dport: int
    sqns: tuple[int, ...]
    source_nla: str
    group_nla: str
    parity: bool = False


@dataclass(frozen=True, slots=True)
class Spmr:
    """SPM request: a receiver asks a source for an SPM (to learn its address)."""

    gsi: bytes
    sport: int
    dport: int


Packet = Spm | Data | Nak | Spmr


# -- checksum -------------------------------------------------------------------------------------


def ones_complement_sum(data: bytes | bytearray | memoryview) -> int:
    """The folded 16-bit one's complement sum of ``data`` (RFC 1071), in 0..0xffff.

    Summing 16-bit words modulo 0xffff equals reading the whole buffer as one big-endian
    integer modulo 0xffff (2**16 is 1 modulo 0xffff), which Python does in C."""
    raw = bytes(data)
    if len(raw) & 1:
        raw += b"\x00"
    value = int.from_bytes(raw, "big")
    if value == 0:
        return 0
    folded = value % 0xFFFF
    return folded if folded else 0xFFFF


def checksum(data: bytes | bytearray | memoryview) -> int:
    """OpenPGM's checksum of a packet whose checksum field is zero (never 0: 0 means none)."""
    folded = ones_complement_sum(data)
    return 0xFFFF if folded == 0xFFFF else ~folded & 0xFFFF


def _seal(packet: bytearray) -> bytes:
    packet[6:8] = b"\x00\x00"
    packet[6:8] = _U16.pack(checksum(packet))
    return bytes(packet)


# -- addresses ------------------------------------------------------------------------------------


def _nla(afi: int, raw: bytes) -> str:
    if afi == AFI_IP:
        return str(ipaddress.IPv4Address(raw))
    return str(ipaddress.IPv6Address(raw))


def _nla_size(data: bytes, at: int, what: str) -> tuple[int, int]:
    """(AFI, address length) of the NLA whose AFI is at ``at``."""
    if at + 4 > len(data):
        raise PgmError(f"truncated {what}")
    afi = _U16.unpack_from(data, at)[0]
    if afi == AFI_IP:
        return afi, 4
    if afi == AFI_IP6:
        return afi, 16
    raise PgmError(f"{what}: unknown address family {afi}")


def encode_nla(address: str) -> bytes:
    """AFI, reserved and address octets of an NLA."""
    ip = ipaddress.ip_address(address)
    afi = AFI_IP if ip.version == 4 else AFI_IP6
    return _U16.pack(afi) + b"\x00\x00" + ip.packed


# -- options --------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Options:
    nak_list: tuple[int, ...] = ()
    fragment: tuple[int, int, int] | None = None
    fin: bool = False
    total: int = 0


def _parse_options(data: bytes, at: int) -> _Options:
    """The option extensions starting at ``at`` (OPT_LENGTH first)."""
    if at + 4 > len(data):
        raise PgmError("truncated option header")
    kind, length, total = data[at], data[at + 1], _U16.unpack_from(data, at + 2)[0]
    if kind != OPT_LENGTH or length != 4:
        raise PgmError("options must start with OPT_LENGTH")
    if total < 4 or at + total > len(data):
        raise PgmError(f"option total length {total} does not fit the packet")
    found = _Options(total=total)
    end = at + total
    pos = at + 4
    count = 0
    while pos < end:
        count += 1
        if count > MAX_OPTIONS:
            raise PgmError(f"more than {MAX_OPTIONS} options")
        if pos + 3 > end:
            raise PgmError("truncated option")
        kind, length = data[pos], data[pos + 1]
        if length < 3 or pos + length > end:
            raise PgmError(f"option length {length} does not fit the options")
        body = data[pos + 3 : pos + length]
        option = kind & OPT_MASK
        if option == OPT_NAK_LIST:
            # A reserved octet, then sequence numbers.
            if len(body) < 1 or (len(body) - 1) % 4:
                raise PgmError("malformed OPT_NAK_LIST")
            count_sqns = (len(body) - 1) // 4
            if count_sqns > MAX_NAK_LIST:
                raise PgmError(f"OPT_NAK_LIST with {count_sqns} entries (at most {MAX_NAK_LIST})")
            found.nak_list = struct.unpack_from(f"!{count_sqns}I", body, 1)
        elif option == OPT_FRAGMENT:
            if len(body) != _FRAGMENT.size:
                raise PgmError("malformed OPT_FRAGMENT")
            found.fragment = _FRAGMENT.unpack(body)
        elif option == OPT_FIN:
            found.fin = True
        pos += length
        if kind & OPT_END:
            break
    if pos != end:
        raise PgmError("options do not end where OPT_LENGTH says")
    return found


# -- parsing --------------------------------------------------------------------------------------


def parse_packet(data: bytes | bytearray | memoryview) -> Packet:
    """One PGM packet (the payload of a UDP datagram, or of an IP packet after ``parse_ip``)."""
    raw = bytes(data)
    if len(raw) < HEADER_SIZE:
        raise PgmError(f"{len(raw)} octets is shorter than a PGM header")
    sport, dport, kind, options, sent_sum, gsi, tsdu_length = HEADER.unpack_from(raw)
    if sent_sum:
        zeroed = bytearray(raw)
        zeroed[6:8] = b"\x00\x00"
        if checksum(zeroed) != sent_sum:
            raise PgmError("checksum mismatch")
    elif kind in (ODATA, RDATA):
        raise PgmError("ODATA/RDATA without a checksum")
    body = HEADER_SIZE
    present = bool(options & OPT_PRESENT)
    if kind == SPM:
        if body + _SPM.size > len(raw):
            raise PgmError("truncated SPM")
        sqn, trail, lead, _afi, _ = _SPM.unpack_from(raw, body)
        afi, size = _nla_size(raw, body + 12, "SPM")
        start = body + _SPM.size
        if start + size > len(raw):
            raise PgmError("truncated SPM address")
        nla = _nla(afi, raw[start : start + size])
        fin = _parse_options(raw, start + size).fin if present else False
        return Spm(gsi, sport, dport, sqn, trail, lead, nla, fin)
    if kind in (ODATA, RDATA):
        if body + _DATA_SIZE > len(raw):
            raise PgmError("truncated data packet")
        sqn, trail = _DATA.unpack_from(raw, body)
        start = body + _DATA_SIZE
        fragment = None
        if present:
            found = _parse_options(raw, start)
            start += found.total
            fragment = found.fragment
        if len(raw) - start != tsdu_length:
            raise PgmError(
                f"TSDU length {tsdu_length} does not match the {len(raw) - start} octets carried"
            )
        if seq.lt(sqn, trail):
            raise PgmError("trailing edge is not behind the sequence number")
        if fragment is not None:
            first, _offset, apdu_length = fragment
            if apdu_length < tsdu_length or apdu_length > MAX_APDU:
                raise PgmError("malformed OPT_FRAGMENT")
            if seq.lt(sqn, first):
                raise PgmError("OPT_FRAGMENT starts after its own packet")
            if apdu_length == tsdu_length:
                fragment = None  # a one-fragment APDU is a plain TSDU
        return Data(gsi, sport, dport, sqn, trail, raw[start:], kind == RDATA, fragment)
    if kind in (NAK, NNAK, NCF):
        if body + 4 > len(raw):
            raise PgmError("truncated NAK")
        sqn = _U32.unpack_from(raw, body)[0]
        afi, size = _nla_size(raw, body + 4, "NAK source address")
        at = body + 8
        if at + size > len(raw):
            raise PgmError("truncated NAK source address")
        source = _nla(afi, raw[at : at + size])
        at += size
        afi, size = _nla_size(raw, at, "NAK group address")
        at += 4
        if at + size > len(raw):
            raise PgmError("truncated NAK group address")
        group = _nla(afi, raw[at : at + size])
        at += size
        sqns: tuple[int, ...] = (sqn,)
        if present:
            sqns += _parse_options(raw, at).nak_list
        return Nak(kind, gsi, sport, dport, sqns, source, group, bool(options & OPT_PARITY))
    if kind == SPMR:
        if present:
            _parse_options(raw, body)
        return Spmr(gsi, sport, dport)
    name = TYPE_NAMES.get(kind)
    raise PgmError(f"unsupported packet type {name or hex(kind)}")


#: IPv4 header fields parse_ip needs: version/IHL, total length, fragment, protocol, addresses.
_IPV4 = struct.Struct("!BxHxxHxB2x4s4s")
IPPROTO_PGM = 113


def parse_ip(data: bytes | bytearray | memoryview) -> tuple[str, str, bytes]:
    """(source, destination, PGM packet) of an IPv4 packet read from a raw socket."""
    raw = bytes(data)
    if len(raw) < _IPV4.size:
        raise PgmError("shorter than an IPv4 header")
    vihl, total, fragment, protocol, src, dst = _IPV4.unpack_from(raw)
    if vihl >> 4 != 4:
        raise PgmError("not IPv4")
    ihl = (vihl & 0x0F) * 4
    if ihl < 20 or ihl > len(raw):
        raise PgmError("bad IPv4 header length")
    if protocol != IPPROTO_PGM:
        raise PgmError("not a PGM packet")
    if fragment & 0x1FFF:
        raise PgmError("IP fragment")
    # Linux hands raw sockets the total length as sent; some stacks subtract the header.
    if total == len(raw) - ihl:
        total += ihl
    if total > len(raw) or total < ihl:
        raise PgmError("IPv4 total length does not match the packet")
    return (
        str(ipaddress.IPv4Address(src)),
        str(ipaddress.IPv4Address(dst)),
        raw[ihl:total],
    )


# -- encoding -------------------------------------------------------------------------------------


def _header(
    gsi: bytes, sport: int, dport: int, kind: int, options: int, tsdu_length: int = 0
) -> bytearray:
    return bytearray(HEADER.pack(sport, dport, kind, options, 0, gsi, tsdu_length))


def encode_spm(
    gsi: bytes,
    sport: int,
    dport: int,
    sqn: int,
    trail: int,
    lead: int,
    nla: str,
    *,
    fin: bool = False,
) -> bytes:
    packet = _header(gsi, sport, dport, SPM, OPT_PRESENT if fin else 0)
    packet += struct.pack("!III", sqn & 0xFFFFFFFF, trail & 0xFFFFFFFF, lead & 0xFFFFFFFF)
    packet += encode_nla(nla)
    if fin:
        # OPT_LENGTH (total 8), then OPT_FIN marked as the last option (what OpenPGM sends
        # when a source closes).
        packet += bytes([OPT_LENGTH, 4]) + _U16.pack(8) + bytes([OPT_FIN | OPT_END, 4, 0, 0])
    return _seal(packet)


def encode_data(
    gsi: bytes,
    sport: int,
    dport: int,
    sqn: int,
    trail: int,
    payload: bytes | bytearray | memoryview,
    *,
    repair: bool = False,
) -> bytes:
    packet = _header(gsi, sport, dport, RDATA if repair else ODATA, 0, len(payload))
    packet += _DATA.pack(sqn & 0xFFFFFFFF, trail & 0xFFFFFFFF)
    packet += payload
    return _seal(packet)


def encode_nak(
    kind: int,
    gsi: bytes,
    sport: int,
    dport: int,
    sqns: tuple[int, ...] | list[int],
    source_nla: str,
    group_nla: str,
) -> bytes:
    """A NAK, NCF or N-NAK for up to 63 sequence numbers (OPT_NAK_LIST beyond the first)."""
    if not 1 <= len(sqns) <= MAX_NAK_LIST + 1:
        raise ValueError(f"a NAK carries 1 to {MAX_NAK_LIST + 1} sequence numbers")
    extra = list(sqns[1:])
    options = OPT_PRESENT | OPT_NETWORK if extra else 0
    packet = _header(gsi, sport, dport, kind, options)
    packet += _U32.pack(sqns[0] & 0xFFFFFFFF)
    packet += encode_nla(source_nla) + encode_nla(group_nla)
    if extra:
        option_length = 3 + 1 + 4 * len(extra)
        packet += bytes([OPT_LENGTH, 4]) + _U16.pack(4 + option_length)
        packet += bytes([OPT_NAK_LIST | OPT_END, option_length, 0, 0])
        packet += struct.pack(f"!{len(extra)}I", *(s & 0xFFFFFFFF for s in extra))
    return _seal(packet)


def encode_spmr(gsi: bytes, sport: int, dport: int) -> bytes:
    return _seal(_header(gsi, sport, dport, SPMR, 0))
