"""Run at the start of a Python process whose PYTHONPATH begins with this directory (put there
by ``python -m safezmq.aszmq`` for the processes its program starts).

With SAFEZMQ_AS_ZMQ=1 in the environment it makes ``import zmq`` give safezmq, as the
launcher did in the parent; then it runs the ``sitecustomize`` module it shadows, if any.
It loads safezmq/aszmq.py by location, so that a process that never imports zmq does not
pay for importing safezmq.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))


def _install() -> None:
    if os.environ.get("SAFEZMQ_AS_ZMQ") != "1":
        return
    module = sys.modules.get("safezmq.aszmq")
    if module is None:
        spec = importlib.util.spec_from_file_location(
            "safezmq.aszmq", os.path.join(os.path.dirname(_HERE), "aszmq.py")
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module = sys.modules.setdefault("safezmq.aszmq", module)
    module.activate_at_startup()


def _chain() -> None:
    """Run the sitecustomize this file hides (a virtualenv's or a distribution's)."""
    rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None or spec.origin == __file__:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


if __name__ == "sitecustomize":  # only as Python's start-up hook, never as safezmq._aszmq_boot...
    _install()
    _chain()
