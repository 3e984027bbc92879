"""Smoke test of the benchmark suite: ``benchmarks/run.py --quick --repeat 1`` must run both
implementations (pyzmq when installed) to completion and print a table of numbers.

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
#: The whole quick run takes a few seconds; a hung run must fail, not stall the suite.
TIMEOUT_S = 90

THROUGHPUT_CELL = re.compile(r"^([\d,]+) msg/s +([\d,]+\.\d) MB/s$")
LATENCY_CELL = re.compile(r"^([\d,]+\.\d) us$")
EXPECTED_ROWS = [
    "throughput 64 B",
    "throughput 1 KiB",
    "throughput 64 KiB",
    "throughput 1 MiB",
    "latency pair 64 B mean",
    "latency pair 64 B median",
]


def positive(text: str) -> float:
    value = float(text.replace(",", ""))
    assert value > 0, text
    return value


def test_quick_run_prints_a_table_for_each_implementation(tmp_path: Path) -> None:
    impls = ["safezmq"]
    if importlib.util.find_spec("zmq") is not None:
        impls.append("pyzmq")
    results = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--repeat", "1", "--json", str(results)],
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
            pattern = THROUGHPUT_CELL if row[0].startswith("throughput") else LATENCY_CELL
            match = pattern.match(cell)
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
