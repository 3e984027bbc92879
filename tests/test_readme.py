"""The README's two commands are the ones CI and users run."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Two commands.*?```sh\n(.*?)```", text, re.S)
    assert block, "README must start with the two commands in a sh block"
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def test_readme_has_demo_and_test_commands() -> None:
    commands = readme_commands()
    assert len(commands) == 2
    assert "-m safezmq" in commands[0]
    assert "-m pytest" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert readme_commands()[1] in ci


def test_ci_tests_the_wheel_on_every_python_the_readme_names() -> None:
    """Besides the README's command, CI builds and checks the distributions and runs the suite
    against the installed wheel, once per supported Python (the versions the README states)."""
    ci = (ROOT / ".ci" / "run").read_text()
    for step in (
        "-m build --outdir",
        "-m twine check --strict",
        '-m pip install -q "$wheel[test]"',
        'SAFEZMQ_TEST_INSTALLED=1 "$venv"/bin/python -m pytest',
        'done <<< "$pythons"',
    ):
        assert step in ci, step
    versions = re.search(
        r"SUPPORTED_PYTHONS=\(([^)]*)\)", (ROOT / ".ci" / "pythons.sh").read_text()
    )
    assert versions
    section = (ROOT / "README.md").read_text().split("## Packaging and supported Pythons")[1]
    stated = re.search(r"supports CPython ([\d., and]+) on", section)
    assert stated
    assert re.findall(r"3\.\d+", stated.group(1)) == versions.group(1).split()
