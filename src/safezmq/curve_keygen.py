"""Generate a CURVE keypair: ``python3 -m safezmq.curve_keygen``, with pyzmq's flags and output.

Without NAME, prints a new keypair (public and secret key, Z85) on standard output as pyzmq's
``python3 -m zmq.curve_keygen`` does: asking for a keypair with no file to put it in is asking
to see the secret key.  ``--json`` prints ``{"public": ..., "secret": ...}``; ``--secret KEY``
derives the public key of an existing secret key (``--secret -`` reads it from standard input,
so that it never appears in the process list).

With NAME, writes ``D/NAME.key`` (the public certificate, mode 0644) and ``D/NAME.key_secret``
(the secret one, created with mode 0600) in the zcert format czmq, libzmq's tools and pyzmq read,
and prints only the public key: the secret key stays in its file.  A missing directory is
created with mode 0700; existing certificates are kept unless ``--force``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .auth.certs import create_certificate_pair
from .protocol.keys import curve_keypair, curve_public


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Generate a CURVE keypair (Z85): print it, or with NAME write it as the "
        "certificate files NAME.key and NAME.key_secret and print the public key.",
    )
    parser.add_argument(
        "name",
        metavar="NAME",
        nargs="?",
        help="write the pair as certificate files of this name instead of printing the secret",
    )
    parser.add_argument("--json", action="store_true", help="output as a JSON dict")
    parser.add_argument(
        "--secret",
        metavar="SECRET",
        help="derive the public key of this secret key (Z85) instead of generating a pair; "
        "'-' reads it from standard input",
    )
    parser.add_argument(
        "--dir",
        default=".",
        metavar="D",
        help="with NAME: directory for the certificate files (default: the current one; "
        "created with mode 0700 if missing)",
    )
    parser.add_argument(
        "--force", action="store_true", help="with NAME: replace existing certificates"
    )
    return parser


def _print_pair(public: str, secret: str, as_json: bool) -> None:
    if as_json:
        json.dump({"public": public, "secret": secret}, sys.stdout, indent=1, sort_keys=True)
        sys.stdout.write("\n")
        return
    # libzmq's curve_keygen layout, without its disclaimer (as pyzmq prints it).
    print("== CURVE PUBLIC KEY ==")
    print(public)
    print()
    print("== CURVE SECRET KEY ==")
    print(secret)


def _write_certificates(args: argparse.Namespace) -> int:
    try:
        public_file, secret_file, public = create_certificate_pair(
            args.dir, args.name, force=args.force
        )
    except (OSError, ValueError) as exc:
        print(f"curve_keygen: {exc}", file=sys.stderr)
        return 1
    if args.json:
        record = {"public": public.decode("ascii"), "public_file": public_file}
        json.dump({**record, "secret_file": secret_file}, sys.stdout, indent=1, sort_keys=True)
        sys.stdout.write("\n")
    else:
        print(public.decode("ascii"))
    print(f"public certificate: {public_file}", file=sys.stderr)
    print(f"secret certificate: {secret_file} (mode 0600; keep it private)", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None, prog: str = "python3 -m safezmq.curve_keygen") -> int:
    args = _parser(prog).parse_args(argv)
    if args.name is not None:
        if args.secret is not None:
            print(
                "curve_keygen: --secret derives a public key and writes no files; "
                "leave out NAME (or --secret)",
                file=sys.stderr,
            )
            return 2
        return _write_certificates(args)
    if args.secret is not None:
        secret: str = sys.stdin.readline().strip() if args.secret == "-" else args.secret
        try:
            public = curve_public(secret.encode("ascii")).decode("ascii")
        except (ValueError, UnicodeEncodeError):
            # The key is not repeated: it is secret, and the message says what was wrong.
            print(
                "curve_keygen: --secret must be a secret key of 40 Z85 characters", file=sys.stderr
            )
            return 2
    else:
        public_b, secret_b = curve_keypair()
        public, secret = public_b.decode("ascii"), secret_b.decode("ascii")
    _print_pair(public, secret, args.json)
    return 0


if __name__ == "__main__":
    # Name the command as it was run: `python3 -m zmq.curve_keygen` through a zmq alias.
    sys.exit(main(prog=f"python3 -m {__spec__.name}" if __spec__ is not None else sys.argv[0]))
