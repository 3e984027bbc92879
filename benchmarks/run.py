"""Run every benchmark against safezmq and pyzmq (libzmq), alternately, and print a table.

    python benchmarks/run.py                   # all cases, 3 repetitions, medians quoted
    python -m benchmarks.run --quick --repeat 1 --json results.json
    python benchmarks/run.py --cases thr-64 thr-4k lat-pair lat-reqrep --repeat 5

Each measurement is a fresh pair of worker processes (``throughput.py`` / ``latency.py`` with
``--impl``), so the implementations never share a process.  Within a repetition every case runs
once per implementation, the two taking turns (the order flips on each repetition); each cell
quotes the median over the repetitions.  Ratios are "higher is better" for safezmq:
safezmq/pyzmq for throughput, pyzmq time / safezmq time for latency.  Without pyzmq installed
only safezmq is measured.  Progress goes to stderr; the machine line and the table to stdout.

Cases: ``thr-<size>`` (PUSH->PULL throughput; sizes like 64, 1k, 64k, 1m), ``lat-<pattern>``
(round-trip latency, pattern ``pair`` or ``reqrep``), or the groups ``thr``, ``lat``, ``all``.
"""

from __future__ import annotations

import argparse
import json
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
    from benchmarks import _common as common
except ImportError:  # run as a script: benchmarks/ itself is on sys.path
    import _common as common  # type: ignore[no-redef,import-not-found]

DEFAULT_SIZES = "64,1k,64k,1m"
DEFAULT_CASES = ("thr", "lat")
LATENCY_PATTERNS = ("pair", "reqrep")
#: --quick: each throughput run moves about this many bytes (within the counts below) and each
#: latency run does this many round trips -- enough to exercise the code, not to measure it.
QUICK_BYTES = 2 * 1024 * 1024
QUICK_MIN_COUNT, QUICK_MAX_COUNT = 20, 2000
QUICK_ROUND_TRIPS, QUICK_WARMUP = 200, 20


@dataclass(frozen=True)
class Case:
    name: str
    kind: str  # "thr" or "lat"
    size: int
    pattern: str = "pair"

    @property
    def label(self) -> str:
        if self.kind == "thr":
            return f"throughput {common.format_size(self.size)}"
        return f"latency {self.pattern} {common.format_size(self.size)}"


@dataclass
class Outcome:
    """One worker run: ``status`` is "ok" (with ``result``), "unsupported" or "error"."""

    status: str
    result: dict[str, Any] = field(default_factory=dict)
    message: str = ""


def parse_cases(names: Sequence[str], sizes: Sequence[int], lat_size: int) -> list[Case]:
    cases: list[Case] = []

    def add(case: Case) -> None:
        if case not in cases:
            cases.append(case)

    for name in names:
        name = name.strip().lower()
        if name in ("all", "thr", "throughput"):
            for size in sizes:
                add(Case(f"thr-{common.short_size(size)}", "thr", size))
        if name in ("all", "lat", "latency"):
            add(Case("lat-pair", "lat", lat_size, "pair"))
        if name in ("all", "thr", "throughput", "lat", "latency"):
            continue
        kind, _, arg = name.partition("-")
        if kind == "thr" and arg:
            size = common.parse_size(arg)
            add(Case(f"thr-{common.short_size(size)}", "thr", size))
        elif kind == "lat" and arg in LATENCY_PATTERNS:
            add(Case(f"lat-{arg}", "lat", lat_size, arg))
        else:
            raise ValueError(
                f"unknown case {name!r}: use thr-<size> (thr-64, thr-1k), "
                f"lat-<{'|'.join(LATENCY_PATTERNS)}>, or thr, lat, all"
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
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "libzmq": pyzmq["libzmq"] if pyzmq else None,
        "pyzmq": pyzmq["version"] if pyzmq else None,
        "safezmq": infos["safezmq"]["version"] if "safezmq" in infos else None,
        "loadavg_at_start": load,
    }


def machine_line(m: dict[str, Any]) -> str:
    cores = f"{m['cores']} cores"
    if m["usable_cores"] != m["cores"]:
        cores += f" ({m['usable_cores']} usable)"
    zmq = f"libzmq {m['libzmq']} (pyzmq {m['pyzmq']})" if m["libzmq"] else "pyzmq not installed"
    return (
        f"machine: {m['cpu']}, {cores}, {m['os']}, {m['python']}, {zmq}, "
        f"safezmq {m['safezmq']}, load average at start {m['loadavg_at_start']}"
    )


