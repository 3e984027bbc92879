"""Connection harness: a PLAIN server (with or without ZAP), fuzzed in each state of its handshake.

Input layout and properties: see ``_connection.py``.
"""

from __future__ import annotations

from ._connection import PLAIN_SERVER, run


def check(data: bytes) -> None:
    run(PLAIN_SERVER, data)


def test_one_input(data: bytes) -> None:
    check(data)


if __name__ == "__main__":
    from ._util import run_as_main

    run_as_main(__file__)
