"""proxy, proxy_steerable, device, monitored_queue and the devices package (pyzmq's API).

Every proxy runs in a thread of its own that creates its sockets there (sockets are not
thread-safe); the test thread talks to it through ordinary sockets with timeouts, so a broken
proxy fails a test instead of hanging it.
"""

from __future__ import annotations

import importlib
import multiprocessing
import struct
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import zmq as pyzmq

import safezmq as zmq
from safezmq import devices
from safezmq.devices.basedevice import Device

#: Upper bound for "it happens promptly", in seconds (never a performance assertion).
PROMPT = 5.0
PROMPT_MS = int(PROMPT * 1000)
#: How long "nothing arrives" is watched for, in milliseconds.
QUIET_MS = 300


class Runner:
    """Runs ``target`` in a daemon thread and keeps its return value or exception."""

    def __init__(self, target: Callable[[], Any], name: str = "proxy") -> None:
        self._target = target
        self.value: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.value = self._target()
        except BaseException as exc:
            self.error = exc

    def finish(self, timeout: float = PROMPT) -> Any:
        """Wait for the thread; its return value, or raise what it raised."""
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the proxy thread did not finish"
        if self.error is not None:
            raise self.error
        return self.value


#: What start_proxy creates: (socket type, bind address[, {option: value}]).
Spec = tuple[int, str] | tuple[int, str, dict[int, Any]]


class Env:
    """A context whose sockets default to LINGER 0, the sockets the test thread made, and the
    proxy threads; ``close()`` ends it all within a bounded time."""

    def __init__(self, addr_dir: str) -> None:
        self.ctx = zmq.Context()
        self.ctx.setsockopt(zmq.LINGER, 0)
        self._dir = addr_dir
        self._n = 0
        self._sockets: list[Any] = []
        self._runners: list[Runner] = []

    def addr(self, transport: str) -> str:
        self._n += 1
        if transport == "tcp":
            return "tcp://127.0.0.1:*"
        if transport == "ipc":
            return f"ipc://{self._dir}/p{self._n}"
        return f"inproc://proxy-test-{id(self)}-{self._n}"

    def socket(self, kind: int, ctx: Any = None, **options: Any) -> Any:
        """A test-thread socket with timeouts, so no call can block for ever."""
        sock = (ctx or self.ctx).socket(kind)
        sock.linger = 0
        sock.rcvtimeo = PROMPT_MS
        sock.sndtimeo = PROMPT_MS
        for name, value in options.items():
            setattr(sock, name, value)
        self._sockets.append(sock)
        return sock

    def run(self, target: Callable[[], Any]) -> Runner:
        runner = Runner(target)
        self._runners.append(runner)
        return runner

    def start_proxy(
        self,
        run: Callable[..., Any],
        *specs: Spec | None,
    ) -> tuple[Runner, list[str | None]]:
        """Create sockets (type, bind address[, options]) in a new thread, call
        ``run(*sockets)`` there and close them when it returns; returns the runner and the
        bound endpoints (None where a spec is None: that argument is None too)."""
        endpoints: list[str | None] = []
        ready = threading.Event()

        def body() -> Any:
            socks: list[Any] = []
            try:
                for spec in specs:
                    if spec is None:
                        socks.append(None)
                        continue
                    sock = self.ctx.socket(spec[0])
                    socks.append(sock)
                    for opt, value in (spec[2] if len(spec) > 2 else {}).items():
                        sock.setsockopt(opt, value)
                    sock.bind(spec[1])
                    endpoints.append(sock.getsockopt_string(zmq.LAST_ENDPOINT))
                ready.set()
                return run(*socks)
            finally:
                ready.set()
                for sock in socks:
                    if sock is not None:
                        sock.close()

        runner = self.run(body)
        assert ready.wait(PROMPT), "the proxy thread never bound its sockets"
        if runner.error is not None:
            raise runner.error
        it = iter(endpoints)
        return runner, [None if spec is None else next(it) for spec in specs]

    def terminate(self) -> None:
        """Close the test's sockets and terminate the context (bounded: term() runs in a
        helper thread, so a proxy that never lets go fails instead of hanging)."""
        for sock in self._sockets:
            if not sock.closed:
                sock.close()
        if not self.ctx.closed:
            helper = threading.Thread(target=self.ctx.term, daemon=True)
            helper.start()
            helper.join(PROMPT)
            assert not helper.is_alive(), "Context.term() hung: a proxy kept its sockets"

    def close(self) -> None:
        self.terminate()
        for runner in self._runners:
            runner.thread.join(PROMPT)
            assert not runner.thread.is_alive(), "a proxy thread outlived its context"


