"""``python -m safezmq [COMMAND ...]``: the ``safezmq`` command; with no argument, the demo."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
