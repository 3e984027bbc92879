"""``safezmq keygen [--dir D] [--valid-for 90d] [--rotate] NAME``: a CURVE certificate pair
with safe file modes, optionally expiring, or the next pair of a server-key rotation."""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from typing import Any

from ..auth.certs import (
    EXPIRES_AT,
    SECRET_SUFFIX,
    _check_name,
    create_certificate_pair,
    format_expiry,
)
from ..auth.rotation import NEXT
from ._common import EXIT_OK, CLIError, UsageError

DESCRIPTION = """\
Create a CURVE certificate pair in the zcert format of czmq, libzmq's tools and pyzmq:

  D/NAME.key          the public certificate (mode 0644): give it to your peers
  D/NAME.key_secret   the public and the secret key (created with mode 0600): keep it

The public key (40 Z85 characters) is printed on stdout; the secret key never is.  A missing
directory is created with mode 0700.  Existing certificates are kept unless --force.

Use the pair with the other subcommands: a server with '--curve-server --cert D/NAME.key_secret',
a client with '--curve-serverkey D/NAME.key'; put clients' NAME.key files in a directory for
'--allow-key-dir'.

--valid-for 90d writes 'expires-at' (UTC) into the certificate's metadata: authenticators refuse
the key after that moment and close its live connections (units: s, m, h, d, w).

--rotate prepares a server-key rotation: it writes the next pair as D/NAME.next.key and
D/NAME.next.key_secret next to the existing D/NAME pair (see 'safezmq keys rotate' and the
runbook in docs/security.md).
"""

_DURATION = re.compile(r"\s*(\d+)\s*([smhdw]?)\s*\Z")
_UNITS = {"": 86400, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> int:
    """Seconds in '90d', '12h', '2w', '3600s' (a bare number: days)."""
    match = _DURATION.match(text)
    if match is None or int(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration such as 90d, 12h, 2w or 3600s"
        )
    return int(match.group(1)) * _UNITS[match.group(2)]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "keygen",
        help="create a CURVE certificate pair (NAME.key, NAME.key_secret)",
        description=DESCRIPTION,
    )
    parser.add_argument("name", metavar="NAME", help="the certificate's name (a plain file name)")
    parser.add_argument(
        "--dir",
        default=".",
        metavar="D",
        help="directory for the files (default: the current one; created with mode 0700)",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace existing certificates of that name"
    )
    parser.add_argument(
        "--metadata",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a metadata property written into both files (repeatable)",
    )
    parser.add_argument(
        "--valid-for",
        type=parse_duration,
        default=None,
        metavar="DURATION",
        help="write expires-at = now + DURATION (e.g. 90d, 12h, 2w)",
    )
    parser.add_argument(
        "--rotate",
        action="store_true",
        help="write the next pair of server NAME's rotation (NAME.next.key, NAME.next.key_secret)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    directory: str = args.dir
    name: str = args.name
    metadata: dict[str, str] = {}
    for item in args.metadata:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--metadata {item!r}: expected NAME=VALUE")
        metadata[key] = value
    try:
        _check_name(name)  # a bad name is a usage error, before creating anything
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.valid_for is not None:
        if EXPIRES_AT in metadata:
            raise UsageError(f"give --valid-for or --metadata {EXPIRES_AT}=..., not both")
        metadata[EXPIRES_AT] = format_expiry(time.time() + args.valid_for)
    if args.rotate:
        if not os.path.exists(os.path.join(directory, name + SECRET_SUFFIX)):
            raise CLIError(
                f"{os.path.join(directory, name + SECRET_SUFFIX)} does not exist: --rotate "
                f"prepares the next key of an existing pair (create it with: safezmq keygen "
                f"--dir {directory} {name})"
            )
        name += NEXT
    try:
        public_file, secret_file, public = create_certificate_pair(
            directory, name, metadata or None, force=args.force
        )
    except (OSError, ValueError) as exc:
        raise CLIError(str(exc)) from None
    print(public.decode("ascii"), flush=True)
    if EXPIRES_AT in metadata:
        print(f"expires at: {metadata[EXPIRES_AT]}", file=sys.stderr)
    if args.rotate:
        print(
            "next server key written: begin_rotation() on the server, give clients the next "
            "public certificate, then finish_rotation() and 'safezmq keys rotate'",
            file=sys.stderr,
        )
    print(f"public certificate: {public_file} (mode 0644; share it)", file=sys.stderr)
    print(f"secret certificate: {secret_file} (mode 0600; keep it private)", file=sys.stderr)
    return EXIT_OK