@pytest.fixture
def env(tmp_path: Any) -> Iterator[Env]:
    environment = Env(str(tmp_path))
    yield environment
    environment.close()


@pytest.fixture
def libzmq_ctx() -> Iterator[pyzmq.Context[Any]]:
    ctx: pyzmq.Context[Any] = pyzmq.Context()
    yield ctx
    ctx.destroy(linger=0)


def serve_rep(sock: Any, name: bytes, stop: threading.Event, served: list[bytes]) -> None:
    """A REP worker: answers ``request`` with ``name:request`` until ``stop`` is set."""
    while not stop.is_set():
        if not sock.poll(50):
            continue
        request = sock.recv()
        served.append(request)
        sock.send(name + b":" + request)


def wait_for(predicate: Callable[[], bool], timeout: float = PROMPT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def uint64s(frames: list[bytes]) -> list[int]:
    return [struct.unpack("=Q", f)[0] for f in frames]


# -- proxy() ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("front", "back"), [("tcp", "inproc"), ("ipc", "tcp"), ("inproc", "ipc"), ("tcp", "tcp")]
)
def test_router_dealer_broker_between_req_clients_and_rep_workers(
    env: Env, front: str, back: str
) -> None:
    _, (front_addr, back_addr, capture_addr) = env.start_proxy(
        zmq.proxy,
        (zmq.ROUTER, env.addr(front)),
        (zmq.DEALER, env.addr(back)),
        (zmq.PUSH, env.addr("inproc")),
    )
    captured = env.socket(zmq.PULL)
    captured.connect(capture_addr)
    stop = threading.Event()
    served: dict[bytes, list[bytes]] = {}
    workers = []
    for i in range(3):
        name = b"w%d" % i
        served[name] = []
        rep = env.socket(zmq.REP)  # used only by its worker thread from here on
        rep.connect(back_addr)
        workers.append(
            threading.Thread(target=serve_rep, args=(rep, name, stop, served[name]), daemon=True)
        )
    for worker in workers:
        worker.start()
    clients = [env.socket(zmq.REQ) for _ in range(4)]
    for client in clients:
        client.connect(front_addr)
    try:
        rounds = 10
        for r in range(rounds):
            for c, client in enumerate(clients):
                client.send(b"c%d-r%d" % (c, r))
            for c, client in enumerate(clients):
                worker, _, request = client.recv().partition(b":")
                assert request == b"c%d-r%d" % (c, r)
                assert worker in served
    finally:
        stop.set()
        for worker in workers:
            worker.join(PROMPT)
    total = rounds * len(clients)
    assert sum(len(requests) for requests in served.values()) == total
    # The capture socket saw every request and every reply, whole (ROUTER envelope included).
    copies = [captured.recv_multipart() for _ in range(2 * total)]
    requests = [m[-1] for m in copies if m[-1].startswith(b"c")]
    replies = [m[-1] for m in copies if m[-1].startswith(b"w")]
    assert sorted(requests) == sorted(b"c%d-r%d" % (c, r) for c in range(4) for r in range(10))
    assert len(replies) == total
    assert all(len(m) == 3 and m[1] == b"" for m in copies if m[-1].startswith(b"c"))


def test_capture_gets_an_identical_copy_of_each_message_in_order(env: Env) -> None:
    _, (in_addr, out_addr, cap_addr) = env.start_proxy(
        zmq.proxy,
        (zmq.PULL, env.addr("inproc")),
        (zmq.PUSH, env.addr("ipc")),
        (zmq.PUB, env.addr("inproc")),
    )
    cap = env.socket(zmq.SUB)
    cap.setsockopt(zmq.SUBSCRIBE, b"")
    cap.connect(cap_addr)
    push = env.socket(zmq.PUSH)
    push.connect(in_addr)
    pull = env.socket(zmq.PULL)
    pull.connect(out_addr)
    # A PUB capture drops copies until the SUB's subscription arrives: wait for one first.
    for _ in range(50):
        push.send(b"probe")
        assert pull.recv() == b"probe"
        if cap.poll(100):
            break
    else:
        pytest.fail("the capture socket never received a copy")
    while cap.poll(100):
        cap.recv_multipart()
    messages = [[b"m%d" % i, b"", b"x" * i] for i in range(20)] + [[b"big", b"y" * 300_000]]
    for msg in messages:
        push.send_multipart(msg)
    assert [pull.recv_multipart() for _ in messages] == messages
    assert [cap.recv_multipart() for _ in messages] == messages


