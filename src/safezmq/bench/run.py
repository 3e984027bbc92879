"""Run every benchmark against safezmq and pyzmq (libzmq), alternately, and print a table.

    python -m safezmq.bench                   # all cases, 3 repetitions, medians quoted
    python -m safezmq.bench --cases goals --json docs/benchmarks/ --chart docs/benchmarks/
    python -m safezmq.bench --quick --repeat 1 --json results.json
    python -m safezmq.bench --cases thr-64 thr-4k lat-pair lat-reqrep --repeat 5
    python -m safezmq.bench --cases fanout-64 --subscribers 4 --chart ratios.png
    python -m safezmq.bench --cases conn --connections 10000 --handshakes 2000
    python -m safezmq.bench --cases curve-64 asyncio --uvloop

Each measurement is a fresh set of worker processes (``throughput.py``, ``async_throughput.py``,
``latency.py``, ``fanout.py`` or ``connections.py`` with ``--impl``), so the implementations
never share a process.  Within a
repetition every case runs once per implementation, the two taking turns (the order flips on
each repetition); each cell quotes the median over the repetitions -- except a fan-out's
delivered ratio, which quotes the lowest, so that no loss hides behind a median.  Ratios are
"higher is better" for safezmq: safezmq/pyzmq for throughput, fan-out rates and delivered
ratios and handshakes/s, pyzmq time / safezmq time for latency, pyzmq bytes / safezmq bytes for
idle connection memory.  Without pyzmq installed only safezmq is measured.
Progress goes to stderr; the machine line and the table to stdout: a row per metric, with its
goal and whether the ratio meets it where the release set one (GOALS), then a line counting the
goals met.  ``--json FILE`` writes every run's result, each row's values per repetition, median,
ratio and goal, and the machine (CPU, cores, Python and whether it is free-threaded, the
versions, the date); ``--chart FILE.png`` draws the ratios against their goals (needs
matplotlib: ``pip install 'safezmq[bench]'``).  A directory for either (or a path ending in
``/``) gets a dated name: ``results-<date>.json``, ``ratios-<date>.png``.  ``python -m
safezmq.bench.report results.json`` renders a results file as a markdown table (and chart).

Cases: ``thr-<size>`` (PUSH->PULL throughput over tcp between two processes; sizes like 64, 1k,
64k, 1m), ``curve-<size>`` (the same over CURVE: the PULL is the CURVE server, with the
implementation's ThreadAuthenticator allowing any client key), ``asyncio-<size>`` (PUSH->PULL
over tcp in ONE process with the implementation's asyncio API, sender and receiver two tasks on
one loop awaiting every send/recv, the sockets made inside the running loop),
``asyncio-thread-<size>`` (the same with the sockets made before the loop runs: safezmq then
gives them its I/O thread), ``lat-<pattern>`` (round-trip latency, pattern ``pair`` or
``reqrep``), ``fanout-<size>`` (PUB -> ``--subscribers`` SUB processes, credit-paced so that
nothing may be dropped: rows per subscriber, aggregate and delivered ratio), ``conn-idle`` (the
server's RSS growth per idle connection, over ``--connections`` DEALER->ROUTER tcp connections),
``conn-curve`` (CURVE handshakes per second: ``--handshakes`` clients connecting at once to a
CURVE ROUTER whose ThreadAuthenticator allows any key, from the first connect to the server's
last HANDSHAKE_SUCCEEDED), or the groups ``thr`` (``--sizes``), ``curve`` (``--curve-sizes``),
``asyncio`` (``asyncio-`` and ``asyncio-thread-`` of ``--asyncio-sizes``), ``lat``, ``fanout``,
``conn``, ``all`` (the default: all of them), and ``goals`` (alias ``issue13``): exactly the cases
that have a goal, in the goals' order (tcp 64 B, 1 KiB, 64 KiB, 1 MiB, REQ/REP, CURVE 64 B and
1 MiB, asyncio 64 B and 64 KiB, fan-out 64 B, CURVE handshakes, idle memory).

A throughput run (``thr-``, ``curve-``, ``asyncio-``) times a window of a steady stream, after a
warm-up, and stops the sender only after the window: see ``throughput.py``.  A fan-out run
sends a message count that a pilot run chose (each implementation its own), which later
repetitions reuse.

``--uvloop`` runs every worker's asyncio loops on uvloop (``pip install 'safezmq[uvloop]'``): the
asyncio cases' event loop (both implementations) and safezmq's I/O thread in every case that has
one (libzmq's I/O threads are not asyncio loops: pyzmq's sync cases are unaffected).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

try:
    from . import _common as common
    from . import report, throughput
except ImportError:  # run as a script (the runner's workers): this directory is on sys.path
    import _common as common  # type: ignore[no-redef,import-not-found]
    import report  # type: ignore[no-redef,import-not-found]
    import throughput  # type: ignore[no-redef,import-not-found]

DEFAULT_SIZES = "64,1k,64k,1m"
DEFAULT_CURVE_SIZES = "64,1m"
DEFAULT_ASYNCIO_SIZES = "64,64k"
DEFAULT_FANOUT_SIZES = "64,1k"
DEFAULT_SUBSCRIBERS = 2
#: Idle connections for conn-idle; CURVE clients for conn-curve (connections.py's defaults).
DEFAULT_CONNECTIONS = 2000
DEFAULT_HANDSHAKES = 1000
DEFAULT_CASES = ("thr", "curve", "asyncio", "lat", "fanout", "conn")
LATENCY_PATTERNS = ("pair", "reqrep")
#: Throughput variants (a "thr" case's ``variant``, also its name's prefix) -> the row label's
#: format ({size}: "64 B").  asyncio-thread: the sockets are made before the loop runs.
THROUGHPUT_VARIANTS = {
    "thr": "throughput {size}",
    "curve": "throughput curve {size}",
    "asyncio": "asyncio throughput {size}",
    "asyncio-thread": "asyncio throughput {size}, I/O thread",
}
#: Groups of cases: a name on the command line -> the kinds of case it stands for ("curve" and
#: "aio" are throughput variants).
GROUPS = {
    "all": ("thr", "curve", "aio", "lat", "fan", "idle", "hs"),
    "thr": ("thr",),
    "throughput": ("thr",),
    "curve": ("curve",),
    "asyncio": ("aio",),
    "lat": ("lat",),
    "latency": ("lat",),
    "fanout": ("fan",),
    "conn": ("idle", "hs"),
    "connections": ("idle", "hs"),
}
#: Groups of named cases: exactly the cases that have a goal, in the goals' order.
GOAL_GROUPS = ("goals", "issue13")
#: --quick: each throughput or fan-out run moves about this many bytes (within the counts below)
#: and each latency run does this many round trips -- enough to exercise the code, not to
#: measure it.
QUICK_BYTES = 2 * 1024 * 1024
QUICK_MIN_COUNT, QUICK_MAX_COUNT = 20, 2000
QUICK_ROUND_TRIPS, QUICK_WARMUP = 200, 20
#: --quick: a tcp throughput run's warm-up is this many messages (and no minimum time).
QUICK_WARMUP_COUNT = 20
#: --quick: idle connections and CURVE handshakes (about 2 s per run).
QUICK_CONNECTIONS, QUICK_HANDSHAKES = 200, 50
#: Seconds without progress before a connections run fails (at least; see --op-timeout): a
#: client process closing thousands of sockets takes a while.
CONN_TIMEOUT_S = 60.0


#: The goal of each row, as a ratio (higher is better), keyed by (case name, result key): the
#: targets the project set itself for this release (see docs/performance.md).  "keep" goals
#: are floors for what is already met.
GOALS: dict[tuple[str, str], float] = {
    ("thr-64", "msgs_per_s"): 0.8,
    ("thr-1k", "msgs_per_s"): 0.9,
    ("thr-64k", "msgs_per_s"): 1.0,
    ("thr-1m", "msgs_per_s"): 1.0,
    ("lat-reqrep", "median_us"): 1.0,
    ("curve-64", "msgs_per_s"): 0.5,
    ("curve-1m", "msgs_per_s"): 1.0,
    ("asyncio-64", "msgs_per_s"): 4.0,
    ("asyncio-64k", "msgs_per_s"): 1.5,
    ("fanout-64", "msgs_per_s"): 0.6,
    ("conn-curve", "handshakes_per_s"): 1.0,
    ("conn-idle", "bytes_per_conn"): 3.0,
}
#: Each goal's row as the release's goals name it (the README's table uses these names).
GOAL_LABELS: dict[tuple[str, str], str] = {
    ("thr-64", "msgs_per_s"): "tcp PUSH→PULL 64 B",
    ("thr-1k", "msgs_per_s"): "tcp PUSH→PULL 1 KiB",
    ("thr-64k", "msgs_per_s"): "tcp PUSH→PULL 64 KiB",
    ("thr-1m", "msgs_per_s"): "tcp PUSH→PULL 1 MiB",
    ("lat-reqrep", "median_us"): "REQ/REP round trip 64 B (median)",
    ("curve-64", "msgs_per_s"): "CURVE 64 B",
    ("curve-1m", "msgs_per_s"): "CURVE 1 MiB",
    ("asyncio-64", "msgs_per_s"): "asyncio 64 B",
    ("asyncio-64k", "msgs_per_s"): "asyncio 64 KiB",
    ("fanout-64", "msgs_per_s"): "PUB → 2 SUB fan-out 64 B, per subscriber",
    ("conn-curve", "handshakes_per_s"): "CURVE handshakes/s",
    ("conn-idle", "bytes_per_conn"): "memory per idle connection",
}


def goal_cells(case: Case, key: str, value: float | None) -> list[str]:
    """The goal and met/missed columns of one row ("" when the row has no goal)."""
    goal = GOALS.get((case.name, key))
    if goal is None:
        return ["-", "-"]
    met = "-" if value is None else ("met" if value >= goal else "missed")
    return [f">= {goal:g}", met]


@dataclass(frozen=True)
class Case:
    name: str
    kind: str  # "thr", "lat", "fan", "idle" (connection memory) or "hs" (CURVE handshakes)
    size: int  # message size (0 for the connection cases)
    pattern: str = "pair"
    subscribers: int = 0  # fan-out only
    count: int = 0  # idle: connections; hs: handshakes
    variant: str = "thr"  # thr only: a key of THROUGHPUT_VARIANTS

    @property
    def label(self) -> str:
        if self.kind == "thr":
            return THROUGHPUT_VARIANTS[self.variant].format(size=common.format_size(self.size))
        if self.kind == "fan":
            return f"fanout {common.format_size(self.size)} x{self.subscribers}"
        if self.kind == "idle":
            return "idle connection memory"
        if self.kind == "hs":
            return "curve handshakes/s"
        return f"latency {self.pattern} {common.format_size(self.size)}"


@dataclass
class Outcome:
    """One worker run: ``status`` is "ok" (with ``result``), "unsupported" or "error"."""

    status: str
    result: dict[str, Any] = field(default_factory=dict)
    message: str = ""


def parse_cases(
    names: Sequence[str],
    sizes: Sequence[int],
    lat_size: int,
    fanout_sizes: Sequence[int] = (64, 1024),
    subscribers: int = DEFAULT_SUBSCRIBERS,
    connections: int = DEFAULT_CONNECTIONS,
    handshakes: int = DEFAULT_HANDSHAKES,
    curve_sizes: Sequence[int] = (64, 1024 * 1024),
    asyncio_sizes: Sequence[int] = (64, 64 * 1024),
) -> list[Case]:
    cases: list[Case] = []

    def add(case: Case) -> None:
        if case not in cases:
            cases.append(case)

    def throughput(variant: str, size: int) -> Case:
        return Case(f"{variant}-{common.short_size(size)}", "thr", size, variant=variant)

    def fanout(size: int) -> Case:
        return Case(f"fanout-{common.short_size(size)}", "fan", size, subscribers=subscribers)

    idle = Case("conn-idle", "idle", 0, count=connections)
    curve = Case("conn-curve", "hs", 0, count=handshakes)

    for name in names:
        name = name.strip().lower()
        if name in GOAL_GROUPS:
            goal_cases = dict.fromkeys(case for case, _ in GOALS)  # (ordered, no duplicates)
            for case in parse_cases(
                list(goal_cases),
                sizes,
                lat_size,
                fanout_sizes,
                subscribers,
                connections,
                handshakes,
                curve_sizes,
                asyncio_sizes,
            ):
                add(case)
            continue
        if name in GROUPS:
            kinds = GROUPS[name]
            if "thr" in kinds:
                for size in sizes:
                    add(throughput("thr", size))
            if "curve" in kinds:
                for size in curve_sizes:
                    add(throughput("curve", size))
            if "aio" in kinds:
                for size in asyncio_sizes:
                    add(throughput("asyncio", size))
                    add(throughput("asyncio-thread", size))
            if "lat" in kinds:
                for pattern in LATENCY_PATTERNS:
                    add(Case(f"lat-{pattern}", "lat", lat_size, pattern))
            if "fan" in kinds:
                for size in fanout_sizes:
                    add(fanout(size))
            if "idle" in kinds:
                add(idle)
            if "hs" in kinds:
                add(curve)
            continue
        kind, _, arg = name.partition("-")
        if kind == "asyncio" and arg.startswith("thread-"):
            kind, arg = "asyncio-thread", arg.removeprefix("thread-")
        if kind in THROUGHPUT_VARIANTS and arg:
            add(throughput(kind, common.parse_size(arg)))
        elif kind == "lat" and arg in LATENCY_PATTERNS:
            add(Case(f"lat-{arg}", "lat", lat_size, arg))
        elif kind == "fanout" and arg:
            add(fanout(common.parse_size(arg)))
        elif name == idle.name:
            add(idle)
        elif name == curve.name:
            add(curve)
        else:
            raise ValueError(
                f"unknown case {name!r}: use thr-<size> (thr-64, thr-1k), curve-<size>, "
                f"asyncio-<size>, asyncio-thread-<size>, lat-<{'|'.join(LATENCY_PATTERNS)}>, "
                "fanout-<size> (fanout-64), "
                f"{idle.name}, {curve.name}, or {', '.join([*GROUPS, *GOAL_GROUPS])}"
            )
    return cases


def probe(impl: str, timeout_s: float) -> dict[str, Any] | None:
    """The implementation's versions (from a child process), or None if it cannot be imported."""
    cmd = [sys.executable, str(common.BENCH_DIR / "_common.py"), impl]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:
        return None
    return common.last_json_line(done.stdout)


