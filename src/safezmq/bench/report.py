"""Render a benchmark run's results (the runner's ``--json`` file): the README's markdown table
and the chart of the ratios against their goals, so neither is typed by hand.

    python -m safezmq.bench.report results.json                      # markdown, every row
    python -m safezmq.bench.report results.json --goals-only         # only the rows with a goal
    python -m safezmq.bench.report results.json --chart docs/benchmarks/

The runner writes a ``rows`` list into its JSON (one entry per table row: each
implementation's value in every repetition and the quoted one, the ratio, the ratio of each
repetition, the goal and whether it is met); this module only reads it.  A results file from
before ``rows`` existed is rebuilt from its ``results`` with the runner's own rules.  A chart
path that is a directory (or ends with ``/``) gets the name ``ratios-<date of the run>.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

try:
    from . import _common as common
except ImportError:  # run as a script (the runner's workers): this directory is on sys.path
    import _common as common  # type: ignore[no-redef,import-not-found]

#: How to get matplotlib, for charts.
CHART_INSTALL = "pip install 'safezmq[bench]' (from a checkout: pip install -e '.[bench]')"
#: Bar colours: the ratio meets its goal, misses it, or the row has none.
MET_COLOR, MISSED_COLOR, NO_GOAL_COLOR = "tab:green", "tab:red", "tab:gray"
#: Sizes from which a throughput cell also quotes MB/s.
MB_FROM_SIZE = 64 * 1024


def dated_path(path: str, stem: str, suffix: str, document: dict[str, Any]) -> str:
    """``path`` itself, or for a directory (or a path ending in ``/``) the file
    ``<stem>-<date of the run>.<suffix>`` in it."""
    if path.endswith(("/", os.sep)) or os.path.isdir(path):
        date = str(document["machine"].get("date") or "undated")[:10]
        os.makedirs(path, exist_ok=True)
        return os.path.join(path, f"{stem}-{date}.{suffix}")
    return path


def load(path: str) -> dict[str, Any]:
    """A results document, with its ``rows`` (rebuilt if the file predates them)."""
    with open(path, encoding="utf-8") as f:
        document: dict[str, Any] = json.load(f)
    if "rows" not in document:
        document["rows"] = rebuild_rows(document)
    return document


def rebuild_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of a results file written before the runner recorded them."""
    try:
        from . import run as runner
    except ImportError:  # run as a script
        import run as runner  # type: ignore[no-redef,import-not-found]
    cases = [runner.Case(**case) for case in document["config"]["cases"]]
    impls = [impl for impl in common.IMPLS if impl in document["results"][cases[0].name]]
    return runner.build_rows(cases, impls, document["results"])


def measured_impls(document: dict[str, Any]) -> list[str]:
    rows = document["rows"]
    return [impl for impl in common.IMPLS if rows and impl in rows[0]["quoted"]]


def format_value(row: dict[str, Any], value: float | None) -> str:
    """One implementation's cell: ``657,126 msg/s``, ``1,005 MB/s``, ``239 µs`` ..."""
    if value is None:
        return "—"
    unit = row["unit"]
    if unit == "msg/s":
        if row["size"] >= MB_FROM_SIZE:
            return f"{value * row['size'] / 1e6:,.0f} MB/s"
        return f"{value:,.0f} msg/s"
    if unit == "us":
        return f"{value:,.0f} µs"
    if unit == "fraction":
        return f"{100 * value:.2f} %"
    if unit == "B/conn":
        return f"{value:,.0f} B"
    return f"{value:,.0f} {unit}"


def format_spread(row: dict[str, Any]) -> str:
    """The range of the single repetitions' ratios, as ``0.93`` to ``1.08`` (or a dash)."""
    ratios = [r for r in row["repeat_ratios"] if r is not None]
    if len(ratios) < 2:
        return "—"
    return f"{min(ratios):.2f}\u2013{max(ratios):.2f}"