def worker_command(case: Case, impl: str, args: argparse.Namespace, count: int | None) -> list[str]:
    common_args = [f"--impl={impl}", f"--timeout={args.op_timeout}", "--json"]
    if case.kind == "thr":
        cmd = [str(common.BENCH_DIR / "throughput.py"), *common_args, f"--size={case.size}"]
        cmd.append("--copy" if args.copy else "--no-copy")
        if args.quick:
            count = max(QUICK_MIN_COUNT, min(QUICK_MAX_COUNT, QUICK_BYTES // case.size))
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


def describe(case: Case, result: dict[str, Any]) -> str:
    if case.kind == "thr":
        return (
            f"{result['msgs_per_s']:,.0f} msg/s {result['mb_per_s']:,.1f} MB/s "
            f"({result['count']:,} msgs in {result['elapsed_s']:.2f} s)"
        )
    return (
        f"mean {result['mean_us']:.1f} us, median {result['median_us']:.1f} us "
        f"({result['count']:,} round trips)"
    )


def median_of(outcomes: list[Outcome], key: str) -> float | None:
    values = [o.result[key] for o in outcomes if o.status == "ok"]
    return statistics.median(values) if values else None


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
    keys = ("msgs_per_s", "mb_per_s") if case.kind == "thr" else ("mean_us", "median_us")
    summary["median"] = {key: median_of(ok, key) for key in keys}
    return summary


def metrics(case: Case) -> list[tuple[str, str]]:
    """(row-label suffix, result key) of the table rows for ``case``."""
    if case.kind == "thr":
        return [("", "msgs_per_s")]
    return [(" mean", "mean_us"), (" median", "median_us")]


def ratio(case: Case, key: str, per_impl: dict[str, dict[str, Any]]) -> float | None:
    """safezmq relative to pyzmq for one metric, higher is better (None if either is missing)."""
    try:
        ours = per_impl["safezmq"]["median"][key]
        theirs = per_impl["pyzmq"]["median"][key]
    except KeyError:
        return None
    if not ours or not theirs:
        return None
    return float(ours / theirs if case.kind == "thr" else theirs / ours)


def table_rows(
    cases: list[Case], impls: list[str], summaries: dict[str, dict[str, dict[str, Any]]]
) -> list[list[str]]:
    """Rows of the table: case | one column per implementation | ratio (if two)."""
    rows: list[list[str]] = []
    for case in cases:
        per_impl = summaries[case.name]
        for suffix, key in metrics(case):
            row = [case.label + suffix]
            for impl in impls:
                summary = per_impl[impl]
                if summary["status"] != "ok":
                    row.append(summary["status"])
                    continue
                med = summary["median"]
                if case.kind == "thr":
                    row.append(f"{med['msgs_per_s']:>11,.0f} msg/s {med['mb_per_s']:>8,.1f} MB/s")
                else:
                    row.append(f"{med[key]:>9,.1f} us")
            if len(impls) == 2:
                value = ratio(case, key, per_impl)
                row.append("-" if value is None else f"{value:.3f}")
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


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--cases", nargs="+", default=list(DEFAULT_CASES), metavar="CASE", help="default: thr lat"
    )
    parser.add_argument(
        "--sizes",
        default=DEFAULT_SIZES,
        help=f"throughput sizes for 'thr' (default {DEFAULT_SIZES})",
    )
    parser.add_argument("--lat-size", default="64", help="latency message size (default 64)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument("--quick", action="store_true", help="small counts, for smoke tests")
    parser.add_argument("--json", metavar="FILE", help="also write the results to FILE")
    parser.add_argument(
        "--impls", default=",".join(common.IMPLS), help="default: safezmq,pyzmq (if installed)"
    )
    parser.add_argument(
        "--duration", type=float, default=1.5, help="target seconds per measured run"
    )
    parser.add_argument(
        "--copy",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="throughput with copy=True (default, as pyzmq) or copy=False (zero-copy)",
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
    try:
        sizes = [common.parse_size(s) for s in args.sizes.split(",") if s.strip()]
        args.case_list = parse_cases(args.cases, sizes, common.parse_size(args.lat_size))
    except ValueError as exc:
        parser.error(str(exc))
    if any(c.size < 1 for c in args.case_list):
        parser.error("message sizes must be at least 1 byte")
    args.impl_list = [i.strip() for i in args.impls.split(",") if i.strip()]
    unknown = set(args.impl_list) - set(common.IMPLS)
    if unknown or not args.impl_list:
        parser.error(f"--impls: choose from {', '.join(common.IMPLS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cases: list[Case] = args.case_list

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
                if outcome.status == "ok" and case.kind == "thr":
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
        header.append("ratio")
    print(machine_line(machine))
    note = f"median of {args.repeat} run(s) per cell"
    if args.quick:
        note += " (--quick: a smoke test, not a measurement)"
    if any(c.kind == "thr" for c in cases):
        note += f"; throughput send/recv with copy={args.copy}"
    if len(impls) == 2:
        note += (
            "; ratio = safezmq/pyzmq msg/s for throughput, pyzmq/safezmq time for latency"
            " (higher is better for safezmq)"
        )
    print(note)
    print()
    print(format_table(header, table_rows(cases, impls, summaries)))
    elapsed = time.monotonic() - started

    errors = [
        (name, impl, o.message)
        for name, per_impl in outcomes.items()
        for impl, runs in per_impl.items()
        for o in runs
        if o.status == "error"
    ]
    for name, impl, message in errors:
        print(f"error: {name} {impl}: {message}", file=sys.stderr)

    if args.json:
        document = {
            "machine": machine,
            "implementations": infos,
            "config": {
                "repeat": args.repeat,
                "quick": args.quick,
                "duration_s": args.duration,
                "copy": args.copy,
                "cases": [asdict(c) for c in cases],
                "wall_time_s": elapsed,
            },
            "results": summaries,
            "ratios": {
                c.name: {key: ratio(c, key, summaries[c.name]) for _, key in metrics(c)}
                for c in cases
            },
        }
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(document, f, indent=2, sort_keys=True)
            f.write("\n")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