def machine_info(infos: dict[str, dict[str, Any]]) -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "cpu model"):
                    cpu = value.strip()
                    break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 0
    try:
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "?"
    pyzmq = infos.get("pyzmq")
    threading = common.free_threading()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "python_build": python_build(threading, infos),
        "free_threaded_build": threading["build"],
        "free_threaded": threading["build"] and not threading["gil_enabled"],
        "libzmq": pyzmq["libzmq"] if pyzmq else None,
        "pyzmq": pyzmq["version"] if pyzmq else None,
        "safezmq": infos["safezmq"]["version"] if "safezmq" in infos else None,
        "loadavg_at_start": load,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M UTC"),
        "sys_executable": sys.executable,
    }


def python_build(threading: dict[str, bool], infos: dict[str, dict[str, Any]]) -> str:
    """ "with the GIL", or "free-threaded, GIL disabled" (and which implementation's import
    enabled it again, as the probes saw), or "free-threaded build, GIL enabled"."""
    if not threading["build"]:
        return "with the GIL"
    if threading["gil_enabled"]:
        return "free-threaded build, GIL enabled"
    again = [impl for impl, info in infos.items() if info.get("gil_enabled")]
    if again:
        return f"free-threaded, GIL disabled until importing {' and '.join(again)} enables it"
    return "free-threaded, GIL disabled"


