"""Run one fuzz harness under atheris (libFuzzer), or replay inputs through it without atheris.

    python fuzz/run.py TARGET [--skip-known] [libFuzzer/atheris flags] [corpus dirs or files]
    python fuzz/run.py --replay TARGET FILE_OR_DIR...
    python fuzz/run.py --list

With no corpus directory given, new inputs go to ``fuzz/.work/TARGET/corpus`` (git-ignored) and
the seeds in ``fuzz/corpus/TARGET`` (regressions included) are read too; crashes are written to
``fuzz/.work/TARGET/`` unless ``-artifact_prefix=`` says otherwise.  A FILE argument makes
libFuzzer run just that input (how a crash is reproduced).  ``--skip-known`` ignores the
failures listed in ``fuzz/harnesses/__init__.py:KNOWN_ISSUES`` (reported, not yet fixed).
See fuzz/README.md.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
ROOT = FUZZ.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _inputs(paths: Sequence[str]) -> list[Path]:
    files: list[Path] = []
    for name in paths:
        path = Path(name)
        files += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return files


def replay(target: str, paths: Sequence[str]) -> int:
    """Run ``check`` on each input (no atheris needed); print and count the failures."""
    from fuzz.harnesses import load

    check = load(target)
    failures = 0
    files = _inputs(paths or [str(FUZZ / "corpus" / target)])
    for path in files:
        try:
            check(path.read_bytes())
        except Exception as exc:
            failures += 1
            print(f"FAIL {path}: {type(exc).__name__}: {exc}")
    print(f"{target}: {len(files) - failures} passed, {failures} failed")
    return 1 if failures else 0


def fuzz(target: str, args: Sequence[str], skip_known: bool = False) -> int:
    import atheris  # type: ignore[import-untyped,import-not-found,unused-ignore]

    from fuzz.harnesses import TARGETS

    if target not in TARGETS:
        print(f"unknown target {target!r}; choose from: {', '.join(TARGETS)}", file=sys.stderr)
        return 2
    # Let libFuzzer learn the strings that regular expressions and str methods compare with.
    atheris.enabled_hooks.add("RegEx")
    atheris.enabled_hooks.add("str")
    with atheris.instrument_imports(include=["safezmq", "fuzz.harnesses"]):
        module = importlib.import_module(f"fuzz.harnesses.{target}")
    flags = [a for a in args if a.startswith("-")]
    paths = [a for a in args if not a.startswith("-")]
    if not paths:
        work = FUZZ / ".work" / target
        (work / "corpus").mkdir(parents=True, exist_ok=True)
        paths = [str(work / "corpus")]
        seeds = FUZZ / "corpus" / target
        if seeds.is_dir():
            paths.append(str(seeds))
        if not any(f.startswith("-artifact_prefix=") for f in flags):
            flags.append(f"-artifact_prefix={work}/")
    test_one_input = module.test_one_input
    if skip_known:
        from fuzz.harnesses import is_known

        def test_one_input(data: bytes) -> None:
            try:
                module.test_one_input(data)
            except Exception as exc:
                if not is_known(target, exc):
                    raise

    atheris.Setup([sys.argv[0], *flags, *paths], test_one_input)
    atheris.Fuzz()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if args else 2
    if args[0] == "--list":
        from fuzz.harnesses import TARGETS

        for name, what in TARGETS.items():
            print(f"{name:14} {what}")
        return 0
    if args[0] == "--replay":
        if len(args) < 2:
            print("usage: fuzz/run.py --replay TARGET [FILE_OR_DIR...]", file=sys.stderr)
            return 2
        return replay(args[1], args[2:])
    skip_known = "--skip-known" in args
    args = [a for a in args if a != "--skip-known"]
    return fuzz(args[0], args[1:], skip_known)


if __name__ == "__main__":
    sys.exit(main())
