"""Smoke test of the benchmark suite: ``python -m safezmq.bench --quick --repeat 1`` (the runner
ships in the package: this works from an installed wheel) must run both
implementations (pyzmq when installed) to completion and print a table of numbers -- throughput
(plain, over CURVE, and asyncio in one process, with the sockets made in the loop and before it),
PAIR and REQ/REP latency, PUB/SUB fan-out with nothing lost, memory per idle connection and CURVE
handshakes per second (every connection up, every handshake done) -- and draw the chart of the
ratios (matplotlib is in the test extra).  ``--uvloop`` must run the asyncio cases (and
safezmq's I/O thread) on uvloop (also in the test extra); without uvloop, it must say how to
install it.

The table gives each goal of the release its goal and a met/missed mark, the JSON records the
machine (with the date and whether Python runs free-threaded) and every row's values per
repetition, and the throughput workers time a window of a stream after a warm-up
(tests/bench/ checks the bookkeeping and the report without running anything).

It checks that the benchmarks work, not how fast anything is: no timing assertion here.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from safezmq.bench.run import GOALS, QUICK_WARMUP_COUNT, quick_count

ROOT = Path(__file__).resolve().parent.parent
#: The installed runner (``safezmq bench`` runs the same).
RUN = [sys.executable, "-m", "safezmq.bench"]
#: The contributors' entry point in a checkout, a thin wrapper around it.
CHECKOUT_RUN = ROOT / "benchmarks" / "run.py"
#: The whole quick run takes about 20 s; a hung run must fail, not stall the suite.
TIMEOUT_S = 90

THROUGHPUT_CELL = re.compile(r"^([\d,]+) msg/s +([\d,]+\.\d) MB/s$")
LATENCY_CELL = re.compile(r"^([\d,]+\.\d) us$")
#: Fan-out is credit-paced: no queue can fill, so every message must arrive.
DELIVERED_CELL = re.compile(r"^(100\.00) %$")
IDLE_CELL = re.compile(r"^([\d,]+) B/conn$")
HANDSHAKES_CELL = re.compile(r"^([\d,]+) /s$")
EXPECTED_ROWS = [
    "throughput 64 B",
    "throughput 1 KiB",
    "throughput 64 KiB",
    "throughput 1 MiB",
    "throughput curve 64 B",
    "throughput curve 1 MiB",
    "asyncio throughput 64 B",
    "asyncio throughput 64 B, I/O thread",
    "asyncio throughput 64 KiB",
    "asyncio throughput 64 KiB, I/O thread",
    "latency pair 64 B mean",
    "latency pair 64 B median",
    "latency reqrep 64 B mean",
    "latency reqrep 64 B median",
    "fanout 64 B x2 per sub",
    "fanout 64 B x2 aggregate",
    "fanout 64 B x2 delivered",
    "fanout 1 KiB x2 per sub",
    "fanout 1 KiB x2 aggregate",
    "fanout 1 KiB x2 delivered",
    "idle connection memory",
    "curve handshakes/s",
]
#: The --uvloop run: the asyncio cases (both ways of making the sockets) and a sync case, whose
#: safezmq I/O thread then runs uvloop too.
UVLOOP_CASES = ["asyncio-64", "asyncio-thread-64", "thr-64"]
UVLOOP_ROWS = ["asyncio throughput 64 B", "asyncio throughput 64 B, I/O thread", "throughput 64 B"]


def cell_pattern(row: str) -> re.Pattern[str]:
    if row == "idle connection memory":
        return IDLE_CELL
    if row == "curve handshakes/s":
        return HANDSHAKES_CELL
    if row.startswith("latency"):
        return LATENCY_CELL
    if row.endswith(" delivered"):
        return DELIVERED_CELL
    return THROUGHPUT_CELL


def positive(text: str) -> float:
    value = float(text.replace(",", ""))
    assert value > 0, text
    return value


def measured_impls() -> list[str]:
    return ["safezmq", "pyzmq"]  # pyzmq is in the test extra: a missing one is a failure


def run_quick(tmp_path: Path, impls: list[str], *options: str) -> tuple[str, str, dict[str, Any]]:
    """``run.py --quick --repeat 1 --json FILE OPTIONS``, which must succeed: its stdout (the
    machine line checked), stderr and JSON document (every run checked to be "ok")."""
    results = tmp_path / "results.json"
    cmd = [*RUN, "--quick", "--repeat", "1", "--json", str(results)]
    done = subprocess.run(
        [*cmd, *options],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        cwd=tmp_path,
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    lines = done.stdout.splitlines()

    assert lines[0].startswith("machine: "), lines[0]
    assert "Python" in lines[0]
    if "pyzmq" in impls:
        assert re.search(r"libzmq \d+\.\d+\.\d+", lines[0]), lines[0]

    document = json.loads(results.read_text())
    assert set(document["implementations"]) >= set(impls)
    machine = document["machine"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d UTC", machine["date"]), machine
    assert isinstance(machine["free_threaded"], bool)
    assert f"({machine['python_build']})" in lines[0]
    assert machine["cores"] >= 1 and machine["cpu"]
    for case, per_impl in document["results"].items():
        for impl in impls:
            assert per_impl[impl]["status"] == "ok", (case, impl, per_impl[impl])
            assert len(per_impl[impl]["runs"]) == 1
    return done.stdout, done.stderr, document


def table_rows(stdout: str, impls: list[str]) -> list[list[str]]:
    """The table's rows (cells stripped), each checked to be numbers and a ratio."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("case "))
    header = [cell.strip() for cell in lines[start].split("|")]
    assert header == ["case", *impls] + (["ratio", "goal", "met"] if len(impls) == 2 else [])
    end = next((i for i in range(start, len(lines)) if not lines[i]), len(lines))
    rows = [[cell.strip() for cell in line.split("|")] for line in lines[start + 2 : end]]
    for row in rows:
        assert len(row) == len(header), row
        for cell in row[1 : 1 + len(impls)]:
            match = cell_pattern(row[0]).match(cell)
            assert match, f"{row[0]}: not a measurement: {cell!r}"
            for number in match.groups():
                positive(number)
        if len(impls) == 2:
            ratio, goal, met = row[-3:]
            positive(ratio)
            if goal == "-":
                assert met == "-", row
            else:
                # The goal column states the target, and "met" follows from the ratio (the
                # exact one: the table rounds it to 3 decimals, so 0.9996 shows as 1.000).
                target = float(goal.removeprefix(">= "))
                if abs(float(ratio) - target) >= 0.0005:
                    assert met == ("met" if float(ratio) >= target else "missed"), row
                else:
                    assert met in ("met", "missed"), row
    return rows


