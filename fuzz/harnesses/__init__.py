"""One atheris harness per fuzz target; each module has ``check(data: bytes) -> None``.

``check`` raises AssertionError when a property is broken and lets any unexpected exception
through; it needs nothing but safezmq (the Connection harnesses' structured CURVE mode also uses
tests/protocol/curveforge.py).  ``fuzz/run.py NAME`` runs one under atheris.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

#: Target name -> what it fuzzes.  The corpus of a target is fuzz/corpus/NAME/.
TARGETS: dict[str, str] = {
    "frames": "FrameDecoder, fed whole and split (differential)",
    "greeting": "greeting prefix checks, parse_greeting, a Connection reading a greeting",
    "null_client": "Connection(NULL client) in each handshake state",
    "null_server": "Connection(NULL server, with and without ZAP) in each handshake state",
    "plain_client": "Connection(PLAIN client) in each handshake state",
    "plain_server": "Connection(PLAIN server, with and without ZAP) in each handshake state",
    "curve_client": "Connection(CURVE client) in each handshake state",
    "curve_server": "Connection(CURVE server, with and without ZAP) in each handshake state",
    "zap": "ZapReply/ZapRequest codecs and Connection.zap_reply",
    "metadata": "decode_metadata (and its canonical re-encoding)",
    "z85": "z85.decode/encode and CURVE key decoding",
    "endpoint": "parse_endpoint (only ZMQError allowed)",
    "options": "Options.set/get and Socket.setsockopt/getsockopt (ZMQError/TypeError only)",
    "curve_message": "CURVE MESSAGE unboxing, directly and through a FrameDecoder",
}


#: Bugs found and reported but not fixed yet: target -> (exception class name, text in its
#: message).  ``fuzz/run.py --skip-known`` lets a fuzzing run go past them to find others.  The
#: test suite knows no exceptions: a fixed crash is saved in fuzz/corpus/TARGET/regressions/ and
#: replayed by tests/fuzz/test_corpus_replay.py, which it must pass.  Empty: the three issues
#: fuzzing found (fuzz/RESULTS.md) are fixed.
KNOWN_ISSUES: dict[str, list[tuple[str, str]]] = {}


def is_known(target: str, exc: BaseException) -> bool:
    return any(
        type(exc).__name__ == name and text in str(exc)
        for name, text in KNOWN_ISSUES.get(target, [])
    )


def load(name: str) -> Callable[[bytes], None]:
    """The ``check`` function of target ``name``."""
    if name not in TARGETS:
        raise KeyError(f"unknown fuzz target {name!r}; choose from {', '.join(TARGETS)}")
    module = importlib.import_module(f"{__name__}.{name}")
    check: Callable[[bytes], None] = module.check
    return check
