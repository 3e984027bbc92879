"""Create a CURVE certificate pair: ``python -m safezmq.curve_keygen [--dir D] NAME``.

Writes ``D/NAME.key`` (the public certificate, mode 0644) and ``D/NAME.key_secret`` (the secret
one, created with mode 0600) in the zcert format czmq, libzmq's tools and pyzmq read, then prints
the public key (40 Z85 characters) on standard output.  The secret key is never printed.  A
missing directory is created with mode 0700; existing certificates are kept unless ``--force``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .auth.certs import create_certificate_pair


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m safezmq.curve_keygen",
        description="Create a CURVE certificate pair (NAME.key and NAME.key_secret) and print "
        "its public key.",
    )
    parser.add_argument("name", metavar="NAME", help="the certificate's name (a file name)")
    parser.add_argument(
        "--dir",
        default=".",
        metavar="D",
        help="directory for the certificate files (default: the current one; created with "
        "mode 0700 if missing)",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace existing certificates of that name"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    directory: str = args.dir
    name: str = args.name
    try:
        public_file, secret_file, public = create_certificate_pair(
            directory, name, force=args.force
        )
    except (OSError, ValueError) as exc:
        print(f"curve_keygen: {exc}", file=sys.stderr)
        return 1
    print(public.decode("ascii"))
    print(f"public certificate: {public_file}", file=sys.stderr)
    print(f"secret certificate: {secret_file} (mode 0600; keep it private)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
