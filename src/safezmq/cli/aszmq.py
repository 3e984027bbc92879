"""``safezmq as-zmq enable|disable|status``: make ``import zmq`` give safezmq in every Python
process of a virtual environment, by a .pth file in its site-packages (see safezmq.aszmq)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import sysconfig
from typing import Any

from .. import aszmq
from ._common import EXIT_OK, CLIError

DESCRIPTION = f"""\
Make `import zmq` give safezmq in every Python process started from this environment
({sys.prefix}), so that programs written for pyzmq (and the processes they start, such as
Jupyter kernels) run on safezmq unchanged:

  enable    write {aszmq.PTH_NAME} into site-packages (site.py runs it at each start)
  disable   remove it: `import zmq` gives pyzmq again (if installed)
  status    whether it is enabled, and what `import zmq` gives a new interpreter

{aszmq.ENV_VAR}=0 in the environment turns it off for one process.  For one program only,
without touching the environment: python -m safezmq.aszmq -m MODULE | SCRIPT.py [ARG ...]
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "as-zmq",
        help="make `import zmq` give safezmq in this environment (enable|disable|status)",
        description=DESCRIPTION,
    )
    parser.add_argument("action", choices=("enable", "disable", "status"))
    parser.add_argument(
        "--site-packages",
        metavar="DIR",
        default=None,
        help="the site-packages directory to change (default: this interpreter's; "
        "required outside a virtual environment)",
    )
    parser.set_defaults(handler=run)


def _in_virtualenv() -> bool:
    return sys.prefix != sys.base_prefix


def site_packages(explicit: str | None) -> str:
    """Where the .pth file goes: DIR if given, else this virtual environment's site-packages.
    Outside a virtual environment the user must name the directory: a system-wide change is
    not something to do by default."""
    if explicit is not None:
        if not os.path.isdir(explicit):
            raise CLIError(f"--site-packages {explicit}: not a directory")
        return os.path.abspath(explicit)
    if not _in_virtualenv():
        raise CLIError(
            f"{sys.executable} is not in a virtual environment: as-zmq would change every "
            "program of this Python installation. Run it with a virtualenv's python, or name "
            "the directory with --site-packages DIR"
        )
    return sysconfig.get_paths()["purelib"]


def _ours(path: str) -> bool:
    try:
        with open(path, encoding="utf-8") as f:
            return f.readline().startswith(aszmq.PTH_MARKER)
    except FileNotFoundError:
        return False


def enable(directory: str) -> str:
    path = os.path.join(directory, aszmq.PTH_NAME)
    if os.path.exists(path) and not _ours(path):
        raise CLIError(f"{path} exists and was not written by safezmq: remove it first")
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(aszmq.pth_contents())
    os.replace(tmp, path)  # site.py never sees half a file
    return path


def disable(directory: str) -> str | None:
    path = os.path.join(directory, aszmq.PTH_NAME)
    if not os.path.exists(path):
        return None
    if not _ours(path):
        raise CLIError(f"{path} was not written by safezmq: left alone")
    os.remove(path)
    return path


def probe() -> str:
    """What `import zmq` gives a new interpreter of this environment (the module's name), or
    why it fails."""
    env = dict(os.environ)
    env.pop(aszmq.ENV_VAR, None)
    result = subprocess.run(
        [sys.executable, "-c", "import zmq; print(zmq.__name__, zmq.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        return f"nothing: {last}"
    name, _, file = result.stdout.strip().partition(" ")
    return f"{'safezmq' if name.startswith(aszmq.TARGET) else 'pyzmq'} ({file})"


def run(args: argparse.Namespace) -> int:
    directory = site_packages(args.site_packages)
    path = os.path.join(directory, aszmq.PTH_NAME)
    if args.action == "enable":
        enable(directory)
        print(f"enabled: wrote {path}")
        print(f"every Python started from {sys.prefix} now gets safezmq for `import zmq`")
        print(f"undo: safezmq as-zmq disable (or: rm {path})")
        print(f"one process without it: {aszmq.ENV_VAR}=0 python ...")
    elif args.action == "disable":
        removed = disable(directory)
        if removed is None:
            print(f"not enabled: {path} does not exist; nothing to do")
        else:
            print(f"disabled: removed {removed}")
    else:
        state = "enabled" if _ours(path) else "disabled"
        print(f"{state}: {path} {'exists' if state == 'enabled' else 'does not exist'}")
        if aszmq.ENV_VAR in os.environ:
            print(f"{aszmq.ENV_VAR}={os.environ[aszmq.ENV_VAR]} in this environment")
        print(f"`import zmq` in a new {sys.executable} gives: {probe()}")
    return EXIT_OK
