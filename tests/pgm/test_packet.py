"""PGM packet codecs: libzmq's packets byte for byte, checksums, and hostile bytes."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safezmq.pgm import packet as pgm
from safezmq.pgm import seq

VECTORS = json.loads((Path(__file__).parent / "libzmq_vectors.json").read_text())
FAST = settings(max_examples=300, deadline=None)


def vector(name: str) -> bytes:
    return bytes.fromhex(VECTORS[name]["hex"])


def reference_checksum(data: bytes) -> int:
    """RFC 1071, word by word, with OpenPGM's "0 is sent as 0xffff"."""
    if len(data) % 2:
        data += b"\x00"
    total = 0
    for (word,) in struct.iter_unpack("!H", data):
        total += word
        total = (total & 0xFFFF) + (total >> 16)
    return 0xFFFF if total == 0xFFFF else ~total & 0xFFFF


# -- libzmq's packets -----------------------------------------------------------------------


def test_libzmq_spm_parses_and_reencodes_identically() -> None:
    spm = pgm.parse_packet(vector("spm_start"))
    assert spm == pgm.Spm(
        gsi=bytes.fromhex("b7c6d1bc038a"),
        sport=0x935F,
        dport=5555,
        sqn=0,
        trail=0,
        lead=0xFFFFFFFF,
        nla="10.77.0.1",
    )
    again = pgm.encode_spm(spm.gsi, spm.sport, spm.dport, spm.sqn, spm.trail, spm.lead, spm.nla)
    assert again == vector("spm_start")


def test_libzmq_fin_spm() -> None:
    spm = pgm.parse_packet(vector("spm_fin"))
    assert isinstance(spm, pgm.Spm) and spm.fin and spm.sqn == 9
    again = pgm.encode_spm(
        spm.gsi, spm.sport, spm.dport, spm.sqn, spm.trail, spm.lead, spm.nla, fin=True
    )
    assert again == vector("spm_fin")


def test_libzmq_odata_and_rdata() -> None:
    odata = pgm.parse_packet(vector("odata"))
    assert isinstance(odata, pgm.Data) and not odata.repair
    assert (odata.sqn, odata.trail, odata.fragment) == (0, 0, None)
    again = pgm.encode_data(
        odata.gsi, odata.sport, odata.dport, odata.sqn, odata.trail, odata.payload
    )
    assert again == vector("odata")
    rdata = pgm.parse_packet(vector("rdata"))
    assert isinstance(rdata, pgm.Data) and rdata.repair and rdata.sqn == 3
    assert len(rdata.payload) == 1452 - 24
    assert pgm.encode_data(
        rdata.gsi, rdata.sport, rdata.dport, rdata.sqn, rdata.trail, rdata.payload, repair=True
    ) == vector("rdata")


def test_libzmq_ncf_and_the_nak_it_answered() -> None:
    ncf = pgm.parse_packet(vector("ncf"))
    nak = pgm.parse_packet(vector("nak"))
    assert isinstance(ncf, pgm.Nak) and ncf.kind == pgm.NCF
    assert isinstance(nak, pgm.Nak) and nak.kind == pgm.NAK
    assert ncf.sqns == nak.sqns == (3,)
    assert ncf.source_nla == nak.source_nla == "10.77.0.2"
    assert ncf.group_nla == nak.group_nla == "239.192.7.1"
    # Upstream, the ports are swapped: the NAK goes from the data port to the source's port.
    assert (nak.sport, nak.dport) == (ncf.dport, ncf.sport)
    assert pgm.encode_nak(
        pgm.NCF, ncf.gsi, ncf.sport, ncf.dport, ncf.sqns, "10.77.0.2", "239.192.7.1"
    ) == vector("ncf")


# -- round trips ----------------------------------------------------------------------------

GSI = b"\x01\x02\x03\x04\x05\x06"


@pytest.mark.parametrize("count", [1, 2, 62, 63])
@pytest.mark.parametrize("kind", [pgm.NAK, pgm.NCF, pgm.NNAK])
def test_nak_lists_round_trip(kind: int, count: int) -> None:
    sqns = tuple((0xFFFFFFF0 + i) & seq.MASK for i in range(count))  # across the wrap
    data = pgm.encode_nak(kind, GSI, 7000, 5555, sqns, "192.0.2.1", "239.1.2.3")
    assert pgm.parse_packet(data) == pgm.Nak(kind, GSI, 7000, 5555, sqns, "192.0.2.1", "239.1.2.3")


