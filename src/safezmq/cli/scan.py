"""``safezmq scan ENDPOINT``: a security probe of any ZMTP endpoint (libzmq's or safezmq's)."""

from __future__ import annotations

import argparse
import json
import threading
import time
from typing import Any

from .. import scan as scanner
from ._common import (
    EXIT_FAILURE,
    EXIT_OK,
    CLIError,
    Progress,
    UsageError,
    add_progress_option,
    positive_float,
)
from .security import read_public_key

DESCRIPTION = f"""\
Probe a ZMTP endpoint (tcp://host:port or ipc://path) and report how it handles strangers:

  greeting           ZMTP version, mechanism, as-server flag (libzmq never sets it)
  NULL peer          does a NULL handshake succeed?  (a real one, announcing a compatible socket
                     type; the socket type the server announces is reported)
  client auth        does a CURVE server accept a throwaway client key (needs --curve-serverkey)?
                     does a PLAIN server accept made-up credentials?
  ZMTP 2.0/1.0 peer  does it still speak the legacy protocols?
  metadata           the properties of its READY, and who may read them
  stalled handshake  how long it keeps a connection on which nothing is sent (up to --timeout)

Each probe is one connection carrying at most a handshake ({scanner.MAX_SENT_PER_CONNECTION}
octets at most, never a message), all to the endpoint given; a CURVE or PLAIN server that ends
the handshake without a word is tried again announcing another socket type (at most
{len(scanner.SOCKET_TYPE_CANDIDATES)} handshakes; --socket-type picks one).  Probes run in
parallel: a scan takes about --timeout seconds.

Exit status: 0 nothing weak found, 1 weaknesses found or the scan failed (unreachable, not
ZMTP), 2 usage error.
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "scan",
        help="probe a ZMTP endpoint's security (NULL, CURVE keys, legacy ZMTP, metadata, ...)",
        description=DESCRIPTION,
    )
    parser.add_argument("endpoint", metavar="ENDPOINT", help="tcp://host:port or ipc://path")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--timeout",
        type=positive_float,
        default=scanner.DEFAULT_TIMEOUT,
        metavar="S",
        help=f"seconds each wait may take, and how long a stalled handshake is watched "
        f"(default {scanner.DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--curve-serverkey",
        metavar="KEY",
        help="the server's CURVE public key (40 Z85 characters, or a NAME.key certificate "
        "file): enables the client-key test",
    )
    parser.add_argument(
        "--socket-type",
        metavar="TYPE",
        help="socket type to announce (e.g. DEALER) instead of trying several",
    )
    add_progress_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    key = (
        read_public_key(args.curve_serverkey, "--curve-serverkey") if args.curve_serverkey else None
    )
    progress = Progress(args.progress)
    result: dict[str, Any] = {}

    def work() -> None:
        try:
            result["report"] = scanner.scan(
                args.endpoint,
                timeout=args.timeout,
                curve_serverkey=key,
                socket_type=args.socket_type,
            )
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=work, name="safezmq-scan", daemon=True)
    started = time.monotonic()
    thread.start()
    while thread.is_alive():
        thread.join(0.1)
        elapsed = time.monotonic() - started
        progress.update(f"scanning {args.endpoint}: {elapsed:.1f}/{args.timeout:g} s")
    progress.done()
    error = result.get("error")
    if isinstance(error, ValueError):
        raise UsageError(str(error))
    if isinstance(error, scanner.ScanError):
        raise CLIError(str(error))
    if error is not None:
        raise error
    report: scanner.ScanReport = result["report"]
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.format())
    failed = any(
        check.status == scanner.FAILED
        for check in (report.null_peer, report.client_authentication, report.stalled_handshake)
    )
    return EXIT_FAILURE if report.weak or failed else EXIT_OK