def check_asyncio_runs(document: dict[str, Any], impls: list[str], event_loop: str) -> None:
    """Each asyncio case ran on ``event_loop`` ("asyncio" or "uvloop"), and safezmq's sockets
    had an I/O thread exactly when they were made before the loop ran."""
    cases = [c for c in document["results"] if c.startswith("asyncio-")]
    assert cases
    for case in cases:
        for impl in impls:
            run = document["results"][case][impl]["runs"][0]
            assert run["event_loop"].split()[0] == event_loop, (case, impl, run)
            assert run["loop_class"].startswith(f"{event_loop}."), (case, impl, run)
            if impl == "safezmq":
                expected = 1 if case.startswith("asyncio-thread-") else 0
                assert run["io_threads"] == expected, (case, run)


def test_quick_run_prints_a_table_for_each_implementation(tmp_path: Path) -> None:
    impls = measured_impls()
    chart = tmp_path / "ratios.png"
    options: list[str] = []
    if len(impls) == 2:
        options += ["--chart", str(chart)]
    stdout, stderr, document = run_quick(tmp_path, impls, *options)
    rows = table_rows(stdout, impls)
    assert [row[0] for row in rows] == EXPECTED_ROWS
    check_asyncio_runs(document, impls, "asyncio")

    for case, per_impl in document["results"].items():
        for impl in impls:
            if case.startswith("curve-"):
                run = per_impl[impl]["runs"][0]
                assert run["mechanism"] == "CURVE", (case, impl, run)
            if case.startswith("fanout-"):
                run = per_impl[impl]["runs"][0]
                assert run["subscribers"] == 2
                received = [sub["received"] for sub in run["per_subscriber"]]
                assert received == [run["count"]] * 2, (case, impl, received)
            if case == "conn-idle":
                run = per_impl[impl]["runs"][0]
                assert run["events"]["succeeded"] == run["connections"] > 0, (impl, run)
                assert run["rss_after"] > run["rss_before"], (impl, run)
            if case == "conn-curve":
                run = per_impl[impl]["runs"][0]
                assert run["events"]["succeeded"] == run["handshakes"] > 0, (impl, run)

    # The JSON's rows are the table's, with every repetition's values and the goals.
    assert [row["label"] for row in document["rows"]] == EXPECTED_ROWS
    for json_row, table_row in zip(document["rows"], rows, strict=True):
        for impl in impls:
            assert len(json_row["values"][impl]) == 1, json_row
            assert json_row["quoted"][impl] == json_row["values"][impl][0], json_row
        if len(impls) == 2:
            assert f"{json_row['ratio']:.3f}" == table_row[-3], (json_row, table_row)
            goal = GOALS.get((json_row["case"], json_row["key"]))
            assert json_row["goal"] == goal
            met = "-" if goal is None else ("met" if json_row["met"] else "missed")
            assert table_row[-1] == met, (json_row, table_row)

    # Throughput cases time a window of a stream, after a warm-up (quick: both short).
    for case in [c for c in document["results"] if c.startswith(("thr-", "curve-", "asyncio-"))]:
        size = document["results"][case]["safezmq"]["runs"][0]["size"]
        for impl in impls:
            run = document["results"][case][impl]["runs"][0]
            assert run["count"] == quick_count(size), (case, impl, run)
            assert run["warmup"]["count"] >= QUICK_WARMUP_COUNT, (case, impl, run)
            assert run["drained"] >= 0 and all(rate > 0 for rate in run["slices"]), run

    if len(impls) == 2:
        # Every goal of the release has its row, in the table and in the JSON.
        assert len([row for row in rows if row[-2] != "-"]) == len(GOALS)
        assert sum(len(goals) for goals in document["goals"].values()) == len(GOALS)
        met = len([row for row in rows if row[-1] == "met"])
        assert f"\ngoals met: {met} of {len(GOALS)}" in stdout
        assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        assert f"chart of {len(EXPECTED_ROWS)} ratios written" in stderr


