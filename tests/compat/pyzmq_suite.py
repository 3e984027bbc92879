"""Fetch pyzmq's own test suite and run it against safezmq (``import zmq`` → safezmq through
``python -m safezmq.aszmq``), collecting each test's outcome from a JUnit XML report.

pyzmq's tests are never copied into this repository: the sdist is downloaded from the package
index with pip at test time and cached (in pytest's cache directory when there is one).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

PYZMQ_VERSION = "27.3.0"
SDIST = f"pyzmq-{PYZMQ_VERSION}.tar.gz"
ROOT = f"pyzmq-{PYZMQ_VERSION}"


class FetchError(Exception):
    """pyzmq's sdist could not be downloaded or unpacked."""


def fetch_suite(cache: Path) -> Path:
    """Download pyzmq's sdist into ``cache`` (once) and unpack its tests/ and pytest.ini;
    return the directory to run pytest in (it holds ``tests/`` and ``pytest.ini``)."""
    root = cache / ROOT
    if (root / "tests" / "conftest.py").is_file() and (root / "pytest.ini").is_file():
        return root
    archive = cache / SDIST
    if not archive.is_file():
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            "--disable-pip-version-check",
            f"pyzmq=={PYZMQ_VERSION}",
            "-d",
            str(cache),
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
        if result.returncode != 0 or not archive.is_file():
            raise FetchError(
                f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-2000:]}"
            )
    wanted = re.compile(rf"{re.escape(ROOT)}/(tests/[^/]+|pytest\.ini)\Z")
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.isfile() and wanted.match(m.name)]
        if not any(m.name.endswith("tests/conftest.py") for m in members):
            raise FetchError(f"{archive} has no {ROOT}/tests/conftest.py")
        for member in members:
            # Only regular files at known names: nothing can land outside `cache`.
            source = tar.extractfile(member)
            assert source is not None
            target = cache / member.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read())
    return root


@dataclass
class Outcome:
    """One test's result: "passed", "failed" (a failure or an error), or "skipped"."""

    status: str
    detail: str = ""


@dataclass
class SuiteRun:
    policy: str
    returncode: int
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    output: str = ""

    def with_status(self, status: str) -> dict[str, Outcome]:
        return {k: v for k, v in sorted(self.outcomes.items()) if v.status == status}


def test_id(classname: str, name: str) -> str:
    """pytest's node id from a JUnit testcase: "test_socket.py::TestSocket::test_x", or the
    module's file ("test_future.py") for a module that failed or skipped collection."""
    if not classname:
        return name.removeprefix("tests.").replace(".", "/") + ".py"
    parts = classname.split(".")
    if parts and parts[0] == "tests":
        parts = parts[1:]
    index = next((i for i, p in enumerate(parts) if p.startswith("test_")), 0)
    module = "/".join(parts[: index + 1]) + ".py"
    return "::".join([module, *parts[index + 1 :], name])


def parse_junit(path: Path) -> dict[str, Outcome]:
    outcomes: dict[str, Outcome] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        key = test_id(case.get("classname", ""), case.get("name", ""))
        problems = [c for c in case if c.tag in ("failure", "error")]
        skipped = [c for c in case if c.tag == "skipped"]
        if problems:
            outcome = Outcome("failed", "; ".join(_summary(c) for c in problems))
        elif skipped:
            outcome = Outcome("skipped", _summary(skipped[0]))
        else:
            outcome = Outcome("passed")
        previous = outcomes.get(key)
        if previous is None or outcome.status == "failed":  # a teardown error after a pass
            outcomes[key] = outcome
    return outcomes


def _summary(element: ET.Element) -> str:
    """One line: the message, or for a collection problem the line that says what happened."""
    message = element.get("message") or element.tag
    if message in ("collection failure", "collection skipped"):
        text = element.text or ""
        found = re.findall(r"^E\s+(.+)$", text, re.M) or re.findall(
            r"Skipped: (.+?)['\"]\)\s*$", text, re.M
        )
        if found:
            message = found[-1]
    return " ".join(message.split())[:300]


def start_suite(
    root: Path, policy: str, report: Path, tests: list[str] | None = None
) -> subprocess.Popen[str]:
    """Start pyzmq's tests (all, or the node ids in ``tests``) with ``import zmq`` giving
    safezmq, under SAFEZMQ_POLICY=``policy`` ("compatible", or "" for the default)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    for name in ("SAFEZMQ_AS_ZMQ", "SAFEZMQ_POLICY", "PYTHONPATH"):
        env.pop(name, None)
    if policy:
        env["SAFEZMQ_POLICY"] = policy
    command = [
        sys.executable,
        "-m",
        "safezmq.aszmq",
        "-m",
        "pytest",
        *(tests or ["tests"]),
        "-p",
        "no:cacheprovider",
        "-q",
        "--continue-on-collection-errors",
        # pyzmq's slowest test here takes about 10 s; a test that hangs (a message the
        # secure defaults dropped) costs this much, so it is kept well short of a minute.
        "--timeout",
        "30",
        f"--junitxml={report}",
        "-o",
        "junit_family=xunit1",
    ]
    return subprocess.Popen(
        command,
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish_suite(process: subprocess.Popen[str], policy: str, report: Path) -> SuiteRun:
    try:
        output, _ = process.communicate(timeout=900)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        raise AssertionError(f"pyzmq's suite ran for 15 minutes; stopped it:\n{output}") from None
    if not report.is_file():
        raise AssertionError(f"pyzmq's suite wrote no report ({process.returncode}):\n{output}")
    return SuiteRun(policy, process.returncode, parse_junit(report), output)


def node_id(test: str) -> str:
    """The command-line form of a test id (pyzmq's tests live in tests/)."""
    return f"tests/{test}"


def rerun_alone(root: Path, run: SuiteRun, tests: list[str], report: Path) -> dict[str, Outcome]:
    """Run ``tests`` again, by themselves, under the same policy; return their new outcomes.

    The two policies' runs go side by side, and a few of pyzmq's tests bind fixed ports
    (test_monitor.py: 6666, 6667), so one run's test can find the other's port taken; such a
    test is judged by its run alone.
    """
    process = start_suite(root, run.policy, report, [node_id(t) for t in tests])
    again = finish_suite(process, run.policy, report)
    return {t: again.outcomes[t] for t in tests if t in again.outcomes}
