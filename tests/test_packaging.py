"""What a user downloads: the installed distribution's metadata, contents and entry points.

CI installs the wheel non-editably in a fresh virtual environment per supported Python and runs
the whole suite against it with ``SAFEZMQ_TEST_INSTALLED=1`` (see .ci/run): then the first test
here proves that the ``safezmq`` under test is the installed one, not ``src/``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

import safezmq
from safezmq import _version

ROOT = Path(__file__).resolve().parent.parent
#: The Pythons CI tests (.ci/run) and the classifiers and the README name.
TESTED_PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
TIMEOUT_S = 60


def installed_non_editably() -> bool:
    """True when safezmq was installed from a wheel, not as an editable (or source) tree."""
    text = metadata.distribution("safezmq").read_text("direct_url.json")
    if text is None:
        return True  # installed from an index: a wheel
    return not json.loads(text).get("dir_info", {}).get("editable", False)


def library_files(tmp_path: Path) -> list[str]:
    """The files of the wheel: the installed one's RECORD, or a wheel built from this tree."""
    if installed_non_editably():
        files = metadata.files("safezmq")
        assert files is not None
        return [str(f) for f in files]
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("safezmq-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def test_the_suite_runs_against_the_installed_wheel_when_ci_says_so() -> None:
    if os.environ.get("SAFEZMQ_TEST_INSTALLED") != "1":
        pytest.skip("SAFEZMQ_TEST_INSTALLED is not 1: this run tests the importable safezmq")
    module = Path(safezmq.__file__).resolve()
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    assert module.is_relative_to(site), f"{module} is not in {site}"
    assert not module.is_relative_to(ROOT / "src"), module
    assert installed_non_editably(), "safezmq is an editable install"


def test_the_version_is_written_once() -> None:
    assert safezmq.__version__ == _version.__version__ == metadata.version("safezmq")
    major, minor, patch = (int(x) for x in safezmq.__version__.split(".")[:3])
    assert safezmq.pyzmq_version_info()[:3] == (major, minor, patch)
    assert safezmq.pyzmq_version() == safezmq.__version__
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## [{safezmq.__version__}]" in changelog, "CHANGELOG.md has no entry for it"


def test_the_metadata_a_user_relies_on() -> None:
    meta = metadata.metadata("safezmq")
    assert meta["License-Expression"] == "MIT"
    assert meta["Requires-Python"] == ">=3.10"
    runtime = [r for r in meta.get_all("Requires-Dist") or [] if "extra ==" not in r]
    assert [re.split(r"[<>=!~ ;]", r)[0].lower() for r in runtime] == ["pynacl"]
    # No Project-URL yet: safezmq has no public home, and an invented address would send
    # users (and vulnerability reports) nowhere.  SECURITY.md says so.
    classifiers = meta.get_all("Classifier") or []
    declared = sorted(
        c.rsplit(" :: ", 1)[1] for c in classifiers if re.fullmatch(r".*Python :: 3\.\d+", c)
    )
    assert declared == TESTED_PYTHONS
    assert "Typing :: Typed" in classifiers
    assert len(meta.get_all("Keywords") or meta["Keywords"].split(",")) > 0
    readme = (ROOT / "README.md").read_text()
    for version in TESTED_PYTHONS:
        assert version in readme.split("## Packaging and supported Pythons", 1)[1]
    ci = (ROOT / ".ci" / "pythons.sh").read_text()
    assert f"SUPPORTED_PYTHONS=({' '.join(TESTED_PYTHONS)})" in ci


def test_the_wheel_holds_the_library_only(tmp_path: Path) -> None:
    files = library_files(tmp_path)
    tops = {f.split("/", 1)[0] for f in files if not f.startswith("../")}
    assert tops == {"safezmq", f"safezmq-{safezmq.__version__}.dist-info"}, tops
    library = [f for f in files if f.startswith("safezmq/") and "__pycache__" not in f]
    others = [f for f in library if not f.endswith(".py") and f != "safezmq/py.typed"]
    assert others == [], others
    for needed in ("safezmq/py.typed", "safezmq/bench/run.py", "safezmq/bench/throughput.py"):
        assert needed in library
    for name in library:
        assert not re.search(r"(^|/)(tests?|fuzz|corpus|benchmarks)/", name), name


def test_security_policy_says_how_to_report() -> None:
    text = (ROOT / "SECURITY.md").read_text()
    assert "## Reporting a vulnerability" in text
    assert "## Supported versions" in text


def run_installed(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """A command of the installed package, from a directory holding no safezmq source."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        list(args), capture_output=True, text=True, timeout=TIMEOUT_S, cwd=cwd, env=env
    )


def test_the_console_script_and_module_entry_points_run(tmp_path: Path) -> None:
    scripts = Path(sysconfig.get_paths()["scripts"])
    version = run_installed(str(scripts / "safezmq"), "--version", cwd=tmp_path)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"safezmq {safezmq.__version__}"
    keygen = run_installed(sys.executable, "-m", "safezmq.curve_keygen", cwd=tmp_path)
    assert keygen.returncode == 0, keygen.stderr
    assert re.search(r"[0-9A-Za-z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}", keygen.stdout), keygen.stdout
    bench = run_installed(sys.executable, "-m", "safezmq.bench", "--help", cwd=tmp_path)
    assert bench.returncode == 0, bench.stderr
    assert "--quick" in bench.stdout


def test_importing_the_library_needs_only_pynacl(tmp_path: Path) -> None:
    """PyNaCl is the one runtime dependency: importing safezmq (and the benchmark runner, whose
    matplotlib and uvloop are optional) loads none of the test or extra dependencies."""
    optional = ["zmq", "tornado", "gevent", "greenlet", "paramiko", "matplotlib", "uvloop"]
    probe = (
        "import sys, safezmq, safezmq.bench.run, safezmq.cli\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(optional)!r}))\n"
    )
    done = run_installed(sys.executable, "-c", probe, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_one_license_everywhere() -> None:
    """The project is MIT (LICENSE, and License-Expression in the metadata); no file says
    otherwise: a source file that names a license names MIT."""
    assert (ROOT / "LICENSE").read_text().startswith("MIT License\n")
    for folder in ("src", "tests", "fuzz", "examples", "benchmarks"):
        for path in (ROOT / folder).rglob("*.py"):
            for line in path.read_text(errors="replace").splitlines()[:10]:
                if "SPDX-License-Identifier:" in line:
                    assert line.rstrip().endswith("SPDX-License-Identifier: MIT"), path


def test_ci_tests_the_oldest_pynacl_we_claim() -> None:
    """The PyNaCl floor in the metadata is the exact version one CI run installs."""
    (requirement,) = [
        r for r in metadata.metadata("safezmq").get_all("Requires-Dist") or [] if "extra" not in r
    ]
    floor = re.fullmatch(r"(?i)pynacl\s*>=\s*([\d.]+)", requirement)
    assert floor, requirement
    pinned = re.findall(r"'PyNaCl==([\d.]+)'", (ROOT / ".ci" / "run").read_text())
    assert [tuple(map(int, v.split("."))) for v in pinned] == [
        tuple(map(int, (floor.group(1) + ".0.0").split(".")[:3]))
    ]