def test_capture_without_a_reader_never_blocks_the_proxy(env: Env) -> None:
    _, (in_addr, out_addr, _) = env.start_proxy(
        zmq.proxy,
        (zmq.PULL, env.addr("inproc")),
        (zmq.PUSH, env.addr("inproc")),
        (zmq.PUSH, env.addr("inproc")),  # nobody ever connects: every copy would block
    )
    push = env.socket(zmq.PUSH)
    push.connect(in_addr)
    pull = env.socket(zmq.PULL)
    pull.connect(out_addr)
    for i in range(50):
        push.send(b"%d" % i)
    assert [pull.recv() for _ in range(50)] == [b"%d" % i for i in range(50)]


def test_capture_reader_that_connects_late_gets_the_held_copies(env: Env) -> None:
    """Copies the capture socket cannot take yet wait for it (libzmq's proxy blocks on the
    capture send until a reader connects; safezmq holds them and keeps forwarding)."""
    _, (in_addr, out_addr, cap_addr) = env.start_proxy(
        zmq.proxy,
        (zmq.PULL, env.addr("tcp")),
        (zmq.PUSH, env.addr("tcp")),
        (zmq.PUSH, env.addr("tcp")),
    )
    push = env.socket(zmq.PUSH)
    push.connect(in_addr)
    pull = env.socket(zmq.PULL)
    pull.connect(out_addr)
    for i in range(3):
        push.send(b"%d" % i)
    assert [pull.recv() for _ in range(3)] == [b"0", b"1", b"2"]  # forwarding never waited
    cap = env.socket(zmq.PULL)
    cap.connect(cap_addr)
    assert [cap.recv() for _ in range(3)] == [b"0", b"1", b"2"]


def test_capture_backlog_is_bounded(env: Env) -> None:
    proxy_module = importlib.import_module("safezmq.proxy")  # safezmq.proxy is the function
    _, (in_addr, out_addr, cap_addr) = env.start_proxy(
        zmq.proxy,
        (zmq.PULL, env.addr("inproc")),
        (zmq.PUSH, env.addr("inproc")),
        (zmq.PUSH, env.addr("inproc")),
    )
    push = env.socket(zmq.PUSH)
    push.connect(in_addr)
    pull = env.socket(zmq.PULL)
    pull.connect(out_addr)
    total = proxy_module.CAPTURE_BACKLOG + 200
    for i in range(total):
        push.send(b"%d" % i)
    assert [pull.recv() for _ in range(total)] == [b"%d" % i for i in range(total)]
    cap = env.socket(zmq.PULL)
    cap.connect(cap_addr)
    got = []
    while cap.poll(QUIET_MS):
        got.append(cap.recv())
    # The oldest copies were held (in order); the rest were dropped, not queued without end.
    assert got == [b"%d" % i for i in range(proxy_module.CAPTURE_BACKLOG)]


def test_pub_xsub_xpub_sub_forwarder_passes_subscriptions_upstream(env: Env) -> None:
    _, (xsub_addr, xpub_addr) = env.start_proxy(
        zmq.proxy, (zmq.XSUB, env.addr("tcp")), (zmq.XPUB, env.addr("ipc"))
    )
    # The publisher is an XPUB so the test can see the subscriptions the proxy passes up.
    publisher = env.socket(zmq.XPUB)
    publisher.connect(xsub_addr)
    subscriber = env.socket(zmq.SUB)
    subscriber.connect(xpub_addr)
    subscriber.setsockopt(zmq.SUBSCRIBE, b"weather")
    assert publisher.recv() == b"\x01weather"
    publisher.send(b"sports: 3-1")
    publisher.send_multipart([b"weather", b"sunny"])
    assert subscriber.recv_multipart() == [b"weather", b"sunny"]
    assert not subscriber.poll(QUIET_MS), "a message nobody subscribed to came through"
    subscriber.setsockopt(zmq.UNSUBSCRIBE, b"weather")
    assert publisher.recv() == b"\x00weather"


def test_one_socket_as_frontend_and_backend_echoes(env: Env) -> None:
    ready = threading.Event()
    addr: list[str] = []

    def body() -> Any:
        router = env.ctx.socket(zmq.ROUTER)
        try:
            router.bind("tcp://127.0.0.1:*")
            addr.append(router.getsockopt_string(zmq.LAST_ENDPOINT))
            ready.set()
            return zmq.proxy(router, router)
        finally:
            router.close()

    runner = env.run(body)
    assert ready.wait(PROMPT)
    dealer = env.socket(zmq.DEALER)
    dealer.connect(addr[0])
    dealer.send_multipart([b"ping", b"1"])
    assert dealer.recv_multipart() == [b"ping", b"1"]
    env.terminate()
    with pytest.raises(zmq.ContextTerminated):
        runner.finish()


