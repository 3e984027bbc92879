"""Every bound and timer of safezmq's PGM, each a named value with its reason.

Multicast input is unauthenticated: anyone on the segment can send a PGM packet claiming any
source, any sequence number, any NAK.  These bounds make sure that what such a packet can cost
is fixed in advance (memory, packets sent in answer, work per packet) whatever it says.
"""

from __future__ import annotations

#: Sources one receiver tracks at once (each has a receive window and a decoder).  A flood of
#: made-up source ids evicts only sources that never delivered a message, and is otherwise
#: refused: a source that is delivering is never pushed out by strangers.
MAX_SOURCES = 64

#: Octets of out-of-order packets one receiver holds, all sources together, while it waits for
#: repairs.  Beyond it a packet that would have to wait is dropped (and repaired or lost later).
MAX_HELD_BYTES = 64 * 1024 * 1024

#: Upper bound of a receive window in packets, whatever RATE x RECOVERY_IVL asks for.
MAX_WINDOW_SQNS = 1 << 20

#: libzmq's receiver settings (src/pgm_socket.cpp), used as they are for compatibility:
#: random back-off before a NAK, wait for its NCF, wait for the repair after the NCF.
NAK_BO_IVL = 0.050
NAK_RPT_IVL = 0.200
NAK_RDATA_IVL = 0.200
#: Retries of each wait before the packet is declared lost.
NAK_NCF_RETRIES = 50
NAK_DATA_RETRIES = 50
#: A source silent this long is forgotten (libzmq: 300 s).
PEER_EXPIRY = 300.0
#: A receiver that has data from a source but no SPM asks for one this soon (libzmq: 25 ms),
#: and again at most this often.
SPMR_EXPIRY = 0.025
SPMR_INTERVAL = 1.0

#: SPM heartbeats after data (libzmq's PGM_HEARTBEAT_SPM), then one every AMBIENT_SPM.
HEARTBEAT_SPM = (0.1, 0.1, 0.1, 0.1, 1.3, 7.0, 16.0, 25.0, 30.0)
AMBIENT_SPM = 30.0
#: An SPM request is answered at most this often (RFC 3208 13.4: once per IHB_MIN).
SPMR_ANSWER_IVL = 0.05
#: The same sequence number is repaired at most once in this interval, however many NAKs ask.
REPAIR_SUPPRESS_IVL = 0.05
#: Repairs (RDATA) and confirmations (NCF) come out of their own token bucket at RATE: a NAK
#: storm cannot make a source send more than its configured rate on the group.
#: Packets one poll may emit, so that one busy source cannot hold the event loop.
MAX_PACKETS_PER_POLL = 256
#: Token buckets hold this many seconds of RATE (a burst), and at least one packet.
RATE_BURST = 0.1

#: An NCF for NAKs carries at most 63 sequence numbers.
MAX_NCF_SQNS = 63
