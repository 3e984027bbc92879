"""A real Jupyter kernel (ipykernel) and client (jupyter_client), both unchanged pyzmq programs,
running on safezmq: ``import zmq`` gives safezmq in the client, through
``python -m safezmq.aszmq``, and in the kernel it starts, through the launcher's start-up hook.

kernel_session.py does the work in that process and reports what it saw; this test judges it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ipykernel")
pytest.importorskip("jupyter_client")

SESSION = Path(__file__).with_name("kernel_session.py")


def run_session(mode: str, tmp_path: Path) -> tuple[dict[str, Any], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    for name in ("SAFEZMQ_AS_ZMQ", "PYTHONPATH", "SAFEZMQ_POLICY"):
        env.pop(name, None)
    # Jupyter's runtime and config files (connection files) go to this test's directory.
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "runtime")
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path / "config")
    env["JUPYTER_DATA_DIR"] = str(tmp_path / "data")
    env["IPYTHONDIR"] = str(tmp_path / "ipython")
    result = subprocess.run(
        [sys.executable, "-m", "safezmq.aszmq", str(SESSION), mode],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    output = f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    reports = [line for line in result.stdout.splitlines() if line.startswith("REPORT ")]
    assert reports, f"the session reported nothing (exit {result.returncode}):\n{output}"
    return json.loads(reports[-1][len("REPORT ") :]), output


@pytest.mark.timeout(360)
@pytest.mark.parametrize("mode", ["blocking", "async"])
def test_jupyter_kernel_on_safezmq(mode: str, tmp_path: Path) -> None:
    report, output = run_session(mode, tmp_path)
    context = f"report: {json.dumps(report, indent=1)}\n{output}"

    # The client process: zmq is safezmq, module for module.
    assert report["client"] == {"zmq_name": "safezmq", "same_context": True, "same_asyncio": True}
    assert "exception" not in report, context
    assert report.get("ready") is True, context

    # The kernel process: zmq is safezmq too, and no pyzmq module is loaded beside it.
    identity = report["identity"]
    assert identity["status"] == "ok", context
    name, context_module, stream_module, foreign = identity["stdout"].split(" ", 3)
    assert (name, context_module.split(".")[0], stream_module.split(".")[0]) == (
        "safezmq",
        "safezmq",
        "safezmq",
    ), context
    assert foreign.strip() == "[]", context

    assert report["execute"]["status"] == "ok" and report["execute"]["result"] == "42", context
    # Output streamed as it was printed (the kernel flushes each line; a slow machine may
    # batch some of them, but the text is whole and in order).
    stream = report["stream"]
    assert stream["status"] == "ok", context
    assert stream["stdout"] == "line 0\nline 1\nline 2\n", context
    assert stream["stream_messages"] >= 1, context
    error = report["error"]
    assert (error["status"], error["ename"], error.get("error_ename")) == (
        "error",
        "ZeroDivisionError",
        "ZeroDivisionError",
    ), context
    assert "Context" in report["complete"], context
    assert report["heartbeat"] is True, context

    # Shut down cleanly: the kernel process is gone, the client's channel threads ended and
    # its sockets closed.
    assert report["alive_after_shutdown"] is False, context
    assert report["kernel_gone"] is True, context
    before, after = report["before"], report["after"]
    leaked_threads = set(after["threads"]) - set(before["threads"])
    assert not leaked_threads, context
    # A few descriptors may stay open legitimately (an event loop's self-pipe); not dozens.
    assert after["fds"] - before["fds"] <= 4, context