def test_held_message_waits_for_a_peer_and_control_stays_responsive(env: Env) -> None:
    runner, (in_addr, out_addr, _, ctrl_addr) = env.start_proxy(
        zmq.proxy_steerable,
        (zmq.PULL, env.addr("inproc")),
        (zmq.PUSH, env.addr("tcp")),  # no peer yet: it cannot take a message
        None,
        (zmq.REP, env.addr("inproc")),
    )
    ctrl = env.socket(zmq.REQ)
    ctrl.connect(ctrl_addr)
    push = env.socket(zmq.PUSH)
    push.connect(in_addr)
    for i in range(5):
        push.send(b"%d" % i)
    # The proxy holds the first message for the absent peer, and still answers commands.
    assert wait_for(lambda: uint64s(command(ctrl, b"STATISTICS"))[0] >= 1)
    assert uint64s(command(ctrl, b"STATISTICS"))[6] == 0, "sent without a peer?"
    pull = env.socket(zmq.PULL)
    pull.connect(out_addr)
    assert [pull.recv() for _ in range(5)] == [b"%d" % i for i in range(5)]
    ctrl.send(b"TERMINATE")
    assert ctrl.recv() == b""
    assert runner.finish() == 0


def test_context_term_ends_proxy_with_context_terminated(env: Env) -> None:
    runner, _ = env.start_proxy(
        zmq.proxy, (zmq.ROUTER, env.addr("tcp")), (zmq.DEALER, env.addr("inproc"))
    )
    assert runner.thread.is_alive()
    env.terminate()
    with pytest.raises(zmq.ContextTerminated):
        runner.finish()


def test_device_acts_as_proxy_and_rejects_unknown_types(env: Env) -> None:
    for kind in (zmq.QUEUE, zmq.FORWARDER, zmq.STREAMER):
        _, (in_addr, out_addr) = env.start_proxy(
            lambda a, b, kind=kind: zmq.device(kind, a, b),
            (zmq.PULL, env.addr("inproc")),
            (zmq.PUSH, env.addr("inproc")),
        )
        push = env.socket(zmq.PUSH)
        push.connect(in_addr)
        pull = env.socket(zmq.PULL)
        pull.connect(out_addr)
        push.send(b"via device %d" % kind)
        assert pull.recv() == b"via device %d" % kind
    with pytest.raises(zmq.ZMQError) as info:
        zmq.device(99, push, pull)
    assert info.value.errno == zmq.EINVAL
    env.terminate()


# -- proxy_steerable() ------------------------------------------------------------------------


def steerable_pipeline(env: Env, ctrl_type: int = zmq.REP) -> tuple[Runner, Any, Any, Any]:
    """A steerable PULL->PUSH proxy; returns (runner, push, pull, control peer)."""
    runner, (in_addr, out_addr, _, ctrl_addr) = env.start_proxy(
        zmq.proxy_steerable,
        (zmq.PULL, env.addr("inproc")),
        (zmq.PUSH, env.addr("tcp")),
        None,
        (ctrl_type, env.addr("inproc"), {zmq.SUBSCRIBE: b""} if ctrl_type == zmq.SUB else {}),
    )
    push = env.socket(zmq.PUSH)
    push.connect(in_addr)
    pull = env.socket(zmq.PULL)
    pull.connect(out_addr)
    peer_type = {zmq.REP: zmq.REQ, zmq.PAIR: zmq.PAIR, zmq.SUB: zmq.XPUB}[ctrl_type]
    ctrl = env.socket(peer_type)
    ctrl.connect(ctrl_addr)
    return runner, push, pull, ctrl


def command(ctrl: Any, cmd: bytes) -> list[bytes]:
    ctrl.send(cmd)
    reply: list[bytes] = ctrl.recv_multipart()
    return reply


def test_pause_stops_and_resume_restarts_unlike_libzmq_435_which_swaps_them(env: Env) -> None:
    # libzmq 4.3.5's proxy.cpp compares "\x05PAUSE" wrongly: PAUSE resumes, RESUME pauses.
    runner, push, pull, ctrl = steerable_pipeline(env)
    push.send(b"before")
    assert pull.recv() == b"before"
    assert command(ctrl, b"PAUSE") == [b""]
    push.send(b"while paused")
    assert not pull.poll(QUIET_MS), "a paused proxy forwarded a message"
    assert command(ctrl, b"PAUSE") == [b""]  # pausing twice is harmless
    assert command(ctrl, b"RESUME") == [b""]
    assert pull.recv() == b"while paused"
    push.send(b"after")
    assert pull.recv() == b"after"
    assert command(ctrl, b"TERMINATE") == [b""]
    assert runner.finish() == 0


