"""The security options of the messaging subcommands, and the keys they read.

One of three mechanisms, chosen by the options given:

- CURVE: a client names the server's public key (``--curve-serverkey``) and may bring its own
  key pair (``--cert NAME.key_secret``; a fresh one otherwise); a server (``--curve-server``)
  needs its key pair (``--cert``) and says which clients it accepts: the public certificates in
  ``--allow-key-dir DIR`` (checked by a ZAP handler, ``safezmq.auth``), or anyone
  (``--allow-any-key``, explicit: encryption without authentication).
- PLAIN: ``--plain-user`` with a password from ``--plain-password`` or the environment variable
  ``SAFEZMQ_PLAIN_PASSWORD`` (never printed); ``--plain-server`` accepts that user.
- NULL otherwise.  The policy refuses NULL and PLAIN beyond loopback unless
  ``--insecure-allow-plaintext``.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from typing import Any

from ..auth import CURVE_ALLOW_ANY
from ..auth.certs import SECRET_SUFFIX, load_certificate
from ..auth.thread import ThreadAuthenticator
from ..context import Context
from ..policy import Policy
from ..protocol import z85
from ..protocol.keys import KEY_SIZE, Z85_KEY_SIZE, curve_keypair
from ..protocol.secret import Secret
from ._common import CLIError, UsageError, warn

PASSWORD_ENV = "SAFEZMQ_PLAIN_PASSWORD"


def read_public_key(value: str, option: str) -> bytes:
    """A public key given as 40 Z85 characters or as a certificate file (NAME.key)."""
    if len(value) == Z85_KEY_SIZE and not os.path.exists(value):
        try:
            if len(z85.decode(value.encode("ascii"))) == KEY_SIZE:
                return value.encode("ascii")
        except (z85.Z85Error, UnicodeEncodeError, ValueError):
            pass
        raise UsageError(f"{option}: not a CURVE public key (40 Z85 characters) nor a file")
    if not os.path.exists(value):
        raise UsageError(
            f"{option}: {value!r} is neither a CURVE public key (40 Z85 characters) nor a file"
        )
    try:
        public, _ = load_certificate(value)
    except (OSError, ValueError) as exc:
        raise CLIError(f"{option}: {exc}") from None
    return public


def read_key_pair(path: str) -> tuple[bytes, bytes]:
    """(public, secret) Z85 keys from a secret certificate (NAME.key_secret; given NAME.key,
    its NAME.key_secret sibling is read)."""
    candidates = [path]
    if not path.endswith(SECRET_SUFFIX):
        candidates.append(path + "_secret")
    for candidate in candidates:
        if not os.path.exists(candidate):
            continue
        try:
            public, secret = load_certificate(candidate)
        except (OSError, ValueError) as exc:
            raise CLIError(f"--cert: {exc}") from None
        if secret is not None:
            return public, secret
    raise UsageError(
        f"--cert {path!r}: no secret key there; give the NAME.key_secret file 'safezmq keygen' "
        "wrote"
    )


def add_security_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "security",
        "CURVE is the secure choice; NULL (no option) and PLAIN are refused beyond loopback "
        "unless --insecure-allow-plaintext.",
    )
    group.add_argument(
        "--curve-serverkey",
        metavar="KEY",
        help="be a CURVE client of the server with this public key (40 Z85 characters or its "
        "NAME.key file)",
    )
    group.add_argument(
        "--cert",
        metavar="FILE",
        help="our CURVE key pair: a NAME.key_secret file from 'safezmq keygen' (a client "
        "without it uses a fresh key pair)",
    )
    group.add_argument(
        "--curve-server", action="store_true", help="be the CURVE server (needs --cert)"
    )
    group.add_argument(
        "--allow-key-dir",
        metavar="DIR",
        help="CURVE server: accept only the clients whose public certificate (NAME.key) is in DIR",
    )
    group.add_argument(
        "--allow-any-key",
        action="store_true",
        help="CURVE server: accept any client key (encryption without client authentication)",
    )
    group.add_argument("--plain-user", metavar="USER", help="PLAIN user name")
    group.add_argument(
        "--plain-password",
        metavar="PASSWORD",
        help=f"PLAIN password (better: the environment variable {PASSWORD_ENV}, which other "
        "users cannot read in the process list)",
    )
    group.add_argument(
        "--plain-server",
        action="store_true",
        help="be the PLAIN server, accepting --plain-user with its password",
    )
    group.add_argument(
        "--insecure-allow-plaintext",
        action="store_true",
        help="allow NULL and PLAIN (clear text) beyond loopback",
    )


@dataclass
class Security:
    mechanism: str  # "NULL", "CURVE" or "PLAIN"
    server: bool = False
    server_key: bytes | None = None
    public: bytes | None = None
    secret: Secret | None = None
    allow_dir: str | None = None
    allow_any: bool = False
    user: bytes | None = None
    password: Secret | None = None
    insecure: bool = False

    def policy(self) -> Policy:
        policy = Policy.from_environment()
        if self.insecure:
            policy = policy.relax(allow_plaintext_network=True, allow_plain_network=True)
        return policy


def security_from_args(args: argparse.Namespace) -> Security:
    curve = bool(args.curve_serverkey or args.curve_server)
    plain = bool(args.plain_user or args.plain_server or args.plain_password)
    if curve and plain:
        raise UsageError("choose CURVE or PLAIN options, not both")
    if args.cert and not curve:
        raise UsageError("--cert needs --curve-server (be the server) or --curve-serverkey")
    if (args.allow_key_dir or args.allow_any_key) and not args.curve_server:
        raise UsageError("--allow-key-dir and --allow-any-key are for a --curve-server")
    security = Security("NULL", insecure=args.insecure_allow_plaintext)
    if curve:
        security.mechanism = "CURVE"
        if args.curve_server:
            if args.curve_serverkey:
                raise UsageError("--curve-server and --curve-serverkey: be the server or a client")
            if not args.cert:
                raise UsageError("--curve-server needs --cert NAME.key_secret (its key pair)")
            if bool(args.allow_key_dir) == bool(args.allow_any_key):
                raise UsageError(
                    "--curve-server needs --allow-key-dir DIR (the clients' public certificates) "
                    "or, explicitly, --allow-any-key"
                )
            if args.allow_key_dir and not os.path.isdir(args.allow_key_dir):
                raise UsageError(f"--allow-key-dir {args.allow_key_dir!r} is not a directory")
            security.server = True
            security.allow_dir = args.allow_key_dir
            security.allow_any = args.allow_any_key
            public, secret = read_key_pair(args.cert)
        else:
            security.server_key = read_public_key(args.curve_serverkey, "--curve-serverkey")
            if args.cert:
                public, secret = read_key_pair(args.cert)
            else:
                public, secret = curve_keypair()
        security.public = public
        security.secret = Secret(secret, "CURVE secret key")
    elif plain:
        security.mechanism = "PLAIN"
        security.server = args.plain_server
        if not args.plain_user:
            raise UsageError("PLAIN needs --plain-user")
        password = args.plain_password
        if password is None:
            password = os.environ.get(PASSWORD_ENV)
        if password is None:
            raise UsageError(f"PLAIN needs a password: set {PASSWORD_ENV} (or --plain-password)")
        security.user = args.plain_user.encode("utf-8")
        security.password = Secret(password.encode("utf-8"), "password")
    return security


def apply(ctx: Context, sock: Any, security: Security, prog: str) -> ThreadAuthenticator | None:
    """Configure ``sock``; start the ZAP handler a server needs (returned, to stop it)."""
    if security.mechanism == "CURVE":
        assert security.public is not None and security.secret is not None
        sock.curve_publickey = security.public
        sock.curve_secretkey = security.secret.reveal()
        if not security.server:
            sock.curve_serverkey = security.server_key
            return None
        sock.curve_server = 1
        auth = ThreadAuthenticator(ctx)
        auth.start()
        try:
            if security.allow_any:
                warn(
                    prog,
                    "accepting any client key (--allow-any-key): clients are not authenticated",
                )
                auth.configure_curve(domain="*", location=CURVE_ALLOW_ANY)
            else:
                assert security.allow_dir is not None
                auth.configure_curve(domain="*", location=security.allow_dir)
                if not auth.certs.get("*"):
                    warn(
                        prog,
                        f"no public certificate (*.key) in {security.allow_dir}: every "
                        "client will be refused",
                    )
        except (OSError, ValueError) as exc:
            auth.stop()
            raise CLIError(f"--allow-key-dir: {exc}") from None
        return auth
    if security.mechanism == "PLAIN":
        assert security.user is not None and security.password is not None
        if not security.server:
            sock.plain_username = security.user
            sock.plain_password = security.password.reveal()
            return None
        sock.plain_server = 1
        auth = ThreadAuthenticator(ctx)
        auth.start()
        auth.configure_plain(
            domain="*", passwords={security.user.decode("utf-8"): security.password.reveal()}
        )
        return auth
    return None