def machine_line(m: dict[str, Any]) -> str:
    cores = f"{m['cores']} cores"
    if m["usable_cores"] != m["cores"]:
        cores += f" ({m['usable_cores']} usable)"
    zmq = f"libzmq {m['libzmq']} (pyzmq {m['pyzmq']})" if m["libzmq"] else "pyzmq not installed"
    return (
        f"machine: {m['cpu']}, {cores}, {m['os']}, {m['python']} ({m['python_build']}), {zmq}, "
        f"safezmq {m['safezmq']}, load average at start {m['loadavg_at_start']}, {m['date']}"
    )


def quick_count(size: int) -> int:
    return max(QUICK_MIN_COUNT, min(QUICK_MAX_COUNT, QUICK_BYTES // size))


def streams(case: Case) -> bool:
    """Whether the case's worker times a window of a stream (throughput.py: tcp and CURVE;
    async_throughput.py: asyncio) rather than a count of messages that a pilot run chose."""
    return case.kind == "thr"


def worker_command(case: Case, impl: str, args: argparse.Namespace, count: int | None) -> list[str]:
    common_args = [f"--impl={impl}", f"--timeout={args.op_timeout}", "--json"]
    if args.uvloop:
        common_args.append("--uvloop")
    if case.kind in ("idle", "hs"):
        script = str(common.BENCH_DIR / "connections.py")
        timeout = f"--timeout={max(args.op_timeout, CONN_TIMEOUT_S)}"
        if case.kind == "idle":
            n = QUICK_CONNECTIONS if args.quick else case.count
            cmd = [script, f"--impl={impl}", timeout, "--json", "--bench=idle"]
            cmd.append(f"--connections={n}")
        else:
            n = QUICK_HANDSHAKES if args.quick else case.count
            cmd = [script, f"--impl={impl}", timeout, "--json", "--bench=handshake"]
            cmd.append(f"--handshakes={n}")
        if args.uvloop:
            cmd.append("--uvloop")
        return [sys.executable, *cmd]
    if case.kind in ("thr", "fan"):
        if case.kind == "thr" and case.variant.startswith("asyncio"):
            io = "thread" if case.variant == "asyncio-thread" else "loop"
            cmd = [str(common.BENCH_DIR / "async_throughput.py"), *common_args]
            cmd += [f"--size={case.size}", f"--io={io}"]
        elif case.kind == "thr":
            cmd = [str(common.BENCH_DIR / "throughput.py"), *common_args, f"--size={case.size}"]
            if case.variant == "curve":
                cmd.append("--curve")
        else:
            cmd = [str(common.BENCH_DIR / "fanout.py"), *common_args, f"--size={case.size}"]
            cmd.append(f"--subscribers={case.subscribers}")
        cmd.append("--copy" if args.copy else "--no-copy")
        if args.quick:
            count = quick_count(case.size)
            if streams(case):
                cmd += ["--warmup=0", f"--warmup-count={QUICK_WARMUP_COUNT}"]
        if count is not None:
            cmd.append(f"--count={count}")
        else:
            cmd.append(f"--duration={args.duration}")
    else:
        cmd = [str(common.BENCH_DIR / "latency.py"), *common_args, f"--size={case.size}"]
        cmd.append(f"--pattern={case.pattern}")
        if args.quick:
            cmd += [f"--count={QUICK_ROUND_TRIPS}", f"--warmup={QUICK_WARMUP}"]
        else:
            cmd.append(f"--duration={args.duration}")
    return [sys.executable, *cmd]


def run_worker(cmd: list[str], timeout_s: float) -> Outcome:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return Outcome("error", message=f"timed out after {timeout_s:g} s: {' '.join(cmd)}")
    stderr = done.stderr.strip()
    if done.returncode == common.EXIT_UNSUPPORTED:
        return Outcome("unsupported", message=stderr)
    if done.returncode != 0:
        return Outcome(
            "error", message=f"exit status {done.returncode}: {stderr[-2000:] or done.stdout}"
        )
    try:
        return Outcome("ok", result=common.last_json_line(done.stdout))
    except common.BenchmarkError as exc:
        return Outcome("error", message=str(exc))


def lost(result: dict[str, Any]) -> int:
    """Deliveries a fan-out run lost: messages sent x subscribers - messages received."""
    return int(result["lost"])


def format_delivered(delivered: float, lost_count: int) -> str:
    """0.999 -> "99.90 % (1,234 lost)"; rounded down, so that only no loss shows 100.00 %."""
    if not lost_count:
        return f"{100 * delivered:.2f} %"
    return f"{math.floor(10_000 * delivered) / 100:.2f} % ({lost_count:,} lost)"


def describe(case: Case, result: dict[str, Any]) -> str:
    if case.kind == "idle":
        events = result["events"]
        return (
            f"{result['bytes_per_conn']:,.0f} bytes/connection ({result['connections']:,} idle "
            f"connections, server RSS {result['rss_before'] / 2**20:,.1f} -> "
            f"{result['rss_after'] / 2**20:,.1f} MiB, all up in {result['connect_s']:.2f} s, "
            f"{events['accepted'] - events['succeeded']} handshakes failed or evicted)"
        )
    if case.kind == "hs":
        return (
            f"{result['handshakes_per_s']:,.0f} handshakes/s ({result['handshakes']:,} CURVE "
            f"clients in {result['elapsed_s']:.2f} s, {result['failed']} handshakes failed or "
            "evicted and retried)"
        )
    if case.kind == "thr":
        text = (
            f"{result['msgs_per_s']:,.0f} msg/s {result['mb_per_s']:,.1f} MB/s "
            f"({result['count']:,} msgs in {result['elapsed_s']:.2f} s"
        )
        if "warmup" in result:  # a stream's window (throughput.py)
            slices = result["slices"]
            if slices:
                text += f"; tenths {min(slices):,.0f}-{max(slices):,.0f} msg/s"
            text += f", after {result['warmup']['count']:,} msgs not timed"
        return text + ")"
    if case.kind == "fan":
        return (
            f"{result['msgs_per_s']:,.0f} msg/s {result['mb_per_s']:,.1f} MB/s per sub, "
            f"aggregate {result['aggregate_msgs_per_s']:,.0f} msg/s, delivered "
            f"{format_delivered(result['delivered_ratio'], lost(result))} "
            f"({result['count']:,} msgs to {result['subscribers']} subs in "
            f"{result['elapsed_s']:.2f} s, {result['credit_stalls']} credit stalls)"
        )
    return (
        f"mean {result['mean_us']:.1f} us, median {result['median_us']:.1f} us "
        f"({result['count']:,} round trips)"
    )


def median_of(outcomes: list[Outcome], key: str) -> float | None:
    values = [o.result[key] for o in outcomes if o.status == "ok"]
    return statistics.median(values) if values else None


#: Result keys whose cell quotes the median of the runs, for each kind of case.
MEDIAN_KEYS = {
    "thr": ("msgs_per_s", "mb_per_s"),
    "lat": ("mean_us", "median_us"),
    "fan": ("msgs_per_s", "mb_per_s", "aggregate_msgs_per_s", "aggregate_mb_per_s"),
    "idle": ("bytes_per_conn",),
    "hs": ("handshakes_per_s",),
}
#: Kinds whose metric is a cost (lower is better): their ratio is pyzmq / safezmq.
COST_KINDS = ("lat", "idle")
#: Rate keys -> the matching MB/s key, for the "msg/s MB/s" cells.
MB_KEYS = {"msgs_per_s": "mb_per_s", "aggregate_msgs_per_s": "aggregate_mb_per_s"}


def summarise(case: Case, outcomes: list[Outcome]) -> dict[str, Any]:
    ok = [o for o in outcomes if o.status == "ok"]
    summary: dict[str, Any] = {
        "runs": [o.result for o in ok],
        "failures": [asdict(o) for o in outcomes if o.status != "ok"],
    }
    if not ok:
        summary["status"] = outcomes[-1].status if outcomes else "not run"
        return summary
    summary["status"] = "ok"
    summary["median"] = {key: median_of(ok, key) for key in MEDIAN_KEYS[case.kind]}
    if case.kind == "fan":
        # Loss is quoted from the worst run, not the median: one lossy run must show.
        summary["worst"] = {
            "delivered_ratio": min(o.result["delivered_ratio"] for o in ok),
            "lost": max(lost(o.result) for o in ok),
        }
    return summary


def metrics(case: Case) -> list[tuple[str, str]]:
    """(row-label suffix, result key) of the table rows for ``case``."""
    if case.kind == "thr":
        return [("", "msgs_per_s")]
    if case.kind == "idle":
        return [("", "bytes_per_conn")]
    if case.kind == "hs":
        return [("", "handshakes_per_s")]
    if case.kind == "fan":
        return [
            (" per sub", "msgs_per_s"),
            (" aggregate", "aggregate_msgs_per_s"),
            (" delivered", "delivered_ratio"),
        ]
    return [(" mean", "mean_us"), (" median", "median_us")]


def value_of(summary: dict[str, Any], key: str) -> Any:
    """The quoted value of ``key``: the worst run's for loss, else the median."""
    if key in summary.get("worst", {}):
        return summary["worst"][key]
    return summary["median"][key]


def ratio(case: Case, key: str, per_impl: dict[str, dict[str, Any]]) -> float | None:
    """safezmq relative to pyzmq for one metric, higher is better (None if either is missing)."""
    try:
        ours = value_of(per_impl["safezmq"], key)
        theirs = value_of(per_impl["pyzmq"], key)
    except KeyError:
        return None
    num, den = (theirs, ours) if case.kind in COST_KINDS else (ours, theirs)
    if num is None or not den:
        return None
    return float(num / den)


def cell(key: str, summary: dict[str, Any]) -> str:
    if summary["status"] != "ok":
        return str(summary["status"])
    value = value_of(summary, key)
    if key == "delivered_ratio":
        return format_delivered(value, summary["worst"]["lost"])
    if key in MB_KEYS:
        return f"{value:>11,.0f} msg/s {value_of(summary, MB_KEYS[key]):>8,.1f} MB/s"
    if key == "bytes_per_conn":
        return f"{value:>9,.0f} B/conn"
    if key == "handshakes_per_s":
        return f"{value:>9,.0f} /s"
    return f"{value:>9,.1f} us"


def table_rows(
    cases: list[Case], impls: list[str], summaries: dict[str, dict[str, dict[str, Any]]]
) -> list[list[str]]:
    """Rows of the table: case | one column per implementation | ratio (if two)."""
    rows: list[list[str]] = []
    for case in cases:
        per_impl = summaries[case.name]
        for suffix, key in metrics(case):
            row = [case.label + suffix]
            row += [cell(key, per_impl[impl]) for impl in impls]
            if len(impls) == 2:
                value = ratio(case, key, per_impl)
                row.append("-" if value is None else f"{value:.3f}")
                row += goal_cells(case, key, value)
            rows.append(row)
    return rows


def format_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        parts = [cells[0].ljust(widths[0])]
        parts += [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
        return " | ".join(parts).rstrip()

    rule = "-+-".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


#: The unit of each result key, for the report (see report.format_value).
UNITS = {
    "msgs_per_s": "msg/s",
    "aggregate_msgs_per_s": "msg/s",
    "delivered_ratio": "fraction",
    "mean_us": "us",
    "median_us": "us",
    "bytes_per_conn": "B/conn",
    "handshakes_per_s": "/s",
}


def chart_kind(case: Case) -> str:
    """What a row measures, for the report: thr, curve, aio, lat, fan, idle or hs."""
    if case.kind == "thr" and case.variant != "thr":
        return "curve" if case.variant == "curve" else "aio"
    return case.kind


def repeat_ratios(case: Case, key: str, per_impl: dict[str, dict[str, Any]]) -> list[float | None]:
    """The ratio of each repetition (the n-th run of one implementation with the n-th of the
    other: they ran in the same repetition, unless a run failed)."""
    try:
        ours, theirs = per_impl["safezmq"]["runs"], per_impl["pyzmq"]["runs"]
    except KeyError:
        return []
    ratios: list[float | None] = []
    for a, b in zip(ours, theirs, strict=False):
        num, den = (b[key], a[key]) if case.kind in COST_KINDS else (a[key], b[key])
        ratios.append(float(num / den) if den else None)
    return ratios


def build_rows(
    cases: list[Case], impls: list[str], summaries: dict[str, dict[str, dict[str, Any]]]
) -> list[dict[str, Any]]:
    """One entry per table row, for the JSON and the report: every repetition's value of each
    implementation, the quoted one (median; the worst for loss), the ratio, each repetition's
    ratio, the goal and whether it is met."""
    ranks = {goal: rank for rank, goal in enumerate(GOALS, start=1)}
    rows: list[dict[str, Any]] = []
    for case in cases:
        per_impl = summaries[case.name]
        for suffix, key in metrics(case):
            value = ratio(case, key, per_impl) if len(impls) == 2 else None
            goal = GOALS.get((case.name, key))
            rows.append(
                {
                    "case": case.name,
                    "key": key,
                    "label": case.label + suffix,
                    "goal_label": GOAL_LABELS.get((case.name, key)),
                    "goal_rank": ranks.get((case.name, key)),
                    "kind": chart_kind(case),
                    "size": case.size,
                    "unit": UNITS[key],
                    "lower_is_better": case.kind in COST_KINDS,
                    "status": {impl: per_impl[impl]["status"] for impl in impls},
                    "values": {
                        impl: [run[key] for run in per_impl[impl]["runs"]] for impl in impls
                    },
                    "quoted": {
                        impl: value_of(per_impl[impl], key)
                        if per_impl[impl]["status"] == "ok"
                        else None
                        for impl in impls
                    },
                    "ratio": value,
                    "repeat_ratios": repeat_ratios(case, key, per_impl) if len(impls) == 2 else [],
                    "goal": goal,
                    "met": None if goal is None or value is None else value >= goal,
                }
            )
    return rows


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--cases",
        nargs="+",
        default=list(DEFAULT_CASES),
        metavar="CASE",
        help=f"default: {' '.join(DEFAULT_CASES)}",
    )
    parser.add_argument(
        "--sizes",
        default=DEFAULT_SIZES,
        help=f"throughput sizes for 'thr' (default {DEFAULT_SIZES})",
    )
    parser.add_argument(
        "--curve-sizes",
        default=DEFAULT_CURVE_SIZES,
        help=f"CURVE throughput sizes for 'curve' (default {DEFAULT_CURVE_SIZES})",
    )
    parser.add_argument(
        "--asyncio-sizes",
        default=DEFAULT_ASYNCIO_SIZES,
        help=f"asyncio throughput sizes for 'asyncio' (default {DEFAULT_ASYNCIO_SIZES})",
    )
    parser.add_argument("--lat-size", default="64", help="latency message size (default 64)")
    parser.add_argument(
        "--fanout-sizes",
        default=DEFAULT_FANOUT_SIZES,
        help=f"fan-out sizes for 'fanout' (default {DEFAULT_FANOUT_SIZES})",
    )
    parser.add_argument(
        "--subscribers",
        type=int,
        default=DEFAULT_SUBSCRIBERS,
        help=f"SUB processes of a fan-out case (default {DEFAULT_SUBSCRIBERS})",
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=DEFAULT_CONNECTIONS,
        help=f"idle connections of conn-idle (default {DEFAULT_CONNECTIONS})",
    )
    parser.add_argument(
        "--handshakes",
        type=int,
        default=DEFAULT_HANDSHAKES,
        help=f"CURVE clients of conn-curve (default {DEFAULT_HANDSHAKES})",
    )
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument("--quick", action="store_true", help="small counts, for smoke tests")
    parser.add_argument(
        "--json",
        metavar="FILE|DIR/",
        help="also write the results to FILE (in DIR: results-<date>.json)",
    )
    parser.add_argument(
        "--chart",
        metavar="FILE.png|DIR/",
        help="also draw the ratios against their goals (in DIR: ratios-<date>.png; needs "
        "matplotlib: the 'bench' extra)",
    )
    parser.add_argument(
        "--impls", default=",".join(common.IMPLS), help="default: safezmq,pyzmq (if installed)"
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=1.5,
        help="seconds per measured run (tcp throughput: the window's least seconds)",
    )
    parser.add_argument(
        "--copy",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="throughput and fan-out with copy=True (default, as pyzmq) or copy=False",
    )
    parser.add_argument(
        "--uvloop",
        action="store_true",
        help="run asyncio loops (the asyncio cases', safezmq's I/O thread) on uvloop "
        "(needs uvloop: the 'uvloop' extra)",
    )
    parser.add_argument(
        "--op-timeout",
        type=float,
        default=common.DEFAULT_OP_TIMEOUT_S,
        help="seconds one send/recv may block before a run fails",
    )
    parser.add_argument(
        "--timeout", type=float, default=180.0, help="seconds one worker run may take"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.subscribers < 1:
        parser.error("--subscribers must be at least 1")
    if args.connections < 1 or args.handshakes < 1:
        parser.error("--connections and --handshakes must be at least 1")
    try:
        sizes = [common.parse_size(s) for s in args.sizes.split(",") if s.strip()]
        fanout_sizes = [common.parse_size(s) for s in args.fanout_sizes.split(",") if s.strip()]
        curve_sizes = [common.parse_size(s) for s in args.curve_sizes.split(",") if s.strip()]
        asyncio_sizes = [common.parse_size(s) for s in args.asyncio_sizes.split(",") if s.strip()]
        args.case_list = parse_cases(
            args.cases,
            sizes,
            common.parse_size(args.lat_size),
            fanout_sizes,
            args.subscribers,
            args.connections,
            args.handshakes,
            curve_sizes,
            asyncio_sizes,
        )
    except ValueError as exc:
        parser.error(str(exc))
    if any(c.size < 1 for c in args.case_list if c.kind in ("thr", "lat", "fan")):
        parser.error("message sizes must be at least 1 byte")
    if any(c.kind == "fan" and c.size < 2 for c in args.case_list):
        parser.error("fan-out messages must be at least 2 bytes (1-byte messages are markers)")
    args.impl_list = [i.strip() for i in args.impls.split(",") if i.strip()]
    unknown = set(args.impl_list) - set(common.IMPLS)
    if unknown or not args.impl_list:
        parser.error(f"--impls: choose from {', '.join(common.IMPLS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cases: list[Case] = args.case_list
    if args.chart and report.chart_classes() is None:
        print(
            f"error: --chart needs matplotlib, which is not installed: {report.CHART_INSTALL}",
            file=sys.stderr,
        )
        return 2
    uvloop = common.uvloop_version() if args.uvloop else None
    if args.uvloop and uvloop is None:
        print(
            f"error: --uvloop needs uvloop, which is not installed: {common.UVLOOP_INSTALL}",
            file=sys.stderr,
        )
        return 2

    infos: dict[str, dict[str, Any]] = {}
    for impl in common.IMPLS:  # versions for the machine line, measured or not
        info = probe(impl, 60.0)
        if info is not None:
            infos[impl] = info
    impls: list[str] = []
    for impl in args.impl_list:
        if impl in infos:
            impls.append(impl)
        elif impl == "pyzmq" and args.impls == ",".join(common.IMPLS):
            print("pyzmq is not installed: measuring safezmq alone", file=sys.stderr)
        else:
            print(
                f"error: cannot import {impl} (module {common.IMPL_MODULES[impl]})", file=sys.stderr
            )
            return 2
    if args.chart and len(impls) != 2:
        print("error: --chart plots safezmq/pyzmq ratios: it needs both measured", file=sys.stderr)
        return 2
    machine = machine_info(infos)

    outcomes: dict[str, dict[str, list[Outcome]]] = {c.name: {i: [] for i in impls} for c in cases}
    counts: dict[tuple[str, str], int] = {}
    started = time.monotonic()
    for rep in range(args.repeat):
        order = impls if rep % 2 == 0 else impls[::-1]
        for case in cases:
            for impl in order:
                previous = outcomes[case.name][impl]
                if previous and previous[-1].status == "unsupported":
                    continue
                cmd = worker_command(case, impl, args, counts.get((case.name, impl)))
                outcome = run_worker(cmd, args.timeout)
                previous.append(outcome)
                if outcome.status == "ok" and case.kind in ("thr", "fan") and not streams(case):
                    # The first run chose the count (pilot); later runs reuse it.
                    counts.setdefault((case.name, impl), int(outcome.result["count"]))
                if outcome.status == "ok":
                    what = describe(case, outcome.result)
                else:
                    what = f"{outcome.status.upper()}: {outcome.message}"
                print(
                    f"[{rep + 1}/{args.repeat}] {case.name:<10} {impl:<8} {what}",
                    file=sys.stderr,
                    flush=True,
                )

    summaries = {c.name: {i: summarise(c, outcomes[c.name][i]) for i in impls} for c in cases}
    header = ["case", *impls]
    if len(impls) == 2:
        header += ["ratio", "goal", "met"]
    print(machine_line(machine))
    note = f"median of {args.repeat} run(s) per cell"
    if args.quick:
        note += " (--quick: a smoke test, not a measurement)"
    if any(c.kind in ("thr", "fan") for c in cases):
        note += f"; throughput and fan-out send/recv with copy={args.copy}"
    if any(streams(c) for c in cases) and not args.quick:
        note += (
            f"; throughput: a window of at least {args.duration:g} s and"
            f" {throughput.WINDOW_COUNT:,} messages of a steady stream, after a warm-up of at"
            f" least {throughput.WARMUP_S:g} s and {throughput.WARMUP_COUNT:,} messages"
        )
    variants = {c.variant for c in cases if c.kind == "thr"}
    if "curve" in variants:
        note += (
            "; throughput curve: the PULL is the CURVE server, with a ThreadAuthenticator"
            " allowing any client key (both implementations)"
        )
    if variants & {"asyncio", "asyncio-thread"}:
        note += (
            "; asyncio: PUSH->PULL tcp in one process, sender and receiver two tasks on one"
            " loop awaiting every send/recv, sockets made in the running loop (safezmq: its"
            " I/O on that loop, no I/O thread)"
        )
    if "asyncio-thread" in variants:
        note += ", I/O thread = sockets made before the loop runs (safezmq: its I/O thread)"
    if uvloop:
        note += (
            f"; --uvloop: uvloop {uvloop} runs the asyncio loops and safezmq's I/O thread in"
            " every case (pyzmq's sync cases do not use one)"
        )
    elif variants & {"asyncio", "asyncio-thread"}:
        note += "; event loop: asyncio's own (no --uvloop)"
    if any(c.kind == "fan" for c in cases):
        note += (
            f"; fanout: 1 PUB -> {args.subscribers} SUB processes, credit-paced so that nothing"
            " may be dropped, per sub = mean over the subscribers, delivered = the worst run's"
        )
    for case in cases:
        n = case.count
        if case.kind == "idle":
            n = QUICK_CONNECTIONS if args.quick else n
            note += (
                f"; idle connection memory: growth of the server's RSS / {n:,} idle tcp"
                " connections (DEALER -> ROUTER, one socket each, from client processes)"
            )
        elif case.kind == "hs":
            n = QUICK_HANDSHAKES if args.quick else n
            note += (
                f"; curve handshakes/s: {n:,} CURVE DEALERs (one client process) connecting at"
                " once to a ROUTER with a ThreadAuthenticator allowing any key, from the first"
                " connect to the server's last HANDSHAKE_SUCCEEDED"
            )
    if len(impls) == 2:
        kinds = {c.kind for c in cases}
        parts = [
            text
            for text, present in (
                (
                    "safezmq/pyzmq msg/s (and delivered) for throughput and fan-out",
                    "thr" in kinds or "fan" in kinds,
                ),
                ("safezmq/pyzmq for handshakes/s", "hs" in kinds),
                ("pyzmq/safezmq time for latency", "lat" in kinds),
                ("pyzmq/safezmq bytes for idle connection memory", "idle" in kinds),
            )
            if present
        ]
        note += f"; ratio = {', '.join(parts)} (higher is better for safezmq)"
    print(note)
    print()
    print(format_table(header, table_rows(cases, impls, summaries)))
    elapsed = time.monotonic() - started
    rows = build_rows(cases, impls, summaries)
    judged = [row for row in rows if row["met"] is not None]
    if judged:
        missed = [row["goal_label"] for row in judged if not row["met"]]
        print()
        print(
            f"goals met: {len(judged) - len(missed)} of {len(judged)}"
            + (f"; missed: {', '.join(missed)}" if missed else "")
        )

    errors = [
        (name, impl, o.message)
        for name, per_impl in outcomes.items()
        for impl, runs in per_impl.items()
        for o in runs
        if o.status == "error"
    ]
    # A fan-out is credit-paced: no queue can reach its HWM, so any loss is a bug.
    errors += [
        (
            case.name,
            impl,
            f"{lost(o.result):,} of {o.result['sent']:,} messages x "
            f"{o.result['subscribers']} subscribers lost although the send was credit-paced"
            + (" (then starved of credit: the send stopped early)" if o.result["starved"] else ""),
        )
        for case in cases
        if case.kind == "fan"
        for impl, runs in outcomes[case.name].items()
        for o in runs
        if o.status == "ok" and o.result["window"] and lost(o.result)
    ]
    for name, impl, message in errors:
        print(f"error: {name} {impl}: {message}", file=sys.stderr)

    document = {
        "machine": machine,
        "implementations": infos,
        "config": {
            "repeat": args.repeat,
            "quick": args.quick,
            "duration_s": args.duration,
            "copy": args.copy,
            "uvloop": uvloop,
            "subscribers": args.subscribers,
            "connections": QUICK_CONNECTIONS if args.quick else args.connections,
            "handshakes": QUICK_HANDSHAKES if args.quick else args.handshakes,
            "cases": [asdict(c) for c in cases],
            "command": [os.path.basename(sys.argv[0]), *(sys.argv[1:] if argv is None else argv)],
            "note": note,
            "wall_time_s": elapsed,
        },
        "results": summaries,
        "rows": rows,
        "ratios": {
            c.name: {key: ratio(c, key, summaries[c.name]) for _, key in metrics(c)} for c in cases
        },
        "goals": {
            c.name: {key: GOALS[(c.name, key)] for _, key in metrics(c) if (c.name, key) in GOALS}
            for c in cases
        },
    }
    if args.json:
        path = report.dated_path(args.json, "results", "json", document)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(document, f, indent=2, sort_keys=True)
            f.write("\n")
        print(f"results written to {path}", file=sys.stderr)
    if args.chart:
        path = report.dated_path(args.chart, "ratios", "png", document)
        try:
            bars = report.write_chart(path, document)
        except common.BenchmarkError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"chart of {bars} ratios written to {path}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
