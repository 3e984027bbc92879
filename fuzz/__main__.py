"""``python -m fuzz TARGET ...`` is ``python fuzz/run.py TARGET ...``."""

from __future__ import annotations

import sys

from fuzz.run import main

sys.exit(main())
