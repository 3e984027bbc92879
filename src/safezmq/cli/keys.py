"""``safezmq keys list|revoke|expire|rotate``: manage a directory of CURVE certificates.

The directory is an allow-list as ``Authenticator.configure_curve(location=D, watch=True)``
follows it, so each change here takes effect on running servers at once: a certificate revoked
or expired closes the live connections of its key.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time
from typing import Any

from ..auth import certs
from ..auth.certs import EXPIRES_AT, PUBLIC_SUFFIX, format_expiry, parse_expiry
from ..auth.revocation import (
    RevocationListError,
    load_revocation_list,
    write_revocation_list,
)
from ..auth.rotation import promote_next
from ._common import EXIT_FAILURE, EXIT_OK, CLIError, UsageError

DESCRIPTION = """\
Manage a directory of CURVE certificates (zcert files, as czmq and pyzmq write them):

  list     every NAME.key with its public key, expiry and state; exit status 1 if any
           certificate is refused, expired, or the directory is unsafe
  revoke   move NAME.key (or the certificate of a public key) to D/revoked/, so that
           authenticators watching D close its connections at once; with --list and
           --signing-key, also add the key to a signed revocation list
  expire   set a certificate's expires-at (--at DATE, --in DURATION, or --now)
  rotate   after finish_rotation(): retire NAME.key to D/retired/ and make NAME.next.key
           (from 'safezmq keygen --rotate NAME') the current pair

