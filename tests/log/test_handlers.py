"""safezmq.log.handlers: PUBHandler and TopicLogger, published over real PUB/SUB sockets."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterator

import pytest

import safezmq as zmq
from safezmq.log.handlers import TOPIC_DELIM, PUBHandler, TopicLogger

_names = itertools.count()


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    log = logging.getLogger(f"safezmq-test-log-{next(_names)}")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    yield log
    for handler in list(log.handlers):
        log.removeHandler(handler)


def subscribe(ctx: zmq.Context, endpoint: str, prefix: bytes = b"") -> zmq.Socket:
    sub = ctx.socket(zmq.SUB)
    sub.rcvtimeo = 10_000
    sub.subscribe(prefix)
    sub.connect(endpoint)
    return sub


def wait_subscribed(log: logging.Logger, sub: zmq.Socket) -> None:
    """Log probes until the subscriber gets one (a subscription travels asynchronously)."""
    sub.rcvtimeo = 50
    for _ in range(200):
        log.critical("probe")
        try:
            sub.recv_multipart()
        except zmq.Again:
            continue
        break
    else:
        pytest.fail("the subscriber never received a probe")
    sub.rcvtimeo = 50
    while True:  # drain the probes still in flight
        try:
            sub.recv_multipart()
        except zmq.Again:
            break
    sub.rcvtimeo = 10_000


@pytest.fixture
def published(
    ctx: zmq.Context, logger: logging.Logger
) -> tuple[logging.Logger, PUBHandler, zmq.Socket]:
    pub = ctx.socket(zmq.PUB)
    pub.bind("inproc://log")
    handler = PUBHandler(pub)
    logger.addHandler(handler)
    sub = subscribe(ctx, "inproc://log")
    wait_subscribed(logger, sub)
    return logger, handler, sub


def test_topics_are_root_level_and_subtopic(
    published: tuple[logging.Logger, PUBHandler, zmq.Socket],
) -> None:
    log, handler, sub = published
    log.info("plain")
    assert sub.recv_multipart() == [b"INFO", b"plain\n"]
    handler.root_topic = "app"
    log.warning(f"db.query{TOPIC_DELIM}slow: %d ms", 250)
    topic, body = sub.recv_multipart()
    assert topic == b"app.WARNING.db.query"
    assert body.endswith(b" - slow: 250 ms\n") and body.startswith(b"WARNING test_handlers.py:")
    handler.setRootTopic(b"bytes-root")
    assert handler.root_topic == "bytes-root"
    log.debug("tøpic::héllo")
    topic, body = sub.recv_multipart()
    assert topic == "bytes-root.DEBUG.tøpic".encode()
    assert body.decode().endswith("- héllo\n")


def test_topic_split_does_not_change_the_record_for_other_handlers(
    published: tuple[logging.Logger, PUBHandler, zmq.Socket],
) -> None:
    log, _, sub = published
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    log.addHandler(Keep())
    log.info("sub::text")
    assert sub.recv_multipart() == [b"INFO.sub", b"text\n"]
    assert seen == ["sub::text"]


def test_formatters_per_level_and_for_all(
    published: tuple[logging.Logger, PUBHandler, zmq.Socket],
) -> None:
    log, handler, sub = published
    handler.setFormatter(logging.Formatter("D %(message)s"), logging.DEBUG)
    log.debug("one")
    assert sub.recv_multipart()[1] == b"D one"
    log.info("two")
    assert sub.recv_multipart()[1] == b"two\n"  # INFO keeps its own default
    handler.formatters[logging.INFO] = logging.Formatter("I %(message)s")
    log.info("three")
    assert sub.recv_multipart()[1] == b"I three"
    handler.setFormatter(logging.Formatter("ALL %(levelname)s %(message)s"))
    for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL):
        log.log(level, "x")
        assert sub.recv_multipart()[1] == f"ALL {logging.getLevelName(level)} x".encode()


def test_a_level_without_formatter_uses_the_default(
    published: tuple[logging.Logger, PUBHandler, zmq.Socket],
) -> None:
    log, _, sub = published
    log.log(25, "between info and warning")
    assert sub.recv_multipart() == [b"Level 25", b"between info and warning"]


def test_address_constructor_binds_its_own_socket(ctx: zmq.Context) -> None:
    own = PUBHandler("inproc://own-context")
    try:
        assert own.ctx is not ctx and own.socket.context is own.ctx
        assert own.socket.socket_type == zmq.PUB
    finally:
        own.socket.close(linger=0)
        own.ctx.term()
    given = PUBHandler("tcp://127.0.0.1:*", ctx, root_topic="r")
    assert given.ctx is ctx and given.root_topic == "r"
    endpoint = given.socket.last_endpoint.decode()
    log = logging.getLogger(f"safezmq-test-log-{next(_names)}")
    log.propagate = False
    log.addHandler(given)
    sub = subscribe(ctx, endpoint, b"r.")
    wait_subscribed(log, sub)
    log.error("over tcp")
    topic, body = sub.recv_multipart()
    assert topic == b"r.ERROR" and b"over tcp - None\n" in body
    log.removeHandler(given)


def test_bad_address_raises_and_leaks_no_socket(ctx: zmq.Context) -> None:
    with pytest.raises(zmq.ZMQError):
        PUBHandler("nonsense://x", ctx)
    ctx.term()  # would hang if the handler had left its socket open


def test_a_socket_that_cannot_send_never_raises_into_the_caller(
    ctx: zmq.Context, logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    pub = ctx.socket(zmq.PUB)
    handler = PUBHandler(pub)
    errors: list[logging.LogRecord] = []
    monkeypatch.setattr(handler, "handleError", errors.append)
    logger.addHandler(handler)
    pub.close()
    logger.info("after close")
    assert [r.getMessage() for r in errors] == ["after close"]


def test_logging_from_inside_a_send_does_not_recurse(
    published: tuple[logging.Logger, PUBHandler, zmq.Socket],
) -> None:
    log, handler, sub = published
    real = handler.socket
    sends: list[list[bytes]] = []

    class Chatty:
        """A socket whose send logs to the same logger, as a library's debug logging might."""

        def send_multipart(self, frames: list[bytes]) -> None:
            sends.append(frames)
            log.debug("sending %d frames", len(frames))
            real.send_multipart(frames)

    handler.socket = Chatty()  # type: ignore[assignment]
    log.info("outer")
    assert sends == [[b"INFO", b"outer\n"]]
    assert sub.recv_multipart() == [b"INFO", b"outer\n"]
    with pytest.raises(zmq.Again):
        sub.recv_multipart(zmq.NOBLOCK)


