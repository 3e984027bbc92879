"""The benchmark runner's bookkeeping, without running a benchmark: the ``goals`` group, the rows
with their goals (table, JSON), the markdown table and the chart the README takes from a
results file (``python -m safezmq.bench.report``), the machine's description (free-threaded or
not), and how a throughput window is cut into slices.

The measurements are made up: these tests check the arithmetic and the rendering, never a speed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from safezmq.bench import report, run, throughput

ROOT = Path(__file__).resolve().parent.parent.parent
#: A results file the runner wrote before it recorded rows (the README's previous table).
LEGACY_RESULTS = ROOT / "docs" / "benchmarks" / "results-2026-11-26.json"
PNG = b"\x89PNG\r\n\x1a\n"
IMPLS = ["safezmq", "pyzmq"]
REPORT = [sys.executable, "-m", "safezmq.bench.report"]
#: pyzmq's value in each of three repetitions (median 100), and safezmq's, relative to it.
PYZMQ_VALUES = [100.0, 110.0, 90.0]
SAFEZMQ_SCALE = [1.0, 1.2, 0.8]
#: Ratios (higher is better) the made-up runs produce: these goals are met, the others missed.
MET = {"thr-64", "thr-1m", "asyncio-64", "conn-idle"}


def goal_cases() -> list[str]:
    return list(dict.fromkeys(case for case, _ in run.GOALS))


def intended_ratio(case: run.Case) -> float:
    """The ratio the made-up runs of ``case`` give: its first goal's x 1.25 if met, x 0.5 if
    not (1.0 for a case without a goal)."""
    goal = next((g for (name, _), g in run.GOALS.items() if name == case.name), None)
    if goal is None:
        return 1.0
    return goal * (1.25 if case.name in MET else 0.5)


def made_up_result(case: run.Case, value: float) -> dict[str, Any]:
    """One run's result, with ``value`` in every key the runner quotes for ``case``."""
    result: dict[str, Any] = {key: value for key in run.MEDIAN_KEYS[case.kind]}
    if case.kind == "fan":
        result.update(delivered_ratio=1.0, lost=0)
    return result


def made_up_summaries(cases: list[run.Case]) -> dict[str, dict[str, dict[str, Any]]]:
    summaries: dict[str, dict[str, dict[str, Any]]] = {}
    for case in cases:
        r = intended_ratio(case)
        per_impl: dict[str, list[float]] = {"pyzmq": PYZMQ_VALUES}
        if case.kind in run.COST_KINDS:  # ratio = pyzmq / safezmq
            per_impl["safezmq"] = [p / r for p in PYZMQ_VALUES]
        else:
            per_impl["safezmq"] = [p * r for p in PYZMQ_VALUES]
        # one repetition of safezmq off by its own factor: the repetitions' ratios spread
        per_impl["safezmq"] = [
            v * s for v, s in zip(per_impl["safezmq"], SAFEZMQ_SCALE, strict=True)
        ]
        summaries[case.name] = {
            impl: run.summarise(case, [run.Outcome("ok", made_up_result(case, v)) for v in values])
            for impl, values in per_impl.items()
        }
    return summaries


def made_up_document(cases: list[run.Case], date: str = "2026-12-05T01:02 UTC") -> dict[str, Any]:
    summaries = made_up_summaries(cases)
    machine = {
        "cpu": "Test CPU",
        "cores": 2,
        "usable_cores": 2,
        "os": "Linux 6 x86_64",
        "python": "CPython 3.13.1",
        "python_build": "free-threaded, GIL disabled",
        "free_threaded_build": True,
        "free_threaded": True,
        "libzmq": "4.3.5",
        "pyzmq": "27.3.0",
        "safezmq": "0.1.0",
        "loadavg_at_start": "0.10 0.20 0.30",
        "date": date,
    }
    return {
        "machine": machine,
        "config": {"repeat": 3, "quick": False, "cases": [asdict(c) for c in cases]},
        "results": summaries,
        "rows": run.build_rows(cases, IMPLS, summaries),
    }


def cases_of(*names: str) -> list[run.Case]:
    cases: list[run.Case] = run.parse_args(["--cases", *names]).case_list
    return cases


# -- the cases -------------------------------------------------------------------------------


@pytest.mark.parametrize("group", ["goals", "issue13"])
def test_the_goals_group_runs_exactly_the_cases_with_a_goal_in_their_order(group: str) -> None:
    assert [case.name for case in cases_of(group)] == goal_cases()
    assert len(goal_cases()) == 12  # every row of the release's table


def test_every_goal_has_a_case_in_all_and_a_name() -> None:
    everything = {case.name for case in cases_of("all")}
    assert set(goal_cases()) <= everything
    assert set(run.GOAL_LABELS) == set(run.GOALS)
    for (name, key), _ in run.GOALS.items():
        case = next(c for c in cases_of(name))
        assert key in [k for _, k in run.metrics(case)], (name, key)