def test_statistics_count_frames_and_bytes_each_way(env: Env) -> None:
    runner, (front_addr, back_addr, _, ctrl_addr) = env.start_proxy(
        zmq.proxy_steerable,
        (zmq.PAIR, env.addr("inproc")),
        (zmq.PAIR, env.addr("ipc")),
        None,
        (zmq.REP, env.addr("inproc")),
    )
    front = env.socket(zmq.PAIR)
    front.connect(front_addr)
    back = env.socket(zmq.PAIR)
    back.connect(back_addr)
    ctrl = env.socket(zmq.REQ)
    ctrl.connect(ctrl_addr)
    assert uint64s(command(ctrl, b"STATISTICS")) == [0] * 8
    front.send_multipart([b"ab", b"cde"])
    front.send(b"f")
    back.send(b"xyz")
    assert back.recv_multipart() == [b"ab", b"cde"]
    assert back.recv() == b"f"
    assert front.recv() == b"xyz"
    stats = command(ctrl, b"STATISTICS")
    assert len(stats) == 8 and all(len(frame) == 8 for frame in stats)
    # frontend: 3 frames/6 bytes in, 1/3 out; backend: 1/3 in, 3/6 out.
    assert uint64s(stats) == [3, 6, 1, 3, 1, 3, 3, 6]
    assert command(ctrl, b"TERMINATE") == [b""]
    assert runner.finish() == 0


@pytest.mark.parametrize("lib", [pyzmq, zmq], ids=["libzmq", "safezmq"])
def test_statistics_match_libzmq(
    env: Env, libzmq_ctx: pyzmq.Context[Any], lib: Any, tmp_path: Any
) -> None:
    """The same traffic through libzmq's proxy_steerable and ours gives the same numbers."""
    ctx = libzmq_ctx if lib is pyzmq else env.ctx
    ready = threading.Event()

    def body() -> Any:
        socks = [ctx.socket(kind) for kind in (lib.DEALER, lib.DEALER, lib.PAIR)]
        try:
            for sock, name in zip(socks, ("f", "b", "c"), strict=True):
                sock.linger = 0
                sock.bind(f"inproc://stats-{name}")
            ready.set()
            return lib.proxy_steerable(socks[0], socks[1], None, socks[2])
        finally:
            for sock in socks:
                sock.close()

    runner = env.run(body)
    assert ready.wait(PROMPT)
    front, back = env.socket(lib.DEALER, ctx), env.socket(lib.DEALER, ctx)
    ctrl = env.socket(lib.PAIR, ctx)
    front.connect("inproc://stats-f")
    back.connect("inproc://stats-b")
    ctrl.connect("inproc://stats-c")
    for i in range(4):
        front.send_multipart([b"", b"q" * i, b"tail"])
        assert back.recv_multipart() == [b"", b"q" * i, b"tail"]
    back.send_multipart([b"", b"reply"])
    assert front.recv_multipart() == [b"", b"reply"]
    stats = uint64s(command(ctrl, b"STATISTICS"))
    ctrl.send(b"TERMINATE")
    assert runner.finish() == 0
    assert stats == [12, 22, 2, 5, 2, 5, 12, 22]


def test_unknown_command_gets_an_empty_reply_and_rep_state_is_kept(env: Env) -> None:
    runner, push, pull, ctrl = steerable_pipeline(env)
    assert command(ctrl, b"HELLO") == [b""]
    assert command(ctrl, b"pause") == [b""]  # commands are case-sensitive: not a PAUSE
    push.send(b"still flowing")
    assert pull.recv() == b"still flowing"
    assert len(command(ctrl, b"STATISTICS")) == 8
    assert command(ctrl, b"TERMINATE") == [b""]
    assert runner.finish() == 0


def test_sub_control_socket_gets_commands_without_replies(env: Env) -> None:
    runner, push, pull, ctrl = steerable_pipeline(env, zmq.SUB)
    # ctrl is an XPUB: once the proxy's SUB subscription arrives, commands are not lost.
    assert ctrl.recv() == b"\x01"
    ctrl.send(b"PAUSE")
    push.send(b"held")
    assert not pull.poll(QUIET_MS), "a paused proxy forwarded a message"
    ctrl.send(b"STATISTICS")  # a SUB cannot answer: the proxy must not fail trying
    ctrl.send(b"RESUME")
    assert pull.recv() == b"held"
    ctrl.send(b"TERMINATE")
    assert runner.finish() == 0