def format_goal(row: dict[str, Any]) -> tuple[str, str]:
    if row["goal"] is None:
        return "—", "—"
    met = "—" if row["met"] is None else ("met" if row["met"] else "**missed**")
    return f"≥ {row['goal']:g}", met


def machine_text(document: dict[str, Any]) -> str:
    """One sentence: where, when and how the figures were measured."""
    m = document["machine"]
    config = document["config"]
    cores = f"{m['cores']} cores"
    if m.get("usable_cores") not in (None, m["cores"]):
        cores += f" ({m['usable_cores']} usable)"
    python = m["python"]
    if "python_build" in m:
        python += f" ({m['python_build']})"
    zmq = f"libzmq {m['libzmq']} (pyzmq {m['pyzmq']})" if m.get("libzmq") else "no pyzmq"
    when = str(m.get("date") or "date not recorded").replace("T", " ", 1)
    repeat = config["repeat"]
    text = (
        f"Measured {when} on {m['cpu']}, {cores}, {m['os']}, {python}, {zmq}, "
        f"safezmq {m['safezmq']}; load average at start {m['loadavg_at_start']}. "
        f"Each cell is the median of {repeat} run{'s' if repeat != 1 else ''} (fresh processes, "
        "the implementations taking turns); ratios are safezmq/pyzmq for rates and "
        "pyzmq/safezmq for latency and memory, so higher is better for safezmq; "
        '"repeats" is the range of the single repetitions\' ratios.'
    )
    if config.get("quick"):
        text += " (--quick: a smoke test, not a measurement.)"
    return text


