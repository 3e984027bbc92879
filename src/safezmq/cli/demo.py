"""``safezmq demo``: the README's main command (also ``python -m safezmq`` with no argument)."""

from __future__ import annotations

import argparse
from typing import Any

from .. import demo


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="safezmq at work on loopback: a CURVE service, what it refuses and why, the audit",
        description=demo.__doc__,
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    return demo.run()
