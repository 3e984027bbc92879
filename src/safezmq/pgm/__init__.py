"""PGM (RFC 3208) as libzmq speaks it over ``pgm://`` and ``epgm://``, without I/O.

Packets in, packets and messages out; time is passed in.  ``packet`` parses and builds the
packets (with checksums), ``seq`` is sequence arithmetic modulo 2**32, ``framing`` is libzmq's
layout of ZeroMQ messages in PGM data (the v1 frame encoding behind a 16-bit message offset),
``source`` the sending side (transmit window, SPMs, NCF and repairs), ``receiver`` the receiving
side (receive windows, reordering, NAKs with back-off, losses) and ``limits`` every bound.
``safezmq.engine.pgm_session`` does the I/O.

PGM has no confidentiality and no integrity: anyone who can reach the group reads every message
and can inject packets.  safezmq refuses it unless the policy allows it (``allow_multicast``),
and bounds what hostile packets can cost; see docs/security.md.
"""

from __future__ import annotations

from .framing import ApduDecoder, ApduEncoder
from .packet import Data, Nak, PgmError, Spm, Spmr, parse_ip, parse_packet
from .receiver import Loss, Receiver
from .source import Source

__all__ = [
    "ApduDecoder",
    "ApduEncoder",
    "Data",
    "Loss",
    "Nak",
    "PgmError",
    "Receiver",
    "Source",
    "Spm",
    "Spmr",
    "parse_ip",
    "parse_packet",
]
