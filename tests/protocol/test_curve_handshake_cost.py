"""A CURVE handshake does each Curve25519 key agreement once: HELLO and WELCOME share theirs."""

from __future__ import annotations

from collections import Counter
from typing import Any

import nacl.bindings
import pytest

from safezmq.protocol.connection import Connection
from safezmq.protocol.curve import CookieKeyring, CurveClient, CurveServer

#: The calls that each cost a variable-base scalar multiplication (crypto_box and
#: crypto_box_open compute crypto_box_beforenm inside).
SCALAR_MULTS = ("crypto_box_beforenm", "crypto_box", "crypto_box_open")


def test_each_side_does_three_key_agreements(monkeypatch: pytest.MonkeyPatch) -> None:
    server_public, server_secret = nacl.bindings.crypto_box_keypair()
    client_public, client_secret = nacl.bindings.crypto_box_keypair()
    # A client checks a server key once (it is cached) for all its connections to it: a first
    # client does that here, and what follows counts what every handshake costs.
    CurveClient(server_public, client_secret, client_public)
    calls: Counter[tuple[str, str]] = Counter()
    side = ["client"]
    for name in SCALAR_MULTS:
        real = getattr(nacl.bindings, name)

        def counting(*args: Any, _real: Any = real, _name: str = name) -> Any:
            calls[side[0], _name] += 1
            return _real(*args)

        monkeypatch.setattr(nacl.bindings, name, counting)
    client = Connection(
        CurveClient(server_public, client_secret, client_public), socket_type=b"DEALER"
    )
    side[0] = "server"
    server = Connection(
        CurveServer(server_secret, server_public, zap=False, keyring=CookieKeyring()),
        socket_type=b"ROUTER",
    )
    for _ in range(10):
        side[0] = "client"
        to_server = b"".join(bytes(x) for x in client.data_to_send())
        side[0] = "server"
        to_client = b"".join(bytes(x) for x in server.data_to_send())
        if not to_server and not to_client:
            break
        if to_server:
            side[0] = "server"
            server.receive_data(to_server)
        if to_client:
            side[0] = "client"
            client.receive_data(to_client)
    assert server.handshake_complete and client.handshake_complete
    per_side: Counter[str] = Counter()
    for (who, _), n in calls.items():
        per_side[who] += n
    # Client: (S, C') once for HELLO and WELCOME, (S', C') for traffic, the vouch (S', C).
    # Server: (C', S) once for HELLO and WELCOME, (C', S') for traffic, the vouch (C, S').
    assert per_side == {"client": 3, "server": 3}