def test_throughput_cases_stream() -> None:
    """thr-, curve- and asyncio- time a window of a stream (no pilot count to reuse)."""
    streaming = {case.name for case in cases_of("all") if run.streams(case)}
    assert streaming == {c.name for c in cases_of("thr", "curve", "asyncio")}


def test_a_quick_stream_warms_up_briefly_and_times_a_fixed_count() -> None:
    args = run.parse_args(["--quick", "--cases", "thr-1m", "asyncio-64", "fanout-64"])
    *streams, fanout = args.case_list
    for case in streams:
        command = run.worker_command(case, "safezmq", args, None)
        assert "--warmup=0" in command
        assert f"--warmup-count={run.QUICK_WARMUP_COUNT}" in command
        assert f"--count={run.quick_count(case.size)}" in command
    command = run.worker_command(fanout, "pyzmq", args, None)
    assert not any(part.startswith("--warmup") for part in command)


def test_a_full_stream_run_times_a_window_of_the_duration() -> None:
    args = run.parse_args(["--cases", "thr-1m", "--duration", "2.5"])
    command = run.worker_command(args.case_list[0], "pyzmq", args, None)
    assert "--duration=2.5" in command
    assert not any(part.startswith(("--count", "--warmup")) for part in command)


# -- rows, goals and the table ----------------------------------------------------------------


def test_rows_record_every_repetition_the_median_the_ratio_and_the_goal() -> None:
    cases = cases_of("goals")
    document = made_up_document(cases)
    rows = document["rows"]
    assert [row["label"] for row in rows] == [
        case.label + suffix for case in cases for suffix, _ in run.metrics(case)
    ]
    for row in rows:
        case = next(c for c in cases if c.name == row["case"])
        r = intended_ratio(case) if (row["case"], row["key"]) in run.GOALS else None
        for impl in IMPLS:
            assert len(row["values"][impl]) == 3, row
            assert row["quoted"][impl] == pytest.approx(sorted(row["values"][impl])[1]), row
        if row["key"] == "delivered_ratio":
            continue
        if r is not None:
            assert row["ratio"] == pytest.approx(r), row
        # each repetition's ratio pairs the n-th runs
        ours, theirs = row["values"]["safezmq"], row["values"]["pyzmq"]
        expected = [
            (b / a if row["lower_is_better"] else a / b) for a, b in zip(ours, theirs, strict=True)
        ]
        assert row["repeat_ratios"] == pytest.approx(expected), row
        goal = run.GOALS.get((row["case"], row["key"]))
        assert row["goal"] == goal
        if goal is None:
            assert row["met"] is None and row["goal_label"] is None
        else:
            assert row["met"] is (row["case"] in MET), row
            assert row["goal_label"] == run.GOAL_LABELS[(row["case"], row["key"])]


def test_the_table_shows_each_goal_and_whether_it_is_met() -> None:
    cases = cases_of("goals")
    summaries = made_up_summaries(cases)
    table = run.table_rows(cases, IMPLS, summaries)
    goal_rows = [row for row in table if row[-2] != "-"]
    assert len(goal_rows) == len(run.GOALS)
    for row in table:
        if row[-2] == "-":
            assert row[-1] == "-", row
            continue
        ratio, goal, met = float(row[-3]), float(row[-2].removeprefix(">= ")), row[-1]
        assert met == ("met" if ratio >= goal else "missed"), row
    met_labels = {row[0] for row in goal_rows if row[-1] == "met"}
    assert met_labels == {
        case.label + suffix
        for case in cases
        for suffix, key in run.metrics(case)
        if case.name in MET and (case.name, key) in run.GOALS
    }


# -- the report: markdown and chart --------------------------------------------------------------


def table_lines(text: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("| ")
    ]


def test_markdown_of_the_goals_names_them_in_order_with_their_goals() -> None:
    document = made_up_document(cases_of("all"))
    text = report.markdown(document, goals_only=True)
    header, *rows = table_lines(text)
    assert header == ["case", "safezmq", "pyzmq", "ratio", "repeats", "goal", "met"]
    assert [row[0] for row in rows] == list(run.GOAL_LABELS.values())
    for row, (key, goal) in zip(rows, run.GOALS.items(), strict=True):
        assert row[5] == f"≥ {goal:g}"
        assert row[6] == ("met" if key[0] in MET else "**missed**"), row
        low, high = (float(x) for x in row[4].split("\u2013"))
        assert low <= float(row[3]) <= high, row
    missed = [label for (case, _), label in run.GOAL_LABELS.items() if case not in MET]
    assert f"Goals met: {len(MET)} of {len(run.GOALS)}; missed: {', '.join(missed)}." in text
    # the machine, when, and free-threading, above the table
    first = text.splitlines()[0]
    assert "Measured 2026-12-05 01:02 UTC on Test CPU, 2 cores" in first
    assert "CPython 3.13.1 (free-threaded, GIL disabled)" in first
    assert "libzmq 4.3.5 (pyzmq 27.3.0)" in first
    assert "median of 3 runs" in first


