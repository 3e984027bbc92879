"""The README's demo command runs end to end and shows the secure defaults working.

``python -m safezmq`` with no argument is ``safezmq demo``.
"""

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
    # The CURVE service with a ZAP allow-list, its allowed client, and what it refuses.
    assert "got b'hello, alice' back" in out
    assert "-> mallory was refused" in out
    assert "HANDSHAKE_FAILED_AUTH      value=400" in out
    assert "-> the NULL client was refused" in out
    assert "-> the ZMTP 1.0 peer was refused" in out
    assert "-> the ZMTP 2.0 peer was refused" in out
    assert "HANDSHAKE_FAILED_PROTOCOL" in out
    assert "and alice is still served: yes" in out
    # Fail closed without a ZAP handler, and the audit.
    assert "the client was refused (no ZAP handler)" in out
    assert "HANDSHAKE_FAILED_AUTH      value=500" in out
    assert "no weakened setting" in out
    assert "All done." in out