def test_nak_list_limits() -> None:
    with pytest.raises(ValueError):
        pgm.encode_nak(pgm.NAK, GSI, 1, 2, list(range(64)), "192.0.2.1", "239.1.2.3")
    with pytest.raises(ValueError):
        pgm.encode_nak(pgm.NAK, GSI, 1, 2, [], "192.0.2.1", "239.1.2.3")
    # An option's length is one octet: OPT_NAK_LIST holds 62 at most by construction; a
    # length that does not fall on a sequence number is malformed.
    data = pgm.encode_nak(pgm.NAK, GSI, 1, 2, list(range(3)), "192.0.2.1", "239.1.2.3")
    options_at = len(data) - 4 - 12
    broken = bytearray(data)
    broken[options_at + 5] -= 1  # the NAK list option one octet shorter...
    broken[options_at + 3] -= 1  # ...and OPT_LENGTH's total with it
    with pytest.raises(pgm.PgmError, match="OPT_NAK_LIST"):
        pgm.parse_packet(reseal(broken[:-1]))


def test_spmr_and_ipv6_nla() -> None:
    assert pgm.parse_packet(pgm.encode_spmr(GSI, 5555, 7000)) == pgm.Spmr(GSI, 5555, 7000)
    spm = pgm.encode_spm(GSI, 7000, 5555, 1, 2, 3, "2001:db8::1")
    assert pgm.parse_packet(spm) == pgm.Spm(GSI, 7000, 5555, 1, 2, 3, "2001:db8::1")


# -- checksums --------------------------------------------------------------------------------


@FAST
@given(st.binary(max_size=3000))
def test_checksum_is_rfc1071(data: bytes) -> None:
    assert pgm.checksum(data) == reference_checksum(data)
    assert pgm.checksum(data) != 0  # 0 means "no checksum"


def test_a_changed_octet_breaks_the_checksum() -> None:
    good = vector("odata")
    for position in range(len(good)):
        if 6 <= position < 8:
            continue
        bad = bytearray(good)
        bad[position] ^= 0x5A
        with pytest.raises(pgm.PgmError):
            pgm.parse_packet(bytes(bad))


def test_data_needs_a_checksum_other_packets_may_omit_it() -> None:
    data = bytearray(vector("odata"))
    data[6:8] = b"\x00\x00"
    with pytest.raises(pgm.PgmError, match="without a checksum"):
        pgm.parse_packet(bytes(data))
    spm = bytearray(vector("spm_start"))
    spm[6:8] = b"\x00\x00"
    assert isinstance(pgm.parse_packet(bytes(spm)), pgm.Spm)


# -- hostile bytes ----------------------------------------------------------------------------


def reseal(data: bytes | bytearray) -> bytes:
    """``data`` with a correct checksum (so that the parser looks past it)."""
    raw = bytearray(data)
    raw[6:8] = b"\x00\x00"
    raw[6:8] = struct.pack("!H", pgm.checksum(raw))
    return bytes(raw)


def parse_or_error(data: bytes) -> pgm.Packet | None:
    try:
        return pgm.parse_packet(data)
    except pgm.PgmError:
        return None


@FAST
@given(st.binary(max_size=200))
def test_any_bytes_parse_or_pgm_error(data: bytes) -> None:
    parse_or_error(data)
    parse_or_error(reseal(data.ljust(16, b"\x00")))


@FAST
@given(
    kind=st.sampled_from([0x00, 0x01, 0x02, 0x04, 0x05, 0x08, 0x09, 0x0A, 0x0C, 0x0D, 0xFF]),
    options=st.integers(0, 255),
    tsdu_length=st.integers(0, 0xFFFF),
    body=st.binary(max_size=120),
)
def test_well_formed_headers_with_any_body(
    kind: int, options: int, tsdu_length: int, body: bytes
) -> None:
    header = pgm.HEADER.pack(1, 2, kind, options, 0, GSI, tsdu_length)
    parse_or_error(reseal(header + body))


@pytest.mark.parametrize(
    ("mutate", "says"),
    [
        (lambda d: d[:15], "shorter than a PGM header"),
        (lambda d: reseal(d[:-1]), "TSDU length"),
        (lambda d: reseal(d + b"x"), "TSDU length"),
        (lambda d: reseal(d[:16] + b"\x00\x00\x00\x05\x00\x00\x00\x10" + d[24:]), "trailing edge"),
        (lambda d: reseal(d[:4] + b"\x0d" + d[5:]), "unsupported packet type ACK"),
        (lambda d: reseal(d[:4] + b"\x77" + d[5:]), "unsupported packet type"),
    ],
)
def test_malformed_data_packets(mutate: object, says: str) -> None:
    with pytest.raises(pgm.PgmError, match=says):
        pgm.parse_packet(mutate(vector("odata")))  # type: ignore[operator]


def options_packet(options: bytes, total: int | None = None) -> bytes:
    """An SPM carrying ``options`` after OPT_LENGTH."""
    spm = bytearray(vector("spm_start"))
    spm[5] = pgm.OPT_PRESENT
    length = 4 + len(options) if total is None else total
    return reseal(bytes(spm) + bytes([pgm.OPT_LENGTH, 4]) + struct.pack("!H", length) + options)


