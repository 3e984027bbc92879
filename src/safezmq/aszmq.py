"""Programs written for pyzmq, run on safezmq unchanged: ``import zmq`` gives safezmq.

Three ways to choose it, each explicit (safezmq never does this on its own):

- in code, before anything imports zmq::

      import safezmq.aszmq
      safezmq.aszmq.install_as_zmq()
      import zmq                      # safezmq; zmq.asyncio is safezmq.asyncio ...

- for one program and every Python process it starts (a Jupyter kernel, multiprocessing)::

      python -m safezmq.aszmq -m module args...
      python -m safezmq.aszmq script.py args...

- for a whole virtual environment: ``safezmq as-zmq enable`` (``disable``, ``status``), which
  writes a ``safezmq-as-zmq.pth`` file into its site-packages.

After any of them, ``zmq`` and every ``zmq.X`` are the very module objects ``safezmq`` and
``safezmq.X`` (so ``zmq.Context is safezmq.Context``), and a ``zmq.X`` that safezmq does not
have fails to import rather than falling back to pyzmq: the two are never mixed.

This module imports only the standard library at import time, so that the .pth file can load
it at interpreter start without paying for ``import safezmq`` in programs that never use zmq.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import runpy
import sys
import types
from collections.abc import MutableMapping, Sequence

#: The name programs import, and the package that answers for it.
ALIAS = "zmq"
TARGET = "safezmq"
#: This module's own name (also when it runs as __main__ or is loaded by the .pth file).
MODULE = TARGET + ".aszmq"

#: ``1``: the launcher's start-up hook (see BOOT_DIR) installs the alias in this process;
#: ``0``: the environment-wide .pth file does not.  Nothing else reads it.
ENV_VAR = "SAFEZMQ_AS_ZMQ"

#: The file ``safezmq as-zmq enable`` writes into site-packages.
PTH_NAME = "safezmq-as-zmq.pth"
#: The first line of that file: how ``disable`` and ``status`` recognise it as ours.
PTH_MARKER = "# safezmq as-zmq:"

#: A directory holding only a ``sitecustomize.py``: the launcher puts it first on the
#: PYTHONPATH of the processes a program starts, and it installs the alias in them when
#: ENV_VAR is ``1`` (then runs the sitecustomize it shadows, if any).
BOOT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_aszmq_boot")


class PyzmqAlreadyImported(ImportError):
    """install_as_zmq() was called after real pyzmq had been imported in this process."""


class _ZmqAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers ``import zmq`` / ``import zmq.X`` with the modules safezmq / safezmq.X.

    The loader hands the import system the already-imported safezmq module; the import system
    then records it under the zmq name (so both names give one object) and overwrites its
    ``__spec__``, which exec_module puts back, so that safezmq's modules keep their own specs.
    """

    #: How install_as_zmq recognises an instance, whichever copy of this module made it.
    is_safezmq_alias = True

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        real = _target_name(fullname)
        if real is None:
            return None
        try:
            real_spec = importlib.util.find_spec(real)
        except ModuleNotFoundError as exc:
            if exc.name is not None and (real + ".").startswith(exc.name + "."):
                return None  # a parent safezmq lacks: `zmq.backend.cython._zmq`
            raise  # something the module needs is missing (tornado ...): say so
        if real_spec is None:
            return None  # `import zmq.nothing` fails as usual, naming zmq.nothing
        # The real module's origin and search path, for runpy (`python -m zmq.curve_keygen`).
        spec = importlib.machinery.ModuleSpec(fullname, self, origin=real_spec.origin)
        spec.submodule_search_locations = real_spec.submodule_search_locations
        return spec

    def get_code(self, fullname: str) -> types.CodeType | None:
        """The real module's code: what runpy runs for ``python -m zmq.X``."""
        real = _target_name(fullname)
        real_spec = None if real is None else importlib.util.find_spec(real)
        loader = None if real_spec is None else real_spec.loader
        if real is None or not isinstance(loader, importlib.abc.InspectLoader):
            raise ImportError(f"no code for {fullname}", name=fullname)
        return loader.get_code(real)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        real = _target_name(spec.name)
        assert real is not None
        module = importlib.import_module(real)
        spec.loader_state = module.__spec__
        if real == TARGET:
            # The .pth path loads this file by location, before the package exists.
            own = sys.modules.get(MODULE)
            if own is not None and not hasattr(module, "aszmq"):
                module.aszmq = own  # type: ignore[attr-defined]
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        alias_spec = module.__spec__
        if alias_spec is not None and alias_spec.loader is self:
            module.__spec__ = alias_spec.loader_state


def _target_name(fullname: str) -> str | None:
    if fullname == ALIAS:
        return TARGET
    if fullname.startswith(ALIAS + "."):
        return TARGET + fullname[len(ALIAS) :]
    return None


def _is_alias(finder: object) -> bool:
    return getattr(finder, "is_safezmq_alias", False) is True


def foreign_zmq_modules() -> list[str]:
    """The names of real pyzmq modules imported in this process (empty when there are none)."""
    return sorted(
        name
        for name, module in list(sys.modules.items())
        if _target_name(name) is not None
        and module is not None
        and not str(getattr(module, "__name__", "")).startswith(TARGET)
    )


def is_installed() -> bool:
    """Whether ``import zmq`` gives safezmq in this process."""
    return any(_is_alias(finder) for finder in sys.meta_path)


