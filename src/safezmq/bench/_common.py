"""What the benchmark workers and the runner share: implementation choice, sizes, child processes,
uvloop (``--uvloop``) and the CURVE server's authenticator.

A worker imports the implementation under test with ``zmq = import_impl(args.impl)`` so the very
same benchmark code drives safezmq and pyzmq.  Every blocking step has a timeout: sockets get
RCVTIMEO/SNDTIMEO and LINGER=0, child processes are waited for with a deadline and killed after
it, so a hung run fails instead of hanging forever.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import re
import subprocess
import sys
import sysconfig
import warnings
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent

#: The implementations a worker can run, and the module each is imported from (as ``zmq``).
IMPL_MODULES = {"safezmq": "safezmq", "pyzmq": "zmq"}
IMPLS = tuple(IMPL_MODULES)

#: Exit status of a worker asked for something the implementation does not support (yet).
EXIT_UNSUPPORTED = 3
#: Exit status of a worker whose run failed (timeout, wrong message, crashed peer ...).
EXIT_FAILED = 1

#: Seconds any single blocking socket operation may take before the run is declared hung.
DEFAULT_OP_TIMEOUT_S = 10.0
#: The first message also waits for the peer process to start and connect.
FIRST_MESSAGE_TIMEOUT_S = 30.0

_SIZE_RE = re.compile(r"^\s*(\d+)\s*([kKmM]?)(?:i?[bB])?\s*$")
_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024 * 1024}


class BenchmarkError(RuntimeError):
    """A benchmark run failed (the message says how)."""


class Unsupported(BenchmarkError):
    """The implementation under test cannot run this benchmark (yet)."""


def import_impl(name: str) -> ModuleType:
    """The implementation under test; callers bind it to the name ``zmq``."""
    try:
        module_name = IMPL_MODULES[name]
    except KeyError:
        raise ValueError(f"unknown implementation {name!r}; choose from {IMPLS}") from None
    return importlib.import_module(module_name)


#: How to get uvloop, for ``--uvloop``.
UVLOOP_INSTALL = "pip install 'safezmq[uvloop]' (from a checkout: pip install -e '.[uvloop]')"


def uvloop_version() -> str | None:
    """uvloop's version if it is installed, else None."""
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        return None
    return str(getattr(uvloop, "__version__", "?"))


#: Whether ``use_uvloop()`` was called in this process (its peer processes then use uvloop too).
_uvloop_in_use = False


def use_uvloop() -> str:
    """Make every asyncio loop this process creates from now on a uvloop loop; its version.

    Setting the event loop policy reaches both ``asyncio.run()`` (the asyncio benchmarks' own
    loop) and ``asyncio.new_event_loop()`` -- what safezmq's I/O thread runs (its sync sockets',
    and its asyncio sockets' that bind or connect before a loop runs), so the I/O thread runs
    uvloop without any change to safezmq.  Call it before the first Context is made.  pyzmq's
    sync sockets never use an asyncio loop (libzmq has its own I/O threads).  The peer
    processes this process starts from now on (``PeerProcess``) get ``--uvloop`` too.
    """
    global _uvloop_in_use
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        raise BenchmarkError(f"--uvloop: uvloop is not installed: {UVLOOP_INSTALL}") from None
    with warnings.catch_warnings():
        # Event loop policies are deprecated from Python 3.14 on (still working until 3.16).
        warnings.simplefilter("ignore", DeprecationWarning)
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    _uvloop_in_use = True
    return str(getattr(uvloop, "__version__", "?"))


