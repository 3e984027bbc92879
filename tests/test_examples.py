"""The examples and the guides work as printed.

- Every script in ``examples/`` runs as a subprocess (on loopback, with a timeout) and must exit
  with status 0 and print the line that says it showed what it is about.
- Every guide in ``docs/`` is listed in the README's "Documentation" section, every relative
  link in the guides points at a file (and heading) that exists, and every file or test the
  guides cite as evidence (``src/...``, ``tests/x.py::test_name``) exists.
- Every ```python block in ``docs/`` preceded by a ``<!-- test -->`` line runs as a script of
  its own and must exit with status 0 (the blocks check what they show with ``assert``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import safezmq

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DOCS = ROOT / "docs"

#: Seconds an example or a code block may take (they finish in a few).
TIMEOUT = 60

#: The line each example prints when it has shown what it is about.
EXPECTED = {
    "asyncio_service.py": "asyncio service OK",
    "embedded_limits.py": "embedded limits OK",
    "iot_devices.py": "iot OK",
    "ironhouse.py": "ironhouse OK",
    "pipeline_curve.py": "pipeline OK",
    "policy_audit.py": "policy audit OK",
}

#: The marker that makes the next ```python block of a guide a test.
MARKER = "<!-- test -->"


def run_python(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the interpreter of the test suite with the secure default policy (whatever the
    environment of the test run says), the safezmq under test first on the path, and
    temporary files (key directories, ipc sockets) under ``cwd``."""
    env = {k: v for k, v in os.environ.items() if k != "SAFEZMQ_POLICY"}
    env["TMPDIR"] = str(cwd)
    # The safezmq under test first: src/ of a checkout, or an installed wheel's site-packages.
    source = str(Path(safezmq.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([source, *filter(None, [env.get("PYTHONPATH")])])
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


# -- examples ------------------------------------------------------------------------------------


def example_names() -> list[str]:
    return sorted(p.name for p in EXAMPLES.glob("*.py"))


def test_every_example_has_an_expected_line() -> None:
    assert example_names() == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs(name: str, tmp_path: Path) -> None:
    result = run_python([str(EXAMPLES / name)], cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert EXPECTED[name] in result.stdout.splitlines()[-1], output
    assert "UNEXPECTED" not in output, output
    assert "Traceback" not in output, output


# -- the guides ---------------------------------------------------------------------------------


def guides() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def readme_documentation_links() -> set[str]:
    text = (ROOT / "README.md").read_text()
    section = re.search(r"^## Documentation\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert section, "the README needs a '## Documentation' section"
    return set(re.findall(r"\]\((docs/[^)#]+\.md)\)", section.group(1)))


def test_every_guide_is_linked_from_the_readme() -> None:
    linked = readme_documentation_links()
    present = {f"docs/{p.name}" for p in guides()}
    assert present, "no guides found in docs/"
    assert present - linked == set(), "guides missing from the README's Documentation section"
    assert linked - present == set(), "the README links guides that do not exist"


def relative_links(text: str) -> list[str]:
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    return [link for link in links if not re.match(r"[a-z]+:", link) and not link.startswith("#")]


@pytest.mark.parametrize("guide", guides(), ids=lambda p: p.name)
def test_relative_links_resolve(guide: Path) -> None:
    text = guide.read_text()
    broken = []
    for link in relative_links(text):
        path, _, anchor = link.partition("#")
        target = (guide.parent / path).resolve()
        missing_anchor = bool(anchor) and target.suffix == ".md"
        if not target.exists() or (missing_anchor and anchor not in anchors(target.read_text())):
            broken.append(link)
    for anchor in re.findall(r"\]\(#([^)]+)\)", text):
        if anchor not in anchors(text):
            broken.append("#" + anchor)
    assert broken == []


@pytest.mark.parametrize("guide", guides(), ids=lambda p: p.name)
def test_code_references_exist(guide: Path) -> None:
    """The guides name files (`src/...`, `tests/...`, `fuzz/`) and tests
    (`tests/x.py::test_name`) as evidence: each must exist."""
    text = guide.read_text()
    missing = []
    for ref in re.findall(r"`((?:src|tests|fuzz|benchmarks)/[^`\s]*)`", text):
        path, _, name = ref.partition("::")
        target = ROOT / path
        if not target.exists() or (name and not defines(target, name)):
            missing.append(ref)
    assert missing == []


def defines(path: Path, name: str) -> bool:
    return bool(re.search(rf"^(async )?def {re.escape(name)}\(", path.read_text(), re.M))


def anchors(markdown: str) -> set[str]:
    """GitHub's anchors for the headings of a Markdown text."""
    found = set()
    for heading in re.findall(r"^#+ (.+)$", strip_code(markdown), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


def strip_code(markdown: str) -> str:
    return re.sub(r"^```.*?^```", "", markdown, flags=re.M | re.S)


def marked_blocks(text: str) -> list[tuple[int, str]]:
    """(line number, code) of each ```python block right after a test marker."""
    blocks = []
    pattern = re.compile(
        rf"^{re.escape(MARKER)}[ \t]*\n```python[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S
    )
    for match in pattern.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        blocks.append((line, match.group(1)))
    return blocks


def doc_blocks() -> list[tuple[str, int, str]]:
    return [(p.name, line, code) for p in guides() for line, code in marked_blocks(p.read_text())]


def test_marked_blocks_are_found() -> None:
    """Every marker is followed by a ```python block (a typo must not silently skip a test)."""
    for guide in guides():
        text = guide.read_text()
        markers = re.findall(rf"^{re.escape(MARKER)}[ \t]*$", text, re.M)
        assert len(markers) == len(marked_blocks(text)), guide.name
    assert len(doc_blocks()) >= 10


@pytest.mark.parametrize(
    ("guide", "line", "code"), doc_blocks(), ids=[f"{g}:{n}" for g, n, _ in doc_blocks()]
)
def test_doc_block_runs(guide: str, line: int, code: str, tmp_path: Path) -> None:
    script = tmp_path / "block.py"
    script.write_text(code)
    result = run_python([str(script)], cwd=tmp_path)
    assert result.returncode == 0, f"docs/{guide}:{line}\n{result.stdout}{result.stderr}"