def test_uvloop_runs_the_asyncio_cases_and_the_io_thread_on_uvloop(tmp_path: Path) -> None:
    impls = measured_impls()
    stdout, _, document = run_quick(tmp_path, impls, "--uvloop", "--cases", *UVLOOP_CASES)
    assert [row[0] for row in table_rows(stdout, impls)] == UVLOOP_ROWS
    assert re.search(r"--uvloop: uvloop \d", stdout), stdout
    assert document["config"]["uvloop"]
    check_asyncio_runs(document, impls, "uvloop")
    for impl in impls:
        run = document["results"]["thr-64"][impl]["runs"][0]
        io_loop = "uvloop " if impl == "safezmq" else "libzmq"  # its I/O thread's loop
        assert run["io_loop"].startswith(io_loop), (impl, run)


def run_without(tmp_path: Path, module: str, *options: str) -> subprocess.CompletedProcess[str]:
    """``run.py OPTIONS`` as if ``module`` were not installed."""
    script = (
        "import runpy, sys\n"
        f"sys.modules[{module!r}] = None  # as if it were not installed\n"
        f"sys.argv = ['safezmq.bench', *{list(options)!r}]\n"
        "runpy.run_module('safezmq.bench', run_name='__main__', alter_sys=True)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        cwd=tmp_path,
    )


def test_uvloop_without_uvloop_says_how_to_install_it(tmp_path: Path) -> None:
    """--uvloop without uvloop fails at once (before measuring anything), saying why."""
    done = run_without(tmp_path, "uvloop", "--uvloop", "--cases", "asyncio-64")
    assert done.returncode == 2, done
    assert "--uvloop needs uvloop" in done.stderr
    assert "safezmq[uvloop]" in done.stderr
    assert done.stdout == ""


def test_chart_without_matplotlib_says_how_to_install_it(tmp_path: Path) -> None:
    """--chart without matplotlib fails at once (before measuring anything), saying why."""
    done = run_without(tmp_path, "matplotlib", "--chart", "ratios.png")
    assert done.returncode == 2, done
    assert "--chart needs matplotlib" in done.stderr
    assert "safezmq[bench]" in done.stderr
    assert done.stdout == ""
    assert not (tmp_path / "ratios.png").exists()


def test_the_checkout_entry_point_runs_the_packaged_runner(tmp_path: Path) -> None:
    """``python benchmarks/run.py`` (cited by the README) is the same runner: its --help is the
    packaged runner's, and a quick case runs to a table."""
    done = subprocess.run(
        [sys.executable, str(CHECKOUT_RUN), "--quick", "--repeat", "1", "--cases", "lat-pair"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        cwd=tmp_path,
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert done.stdout.startswith("machine: ")
    assert any(line.startswith("latency pair 64 B median") for line in done.stdout.splitlines())