def test_context_term_ends_a_paused_steerable_proxy(env: Env) -> None:
    runner, _, _, ctrl = steerable_pipeline(env)
    assert command(ctrl, b"PAUSE") == [b""]
    env.terminate()
    with pytest.raises(zmq.ContextTerminated):
        runner.finish()


def test_context_term_ends_a_paused_proxy_whose_control_is_elsewhere(env: Env) -> None:
    # The control socket lives in another context, so only the data sockets can report the
    # termination: a paused proxy must still watch them.
    control_ctx = zmq.Context()
    try:
        ready = threading.Event()

        def body() -> Any:
            front, back = env.ctx.socket(zmq.PULL), env.ctx.socket(zmq.PUSH)
            ctrl = control_ctx.socket(zmq.PAIR)
            try:
                ctrl.bind("inproc://elsewhere-ctrl")
                ready.set()
                return zmq.proxy_steerable(front, back, None, ctrl)
            finally:
                for sock in (front, back, ctrl):
                    sock.close(linger=0)

        runner = env.run(body)
        assert ready.wait(PROMPT)
        ctrl = env.socket(zmq.PAIR, control_ctx)
        ctrl.connect("inproc://elsewhere-ctrl")
        assert command(ctrl, b"PAUSE") == [b""]
        env.terminate()
        with pytest.raises(zmq.ContextTerminated):
            runner.finish()
    finally:
        control_ctx.destroy(linger=0)


# -- monitored_queue() ------------------------------------------------------------------------


def test_monitored_queue_between_routers_swaps_ids_and_prefixes_copies(env: Env) -> None:
    def run(ins: Any, outs: Any, mons: Any) -> Any:
        return devices.monitored_queue(ins, outs, mons, b"IN", b"OUT")

    runner, (in_addr, out_addr, mon_addr) = env.start_proxy(
        run,
        (zmq.ROUTER, env.addr("tcp")),
        (zmq.ROUTER, env.addr("inproc")),
        (zmq.PUSH, env.addr("inproc")),
    )
    mon = env.socket(zmq.PULL)
    mon.connect(mon_addr)
    client = env.socket(zmq.DEALER, routing_id=b"client")
    client.connect(in_addr)
    worker = env.socket(zmq.DEALER, routing_id=b"worker")
    worker.connect(out_addr)
    # A ROUTER drops what it cannot route yet: resend until both peers are known.
    for _ in range(100):
        client.send_multipart([b"worker", b"hello"])
        if worker.poll(50):
            break
    assert worker.recv_multipart() == [b"client", b"hello"]
    worker.send_multipart([b"client", b"hi"])
    assert client.recv_multipart() == [b"worker", b"hi"]
    copies = []
    while mon.poll(QUIET_MS):
        copies.append(mon.recv_multipart())
    assert copies[-2:] == [
        [b"IN", b"worker", b"client", b"hello"],
        [b"OUT", b"client", b"worker", b"hi"],
    ]
    env.terminate()
    with pytest.raises(zmq.ContextTerminated):
        runner.finish()


def test_monitored_queue_rejects_str_prefixes(env: Env) -> None:
    a, b, c = (env.socket(kind) for kind in (zmq.PULL, zmq.PUSH, zmq.PUB))
    with pytest.raises(TypeError):
        devices.monitored_queue(a, b, c, "in", b"out")


# -- the devices package ----------------------------------------------------------------------


def make_device(cls: type[Device]) -> Device:
    """``cls`` as a PULL -> PUSH device with a PUSH monitor and a PAIR control if it has them."""
    if issubclass(cls, devices.proxysteerabledevice.ProxySteerableBase):
        return cls(zmq.PULL, zmq.PUSH, zmq.PUSH, zmq.PAIR)
    if issubclass(cls, devices.monitoredqueuedevice.MonitoredQueueBase):
        return cls(zmq.PULL, zmq.PUSH, zmq.PUSH, b"<in", b"out>")
    if issubclass(cls, devices.proxydevice.ProxyBase):
        return cls(zmq.PULL, zmq.PUSH, zmq.PUSH)
    return cls(zmq.QUEUE, zmq.PULL, zmq.PUSH)


DEVICE_CLASSES = [
    devices.Device,
    devices.ThreadDevice,
    devices.Proxy,
    devices.ThreadProxy,
    devices.ProxySteerable,
    devices.ThreadProxySteerable,
    devices.MonitoredQueue,
    devices.ThreadMonitoredQueue,
]