def install_as_zmq() -> None:
    """From now on, in this process, ``import zmq`` and ``import zmq.X`` give safezmq and
    safezmq.X.  Call it before anything imports zmq; calling it again does nothing.

    Raises PyzmqAlreadyImported when real pyzmq is already imported: its objects and safezmq's
    would then live side by side, and sockets of one cannot be used with the other.
    """
    if is_installed():
        return
    foreign = foreign_zmq_modules()
    if foreign:
        raise PyzmqAlreadyImported(
            f"pyzmq is already imported in this process ({', '.join(foreign[:3])}"
            f"{' ...' if len(foreign) > 3 else ''}), so `import zmq` can no longer be made to "
            "give safezmq without mixing the two: call safezmq.install_as_zmq() before anything "
            "imports zmq, or start the program with `python -m safezmq.aszmq`",
            name=ALIAS,
        )
    sys.meta_path.insert(0, _ZmqAlias())


def propagate_to_children(environ: MutableMapping[str, str] | None = None) -> None:
    """Make the Python processes started with ``environ`` (default: os.environ) install the
    alias at start-up too: ENV_VAR=1, and BOOT_DIR first on PYTHONPATH.

    Interpreters started with ``-E`` or ``-I`` ignore both (as they ignore any PYTHONPATH).
    """
    env = os.environ if environ is None else environ
    env[ENV_VAR] = "1"
    entries = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != BOOT_DIR]
    env["PYTHONPATH"] = os.pathsep.join([BOOT_DIR, *entries])


def activate_at_startup() -> None:
    """What the environment-wide .pth file runs at interpreter start (unless ENV_VAR is 0)."""
    if os.environ.get(ENV_VAR) == "0":
        return
    try:
        install_as_zmq()
    except PyzmqAlreadyImported as exc:  # only if an earlier .pth imported pyzmq
        print(f"safezmq as-zmq: not installed: {exc}", file=sys.stderr)


def pth_contents() -> str:
    """The text of the .pth file ``safezmq as-zmq enable`` writes.

    site.py runs its ``import`` line at every interpreter start.  It loads this file by its
    location instead of importing the safezmq package, so a program that never imports zmq
    does not pay for safezmq; the first ``import zmq`` imports it.
    """
    loader = (
        "import importlib.util as _u, sys as _s; "
        f"_p = _u.find_spec({TARGET!r}); "
        f"_l = _p and _u.spec_from_file_location({MODULE!r}, "
        "_p.submodule_search_locations[0] + '/aszmq.py'); "
        "_m = _l and _u.module_from_spec(_l); "
        "_l and _l.loader.exec_module(_m); "
        f"_m and _s.modules.setdefault({MODULE!r}, _m).activate_at_startup()"
    )
    return (
        f"{PTH_MARKER} written by `safezmq as-zmq enable`. Every Python started in this\n"
        "# environment gets safezmq when a program imports zmq (pyzmq stays installed, unused).\n"
        f"# Undo: `safezmq as-zmq disable` (or delete this file); {ENV_VAR}=0 in the environment\n"
        "# turns it off for one process.\n"
        f"{loader}\n"
    )


def _usage() -> str:
    return (
        "usage: python -m safezmq.aszmq -m MODULE [ARG ...]\n"
        "       python -m safezmq.aszmq SCRIPT.py [ARG ...]\n"
        "\n"
        "Run MODULE or SCRIPT.py as `python -m MODULE` / `python SCRIPT.py` would, with\n"
        "`import zmq` giving safezmq in it and in every Python process it starts.\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """The launcher: ``python -m safezmq.aszmq [-m module | script.py] args...``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(_usage(), end="", file=sys.stdout if args else sys.stderr)
        return 0 if args else 2
    if args[0] == "-m" and len(args) < 2:
        print(
            "python -m safezmq.aszmq: error: -m needs a module name\n" + _usage(), file=sys.stderr
        )
        return 2
    if args[0].startswith("-") and args[0] != "-m":
        print(
            f"python -m safezmq.aszmq: error: unknown option {args[0]}\n" + _usage(),
            file=sys.stderr,
        )
        return 2
    try:
        install_as_zmq()
    except PyzmqAlreadyImported as exc:
        print(f"python -m safezmq.aszmq: error: {exc}", file=sys.stderr)
        return 1
    propagate_to_children()
    if args[0] == "-m":
        try:
            found = importlib.util.find_spec(args[1]) is not None
        except ImportError:
            found = False
        if not found:
            print(f"python -m safezmq.aszmq: error: no module named {args[1]}", file=sys.stderr)
            return 1
        # As `python -m`: sys.argv[0] becomes the module's file, sys.path[0] stays the cwd.
        sys.argv = args[1:]
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
    else:
        # As `python script.py`: sys.path[0] is the script's directory.
        script = args[0]
        if not os.path.exists(script):
            print(f"python -m safezmq.aszmq: error: can't open file {script!r}", file=sys.stderr)
            return 2
        sys.argv = args
        sys.path[0] = os.path.dirname(os.path.abspath(script))
        runpy.run_path(script, run_name="__main__")
    return 0


if __name__ == "__main__":
    # Run the package's copy of this module, whose finder the program's imports will see.
    from safezmq.aszmq import main as _main

    sys.exit(_main())