@pytest.mark.parametrize(
    ("options", "total", "says"),
    [
        (b"", 0, "does not fit"),
        (b"", 200, "does not fit"),
        (bytes([pgm.OPT_FIN | pgm.OPT_END, 0, 0, 0]), None, "option length 0"),
        (bytes([pgm.OPT_FIN | pgm.OPT_END, 40, 0, 0]), None, "does not fit the options"),
        (bytes([pgm.OPT_FIN, 4, 0, 0]) * 17, None, "more than 16 options"),
        (bytes([pgm.OPT_FIN | pgm.OPT_END, 4, 0, 0, 9, 9, 9, 9]), None, "do not end"),
        (bytes([pgm.OPT_FRAGMENT | pgm.OPT_END, 5, 0, 0, 0]), None, "OPT_FRAGMENT"),
    ],
)
def test_options_are_bounded(options: bytes, total: int | None, says: str) -> None:
    with pytest.raises(pgm.PgmError, match=says):
        pgm.parse_packet(options_packet(options, total))


def test_options_must_start_with_opt_length() -> None:
    spm = bytearray(vector("spm_start"))
    spm[5] = pgm.OPT_PRESENT
    with pytest.raises(pgm.PgmError, match="OPT_LENGTH"):
        pgm.parse_packet(reseal(bytes(spm) + bytes([pgm.OPT_FIN | pgm.OPT_END, 4, 0, 0])))


def test_fragment_option() -> None:
    payload = b"\x00\x00abc"
    header = pgm.HEADER.pack(1, 5555, pgm.ODATA, pgm.OPT_PRESENT, 0, GSI, len(payload))
    fragment = struct.pack("!xIII", 7, 0, 100)
    options = bytes([0, 4]) + struct.pack("!H", 4 + 16)
    options += bytes([pgm.OPT_FRAGMENT | pgm.OPT_END, 16, 0]) + fragment
    data = pgm.parse_packet(reseal(header + struct.pack("!II", 8, 0) + options + payload))
    assert isinstance(data, pgm.Data) and data.fragment == (7, 0, 100)
    assert data.payload == payload
    # An APDU shorter than its own fragment, or starting after it, is malformed.
    for first, apdu in ((7, 2), (9, 100)):
        fragment = struct.pack("!xIII", first, 0, apdu)
        options = bytes([0, 4]) + struct.pack("!H", 20)
        options += bytes([pgm.OPT_FRAGMENT | pgm.OPT_END, 16, 0]) + fragment
        with pytest.raises(pgm.PgmError, match="OPT_FRAGMENT"):
            pgm.parse_packet(reseal(header + struct.pack("!II", 8, 0) + options + payload))


# -- raw IP (pgm://) --------------------------------------------------------------------------


def ip_packet(payload: bytes, protocol: int = 113, fragment: int = 0, ihl: int = 5) -> bytes:
    header = struct.pack(
        "!BBHHHBBH4s4s",
        0x40 | ihl,
        0,
        ihl * 4 + len(payload),
        1,
        fragment,
        1,
        protocol,
        0,
        bytes([192, 0, 2, 1]),
        bytes([239, 1, 2, 3]),
    )
    return header + b"\x94\x04\x00\x00" * (ihl - 5) + payload


def test_parse_ip() -> None:
    odata = vector("odata")
    assert pgm.parse_ip(ip_packet(odata)) == ("192.0.2.1", "239.1.2.3", odata)
    assert pgm.parse_ip(ip_packet(odata, ihl=6))[2] == odata  # with a router alert option
    for bad, says in (
        (ip_packet(odata, protocol=17), "not a PGM packet"),
        (ip_packet(odata, fragment=0x2001), "fragment"),
        (b"\x45" + bytes(10), "shorter"),
        (b"\x65" + bytes(30), "not IPv4"),
        (b"\x4f" + bytes(30), "header length"),
    ):
        with pytest.raises(pgm.PgmError, match=says):
            pgm.parse_ip(bad)


@FAST
@given(st.binary(max_size=100))
def test_parse_ip_any_bytes(data: bytes) -> None:
    try:
        pgm.parse_ip(data)
    except pgm.PgmError:
        pass


# -- sequence numbers -------------------------------------------------------------------------


def test_sequence_arithmetic_wraps() -> None:
    top = seq.MASK
    assert seq.lt(top, 0) and seq.gt(0, top) and seq.add(top, 1) == 0
    assert seq.diff(0, top) == 1 and seq.diff(top, 0) == -1
    assert seq.lte(5, 5) and seq.gte(5, 5) and not seq.lt(5, 5)
    assert seq.lt(0, seq.HALF - 1) and seq.gt(0, seq.HALF + 1)  # beyond half: behind
