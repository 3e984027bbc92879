"""The PLAIN mechanism (RFC 24): a user name and password, in clear text, checked by ZAP.

C:HELLO(username, password)  S:WELCOME | ERROR  C:INITIATE(metadata)  S:READY(metadata) | ERROR
The password travels unencrypted; safezmq's policy allows PLAIN only where that is acceptable.
"""

from __future__ import annotations

from ..constants import ProtocolErrorCode
from .commands import READY, command
from .errors import ProtocolError
from .mechanism import Mechanism, Phase
from .secret import Secret

HELLO = b"HELLO"
WELCOME = b"WELCOME"
INITIATE = b"INITIATE"
#: User names and passwords are short-size strings.
MAX_CREDENTIAL = 255


class PlainClient(Mechanism):
    name = b"PLAIN"
    EXPECT = {"welcome": {WELCOME: "_on_welcome"}, "ready": {READY: "_on_ready"}}
    # libzmq's PLAIN server (4.3.x, plain_common.hpp) spells ERROR as the C literal "\x05ERROR",
    # whose hex escape swallows the "E": its ERROR commands start "^RROR" (0x5E, "RROR").  We
    # accept that form from a PLAIN server so a refusal reads as one, not as a malformed command;
    # we send the correct form.
    ERROR_ALIAS = b"\x5eRROR"

    def __init__(self, username: bytes, password: bytes | Secret) -> None:
        super().__init__(as_server=False)
        secret = password if isinstance(password, Secret) else Secret(password, "password")
        if len(username) > MAX_CREDENTIAL or len(secret) > MAX_CREDENTIAL:
            raise ValueError("PLAIN user names and passwords are at most 255 octets")
        self.username = bytes(username)
        self._password = secret

    def start(self) -> list[bytes]:
        self.step = "welcome"
        password = self._password.reveal()
        return [
            command(
                HELLO,
                bytes((len(self.username),)) + self.username + bytes((len(password),)) + password,
            )
        ]

    def _on_welcome(self, data: bytes) -> list[bytes]:
        if data:
            raise ProtocolError(
                "WELCOME carries unexpected data", ProtocolErrorCode.ZMTP_MALFORMED_COMMAND_WELCOME
            )
        self.step = "ready"
        return [command(INITIATE, self.local_metadata)]

    def _on_ready(self, data: bytes) -> list[bytes]:
        self.peer_metadata = self._parse_metadata(
            data, ProtocolErrorCode.ZMTP_MALFORMED_COMMAND_READY
        )
        self.phase = Phase.DONE
        return []


class PlainServer(Mechanism):
    name = b"PLAIN"
    EXPECT = {"hello": {HELLO: "_on_hello"}, "initiate": {INITIATE: "_on_initiate"}}

    def __init__(self, zap: bool = True) -> None:
        super().__init__(as_server=True)
        #: Without ZAP no password is checked at all; only an explicit opt-in turns it off.
        self.zap = zap

    def start(self) -> list[bytes]:
        self.step = "hello"
        return []

    def _on_hello(self, data: bytes) -> list[bytes]:
        malformed = ProtocolError(
            "malformed PLAIN HELLO", ProtocolErrorCode.ZMTP_MALFORMED_COMMAND_HELLO
        )
        if not data:
            raise malformed
        user_end = 1 + data[0]
        if len(data) < user_end + 1:
            raise malformed
        password_end = user_end + 1 + data[user_end]
        if len(data) != password_end:
            raise malformed
        username = data[1:user_end]
        password = data[user_end + 1 : password_end]
        self.step = "initiate"
        if self.zap:
            self.zap_credentials = (username, password)
            self.phase = Phase.ZAP
            return []
        return [command(WELCOME)]

    def zap_accepted(self) -> list[bytes]:
        self.zap_credentials = ()  # the password is not kept past its use
        self.phase = Phase.HANDSHAKE
        return [command(WELCOME)]

    def _on_initiate(self, data: bytes) -> list[bytes]:
        self.peer_metadata = self._parse_metadata(
            data, ProtocolErrorCode.ZMTP_MALFORMED_COMMAND_INITIATE
        )
        self.phase = Phase.DONE
        return [command(READY, self.local_metadata)]