def test_redacted_secrets_stay_redacted(
    published: tuple[logging.Logger, PUBHandler, zmq.Socket],
) -> None:
    log, _, sub = published
    _public, secret = zmq.curve_keypair()
    sock = zmq.Context.instance().socket(zmq.DEALER)
    try:
        sock.curve_secretkey = secret
        # Whatever safezmq shows of a secret (the option's value, a socket's repr) in a record.
        log.error("socket %r key %s", sock, sock.curve_secretkey)
        _, body = sub.recv_multipart()
    finally:
        sock.close(linger=0)
    assert secret not in body and secret.decode() not in body.decode()


def test_safezmq_own_loggers_through_the_handler(
    ctx: zmq.Context, published: tuple[logging.Logger, PUBHandler, zmq.Socket]
) -> None:
    from safezmq.auth.thread import ThreadAuthenticator

    _, handler, sub = published
    password = "plain-pw-never-logged"
    library = logging.getLogger("safezmq")
    old_level = library.level
    library.setLevel(logging.DEBUG)
    library.addHandler(handler)
    auth = ThreadAuthenticator(ctx)
    auth.start()
    try:
        auth.configure_plain(domain="*", passwords={"admin": password})
        server = ctx.socket(zmq.REP)
        server.plain_server = True
        port = server.bind_to_random_port("tcp://127.0.0.1")
        client = ctx.socket(zmq.REQ)
        client.plain_username = b"admin"
        client.plain_password = b"wrong-" + password.encode()
        client.connect(f"tcp://127.0.0.1:{port}")
        client.send(b"x", zmq.NOBLOCK)
        time.sleep(0.5)  # let the ZAP exchange happen and be logged
        client.close(linger=0)
        server.close(linger=0)
    finally:
        auth.stop()
        library.removeHandler(handler)
        library.setLevel(old_level)
    published_text = b""
    sub.rcvtimeo = 200
    while True:
        try:
            published_text += b"".join(sub.recv_multipart())
        except zmq.Again:
            break
    assert b"Configure plain" in published_text  # the library's records did come through
    assert password.encode() not in published_text


def test_topic_logger_methods_add_the_topic(
    published: tuple[logging.Logger, PUBHandler, zmq.Socket],
) -> None:
    _, handler, sub = published
    topical = TopicLogger(f"safezmq-topic-{next(_names)}", logging.DEBUG)
    topical.addHandler(handler)
    handler.setFormatter(logging.Formatter("%(message)s"))
    topical.debug("a.b", "d %s", 1)
    topical.info("a", "i")
    topical.warning("w", "w")
    topical.error("e", "e")
    topical.critical("c", "c")
    topical.log(logging.INFO, "l", "logged %s", "x")
    try:
        raise ValueError("boom")
    except ValueError:
        topical.exception("x", "caught")
    got = [sub.recv_multipart() for _ in range(7)]
    assert got[:6] == [
        [b"DEBUG.a.b", b"d 1"],
        [b"INFO.a", b"i"],
        [b"WARNING.w", b"w"],
        [b"ERROR.e", b"e"],
        [b"CRITICAL.c", b"c"],
        [b"INFO.l", b"logged x"],
    ]
    assert got[6][0] == b"ERROR.x" and got[6][1].startswith(b"caught\nTraceback")
    handler.setFormatter(logging.Formatter("%(filename)s %(levelname)s"))
    topical.warning("where", "from")
    assert sub.recv_multipart() == [b"WARNING.where", b"test_handlers.py WARNING"]


def test_records_logged_by_the_io_thread_are_published(
    ctx: zmq.Context, published: tuple[logging.Logger, PUBHandler, zmq.Socket]
) -> None:
    # safezmq warns from its I/O thread when it refuses a PLAIN client for want of a ZAP
    # handler; the handler then sends from that thread, which must neither deadlock nor drop.
    _, handler, sub = published
    library = logging.getLogger("safezmq")
    library.addHandler(handler)
    try:
        server = ctx.socket(zmq.REP)
        server.plain_server = True
        port = server.bind_to_random_port("tcp://127.0.0.1")
        client = ctx.socket(zmq.REQ)
        client.plain_username = b"u"
        client.plain_password = b"never-shown-pw"
        client.connect(f"tcp://127.0.0.1:{port}")
        topic, body = sub.recv_multipart()
        client.close(linger=0)
        server.close(linger=0)
    finally:
        library.removeHandler(handler)
    assert topic == b"WARNING"
    assert b"no ZAP handler runs in this context" in body
    assert b"never-shown-pw" not in body
