"""Connection harness: a NULL client, fuzzed in each state of its handshake.

Input layout and properties: see ``_connection.py``.
"""

from __future__ import annotations

from ._connection import NULL_CLIENT, run


def check(data: bytes) -> None:
    run(NULL_CLIENT, data)


def test_one_input(data: bytes) -> None:
    check(data)


if __name__ == "__main__":
    from ._util import run_as_main

    run_as_main(__file__)
