"""``python -m safezmq.log``: the watcher that prints what a PUBHandler publishes."""

from __future__ import annotations

import logging
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

import safezmq as zmq
from safezmq.log.__main__ import _Aligner, _parser, format_line
from safezmq.log.handlers import PUBHandler


def test_format_line_plain_and_separator() -> None:
    args = _parser().parse_args(["tcp://127.0.0.1:1"])
    assert format_line(b"app.INFO.db", b"hello\n", args, {}, None) == "app.INFO.db | hello"
    args = _parser().parse_args(["tcp://127.0.0.1:1", "--separator", " :: "])
    assert format_line(b"WARNING", b" w \n", args, {}, None) == "WARNING :: w"


def test_format_line_timestamp_and_colors() -> None:
    args = _parser().parse_args(["x", "--timestamp", "--dateformat", "%Y"])
    line = format_line(b"r.ERROR", b"bad", args, {"ERROR": "<red>", "__RESET__": "</>"}, None)
    # The level is the part after the root topic; the year is the timestamp.
    assert re.fullmatch(r"\d{4} <red>r\.ERROR \| bad</>", line)


def test_align_pads_each_topic_part_to_the_widest_seen() -> None:
    args = _parser().parse_args(["x", "--align"])
    align = _Aligner()
    assert format_line(b"app.INFO.database", b"a", args, {}, align) == "app.INFO.database | a"
    assert format_line(b"app.WARNING", b"b", args, {}, align) == "app.WARNING.         | b"
    assert format_line(b"app.INFO.db", b"c", args, {}, align) == "app.INFO   .db       | c"


@pytest.fixture
def watcher_and_log() -> Iterator[tuple[subprocess.Popen[str], logging.Logger]]:
    ctx = zmq.Context()
    handler = PUBHandler("tcp://127.0.0.1:*", ctx, root_topic="svc")
    endpoint = handler.socket.last_endpoint.decode()
    log = logging.getLogger("safezmq-test-watcher")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    log.addHandler(handler)
    proc = subprocess.Popen(
        [sys.executable, "-m", "safezmq.log", endpoint, "--topic", "svc", "--separator", " > "],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        # Ctrl-C as a terminal delivers it, even when this run inherited SIGINT ignored (a
        # shell's background job).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        yield proc, log
    finally:
        log.removeHandler(handler)
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)
        handler.socket.close(linger=0)
        ctx.term()


def test_watcher_prints_published_records(
    watcher_and_log: tuple[subprocess.Popen[str], logging.Logger],
) -> None:
    proc, log = watcher_and_log
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + 30
    line = ""
    # The watcher subscribes asynchronously: publish until its first line comes out.
    while not line and time.monotonic() < deadline:
        log.info("db::ready")
        if selector.select(timeout=0.2):
            line = proc.stdout.readline()
    assert line == "svc.INFO.db > ready\n"
    # Ctrl-C ends the watcher cleanly, as pyzmq's does.
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 0, stderr