def markdown(document: dict[str, Any], goals_only: bool = False) -> str:
    """The table in markdown, preceded by the machine sentence.  ``goals_only``: only the rows
    that have a goal, under the goals' own names, in the goals' order."""
    impls = measured_impls(document)
    rows = document["rows"]
    if goals_only:
        rows = sorted(
            (row for row in rows if row["goal"] is not None),
            key=lambda row: row.get("goal_rank") or 0,
        )
    header = ["case", *impls]
    if len(impls) == 2:
        header += ["ratio", "repeats", "goal", "met"]
    lines = [
        machine_text(document),
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for row in rows:
        label = row["goal_label"] if goals_only and row["goal_label"] else row["label"]
        cells = [label, *(format_value(row, row["quoted"].get(impl)) for impl in impls)]
        if len(impls) == 2:
            ratio = "—" if row["ratio"] is None else f"{row['ratio']:.2f}"
            cells += [ratio, format_spread(row), *format_goal(row)]
        lines.append("| " + " | ".join(cells) + " |")
    met = sorted(
        (row for row in document["rows"] if row["goal"] is not None and row["met"] is not None),
        key=lambda row: row.get("goal_rank") or 0,
    )
    if met:
        missed = [row["goal_label"] or row["label"] for row in met if not row["met"]]
        summary = f"Goals met: {len(met) - len(missed)} of {len(met)}"
        lines += ["", summary + (f"; missed: {', '.join(missed)}." if missed else ".")]
    return "\n".join(lines) + "\n"


def chart_classes() -> tuple[Any, Any, Any] | None:
    """matplotlib's Figure, Patch and Line2D classes, or None if it is not installed."""
    try:
        from matplotlib.figure import Figure  # type: ignore[import-not-found,unused-ignore]
        from matplotlib.lines import Line2D  # type: ignore[import-not-found,unused-ignore]
        from matplotlib.patches import Patch  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    return Figure, Patch, Line2D


def write_chart(path: str, document: dict[str, Any], goals_only: bool = False) -> int:
    """A horizontal bar per row with a ratio (log scale, 1 = on par): green where it meets its
    goal, red where it misses it, grey without one; a black tick at the goal, and a dot per
    repetition.  Returns how many bars it drew."""
    classes = chart_classes()
    if classes is None:
        raise common.BenchmarkError(f"a chart needs matplotlib: {CHART_INSTALL}")
    figure_class, patch_class, line_class = classes
    rows = [
        row
        for row in document["rows"]
        if row["ratio"] is not None and row["ratio"] > 0 and (row["goal"] or not goals_only)
    ]
    if not rows:
        raise common.BenchmarkError("no ratio to plot (every case failed, or pyzmq not measured?)")
    fig = figure_class(figsize=(10, 2.2 + 0.36 * len(rows)), layout="constrained")
    ax = fig.add_subplot()
    ys = list(range(len(rows)))
    colors = [
        NO_GOAL_COLOR if row["met"] is None else (MET_COLOR if row["met"] else MISSED_COLOR)
        for row in rows
    ]
    ratios = [float(row["ratio"]) for row in rows]
    ax.barh(ys, ratios, color=colors, alpha=0.85)
    labels = [
        row["goal_label"] if goals_only and row["goal_label"] else row["label"] for row in rows
    ]
    ax.set_yticks(ys, labels)
    ax.invert_yaxis()
    ax.set_xscale("log")
    points = ratios + [row["goal"] for row in rows if row["goal"]]
    points += [r for row in rows for r in row["repeat_ratios"] if r]
    low, high = min(*points, 1.0) / 1.6, max(*points, 1.0) * 1.6
    ax.set_xlim(low, high)
    ticks = [t for t in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50) if low <= t <= high]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.axvline(1.0, color="black", linewidth=1, linestyle="--")
    for y, row in zip(ys, rows, strict=True):
        if row["goal"]:
            ax.plot([row["goal"]], [y], marker="|", markersize=16, markeredgewidth=2.5, color="k")
        repeats = [r for r in row["repeat_ratios"] if r]
        if len(repeats) > 1:
            ax.plot(repeats, [y] * len(repeats), "o", markersize=3, color="k", alpha=0.5)
        ax.annotate(  # right of the bar, its dots and its goal
            f"{row['ratio']:.2f}",
            (max(row["ratio"], row["goal"] or 0, *repeats), y),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    ax.set_xlabel("safezmq relative to pyzmq: higher is better for safezmq, 1 = on par")
    handles = [
        patch_class(color=MET_COLOR, label="goal met"),
        patch_class(color=MISSED_COLOR, label="goal missed"),
        patch_class(color=NO_GOAL_COLOR, label="no goal"),
        line_class(
            [],
            [],
            marker="|",
            markersize=12,
            markeredgewidth=2.5,
            color="k",
            ls="none",
            label="goal",
        ),
        line_class(
            [],
            [],
            marker="o",
            markersize=3,
            color="k",
            alpha=0.5,
            ls="none",
            label="single repetitions",
        ),
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    m = document["machine"]
    zmq = f"libzmq {m['libzmq']} (pyzmq {m['pyzmq']})"
    ax.set_title(f"safezmq {m['safezmq']} relative to {zmq}", fontsize=11)
    fig.suptitle("\n".join(textwrap.wrap(machine_text(document), 180)), fontsize=6.5)
    fig.savefig(path, dpi=120)
    return len(rows)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("results", help="the runner's --json file")
    parser.add_argument(
        "--markdown",
        action="store_true",
        help="print the markdown table (the default when --chart is not given)",
    )
    parser.add_argument(
        "--goals-only",
        action="store_true",
        help="only the rows with a goal, under the goals' names (table and chart)",
    )
    parser.add_argument(
        "--chart",
        metavar="FILE.png|DIR/",
        help="draw the ratios against their goals (needs matplotlib: the 'bench' extra)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        document = load(args.results)
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: cannot read {args.results}: {exc!r}", file=sys.stderr)
        return 2
    if args.markdown or not args.chart:
        sys.stdout.write(markdown(document, args.goals_only))
    if args.chart:
        path = dated_path(args.chart, "ratios", "png", document)
        try:
            bars = write_chart(path, document, args.goals_only)
        except common.BenchmarkError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"chart of {bars} ratios written to {Path(path)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
