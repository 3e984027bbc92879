"""Smoke test of the benchmark suite: ``benchmarks/run.py --quick --repeat 1`` must run both
implementations (pyzmq when installed) to completion and print a table of numbers -- throughput,
PAIR and REQ/REP latency, PUB/SUB fan-out with nothing lost, memory per idle connection and CURVE
handshakes per second (every connection up, every handshake done) -- and, when matplotlib is
installed, draw the chart of the ratios.

It checks that the benchmarks work, not how fast anything is: no timing assertion here.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "benchmarks" / "run.py"
#: The whole quick run takes about 15 s; a hung run must fail, not stall the suite.
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
HAVE_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


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


def test_quick_run_prints_a_table_for_each_implementation(tmp_path: Path) -> None:
    impls = ["safezmq"]
    if importlib.util.find_spec("zmq") is not None:
        impls.append("pyzmq")
    results = tmp_path / "results.json"
    chart = tmp_path / "ratios.png"
    cmd = [sys.executable, str(RUN), "--quick", "--repeat", "1", "--json", str(results)]
    if HAVE_MATPLOTLIB and len(impls) == 2:
        cmd += ["--chart", str(chart)]
    done = subprocess.run(
        cmd,
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

    start = next(i for i, line in enumerate(lines) if line.startswith("case "))
    header = [cell.strip() for cell in lines[start].split("|")]
    assert header == ["case", *impls] + (["ratio"] if len(impls) == 2 else [])
    rows = [[cell.strip() for cell in line.split("|")] for line in lines[start + 2 :] if line]
    assert [row[0] for row in rows] == EXPECTED_ROWS

    for row in rows:
        assert len(row) == len(header), row
        for cell in row[1 : 1 + len(impls)]:
            match = cell_pattern(row[0]).match(cell)
            assert match, f"{row[0]}: not a measurement: {cell!r}"
            for number in match.groups():
                positive(number)
        if len(impls) == 2:
            positive(row[-1])  # the ratio

    document = json.loads(results.read_text())
    assert set(document["implementations"]) >= set(impls)
    for case, per_impl in document["results"].items():
        for impl in impls:
            assert per_impl[impl]["status"] == "ok", (case, impl, per_impl[impl])
            assert len(per_impl[impl]["runs"]) == 1
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

    if HAVE_MATPLOTLIB and len(impls) == 2:
        assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        assert f"chart of {len(EXPECTED_ROWS)} ratios written" in done.stderr


def test_chart_without_matplotlib_says_how_to_install_it(tmp_path: Path) -> None:
    """--chart without matplotlib fails at once (before measuring anything), saying why."""
    script = (
        "import runpy, sys\n"
        "sys.modules['matplotlib'] = None  # as if it were not installed\n"
        f"sys.path.insert(0, {str(RUN.parent)!r})  # as 'python benchmarks/run.py' does\n"
        f"sys.argv = [{str(RUN)!r}, '--chart', 'ratios.png']\n"
        f"runpy.run_path({str(RUN)!r}, run_name='__main__')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        cwd=tmp_path,
    )
    assert done.returncode == 2, done
    assert "--chart needs matplotlib" in done.stderr
    assert "safezmq[bench]" in done.stderr
    assert done.stdout == ""
    assert not (tmp_path / "ratios.png").exists()
