"""Chaos suite: the flag for the full-size runs, shared fixtures, and the measured figures
printed at the end of the session (so CI's log carries them)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from . import probe

#: ``--chaos-full`` (or SAFEZMQ_CHAOS_FULL=1) runs the issue's full counts and the 30-minute
#: soak; without it CI runs a stated fraction (each test prints which).
FULL_ENV = "SAFEZMQ_CHAOS_FULL"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--chaos-full",
        action="store_true",
        default=False,
        help="chaos suite: full churn counts and the 30-minute soak (nightly / by hand)",
    )


def full(config: pytest.Config) -> bool:
    return bool(config.getoption("--chaos-full")) or os.environ.get(FULL_ENV) == "1"


@pytest.fixture
def chaos_full(request: pytest.FixtureRequest) -> bool:
    return full(request.config)


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Iterator[probe.FigureSink]:
    yield probe.FigureSink(request.node.name)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not probe.FIGURES:
        return
    terminalreporter.section("chaos suite: measured figures")
    width = max(len(test) for test, _, _ in probe.FIGURES)
    for test, figure, value in probe.FIGURES:
        terminalreporter.write_line(f"{test:<{width}}  {figure}: {value}")
