"""asyncio throughput: PUSH -> PULL over tcp loopback in ONE process, two tasks on one loop.

The implementation's asyncio API (``safezmq.asyncio`` or pyzmq's ``zmq.asyncio``): a PULL socket
binds on 127.0.0.1, a PUSH socket of the same context connects to it, and two tasks on one event
loop stream messages of SIZE bytes -- the sender awaiting every ``send()``, the receiver every
``recv()``.  As in throughput.py, the receiver checks every message's size, warms up
(``--warmup`` seconds and ``--warmup-count`` messages), times a window (at least ``--duration``
seconds and ``--window-count`` messages, or exactly ``--count``), then stops the sender and
drains the queues up to its end marker: the sender is still sending when the window ends, so
no tail of queued messages, received with the sender idle, counts.  It reports messages/s and
MB/s (1 MB = 10**6 bytes) over the window, and the rate in each tenth of it.  The sockets
have LINGER=0 and no RCVTIMEO/SNDTIMEO (pyzmq's asyncio sockets would arm a loop timer for
every recv); a watchdog task fails a run in which nothing is sent or received for
``--timeout`` seconds.

``--io`` is where the sockets are made:

- ``loop`` (the default): inside the running loop.  safezmq then runs the sockets' tcp
  transports, handshakes and sessions on that loop itself (no I/O thread, no thread hop).
- ``thread``: before the loop runs (bound and connected from no loop).  safezmq then gives them
  its I/O thread (an asyncio loop in a thread of its own), as its sync sockets have, and the
  application's loop hears from it through the sockets' mailboxes.  The result's
  ``io_threads`` counts safezmq's I/O threads while the sockets are open (0 with ``loop``,
  1 with ``thread``).  pyzmq runs the same code; libzmq always has its own I/O thread.

``--uvloop`` runs the event loop on uvloop (both implementations), and with it safezmq's I/O
thread, if any.  Each measured run is a fresh context, pair of sockets and event loop.

    python -m safezmq.bench.async_throughput --impl safezmq --size 64
    python -m safezmq.bench.async_throughput --impl pyzmq --size 64k --io thread --uvloop --json
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
import threading
import time
from collections.abc import Coroutine
from types import ModuleType
from typing import Any

try:
    from . import _common as common
    from . import throughput
except ImportError:  # run as a script (the runner's workers): this directory is on sys.path
    import _common as common  # type: ignore[no-redef,import-not-found]
    import throughput  # type: ignore[no-redef,import-not-found]

IO_MODES = ("loop", "thread")
#: safezmq's I/O threads are named so (engine/iothread.py); counted to confirm the --io mode.
IO_THREAD_NAME = "safezmq-io"


def io_threads() -> int:
    """How many safezmq I/O threads this process runs now."""
    return sum(1 for t in threading.enumerate() if t.name.startswith(IO_THREAD_NAME))


class Pair:
    """A context with a bound PULL and a PUSH connected to it (the two ends of one run).

    LINGER is 0, but there is no RCVTIMEO/SNDTIMEO: pyzmq's asyncio sockets arm (and cancel) a
    loop timer for every recv() while RCVTIMEO is set, which would slow pyzmq down for nothing;
    ``transfer``'s watchdog fails a run that stops making progress instead.
    """

    def __init__(self, zmq: ModuleType, zaio: ModuleType) -> None:
        self.ctx = zaio.Context()
        self.pull = self.ctx.socket(zmq.PULL)
        self.push = self.ctx.socket(zmq.PUSH)
        try:
            self.pull.linger = 0
            self.push.linger = 0
            port = self.pull.bind_to_random_port("tcp://127.0.0.1")
            self.push.connect(f"tcp://127.0.0.1:{port}")
        except BaseException:
            self.close()
            raise
        self.io_threads = io_threads()

    def close(self) -> None:
        self.push.close(linger=0)
        self.pull.close(linger=0)
        self.ctx.term()


class Progress:
    """What the sender and receiver tasks have done so far (read by the watchdog)."""

    __slots__ = ("received", "sent")

    def __init__(self) -> None:
        self.sent = 0
        self.received = 0

    def __str__(self) -> str:
        return f"{self.sent:,} messages sent, {self.received:,} received"


class Window:
    """What the receiver times: the warm-up's and the window's (seconds, messages) marks, and
    how many messages it drained after the window (see throughput.measure)."""

    __slots__ = ("drained", "marks", "warmup")

    def __init__(self) -> None:
        self.warmup: list[tuple[float, int]] = [(0.0, 0)]
        self.marks: list[tuple[float, int]] = [(0.0, 0)]
        self.drained = 0


async def transfer(
    zmq: ModuleType, pair: Pair, size: int, copy: bool, timeout_s: float, plan: throughput.Plan
) -> Window:
    """Stream messages from one task to another; the receiver warms up, times a window, then
    stops the sender and drains up to its end marker, as throughput.py's processes do.

    A third task, the watchdog, fails the run when nothing is sent or received for
    ``timeout_s`` seconds (FIRST_MESSAGE_TIMEOUT_S before the first message).
    """
    data = bytes(size)
    marker = throughput.end_marker(size)
    chunk = throughput.chunk_for(size)
    progress = Progress()
    window = Window()
    stop = False

    async def send_all() -> None:
        send = pair.push.send
        messages = range(chunk)
        try:
            while not stop:
                for _ in messages:
                    await send(data, 0, copy)
                progress.sent += chunk
            await send(marker, 0, copy)
        except zmq.ZMQError as exc:
            raise common.BenchmarkError(f"send failed ({exc}); {progress}") from None

    last: Any = None  # the last message, kept until the next has arrived (see throughput.py)

    async def receive(n: int) -> None:
        nonlocal last
        recv = pair.pull.recv
        msg = last
        for _ in range(n):
            msg = await recv(0, copy)
            if len(msg) != size:
                raise common.BenchmarkError(f"message of {len(msg)} bytes, expected {size}")
        last = msg
        progress.received += n

    async def until(seconds: float, count: int, exact: bool) -> list[tuple[float, int]]:
        # (the loop of throughput.Receiver.until, awaiting)
        received = 0
        elapsed = 0.0
        start = time.perf_counter()
        marks = [(0.0, 0)]
        while received < count if exact else (elapsed < seconds or received < count):
            n = min(chunk, count - received) if exact else chunk
            await receive(n)
            received += n
            elapsed = time.perf_counter() - start
            marks.append((elapsed, received))
        return marks

    async def receive_all() -> None:
        nonlocal stop
        recv = pair.pull.recv
        try:
            await receive(1)
            window.warmup = await until(plan.warmup_s, plan.warmup_count, False)
            if plan.count is None:
                window.marks = await until(plan.duration_s, plan.window_count, False)
            else:
                window.marks = await until(0.0, plan.count, True)
            stop = True
            while True:
                msg = await recv(0, copy)
                if len(msg) == len(marker):
                    break
                if len(msg) != size:
                    raise common.BenchmarkError(f"message of {len(msg)} bytes, expected {size}")
                window.drained += 1
        except zmq.ZMQError as exc:
            raise common.BenchmarkError(f"receive failed ({exc}); {progress}") from None

    async def watchdog() -> None:
        seen = (0, 0)
        wait = max(timeout_s, common.FIRST_MESSAGE_TIMEOUT_S)
        while True:
            await asyncio.sleep(wait)
            now = (progress.sent, progress.received)
            if now == seen:
                raise common.BenchmarkError(f"no progress for {wait:g} s: {progress} (hung?)")
            seen, wait = now, timeout_s

    sender = asyncio.ensure_future(send_all())
    receiver = asyncio.ensure_future(receive_all())
    dog = asyncio.ensure_future(watchdog())
    tasks = (sender, receiver, dog)
    try:
        while not (sender.done() and receiver.done()):
            await asyncio.wait(
                [t for t in tasks if not t.done()], return_when=asyncio.FIRST_COMPLETED
            )
            for task in tasks:
                error = task.exception() if task.done() else None
                if error is not None:
                    raise error
        return window
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def run_loop(main: Coroutine[Any, Any, Window]) -> tuple[Window, str]:
    """Run ``main`` on a fresh event loop (uvloop's if use_uvloop() was called): its result
    and the loop's class."""
    loop_class = ""

    async def wrapped() -> Window:
        nonlocal loop_class
        loop = asyncio.get_running_loop()
        loop_class = f"{type(loop).__module__}.{type(loop).__qualname__}"
        return await main

    return asyncio.run(wrapped()), loop_class


def measure(
    zmq: ModuleType,
    zaio: ModuleType,
    size: int,
    copy: bool,
    timeout_s: float,
    io: str,
    plan: throughput.Plan,
) -> dict[str, Any]:
    """One run: open the pair (in the loop or before it), stream, time the window, close."""
    threads = 0
    if io == "thread":
        pair = Pair(zmq, zaio)
        threads = pair.io_threads
        try:
            window, loop_class = run_loop(transfer(zmq, pair, size, copy, timeout_s, plan))
        finally:
            pair.close()
    else:

        async def in_loop() -> Window:
            nonlocal threads
            pair = Pair(zmq, zaio)
            threads = pair.io_threads
            try:
                return await transfer(zmq, pair, size, copy, timeout_s, plan)
            finally:
                pair.close()

        window, loop_class = run_loop(in_loop())
    elapsed, received = window.marks[-1]
    msgs_per_s = received / elapsed if elapsed > 0 else float("inf")
    return {
        "count": received,
        "elapsed_s": elapsed,
        "msgs_per_s": msgs_per_s,
        "mb_per_s": msgs_per_s * size / 1e6,
        "slices": throughput.slice_rates(window.marks, throughput.SLICES),
        "warmup": {"count": window.warmup[-1][1] + 1, "elapsed_s": window.warmup[-1][0]},
        "drained": window.drained,
        "loop_class": loop_class,
        "io_threads": threads,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--impl", choices=common.IMPLS, default="safezmq")
    parser.add_argument("--size", type=common.parse_size, default=64, help="bytes (64, 64k)")
    throughput.add_window_arguments(parser)
    parser.add_argument(
        "--io",
        choices=IO_MODES,
        default="loop",
        help="make the sockets inside the running loop (default) or before it runs (then "
        "safezmq gives them its I/O thread)",
    )
    common.add_copy_argument(parser)
    common.add_worker_arguments(
        parser, "seconds without a message sent or received before the run fails"
    )
    args = parser.parse_args(argv)
    throughput.check_window_arguments(parser, args)
    return args


def run(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.uvloop:
        common.use_uvloop()
    zmq = common.import_impl(args.impl)
    zaio = importlib.import_module(f"{zmq.__name__}.asyncio")
    plan = throughput.Plan.from_args(args)
    result = measure(zmq, zaio, args.size, args.copy, args.timeout, args.io, plan)
    result.update(
        bench="async-throughput",
        size=args.size,
        copy=args.copy,
        io=args.io,
        event_loop=common.event_loop_name(args.uvloop),
        info=common.impl_info(args.impl, zmq),
    )
    where = "before the loop" if args.io == "thread" else "in the loop"
    if args.impl == "safezmq":
        where += f", {result['io_threads']} I/O thread(s)"
    human = (
        f"{args.impl} asyncio PUSH->PULL tcp, one {result['loop_class']} (sockets made {where}) "
        f"{common.format_size(args.size)} x {result['count']:,} "
        f"(after {result['warmup']['count']:,} not timed): "
        f"{result['msgs_per_s']:,.0f} msg/s, {result['mb_per_s']:,.1f} MB/s "
        f"({result['elapsed_s']:.3f} s)"
    )
    common.emit(result, args.json, human)


if __name__ == "__main__":
    sys.exit(common.worker_main(run))