@pytest.mark.parametrize("cls", DEVICE_CLASSES, ids=lambda c: c.__name__)
def test_device_class_forwards_copies_and_stops(env: Env, cls: type[Device]) -> None:
    dev = make_device(cls)
    dev.context_factory = lambda: env.ctx
    in_addr = env.addr("inproc")
    dev.bind_in(in_addr)
    out_port = dev.bind_out_to_random_port("tcp://127.0.0.1")
    dev.setsockopt_out(zmq.SNDHWM, 10)
    has_mon = isinstance(dev, devices.proxydevice.ProxyBase)
    steerable = isinstance(dev, devices.proxysteerabledevice.ProxySteerableBase)
    # inproc: connected before any traffic, the monitor misses no copy (copies are sent
    # without waiting, so a monitor peer that is not there yet would miss some).
    mon_addr, ctrl_addr = env.addr("inproc"), env.addr("inproc")
    if has_mon:
        dev.bind_mon(mon_addr)
    if steerable:
        dev.bind_ctrl(ctrl_addr)
    if isinstance(dev, devices.ThreadDevice):
        dev.start()
        assert dev.daemon and dev.launcher is not None and dev.launcher.daemon
    else:
        env.run(dev.start)  # a foreground device runs in the thread that starts it

    mon = env.socket(zmq.PULL)
    mon.connect(mon_addr)
    push = env.socket(zmq.PUSH)
    push.connect(in_addr)  # inproc: fine before the device thread binds
    pull = env.socket(zmq.PULL)
    pull.connect(f"tcp://127.0.0.1:{out_port}")
    for i in range(3):
        push.send_multipart([b"job", b"%d" % i])
    assert [pull.recv_multipart() for _ in range(3)] == [[b"job", b"%d" % i] for i in range(3)]
    if has_mon:
        prefix = (
            [b"<in"] if isinstance(dev, devices.monitoredqueuedevice.MonitoredQueueBase) else []
        )
        assert [mon.recv_multipart() for _ in range(3)] == [
            [*prefix, b"job", b"%d" % i] for i in range(3)
        ]
    if steerable:
        ctrl = env.socket(zmq.PAIR)
        ctrl.connect(ctrl_addr)
        assert uint64s(command(ctrl, b"STATISTICS"))[:2] == [6, 12]
        assert command(ctrl, b"TERMINATE") == [b""]
    else:
        env.terminate()  # the normal way to stop a device: its context ends
    dev.join(PROMPT)
    assert dev.done, f"{cls.__name__} did not stop"
    if isinstance(dev, devices.ThreadDevice):
        assert dev.launcher is not None and not dev.launcher.is_alive()
    assert all(sock.closed for sock in dev._sockets), "the device left its sockets open"


def test_thread_device_defaults_to_the_global_context(env: Env) -> None:
    dev = devices.ThreadDevice(zmq.QUEUE, zmq.ROUTER, zmq.DEALER)
    for setsockopt in (dev.setsockopt_in, dev.setsockopt_out):
        setsockopt(zmq.LINGER, 0)
    front_port = dev.bind_in_to_random_port("tcp://127.0.0.1")
    back = env.addr("inproc")
    dev.bind_out(back)
    dev.start()
    ctx = zmq.Context.instance()
    try:
        worker = env.socket(zmq.REP, ctx)
        worker.connect(back)
        client = env.socket(zmq.REQ, ctx)
        client.connect(f"tcp://127.0.0.1:{front_port}")
        client.send(b"ping")
        assert worker.recv() == b"ping"
        worker.send(b"pong")
        assert client.recv() == b"pong"
    finally:
        env.terminate()
        helper = threading.Thread(target=ctx.term, daemon=True)
        helper.start()
        helper.join(PROMPT)
    assert not helper.is_alive(), "Context.instance().term() hung"
    dev.join(PROMPT)
    assert dev.launcher is not None and not dev.launcher.is_alive()


def test_device_out_type_below_zero_uses_the_in_socket_both_ways(env: Env) -> None:
    dev = devices.ThreadDevice(zmq.QUEUE, zmq.ROUTER, -1)
    dev.context_factory = lambda: env.ctx
    addr = env.addr("inproc")
    dev.bind_in(addr)
    dev.start()
    dealer = env.socket(zmq.DEALER)
    dealer.connect(addr)
    dealer.send(b"echo")
    assert dealer.recv() == b"echo"
    env.terminate()
    dev.join(PROMPT)
    assert dev.launcher is not None and not dev.launcher.is_alive()


