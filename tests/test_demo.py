"""The README's demo command runs end to end and shows the secure defaults working."""

from __future__ import annotations

import subprocess
import sys


def test_demo_runs_and_refuses_what_it_should() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "safezmq"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "got [b'pong', b'from b']" in out
    assert "300 tasks shared 100/100/100" in out
    assert "HANDSHAKE_FAILED_PROTOCOL" in out  # the ZMTP 2.0 probe
    assert "the client was refused (no ZAP handler)" in out
    assert "HANDSHAKE_FAILED_AUTH      value=500" in out
