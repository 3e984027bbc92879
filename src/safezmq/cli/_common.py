"""What the subcommands share: the argument parser, errors, exit codes and progress."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from typing import NoReturn, TextIO

#: Exit codes: success; a failure or a finding (scan); a usage error (as argparse's).
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
#: What a shell reports for a program stopped by Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130


class CLIError(Exception):
    """A failure to report as one line on stderr, with an exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.code = code


class UsageError(CLIError):
    """Arguments that cannot work together (exit code 2)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_USAGE)


class Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors: ``prog: error: what (see 'prog --help')``."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number of seconds")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def add_progress_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--progress",
        action="store_true",
        help="show progress on stderr even when it is not a terminal",
    )


def warn(prog: str, message: str) -> None:
    print(f"{prog}: {message}", file=sys.stderr, flush=True)


class Progress:
    """Progress on stderr: a line rewritten in place on a terminal, or (with --progress on a
    pipe) a line per update, at most one a second.  Silent otherwise."""

    def __init__(self, forced: bool, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self.enabled = forced or self.tty
        self._last = 0.0
        self._shown = False
        self._lock = threading.Lock()

    def update(self, text: str, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        interval = 0.1 if self.tty else 1.0
        with self._lock:
            if not force and now - self._last < interval:
                return
            self._last = now
            if self.tty:
                self.stream.write(f"\r\x1b[K{text}")
                self._shown = True
            else:
                self.stream.write(f"{text}\n")
            self.stream.flush()

    def done(self, text: str | None = None) -> None:
        """End the progress display: leave ``text`` as its last line, or erase it."""
        if not self.enabled:
            return
        if text is not None:
            self.update(text, force=True)
        with self._lock:
            if self.tty and self._shown:
                self.stream.write("\n" if text is not None else "\r\x1b[K")
                self.stream.flush()
            self._shown = False