def test_device_needs_socket_types_and_distinct_random_ports() -> None:
    with pytest.raises(TypeError):
        devices.Device(zmq.QUEUE, zmq.PULL)
    with pytest.raises(TypeError):
        devices.Device(zmq.QUEUE, None, zmq.PUSH)
    dev = devices.ThreadProxySteerable(zmq.PULL, zmq.PUSH, zmq.PUB, zmq.PAIR)
    ports = [
        dev.bind_in_to_random_port("tcp://127.0.0.1", min_port=20000, max_port=20100),
        dev.bind_out_to_random_port("tcp://127.0.0.1"),
        dev.bind_mon_to_random_port("tcp://127.0.0.1"),
        dev.bind_ctrl_to_random_port("tcp://127.0.0.1"),
    ]
    assert 20000 <= ports[0] < 20100
    assert len(set(ports)) == 4
    with pytest.raises(RuntimeError):
        dev.join(0)  # never started


def test_process_devices_run_in_a_child_process(env: Env) -> None:
    addrs = [env.addr("ipc") for _ in range(3)]
    dev = devices.ProcessProxySteerable(zmq.PULL, zmq.PUSH, zmq.PUSH, zmq.REP)
    dev.bind_in(addrs[0])
    out_port = dev.bind_out_to_random_port("tcp://127.0.0.1")
    dev.bind_ctrl(addrs[1])
    plain = devices.ProcessDevice(zmq.QUEUE, zmq.PULL, zmq.PUSH)
    # Spawn (a fresh interpreter, the device pickled into it) as well as the default fork:
    # Python 3.14 makes forkserver, which also pickles, the default on Linux.
    plain._launch_class = multiprocessing.get_context("spawn").Process
    plain_in = plain.bind_in_to_random_port("tcp://127.0.0.1")
    plain.bind_out(addrs[2])
    for device in (dev, plain):
        device.setsockopt_in(zmq.LINGER, 0)
        device.setsockopt_out(zmq.LINGER, 0)
        device.start()
    try:
        push = env.socket(zmq.PUSH)
        push.connect(addrs[0])
        pull = env.socket(zmq.PULL)
        pull.connect(f"tcp://127.0.0.1:{out_port}")
        push.send(b"to the child")
        assert pull.recv() == b"to the child"
        ctrl = env.socket(zmq.REQ)
        ctrl.connect(addrs[1])
        assert uint64s(command(ctrl, b"STATISTICS"))[:2] == [1, 12]
        assert command(ctrl, b"TERMINATE") == [b""]
        dev.join(PROMPT)
        assert dev.launcher is not None and dev.launcher.exitcode == 0

        push2 = env.socket(zmq.PUSH)
        push2.connect(f"tcp://127.0.0.1:{plain_in}")
        pull2 = env.socket(zmq.PULL)
        pull2.connect(addrs[2])
        push2.send(b"through a ProcessDevice")
        assert pull2.recv() == b"through a ProcessDevice"
    finally:
        for device in (dev, plain):
            launcher = device.launcher
            if launcher is not None and launcher.is_alive():
                launcher.terminate()  # a plain device runs until killed
            device.join(PROMPT)
    assert plain.launcher is not None and not plain.launcher.is_alive()


# -- interoperability -------------------------------------------------------------------------


@pytest.mark.parametrize(("front", "back"), [("tcp", "ipc"), ("ipc", "tcp")])
def test_safezmq_broker_between_libzmq_clients_and_workers(
    env: Env, libzmq_ctx: pyzmq.Context[Any], front: str, back: str
) -> None:
    _, (front_addr, back_addr) = env.start_proxy(
        zmq.proxy, (zmq.ROUTER, env.addr(front)), (zmq.DEALER, env.addr(back))
    )
    stop = threading.Event()
    served: dict[bytes, list[bytes]] = {b"w0": [], b"w1": []}
    threads = []
    for name, log in served.items():
        rep = env.socket(pyzmq.REP, libzmq_ctx)
        rep.connect(back_addr)
        threads.append(threading.Thread(target=serve_rep, args=(rep, name, stop, log), daemon=True))
    for thread in threads:
        thread.start()
    clients = [env.socket(pyzmq.REQ, libzmq_ctx) for _ in range(3)]
    for client in clients:
        client.connect(front_addr)
    try:
        for r in range(10):
            for c, client in enumerate(clients):
                client.send(b"c%d-r%d" % (c, r))
            for c, client in enumerate(clients):
                worker, _, request = client.recv().partition(b":")
                assert worker in served and request == b"c%d-r%d" % (c, r)
    finally:
        stop.set()
        for thread in threads:
            thread.join(PROMPT)
    assert sum(len(log) for log in served.values()) == 30