def add_worker_arguments(parser: argparse.ArgumentParser, timeout_help: str) -> None:
    """``--timeout``, ``--uvloop`` and ``--json``, which every worker takes."""
    parser.add_argument("--timeout", type=float, default=DEFAULT_OP_TIMEOUT_S, help=timeout_help)
    add_uvloop_argument(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def add_copy_argument(parser: argparse.ArgumentParser) -> None:
    """``--copy``/``--no-copy``: send and receive with copy=True (pyzmq's default) or not."""
    parser.add_argument(
        "--copy",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="send/recv with copy=True (pyzmq's default) or copy=False (zero-copy)",
    )


def add_uvloop_argument(parser: argparse.ArgumentParser) -> None:
    """A worker's ``--uvloop`` flag (it passes the flag on to its peer processes)."""
    parser.add_argument(
        "--uvloop",
        action="store_true",
        help="run asyncio loops, and safezmq's I/O thread, on uvloop (needs uvloop installed)",
    )


def event_loop_name(uvloop: bool) -> str:
    """What a worker's asyncio loops are, for the results: ``"uvloop 0.19.0"`` or ``"asyncio"``."""
    return f"uvloop {uvloop_version()}" if uvloop else "asyncio"


def io_loop_name(impl: str, uvloop: bool) -> str:
    """What runs a sync worker's I/O, for the results: safezmq's I/O thread's asyncio loop
    (``"asyncio"`` or ``"uvloop 0.19.0"``), or ``"libzmq"`` (its own I/O threads, no loop)."""
    return event_loop_name(uvloop) if impl == "safezmq" else "libzmq"


def start_authenticator(zmq: ModuleType, ctx: Any) -> Any:
    """The implementation's ThreadAuthenticator on ``ctx``, allowing any CURVE client key.

    A safezmq CURVE server needs a ZAP handler (it refuses every client without one); libzmq
    accepts any key without one, but gets the same authenticator so that both do the same work.
    The caller stops it (``auth.stop()``) before terminating the context.
    """
    auth_module = importlib.import_module(f"{zmq.__name__}.auth")
    thread_module = importlib.import_module(f"{zmq.__name__}.auth.thread")
    auth = thread_module.ThreadAuthenticator(ctx)
    auth.start()
    auth.configure_curve(domain="*", location=auth_module.CURVE_ALLOW_ANY)
    return auth


def free_threading() -> dict[str, bool]:
    """``build``: this interpreter is a free-threaded build (3.13t, 3.14t ...); ``gil_enabled``:
    its GIL is enabled now.  A free-threaded build runs without the GIL
    (``sys._is_gil_enabled()`` is False) until it imports an extension module that does not
    declare itself safe without one: then it enables the GIL (unless PYTHON_GIL=0)."""
    is_gil_enabled = getattr(sys, "_is_gil_enabled", None)
    return {
        "build": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "gil_enabled": True if is_gil_enabled is None else bool(is_gil_enabled()),
    }


def impl_info(name: str, zmq: ModuleType) -> dict[str, Any]:
    """Versions of the implementation under test, for the results, and whether the GIL is
    enabled once it is imported (see free_threading)."""
    info: dict[str, Any] = {
        "impl": name,
        "version": str(getattr(zmq, "__version__", "?")),
        "libzmq": None,
        "module": str(getattr(zmq, "__file__", "")),
        "gil_enabled": free_threading()["gil_enabled"],
    }
    if name == "pyzmq":
        info.update(version=str(zmq.pyzmq_version()), libzmq=str(zmq.zmq_version()))
    return info


def parse_size(text: str) -> int:
    """``"64"``, ``"1k"``, ``"64KiB"``, ``"1m"``, ``"1MiB"`` -> bytes."""
    match = _SIZE_RE.match(text)
    if not match:
        raise ValueError(f"bad message size {text!r}; examples: 64, 1k, 64KiB, 1m")
    return int(match.group(1)) * _SIZE_UNITS[match.group(2).lower()]


def format_size(size: int) -> str:
    """64 -> ``"64 B"``, 65536 -> ``"64 KiB"``, 1048576 -> ``"1 MiB"``."""
    for unit, factor in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} B"


def short_size(size: int) -> str:
    """64 -> ``"64"``, 1024 -> ``"1k"``, 1048576 -> ``"1m"`` (for case names)."""
    for unit, factor in (("m", 1024 * 1024), ("k", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


def setup_socket(sock: Any, timeout_s: float) -> None:
    """LINGER=0 (never block at close) and send/receive timeouts (never block forever)."""
    sock.linger = 0
    ms = max(1, int(timeout_s * 1000))
    sock.rcvtimeo = ms
    sock.sndtimeo = ms


def emit(result: dict[str, Any], as_json: bool, human: str) -> None:
    """Print a worker's result: one JSON object on one line, or the human-readable text."""
    if as_json:
        print(json.dumps(result, sort_keys=True), flush=True)
    else:
        print(human, flush=True)


def last_json_line(text: str) -> dict[str, Any]:
    """The JSON object a worker printed as its last non-empty line of output."""
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line:
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                break
            if isinstance(value, dict):
                return value
            break
    raise BenchmarkError(f"worker printed no JSON result; its output was: {text[-500:]!r}")


class PeerProcess:
    """The remote half of a benchmark: this script run again by ``sys.executable``.

    Used as a context manager: leaving the block kills the child if it is still running, so
    an exception in the parent never leaves an orphan behind.  If this process runs on uvloop
    (``use_uvloop()``), so does the child: it gets ``--uvloop``.
    """

    def __init__(self, script: Path, args: list[str]) -> None:
        self.cmd = [sys.executable, str(script), *args]
        if _uvloop_in_use:
            self.cmd.append("--uvloop")
        self.proc = subprocess.Popen(
            self.cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def __enter__(self) -> PeerProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.kill()

    def failed(self) -> str | None:
        """If the child has already exited with an error, what it said (else None)."""
        code = self.proc.poll()
        if code is None or code == 0:
            return None
        assert self.proc.stderr is not None
        return f"peer exited with status {code}: {self.proc.stderr.read().decode(errors='replace')}"

    def finish(self, timeout_s: float, stdin_data: bytes = b"") -> str:
        """Send ``stdin_data`` (then EOF), wait for a clean exit, return the child's stdout."""
        try:
            out, err = self.proc.communicate(stdin_data, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            raise BenchmarkError(
                f"peer process did not exit within {timeout_s:g} s: {self.cmd}"
            ) from None
        if self.proc.returncode != 0:
            raise BenchmarkError(
                f"peer process exited with status {self.proc.returncode}: "
                f"{err.decode(errors='replace').strip()}"
            )
        return out.decode(errors="replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None and not stream.closed:
                stream.close()


def worker_main(run: Any, argv: list[str] | None = None) -> int:
    """Run a worker's ``run()``; turn failures into a clear message and an exit status."""
    try:
        run(argv)
    except Unsupported as exc:
        print(f"{Path(sys.argv[0]).name}: unsupported: {exc}", file=sys.stderr, flush=True)
        return EXIT_UNSUPPORTED
    except BenchmarkError as exc:
        print(f"{Path(sys.argv[0]).name}: failed: {exc}", file=sys.stderr, flush=True)
        return EXIT_FAILED
    return 0


if __name__ == "__main__":
    # ``python _common.py IMPL``: print the implementation's versions (the runner's probe).
    name = sys.argv[1] if len(sys.argv) > 1 else "safezmq"
    print(json.dumps(impl_info(name, import_impl(name)), sort_keys=True))
