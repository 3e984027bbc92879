"""Import lint: the protocol layer is sans-I/O.

docs/architecture.md: "protocol/ imports only the standard library, the crypto binding and safezmq's
error/constants.  No sockets, threads, asyncio, clocks (time is passed in) or logging."  Every
module under src/safezmq/protocol/ is parsed with ``ast`` (not imported, so nothing is hidden by
import-time tricks) and each import, wherever it appears, is checked against an allow-list.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PROTOCOL = Path(__file__).resolve().parent.parent / "src" / "safezmq" / "protocol"
PACKAGE = "safezmq.protocol"

#: Standard-library modules the protocol layer may use: pure computation, nothing that reaches
#: the outside world or a clock.
ALLOWED_STDLIB = frozenset(
    {
        "__future__",
        "abc",
        "binascii",
        "collections",
        "collections.abc",
        "dataclasses",
        "enum",
        "functools",
        "hashlib",
        "hmac",
        "itertools",
        "math",
        "operator",
        "os",  # os.urandom only: checked below
        "re",
        "secrets",
        "struct",
        "types",
        "typing",
    }
)

#: Attributes of ``os`` the protocol layer may use (randomness for CURVE nonces and cookies).
ALLOWED_OS_ATTRIBUTES = frozenset({"urandom"})

#: safezmq modules outside protocol/ that the protocol layer may use.
ALLOWED_SAFEZMQ = frozenset({"safezmq.error", "safezmq.constants"})

#: What the design forbids by name: named here too so that the failure message is explicit.
FORBIDDEN = frozenset(
    {
        "asyncio",
        "concurrent",
        "datetime",
        "logging",
        "multiprocessing",
        "pickle",
        "random",
        "select",
        "selectors",
        "signal",
        "socket",
        "ssl",
        "subprocess",
        "threading",
        "time",
        "warnings",
        "zmq",
    }
)


def resolve(node: ast.ImportFrom, module: str) -> list[str]:
    """The absolute names an ImportFrom brings in: ``from . import z85`` is protocol.z85."""
    if node.level == 0:
        assert node.module is not None
        return [node.module]
    package = module.rsplit(".", 1)[0]
    parts = package.split(".")
    base = ".".join(parts[: len(parts) - (node.level - 1)])
    if node.module:
        return [f"{base}.{node.module}"]
    return [f"{base}.{alias.name}" for alias in node.names]


def imported_names(tree: ast.AST, module: str) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found += [(node.lineno, name) for name in resolve(node, module)]
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in {"__import__", "import_module"}:
                found.append((node.lineno, "<dynamic import>"))
    return found


def violation(name: str) -> str | None:
    top = name.split(".")[0]
    if top in FORBIDDEN:
        return f"{name} is forbidden in the protocol layer (sans-I/O)"
    if name == PACKAGE or name.startswith(PACKAGE + "."):
        return None
    if top == "safezmq":
        return None if name in ALLOWED_SAFEZMQ else f"{name} is outside protocol/error/constants"
    if top == "nacl":
        return None
    if name in ALLOWED_STDLIB:
        return None
    return f"{name} is not on the protocol layer's allow-list"


def os_misuse(tree: ast.AST) -> list[str]:
    """Uses of ``os`` other than os.urandom (and no ``from os import ...`` of anything else)."""
    problems: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id == "os" and node.attr not in ALLOWED_OS_ATTRIBUTES:
                problems.append(f"line {node.lineno}: os.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "os":
            problems += [
                f"line {node.lineno}: from os import {alias.name}"
                for alias in node.names
                if alias.name not in ALLOWED_OS_ATTRIBUTES
            ]
    return problems


def check_source(source: str, module: str) -> list[str]:
    tree = ast.parse(source)
    problems = [
        f"line {line}: {problem}"
        for line, name in imported_names(tree, module)
        if (problem := violation(name)) is not None
    ]
    return problems + os_misuse(tree)


def protocol_modules() -> list[Path]:
    return sorted(PROTOCOL.rglob("*.py"))


def module_name(path: Path) -> str:
    relative = path.relative_to(PROTOCOL).with_suffix("")
    parts = [p for p in relative.parts if p != "__init__"]
    # For a package's __init__, relative imports resolve against the package itself.
    if path.name == "__init__.py":
        return ".".join([PACKAGE, *parts, "__init__"])
    return ".".join([PACKAGE, *parts])


def test_protocol_modules_are_found() -> None:
    names = {p.name for p in protocol_modules()}
    assert {"frames.py", "greeting.py", "connection.py", "curve.py", "zap.py"} <= names


@pytest.mark.parametrize("path", protocol_modules(), ids=lambda p: p.name)
def test_protocol_module_imports_are_allowed(path: Path) -> None:
    problems = check_source(path.read_text(encoding="utf-8"), module_name(path))
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


# ---------------------------------------------------------------------------------------------
# The checker itself must be able to fail.


@pytest.mark.parametrize(
    "source",
    [
        "import socket",
        "import threading",
        "import asyncio",
        "import time",
        "import logging",
        "import select",
        "import selectors",
        "import random",
        "from time import monotonic",
        "import asyncio.events",
        "from concurrent.futures import Future",
        "def f():\n    import socket\n",
        "import zmq",
        "import urllib.request",
        "from .. import sugar",
        "from ..engine import session",
        "import safezmq.transport",
        "x = __import__('socket')",
        "import importlib\nimportlib.import_module('socket')",
        "import os\nos.getpid()",
        "from os import system",
    ],
)
def test_checker_rejects(source: str) -> None:
    assert check_source(source, f"{PACKAGE}.example")


@pytest.mark.parametrize(
    "source",
    [
        "from __future__ import annotations",
        "import re\nfrom dataclasses import dataclass",
        "from collections.abc import Mapping",
        "import nacl.bindings as sodium\nfrom nacl.exceptions import CryptoError",
        "from ..constants import ProtocolErrorCode",
        "from ..error import ZMQError",
        "from . import z85",
        "from .frames import Buffer",
        "import os\nos.urandom(24)",
        "import safezmq.constants",
    ],
)
def test_checker_accepts(source: str) -> None:
    assert check_source(source, f"{PACKAGE}.example") == []


def test_relative_imports_resolve() -> None:
    tree = ast.parse("from ..constants import A\nfrom . import z85, keys\nfrom .errors import B")
    names = [name for _, name in imported_names(tree, "safezmq.protocol.frames")]
    assert names == [
        "safezmq.constants",
        "safezmq.protocol.z85",
        "safezmq.protocol.keys",
        "safezmq.protocol.errors",
    ]
    init = [name for _, name in imported_names(tree, "safezmq.protocol.__init__")]
    assert init == names