def test_markdown_of_every_row_quotes_values_in_their_units() -> None:
    document = made_up_document(cases_of("thr-64", "thr-1m", "lat-reqrep", "fanout-64", "conn"))
    _, *rows = table_lines(report.markdown(document))
    by_label = {row[0]: row for row in rows}
    assert len(rows) == len(document["rows"])
    assert by_label["throughput 64 B"][2] == "100 msg/s"
    assert by_label["throughput 1 MiB"][2] == f"{100 * 2**20 / 1e6:,.0f} MB/s"
    assert by_label["latency reqrep 64 B median"][2] == "100 µs"
    assert by_label["fanout 64 B x2 delivered"][1:3] == ["100.00 %", "100.00 %"]
    assert by_label["idle connection memory"][2] == "100 B"
    assert by_label["curve handshakes/s"][2] == "100 /s"
    assert by_label["latency reqrep 64 B mean"][5:] == ["—", "—"]  # no goal


def test_the_chart_draws_a_bar_per_ratio(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")  # (in the test extra: never skipped in CI)
    document = made_up_document(cases_of("goals"))
    every, goals = tmp_path / "every.png", tmp_path / "goals.png"
    assert report.write_chart(str(every), document) == len(document["rows"])
    assert report.write_chart(str(goals), document, goals_only=True) == len(run.GOALS)
    assert every.read_bytes().startswith(PNG)
    assert goals.read_bytes().startswith(PNG)


def test_the_report_command_renders_a_results_file(tmp_path: Path) -> None:
    document = made_up_document(cases_of("goals"), date="2026-12-31T23:59 UTC")
    results = tmp_path / "results.json"
    results.write_text(json.dumps(document))
    charts = tmp_path / "charts"
    done = subprocess.run(
        [*REPORT, str(results), "--markdown", "--goals-only", "--chart", f"{charts}/"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == report.markdown(document, goals_only=True)
    chart = charts / "ratios-2026-12-31.png"  # a directory: the run's date names the file
    assert chart.read_bytes().startswith(PNG)
    assert f"chart of {len(run.GOALS)} ratios written to {chart}" in done.stderr


def test_a_results_file_without_rows_is_rebuilt_with_the_runners_rules() -> None:
    document = report.load(str(LEGACY_RESULTS))
    for row in document["rows"]:
        assert row["ratio"] == pytest.approx(document["ratios"][row["case"]][row["key"]]), row
        repeats = len(document["results"][row["case"]]["safezmq"]["runs"])
        assert len(row["repeat_ratios"]) == repeats
    text = report.markdown(document, goals_only=True)
    assert re.search(
        r"^\| tcp PUSH→PULL 1 MiB \| [\d,]+ MB/s \| [\d,]+ MB/s \| 1\.27 \|", text, re.M
    )


# -- the machine ---------------------------------------------------------------------------------


def test_the_machine_says_whether_python_runs_free_threaded() -> None:
    gil = {"build": False, "gil_enabled": True}
    free = {"build": True, "gil_enabled": False}
    assert run.python_build(gil, {}) == "with the GIL"
    assert run.python_build(free, {"safezmq": {"gil_enabled": False}}) == (
        "free-threaded, GIL disabled"
    )
    assert run.python_build(free, {"pyzmq": {"gil_enabled": True}}) == (
        "free-threaded, GIL disabled until importing pyzmq enables it"
    )
    assert run.python_build({"build": True, "gil_enabled": True}, {}) == (
        "free-threaded build, GIL enabled"
    )
    machine = run.machine_info({})
    is_gil_enabled = getattr(sys, "_is_gil_enabled", None)
    assert machine["free_threaded"] is (is_gil_enabled is not None and not is_gil_enabled())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d UTC", machine["date"])
    assert f"({machine['python_build']})" in run.machine_line(
        {**machine, "libzmq": None, "safezmq": "0"}
    )


# -- the throughput window -----------------------------------------------------------------------


def test_a_window_is_cut_into_equal_slices_at_the_marks() -> None:
    # 100 messages per 0.1 s, then 300 per 0.1 s
    marks = [(0.0, 0)] + [(0.1 * i, 100 * i) for i in range(1, 6)]
    marks += [(0.5 + 0.1 * i, 500 + 300 * i) for i in range(1, 6)]
    rates = throughput.slice_rates(marks, 2)
    assert rates == pytest.approx([1000.0, 3000.0])
    assert throughput.slice_rates([(0.0, 0)], 10) == []


@pytest.mark.parametrize("size", [1, 2, 64, 65536, 2**20])
def test_the_end_marker_never_has_the_measured_size(size: int) -> None:
    assert len(throughput.end_marker(size)) != size
    assert throughput.end_marker(size)  # never an empty frame
    assert 1 <= throughput.chunk_for(size) <= throughput.MAX_CHUNK
