"""The NULL mechanism (RFC 37): no authentication, no confidentiality; a READY each way.

The side that binds is the server for ZAP purposes.  With ZAP, the server reads the client's
READY, asks the handler, and only then sends its own READY (or an ERROR).
"""

from __future__ import annotations

from ..constants import ProtocolErrorCode
from .commands import READY, command
from .mechanism import Mechanism, Phase


class NullMechanism(Mechanism):
    name = b"NULL"
    EXPECT = {"ready": {READY: "_on_ready"}}

    def __init__(self, as_server: bool = False, zap: bool = False) -> None:
        super().__init__(as_server)
        #: Ask a ZAP handler about each client (server only; address filtering).
        self.zap = zap and as_server

    @property
    def greeting_as_server(self) -> bool:
        return False  # RFC 37: the as-server field MUST be zero with NULL

    @property
    def may_send_error(self) -> bool:
        return True  # NULL has no roles: either side may explain a refusal

    def start(self) -> list[bytes]:
        self.step = "ready"
        if self.zap:
            return []  # our READY waits for the ZAP decision
        return [command(READY, self.local_metadata)]

    def _on_ready(self, data: bytes) -> list[bytes]:
        self.peer_metadata = self._parse_metadata(
            data, ProtocolErrorCode.ZMTP_MALFORMED_COMMAND_READY
        )
        self.step = ""
        if self.zap:
            self.phase = Phase.ZAP
            return []
        self.phase = Phase.DONE
        return []

    def zap_accepted(self) -> list[bytes]:
        self.phase = Phase.DONE
        return [command(READY, self.local_metadata)]