Exit status: 0 success, 1 a failure or (list) a problem found, 2 a usage error.
"""

REVOKED_DIR = "revoked"
#: 'list' shows a certificate expiring sooner than this as "expires soon".
SOON = 14 * 86400


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "keys",
        help="list, revoke, expire or rotate the certificates of a directory",
        description=DESCRIPTION,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--dir", default=".", metavar="D", help="the certificate directory (default: .)"
        )

    listing = actions.add_parser("list", help="list the certificates and their state")
    common(listing)
    listing.set_defaults(handler=run_list)

    revoke = actions.add_parser("revoke", help="revoke a certificate (by name or public key)")
    common(revoke)
    revoke.add_argument("cert", metavar="NAME|KEY", help="certificate name or Z85 public key")
    revoke.add_argument("--list", metavar="FILE", help="also add it to this revocation list")
    revoke.add_argument(
        "--signing-key", metavar="FILE", help="the NAME.sign_secret that signs the list"
    )
    revoke.set_defaults(handler=run_revoke)

    expire = actions.add_parser("expire", help="set when a certificate expires")
    common(expire)
    expire.add_argument("cert", metavar="NAME|KEY", help="certificate name or Z85 public key")
    when = expire.add_mutually_exclusive_group(required=True)
    when.add_argument("--at", metavar="DATE", help="ISO 8601, UTC by default")
    when.add_argument("--in", dest="within", metavar="DURATION", help="e.g. 30d, 12h")
    when.add_argument("--now", action="store_true", help="expire it now")
    expire.set_defaults(handler=run_expire)

    rotate = actions.add_parser("rotate", help="promote NAME.next.key to NAME.key")
    common(rotate)
    rotate.add_argument("name", metavar="NAME", help="the server certificate's name")
    rotate.set_defaults(handler=run_rotate)


# -- helpers ------------------------------------------------------------------------------------


def _directory(args: argparse.Namespace) -> str:
    directory: str = args.dir
    if not os.path.isdir(directory):
        raise CLIError(f"{directory} is not a directory")
    return directory


def _find(directory: str, wanted: str) -> str:
    """The public certificate file named ``wanted`` (NAME or NAME.key) or holding that key."""
    name = wanted[: -len(PUBLIC_SUFFIX)] if wanted.endswith(PUBLIC_SUFFIX) else wanted
    if os.sep not in name and name not in ("", ".", ".."):
        path = os.path.join(directory, name + PUBLIC_SUFFIX)
        if os.path.isfile(path):
            return path
    if len(wanted) == 40:
        for path in sorted(glob.glob(os.path.join(glob.escape(directory), "*" + PUBLIC_SUFFIX))):
            try:
                public, _ = certs.load_certificate(path)
            except (OSError, ValueError):
                continue
            if public == wanted.encode("ascii", "replace"):
                return path
    raise CLIError(f"no certificate {wanted!r} in {directory} (see 'safezmq keys list')")


def _label(path: str) -> str:
    return os.path.basename(path)[: -len(PUBLIC_SUFFIX)]


# -- list ---------------------------------------------------------------------------------------


def run_list(args: argparse.Namespace) -> int:
    directory = _directory(args)
    scan = certs.scan_directory(directory)
    now = time.time()
    problems = 0
    rows = []
    for path in sorted(glob.glob(os.path.join(glob.escape(directory), "*" + PUBLIC_SUFFIX))):
        try:
            cert = certs.read_certificate(path)
        except (OSError, ValueError):
            rows.append((_label(path), "-" * 40, "-", "refused (malformed)"))
            problems += 1
            continue
        if cert.expires_at is None:
            expiry, state = "never", "valid"
        else:
            expiry = format_expiry(cert.expires_at)
            left = cert.expires_at - now
            if left <= 0:
                state = "EXPIRED"
                problems += 1
            elif left <= SOON:
                state = f"expires in {left / 86400:.1f} days"
            else:
                state = "valid"
        if cert.public_key not in scan.keys and state != "EXPIRED":
            state = "refused (unsafe mode or directory)"
            problems += 1
        rows.append((_label(path), cert.public_key.decode("ascii"), expiry, state))
    if rows:
        width = max(len(r[0]) for r in rows)
        print(f"{'NAME':<{width}}  {'PUBLIC KEY':<40}  {'EXPIRES AT':<20}  STATE")
        for name, key, expiry, state in rows:
            print(f"{name:<{width}}  {key:<40}  {expiry:<20}  {state}")
    else:
        print(f"no certificates (*{PUBLIC_SUFFIX}) in {directory}")
    for line in scan.problems:
        print(f"problem: {line}", file=sys.stderr)
    if scan.problems and not problems:
        problems = len(scan.problems)
    return EXIT_FAILURE if problems else EXIT_OK


# -- revoke -------------------------------------------------------------------------------------


def run_revoke(args: argparse.Namespace) -> int:
    directory = _directory(args)
    if bool(args.list) != bool(args.signing_key):
        raise UsageError("--list and --signing-key go together")
    path = _find(directory, args.cert)
    public, _ = certs.load_certificate(path)
    if args.list:
        _add_to_list(args.list, args.signing_key, public)
    destination = os.path.join(directory, REVOKED_DIR)
    os.makedirs(destination, mode=0o700, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = os.path.join(destination, f"{_label(path)}.{stamp}{PUBLIC_SUFFIX}")
    os.replace(path, target)
    print(f"revoked {_label(path)} ({public.decode('ascii')}): moved to {target}")
    if args.list:
        print(f"revocation list {args.list} updated and signed")
    return EXIT_OK


def _add_to_list(list_file: str, signing_key: str, public: bytes) -> None:
    from ..auth.revocation import _signing_key

    try:
        signer = _signing_key(signing_key)
    except (OSError, ValueError) as exc:
        raise CLIError(f"cannot use the signing key: {exc}") from None
    keys = {public}
    sequence = int(time.time())
    if os.path.exists(list_file):
        try:
            current = load_revocation_list(list_file, bytes(signer.verify_key))
        except (OSError, RevocationListError) as exc:
            raise CLIError(f"the existing list is not trusted, not extending it: {exc}") from None
        keys |= current.keys
        sequence = max(sequence, current.sequence + 1)
    write_revocation_list(list_file, keys, signing_key, sequence)


# -- expire -------------------------------------------------------------------------------------


def run_expire(args: argparse.Namespace) -> int:
    from .keygen import parse_duration

    directory = _directory(args)
    path = _find(directory, args.cert)
    if args.now:
        when = time.time()
    elif args.within is not None:
        try:
            when = time.time() + parse_duration(args.within)
        except argparse.ArgumentTypeError as exc:
            raise UsageError(str(exc)) from None
    else:
        try:
            when = parse_expiry(args.at)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    _set_expiry(path, format_expiry(when))
    print(f"{_label(path)} expires at {format_expiry(when)}")
    return EXIT_OK


def _set_expiry(path: str, value: str) -> None:
    """Rewrite the ``expires-at`` line of a public certificate (the rest stays as written)."""
    cert = certs.read_certificate(path)
    if cert.secret_key is not None:
        raise CLIError(f"{path} holds a secret key; give the public certificate")
    data, _ = certs._read_file(path)
    out: list[bytes] = []
    section = b""
    done = False
    line_value = f'    {EXPIRES_AT} = "{value}"'.encode()
    for line in data.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith(b"#") and line[:1] not in (b" ", b"\t"):
            if section == b"metadata" and not done:
                out.append(line_value)
                done = True
            section = stripped.split(b"=", 1)[0].strip()
            out.append(line)
            continue
        if section == b"metadata" and stripped.split(b"=", 1)[0].strip() == EXPIRES_AT.encode():
            if not done:
                out.append(line_value)
                done = True
            continue
        out.append(line)
    if not done:
        out.append(b"metadata")
        out.append(line_value)
    certs._write_file(path, b"\n".join(out) + b"\n", certs.PUBLIC_MODE)
    if certs.read_certificate(path).expires_at is None:  # pragma: no cover - a format bug
        raise CLIError(f"could not write expires-at into {path}")


# -- rotate -------------------------------------------------------------------------------------


def run_rotate(args: argparse.Namespace) -> int:
    directory = _directory(args)
    try:
        current, retired = promote_next(directory, args.name)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    public, _ = certs.load_certificate(current)
    print(f"{args.name} is now the former next key ({public.decode('ascii')})")
    print(f"the old pair is in {os.path.dirname(retired)}")
    return EXIT_OK
