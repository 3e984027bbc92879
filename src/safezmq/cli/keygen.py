"""``safezmq keygen [--dir D] NAME``: a CURVE certificate pair with safe file modes."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..auth.certs import _check_name, create_certificate_pair
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
"""


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
    try:
        public_file, secret_file, public = create_certificate_pair(
            directory, name, metadata or None, force=args.force
        )
    except (OSError, ValueError) as exc:
        raise CLIError(str(exc)) from None
    print(public.decode("ascii"), flush=True)
    print(f"public certificate: {public_file} (mode 0644; share it)", file=sys.stderr)
    print(f"secret certificate: {secret_file} (mode 0600; keep it private)", file=sys.stderr)
    return EXIT_OK
