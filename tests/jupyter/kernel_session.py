"""A Jupyter session on safezmq, run by test_kernel.py under ``python -m safezmq.aszmq``.

It starts a real ipykernel with jupyter_client (``blocking`` or ``async`` client, argv[1]),
drives it, and prints one JSON object: what each step saw, for the test to judge.  The
kernel is a child process: ``import zmq`` gives it safezmq through the launcher's start-up
hook, as it gives this process safezmq through the launcher itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from typing import Any

import zmq  # safezmq, through the launcher: checked below, before jupyter_client is imported

import safezmq

CLIENT_IDENTITY = {
    "zmq_name": zmq.__name__,
    "same_context": zmq.Context is safezmq.Context,
    "same_asyncio": __import__("zmq.asyncio").asyncio is __import__("safezmq.asyncio").asyncio,
}

from jupyter_client.manager import AsyncKernelManager, KernelManager  # noqa: E402

#: Run in the kernel: what `import zmq` gives it, and whether any real pyzmq module is loaded.
KERNEL_IDENTITY = (
    "import sys, zmq, zmq.eventloop.zmqstream as _s\n"
    "print(zmq.__name__, zmq.Context.__module__, _s.ZMQStream.__module__,\n"
    "      sorted(n for n, m in sys.modules.items() if (n == 'zmq' or n.startswith('zmq.'))\n"
    "             and m is not None and not m.__name__.startswith('safezmq')))\n"
)
STREAM = "import time\nfor i in range(3):\n    print('line', i, flush=True)\n    time.sleep(0.2)\n"
TIMEOUT = 60


def _collector(sink: dict[str, Any]) -> Any:
    sink.setdefault("stdout", "")
    sink.setdefault("stream_messages", 0)

    def hook(msg: dict[str, Any]) -> None:
        kind = msg["header"]["msg_type"]
        content = msg["content"]
        if kind == "stream" and content.get("name") == "stdout":
            sink["stdout"] += content["text"]
            sink["stream_messages"] += 1
        elif kind == "execute_result":
            sink["result"] = content["data"].get("text/plain")
        elif kind == "error":
            sink["error_ename"] = content["ename"]

    return hook


def _reply_summary(reply: dict[str, Any], sink: dict[str, Any]) -> dict[str, Any]:
    content = reply["content"]
    return {
        "status": content["status"],
        "ename": content.get("ename"),
        **sink,
    }


def _resources() -> dict[str, Any]:
    return {
        "fds": len(os.listdir("/proc/self/fd")),
        "threads": sorted(t.name for t in threading.enumerate()),
    }


def _wait_beating(kc: Any) -> bool:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if kc.hb_channel.is_beating():
            return True
        time.sleep(0.1)
    return False


def _kernel_gone(pid: int | None) -> bool:
    if pid is None:
        return False
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def blocking_session(report: dict[str, Any]) -> None:
    km = KernelManager(kernel_name="python3")
    km.start_kernel()
    report["kernel_pid"] = pid = km.provisioner.pid if km.provisioner else None  # type: ignore[attr-defined]
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=TIMEOUT)
        report["ready"] = True
        for name, code in (
            ("identity", KERNEL_IDENTITY),
            ("execute", "6 * 7"),
            ("stream", STREAM),
            ("error", "1 / 0"),
        ):
            sink: dict[str, Any] = {}
            reply = kc.execute_interactive(code, timeout=TIMEOUT, output_hook=_collector(sink))
            report[name] = _reply_summary(reply, sink)
        reply = kc.complete("import zmq\nzmq.Cont", reply=True, timeout=TIMEOUT)
        report["complete"] = reply["content"]["matches"]
        report["heartbeat"] = _wait_beating(kc)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    report["alive_after_shutdown"] = km.is_alive()
    report["kernel_gone"] = _kernel_gone(pid)


async def async_session(report: dict[str, Any]) -> None:
    km = AsyncKernelManager(kernel_name="python3")
    await km.start_kernel()
    report["kernel_pid"] = pid = km.provisioner.pid if km.provisioner else None  # type: ignore[attr-defined]
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=TIMEOUT)
        report["ready"] = True
        for name, code in (
            ("identity", KERNEL_IDENTITY),
            ("execute", "6 * 7"),
            ("stream", STREAM),
            ("error", "1 / 0"),
        ):
            sink: dict[str, Any] = {}
            reply = await kc.execute_interactive(
                code, timeout=TIMEOUT, output_hook=_collector(sink)
            )
            report[name] = _reply_summary(reply, sink)
        reply = await kc.complete("import zmq\nzmq.Cont", reply=True, timeout=TIMEOUT)
        report["complete"] = reply["content"]["matches"]
        report["heartbeat"] = await asyncio.get_running_loop().run_in_executor(
            None, _wait_beating, kc
        )
    finally:
        kc.stop_channels()
        await km.shutdown_kernel(now=False)
    report["alive_after_shutdown"] = await km.is_alive()
    report["kernel_gone"] = _kernel_gone(pid)


def main() -> None:
    mode = sys.argv[1]
    report: dict[str, Any] = {"client": CLIENT_IDENTITY, "before": _resources()}
    try:
        if mode == "blocking":
            blocking_session(report)
        else:
            asyncio.run(async_session(report))
    except BaseException as exc:
        import traceback

        report["exception"] = "".join(traceback.format_exception(exc))
    time.sleep(0.5)  # let the channels' threads finish exiting
    report["after"] = _resources()
    print("REPORT " + json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
