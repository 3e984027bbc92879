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
