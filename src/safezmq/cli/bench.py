"""``safezmq bench``: run the benchmark suite (``safezmq.bench``) and print its table.

The runner and its workers ship in the package, so this works from an installed wheel;
--benchmarks DIR runs another runner instead (a directory holding a ``run.py``, e.g. a modified
copy of ``src/safezmq/bench``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

from ._common import EXIT_FAILURE, CLIError, Progress, add_progress_option, positive_float

DESCRIPTION = """\
Run safezmq's benchmarks (python -m safezmq.bench): throughput, latency and PUB/SUB fan-out,
each in fresh processes, safezmq and pyzmq (libzmq) taking turns when pyzmq is installed, and
print the table of results with the ratios (higher is better for safezmq).  --chart needs
matplotlib (pip install 'safezmq[bench]').
"""

#: Seconds one benchmark worker may run (run.py's --timeout) unless --worker-timeout says.
DEFAULT_WORKER_TIMEOUT = 180.0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="run the benchmarks (safezmq and pyzmq side by side) and print the table",
        description=DESCRIPTION,
    )
    parser.add_argument(
        "--benchmarks",
        metavar="DIR",
        help="run DIR/run.py instead of the installed runner (default: safezmq.bench)",
    )
    parser.add_argument(
        "--cases",
        nargs="+",
        metavar="CASE",
        help="cases or groups: thr-64, thr-1k, lat-pair, lat-reqrep, fanout-64, thr, lat, fanout, "
        "all (default: all)",
    )
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke test")
    parser.add_argument("--repeat", type=int, metavar="N", help="repetitions (default 3)")
    parser.add_argument("--chart", metavar="FILE.png", help="also draw the ratios (matplotlib)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument(
        "--impls",
        metavar="LIST",
        help="implementations: safezmq,pyzmq (default: both if installed)",
    )
    parser.add_argument(
        "--worker-timeout",
        type=positive_float,
        default=DEFAULT_WORKER_TIMEOUT,
        metavar="S",
        help=f"seconds one benchmark run may take (default {DEFAULT_WORKER_TIMEOUT:g})",
    )
    add_progress_option(parser)
    parser.set_defaults(handler=run)


def runner_command(explicit: str | None) -> list[str]:
    """How to start the runner: the installed ``safezmq.bench``, or DIR/run.py if given."""
    if explicit is None:
        return [sys.executable, "-m", "safezmq.bench"]
    path = Path(explicit)
    if not (path / "run.py").is_file():
        raise CLIError(f"--benchmarks {explicit}: no run.py there (not a benchmarks directory)")
    return [sys.executable, str(path / "run.py")]


def _forward(stream: IO[str], progress: Progress) -> None:
    """run.py's stderr: progress lines ("[1/3] ...") only with progress, anything else always."""
    for line in stream:
        if line.startswith("[") and "]" in line[:12]:
            if progress.enabled:
                sys.stderr.write(line)
                sys.stderr.flush()
        else:
            sys.stderr.write(line)
            sys.stderr.flush()


def run(args: argparse.Namespace) -> int:
    command = [*runner_command(args.benchmarks), f"--timeout={args.worker_timeout}"]
    if args.cases:
        command += ["--cases", *args.cases]
    if args.quick:
        command.append("--quick")
    if args.repeat is not None:
        if args.repeat < 1:
            raise CLIError("--repeat must be at least 1", 2)
        command.append(f"--repeat={args.repeat}")
    for option in ("chart", "json", "impls"):
        value = getattr(args, option)
        if value is not None:
            command.append(f"--{option}={os.path.abspath(value) if option != 'impls' else value}")
    progress = Progress(args.progress)
    env = dict(os.environ)
    # The workers import safezmq: the same one as this process, wherever it came from.
    source = str(Path(__file__).resolve().parent.parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (source, env.get("PYTHONPATH")) if p)
    try:
        child = subprocess.Popen(
            command,
            stdout=None,  # the machine line and the table go straight to our stdout
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
    except OSError as exc:
        raise CLIError(f"cannot run {' '.join(command[:3])}: {exc}") from None
    assert child.stderr is not None
    reader = threading.Thread(target=_forward, args=(child.stderr, progress), daemon=True)
    reader.start()
    try:
        code = child.wait()
    except BaseException:
        child.kill()
        child.wait()
        raise
    reader.join(5)
    if code != 0:
        raise CLIError(f"the benchmarks failed (exit status {code}; see above)", EXIT_FAILURE)
    return 0
