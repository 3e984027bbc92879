"""``python benchmarks/run.py``: the contributors' entry point to the benchmark runner.

The runner and its workers ship in the package (``safezmq.bench``, also ``safezmq bench`` and
``python -m safezmq.bench``); this script only runs it, with the same arguments.  From a checkout
without an installed safezmq it uses the checkout's ``src/`` (and gives it to the workers).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

try:
    import safezmq.bench.run as runner
except ImportError:  # not installed: run the checkout's own source
    source = str(Path(__file__).resolve().parent.parent / "src")
    sys.path.insert(0, source)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (source, os.environ.get("PYTHONPATH")) if p
    )
    import safezmq.bench.run as runner

if __name__ == "__main__":
    sys.exit(runner.main())
