"""Fixed credentials shared by the harnesses and ``fuzz/make_corpus.py``.

The CURVE key pairs come from fixed seeds, so the libzmq traffic ``make_corpus.py`` records uses
the very keys the harnesses' Connections use: a HELLO a libzmq client sent opens in the
``curve_server`` harness, and its fuzzing starts from a real, valid command.  These keys protect
nothing; they are public test values.
"""

from __future__ import annotations

import nacl.bindings as sodium

from safezmq.protocol import z85


def _seeded(seed: bytes) -> tuple[bytes, bytes]:
    public, secret = sodium.crypto_box_seed_keypair(seed.ljust(32, b"."))
    return bytes(public), bytes(secret)


SERVER_PUBLIC_RAW, SERVER_SECRET_RAW = _seeded(b"safezmq-fuzz-server")
CLIENT_PUBLIC_RAW, CLIENT_SECRET_RAW = _seeded(b"safezmq-fuzz-client")
#: Z85, as pyzmq's CURVE options take them.
SERVER_PUBLIC = z85.encode(SERVER_PUBLIC_RAW)
SERVER_SECRET = z85.encode(SERVER_SECRET_RAW)
CLIENT_PUBLIC = z85.encode(CLIENT_PUBLIC_RAW)
CLIENT_SECRET = z85.encode(CLIENT_SECRET_RAW)

USERNAME = b"fuzz-user"
#: Long and distinctive, so that "it shows in an error message" cannot be a coincidence.
PASSWORD = b"fuzz-password-that-must-never-show"

#: Renderings of the secrets that no error message may contain.
SECRETS = (PASSWORD, SERVER_SECRET_RAW, CLIENT_SECRET_RAW, SERVER_SECRET, CLIENT_SECRET)
