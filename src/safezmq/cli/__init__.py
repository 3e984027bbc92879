"""The ``safezmq`` command: one program, a subcommand per job.

    safezmq demo                      what safezmq does, on loopback, in seconds (the default)
    safezmq keygen [--dir D] NAME     a CURVE certificate pair with safe file modes
    safezmq keys list|revoke|expire|rotate
                                      manage a directory of CURVE certificates
    safezmq scan ENDPOINT             a security probe of any ZMTP endpoint
    safezmq bench                     the benchmarks, side by side with pyzmq
    safezmq send|recv|pub|sub|req|rep ENDPOINT
                                      messages from the shell (a netcat for ZeroMQ)
    safezmq as-zmq enable|disable|status
                                      make `import zmq` give safezmq in this environment

Exit status: 0 success, 1 a failure (or, for scan, a weakness found), 2 a usage error.
Errors are one line on stderr.  ``python -m safezmq`` runs the same command.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from .. import __version__
from ..error import ZMQError
from . import aszmq, bench, demo, keygen, keys, netcat, scan
from ._common import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, CLIError, Parser

#: Set to show the traceback of an unexpected error (a bug) instead of one line.
DEBUG_ENV = "SAFEZMQ_DEBUG"


def build_parser() -> Parser:
    parser = Parser(
        prog="safezmq",
        description=(__doc__ or "").split("\n\n", 1)[1],
    )
    parser.add_argument("--version", action="version", version=f"safezmq {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo.register(subparsers)
    keygen.register(subparsers)
    keys.register(subparsers)
    scan.register(subparsers)
    bench.register(subparsers)
    netcat.register(subparsers)
    aszmq.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: sys.argv[1:]); return the exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(arguments or ["demo"])
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    prog = f"safezmq {args.command}" if args.command else "safezmq"
    if args.command is None:
        parser.print_usage(sys.stderr)
        return EXIT_USAGE
    try:
        code: int = args.handler(args)
        return code
    except CLIError as exc:
        _error(prog, str(exc))
        return exc.code
    except ZMQError as exc:
        _error(prog, str(exc))
        return EXIT_FAILURE
    except KeyboardInterrupt:
        _error(prog, "interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # stdout was closed (e.g. piped into head): not an error worth a message.
        _silence_stdout()
        return EXIT_OK
    except OSError as exc:
        _error(prog, f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""))
        return EXIT_FAILURE
    except Exception as exc:
        if os.environ.get(DEBUG_ENV):
            raise
        _error(prog, f"internal error: {type(exc).__name__}: {exc} (set {DEBUG_ENV}=1 for details)")
        return EXIT_FAILURE


def _error(prog: str, message: str) -> None:
    line = " ".join(message.split())  # one line, whatever the message
    try:
        print(f"{prog}: {line}", file=sys.stderr, flush=True)
    except OSError:
        pass


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


__all__ = ["EXIT_FAILURE", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]
