"""Regenerate the seed corpus (fuzz/corpus/TARGET/) from real libzmq traffic.

    python fuzz/make_corpus.py          # needs pyzmq (a test dependency), no atheris

A pyzmq client and a pyzmq server (both real libzmq) talk through a small TCP relay that records
each direction: NULL, PLAIN and CURVE handshakes (accepted and refused by ZAP), multipart
messages (empty, short and long frames), subscriptions and heartbeats.  A ZAP handler bound in
the same context records libzmq's ZAP requests, and pyzmq's own ``Authenticator`` writes the
replies.  The CURVE sockets use the harnesses' fixed keys (fuzz/harnesses/keys.py), so a
recorded HELLO opens in the ``curve_server`` harness.

Each recording becomes seeds in the input format of every target it fits (see each harness's
docstring): the server's bytes for the client-side Connection harnesses and the client's bytes
for the server-side ones, from each frame boundary and in each handshake state.  The files under
``regressions/`` are kept: they are minimised crashes, not seeds made here.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import zmq
import zmq.auth.base

FUZZ = Path(__file__).resolve().parent
ROOT = FUZZ.parent
sys.path.insert(0, str(ROOT))

from fuzz.harnesses import _connection as connection  # noqa: E402
from fuzz.harnesses._util import DEFAULT, pack_frames, sized, wire_frames  # noqa: E402
from fuzz.harnesses.keys import (  # noqa: E402
    CLIENT_PUBLIC,
    CLIENT_SECRET,
    PASSWORD,
    SERVER_PUBLIC,
    SERVER_SECRET,
    USERNAME,
)
from fuzz.harnesses.options import OPTIONS, TYPES  # noqa: E402
from safezmq.constants import SocketOption  # noqa: E402

CORPUS = FUZZ / "corpus"
GREETING = 64
ZAP_ENDPOINT = "inproc://zeromq.zap.01"

# -- recording -------------------------------------------------------------------------------------


@dataclass
class Recording:
    """One connection's bytes in each direction."""

    name: str
    mechanism: bytes
    client_to_server: bytearray = field(default_factory=bytearray)
    server_to_client: bytearray = field(default_factory=bytearray)


class Relay:
    """Accepts one connection on loopback, connects it to ``target`` and records both ways."""

    def __init__(self, target_port: int, recording: Recording) -> None:
        self.target_port = target_port
        self.recording = recording
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.threads: list[threading.Thread] = []
        self.sockets: list[socket.socket] = []
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()
        self.threads.append(accept)

    def _accept(self) -> None:
        client, _ = self.listener.accept()
        server = socket.create_connection(("127.0.0.1", self.target_port))
        self.sockets += [client, server]
        for src, dst, log in (
            (client, server, self.recording.client_to_server),
            (server, client, self.recording.server_to_client),
        ):
            pump = threading.Thread(target=self._pump, args=(src, dst, log), daemon=True)
            pump.start()
            self.threads.append(pump)

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, log: bytearray) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                log += data
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        for sock in [*self.sockets, self.listener]:
            with contextlib.suppress(OSError):
                sock.close()
        for thread in self.threads:
            thread.join(timeout=2)


class ZapHandler:
    """A ZAP handler in the context: records libzmq's requests, answers with ``status``."""

    def __init__(self, ctx: zmq.Context[zmq.Socket[bytes]], status: bytes) -> None:
        self.status = status
        self.requests: list[list[bytes]] = []
        self.socket = ctx.socket(zmq.REP)
        self.socket.linger = 0
        self.socket.bind(ZAP_ENDPOINT)
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        poller = zmq.Poller()
        poller.register(self.socket, zmq.POLLIN)
        while self.running:
            if not poller.poll(20):
                continue
            request = self.socket.recv_multipart()
            self.requests.append(request)
            user = b"fuzz" if self.status == b"200" else b""
            self.socket.send_multipart([b"1.0", request[1], self.status, b"", user, b""])

    def close(self) -> None:
        self.running = False
        self.thread.join(timeout=2)
        self.socket.close(0)


def configure(
    mechanism: bytes, client: zmq.Socket[bytes], server: zmq.Socket[bytes], password: bytes
) -> None:
    if mechanism == b"PLAIN":
        server.plain_server = True
        client.plain_username = USERNAME
        client.plain_password = password
    elif mechanism == b"CURVE":
        server.curve_server = True
        server.curve_secretkey = SERVER_SECRET
        client.curve_serverkey = SERVER_PUBLIC
        client.curve_publickey = CLIENT_PUBLIC
        client.curve_secretkey = CLIENT_SECRET
    server.zap_domain = b"fuzz"


def record(
    name: str,
    mechanism: bytes,
    types: tuple[int, int],
    conversation: Callable[[zmq.Socket[bytes], zmq.Socket[bytes]], None],
    *,
    zap_status: bytes = b"200",
    password: bytes = PASSWORD,
    heartbeat: bool = False,
) -> tuple[Recording, list[list[bytes]]]:
    """Run ``conversation(client, server)`` over the relay; return what went over the wire and
    the ZAP requests libzmq made."""
    recording = Recording(name, mechanism)
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    zap = ZapHandler(ctx, zap_status)
    client, server = ctx.socket(types[0]), ctx.socket(types[1])
    relay: Relay | None = None
    try:
        for sock in (client, server):
            sock.linger = 0
            sock.setsockopt(zmq.METADATA, b"X-Fuzz-Seed:" + name.encode())
            if heartbeat:
                sock.heartbeat_ivl = 40
                sock.heartbeat_ttl = 2000
                sock.heartbeat_timeout = 2000
        if types[0] in (zmq.DEALER, zmq.REQ):
            client.routing_id = b"client-" + name.encode()
        configure(mechanism, client, server, password)
        port = server.bind_to_random_port("tcp://127.0.0.1")
        relay = Relay(port, recording)
        client.connect(f"tcp://127.0.0.1:{relay.port}")
        conversation(client, server)
        if heartbeat:
            time.sleep(0.2)
        time.sleep(0.1)
    finally:
        client.close(0)
        server.close(0)
        if relay is not None:
            time.sleep(0.05)
            relay.close()
        zap.close()
        ctx.term()
    return recording, zap.requests


def recv(sock: zmq.Socket[bytes], timeout: int = 2000) -> list[bytes]:
    if not sock.poll(timeout):
        raise TimeoutError("libzmq did not deliver a message")
    return sock.recv_multipart()


def dealer_router(client: zmq.Socket[bytes], server: zmq.Socket[bytes]) -> None:
    client.send_multipart([b"hello"])
    identity, *message = recv(server)
    assert message == [b"hello"]
    client.send_multipart([b"", b"multi", b"x" * 300, b""])
    recv(server)
    server.send_multipart([identity, b"reply", b"y" * 20])
    recv(client)
    server.send_multipart([identity, b"z" * 1000])
    recv(client)


def req_rep(client: zmq.Socket[bytes], server: zmq.Socket[bytes]) -> None:
    client.send(b"request")
    recv(server)
    server.send_multipart([b"reply", b"more"])
    recv(client)


def pub_sub(client: zmq.Socket[bytes], server: zmq.Socket[bytes]) -> None:
    # The client is the SUB: its subscriptions travel to the PUB.
    client.subscribe(b"topic")
    client.subscribe(b"")
    for _ in range(50):
        server.send_multipart([b"topic", b"data"])
        if client.poll(20):
            break
    recv(client)
    client.unsubscribe(b"topic")
    server.send(b"more")
    recv(client)


def refused(client: zmq.Socket[bytes], server: zmq.Socket[bytes]) -> None:
    client.send(b"never delivered")
    time.sleep(0.3)


def record_all() -> tuple[list[Recording], list[list[bytes]]]:
    recordings: list[Recording] = []
    requests: list[list[bytes]] = []
    runs: list[tuple[str, bytes, tuple[int, int], Callable[..., None], dict[str, object]]] = []
    for mech in (b"NULL", b"PLAIN", b"CURVE"):
        low = mech.decode().lower()
        runs += [
            (f"{low}-dealer-router", mech, (zmq.DEALER, zmq.ROUTER), dealer_router, {}),
            (f"{low}-req-rep", mech, (zmq.REQ, zmq.REP), req_rep, {}),
            (f"{low}-sub-pub", mech, (zmq.SUB, zmq.PUB), pub_sub, {}),
            (f"{low}-heartbeat", mech, (zmq.DEALER, zmq.ROUTER), dealer_router, {"heartbeat": 1}),
            (f"{low}-refused", mech, (zmq.DEALER, zmq.ROUTER), refused, {"zap_status": b"400"}),
        ]
    runs.append(
        ("plain-bad-password", b"PLAIN", (zmq.DEALER, zmq.ROUTER), refused, {"zap_status": b"400"})
    )
    for name, mech, types, conversation, options in runs:
        recording, zap = record(name, mech, types, conversation, **options)  # type: ignore[arg-type]
        recordings.append(recording)
        requests += zap
        print(
            f"recorded {name}: {len(recording.client_to_server)} octets client->server, "
            f"{len(recording.server_to_client)} server->client, {len(zap)} ZAP requests"
        )
    return recordings, requests


# -- writing seeds ---------------------------------------------------------------------------------


class Writer:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.seen: set[tuple[str, bytes]] = set()
        self.names: set[tuple[str, str]] = set()

    def clear(self, target: str) -> None:
        directory = CORPUS / target
        if directory.is_dir():
            for path in directory.iterdir():
                if path.is_file():
                    path.unlink()
        directory.mkdir(parents=True, exist_ok=True)

    def write(self, target: str, data: bytes, label: str) -> None:
        """Write one seed, named by its label (stable from one run to the next, so that
        regenerating shows as changed files, not as files removed and added), once: the same
        bytes under another label are skipped."""
        if (target, data) in self.seen:
            return
        self.seen.add((target, data))
        name = label.replace(":", "-")
        n = 1
        while (target, name) in self.names:
            n += 1
            name = f"{label.replace(':', '-')}-{n}"
        self.names.add((target, name))
        (CORPUS / target / name).write_bytes(data)
        self.counts[target] = self.counts.get(target, 0) + 1


def frames_of(stream: bytes) -> list[tuple[int, bytes]]:
    """(flags, body) of the whole frames after the greeting."""
    body = stream[GREETING:]
    return [(flags, body[s:e]) for flags, s, e in wire_frames(body)]


def boundaries(stream: bytes) -> list[int]:
    """Offsets in ``stream`` where a frame (or the greeting) starts."""
    return [0, *(GREETING + s - (9 if f & 2 else 2) for f, s, _ in wire_frames(stream[GREETING:]))]


def metadata_of(stream: bytes) -> list[bytes]:
    """Metadata of the clear-text READY and INITIATE commands in ``stream``."""
    found = []
    for flags, body in frames_of(stream):
        if flags & 0x04 and body[:6] == b"\x05READY":
            found.append(body[6:])
        elif flags & 0x04 and body[:9] == b"\x08INITIATE":
            found.append(body[9:])
    return found


def traffic_frames(stream: bytes) -> list[tuple[int, bytes]]:
    """The message frames and traffic commands (clear text) of ``stream``, for structured
    seeds: the flags octet as encode_frames reads it (MORE, COMMAND) and the body."""
    out = []
    for flags, body in frames_of(stream):
        if flags & 0x04 and body[1:].startswith((b"READY", b"HELLO", b"WELCOME", b"INITIATE")):
            continue
        out.append((flags & 0x05, body))
    return out


def structured(frames: list[tuple[int, bytes]]) -> bytes:
    return b"".join(bytes((flags,)) + sized(body) for flags, body in frames)


SCENARIOS = {
    "null_client": connection.NULL_CLIENT,
    "null_server": connection.NULL_SERVER,
    "plain_client": connection.PLAIN_CLIENT,
    "plain_server": connection.PLAIN_SERVER,
    "curve_client": connection.CURVE_CLIENT,
    "curve_server": connection.CURVE_SERVER,
}


def connection_seeds(writer: Writer, recordings: list[Recording]) -> None:
    clear_traffic = [
        f
        for r in recordings
        if r.mechanism == b"NULL"
        for f in traffic_frames(bytes(r.server_to_client))
        + traffic_frames(bytes(r.client_to_server))
    ]
    metadata = [
        m
        for r in recordings
        for s in (r.client_to_server, r.server_to_client)
        for m in metadata_of(bytes(s))
    ]
    for target, scenario in SCENARIOS.items():
        writer.clear(target)
        mine = [r for r in recordings if r.mechanism == scenario.mechanism]
        for variant in (0, 4):
            names = connection.labels(scenario, DEFAULT, variant)
            for recording in mine:
                stream = bytes(
                    recording.client_to_server if scenario.as_server else recording.server_to_client
                )
                label = f"{recording.name}-v{variant}"
                for index, state in enumerate(names):
                    # Every frame boundary without ZAP; with ZAP, only the states themselves.
                    for start in boundaries(stream) if variant == 0 else [0]:
                        head = connection.header(index, prefix=0, variant=variant)
                        writer.write(target, head + stream[start:], f"{label}-{state}-at{start}")
                    # The peer's valid bytes first, then libzmq's from the state's natural point.
                    head = connection.header(index, prefix=255, variant=variant)
                    writer.write(target, head + stream[GREETING:], f"{label}-{state}-valid")
                # The whole recording octet by octet, and in chunks of 7.
                writer.write(
                    target,
                    connection.header(0, split_mode=1, variant=variant) + stream,
                    f"{label}-octets",
                )
                writer.write(
                    target,
                    connection.header(0, split_mode=2, split_param=6, variant=variant) + stream,
                    f"{label}-chunks",
                )
            # Structured: libzmq's clear-text traffic, encoded (and boxed) by the real peer.
            traffic = len(names) - 1
            for i in range(0, len(clear_traffic), 6):
                chunk = clear_traffic[i : i + 6]
                head = connection.header(traffic, structured=True, prefix=255, variant=variant)
                writer.write(target, head + structured(chunk), f"structured-traffic-v{variant}-{i}")
            # Structured handshakes carrying libzmq's metadata.
            for i, meta in enumerate(metadata):
                head = connection.header(0, structured=True, variant=variant)
                if scenario.mechanism == b"CURVE":
                    body = b"\x00" + sized(meta) + structured(clear_traffic[:4])
                else:
                    body = sized(meta) + structured(clear_traffic[:4])
                writer.write(target, head + body, f"structured-handshake-v{variant}-{i}")


GREETING_READERS = {(b"NULL", False): 0, (b"NULL", True): 1, (b"PLAIN", False): 2}
GREETING_READERS |= {(b"PLAIN", True): 3, (b"CURVE", False): 4, (b"CURVE", True): 5}


def stream_seeds(writer: Writer, recordings: list[Recording]) -> None:
    for target in ("greeting", "frames", "curve_message"):
        writer.clear(target)
    for r in recordings:
        for direction, stream in (("c2s", r.client_to_server), ("s2c", r.server_to_client)):
            data = bytes(stream)
            label = f"{r.name}-{direction}"
            # The Connection that reads it plays the other role.
            reader = GREETING_READERS[(r.mechanism, direction == "c2s")]
            writer.write("greeting", bytes((reader,)) + data[:GREETING], label)
            writer.write("greeting", bytes((reader,)) + data[: GREETING + 40], f"{label}-more")
            body = data[GREETING:]
            modes = (
                (0, 0, "whole"),
                (0x04, 0, "octets"),
                (0x08, 9, "chunks"),
                (0xC8, 99, "chunks-zero-copy"),
            )
            for config, param, what in modes:
                writer.write("frames", bytes((config, param)) + body, f"{label}-{what}")
                writer.write("frames", bytes((config | 1, param)) + body, f"{label}-{what}-small")
            if r.mechanism == b"CURVE":
                messages = [b for f, b in frames_of(data) if b[:8] == b"\x07MESSAGE"]
                items = b"".join(b"\x00" + sized(m) for m in messages[:4])
                if items:
                    writer.write("curve_message", bytes((direction == "c2s",)) + items, label)
            else:
                # libzmq's clear-text messages, boxed with the harness's key.
                frames = [f for f in traffic_frames(data) if not f[0] & 0x04]
                items = b"".join(
                    bytes((1 | (flags & 1) << 2,)) + sized(body) for flags, body in frames[:8]
                )
                if items:
                    for mode in range(4):
                        writer.write("curve_message", bytes((mode,)) + items, f"{label}-{mode}")


LARGE = 70_000


def large_seeds(writer: Writer) -> None:
    """A frame above the large-frame threshold (64 KiB), cut short: the harnesses complete it
    with zeros, through ``feed`` or the zero-copy ``receive_buffer`` path."""
    frame = b"\x02" + LARGE.to_bytes(8, "big") + b"L" * 2000
    for config in (0x50, 0xD8):  # accept messages, complete; whole / chunks + zero-copy
        writer.write("frames", bytes((config, 250)) + frame, f"large-frame-{config:02x}")
    for target, scenario in SCENARIOS.items():
        traffic = len(connection.labels(scenario, DEFAULT, 0)) - 1
        for variant in (16, 24):  # complete; complete + zero-copy
            head = connection.header(
                traffic, split_mode=2, split_param=199, prefix=255, variant=variant
            )
            writer.write(target, head + frame, f"large-frame-v{variant}")


def metadata_seeds(writer: Writer, recordings: list[Recording]) -> None:
    writer.clear("metadata")
    for r in recordings:
        for stream in (r.client_to_server, r.server_to_client):
            for meta in metadata_of(bytes(stream)):
                writer.write("metadata", b"\x00\x00" + meta, r.name)
                writer.write("metadata", b"\x08\x02" + meta, f"{r.name}-small")


def zap_seeds(writer: Writer, requests: list[list[bytes]]) -> None:
    writer.clear("zap")

    class Capture:
        def __init__(self) -> None:
            self.sent: list[list[bytes]] = []

        def send_multipart(self, frames: list[bytes]) -> None:
            self.sent.append(list(frames))

    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    try:
        authenticators = []
        allow = zmq.auth.base.Authenticator(ctx)
        allow.configure_plain("*", {USERNAME.decode(): PASSWORD.decode()})
        allow.configure_curve("*", zmq.auth.base.CURVE_ALLOW_ANY)
        deny = zmq.auth.base.Authenticator(ctx)
        deny.deny("127.0.0.1")
        authenticators = [allow, deny]
        for request in requests:
            mech = request[5].decode()
            # The request as a handler reads it (config 12: the codecs only), and with the
            # delimiter a ROUTER handler would see.
            writer.write("zap", b"\x0c" + pack_frames(request), f"request-{mech}")
            writer.write("zap", b"\x0d" + pack_frames([b"", *request]), f"request-{mech}")
            for j, auth in enumerate(authenticators):
                capture = Capture()
                auth.zap_socket = capture  # type: ignore[assignment]
                asyncio.run(auth.handle_zap_message(request))
                for sent in capture.sent:
                    # Our Connections ask with request id "1".
                    reply = [b"1" if k == 1 else f for k, f in enumerate(sent)]
                    for which in (0, 1, 2):
                        label = f"reply-{mech}-{j}-{which}"
                        writer.write("zap", bytes((which << 2,)) + pack_frames(reply), label)
                        delimited = pack_frames([b"", *reply])
                        writer.write("zap", bytes((which << 2 | 1,)) + delimited, f"{label}-delim")
    finally:
        ctx.term()


def z85_seeds(writer: Writer) -> None:
    """Z85 keys as libzmq computes them (``zmq_curve_public`` of fixed secret keys, so that the
    seeds do not change from run to run), as bytes and as text, and RFC 32's example."""
    writer.clear("z85")
    for i, secret in enumerate((SERVER_SECRET, CLIENT_SECRET)):
        for key in (secret, zmq.curve_public(secret)):
            writer.write("z85", b"\x02" + key, f"libzmq-key-{i}")
            writer.write("z85", b"\x03" + key, f"libzmq-key-str-{i}")
    writer.write("z85", b"\x00" + b"HelloWorld", "rfc32-example")
    writer.write("z85", b"\x02" + zmq.utils.z85.decode(CLIENT_PUBLIC), "raw-key")


def endpoint_seeds(writer: Writer) -> None:
    writer.clear("endpoint")
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    endpoints: list[str] = []
    with tempfile.TemporaryDirectory(prefix="sz-corpus-") as tmp:
        try:
            for address in (
                "tcp://127.0.0.1:*",
                "tcp://*:*",
                "tcp://[::1]:*",
                f"ipc://{tmp}/sock",
                "inproc://fuzz-endpoint",
            ):
                sock = ctx.socket(zmq.PAIR)
                sock.ipv6 = True
                sock.linger = 0
                with contextlib.suppress(zmq.ZMQError):
                    sock.bind(address)
                    endpoints.append(sock.getsockopt_string(zmq.LAST_ENDPOINT))
                endpoints.append(address)
                sock.close(0)
        finally:
            ctx.term()
    # The temporary directory and the ports the kernel chose differ from run to run: fix them,
    # so that regenerating leaves these seeds as they were.
    endpoints = [re.sub(r":\d+$", ":5555", e.replace(tmp, "/tmp/sz")) for e in endpoints]
    endpoints += [
        "tcp://localhost:5555",
        "tcp://eth0:5555",
        "tcp://192.168.1.1;10.0.0.1:5555",
        "tcp://127.0.0.1:0;127.0.0.1:5555",
        "tcp://[fe80::1%eth0]:5555",
        "ipc://@abstract-name",
        "ipc://*",
        "pgm://eth0;239.192.1.1:5555",
        "ws://127.0.0.1:80/path",
        "udp://127.0.0.1:5555",
    ]
    for i, endpoint in enumerate(endpoints):
        raw = endpoint.encode()
        for mode in (0, 1, 2, 3):
            writer.write("endpoint", bytes((mode,)) + raw, f"endpoint-{i}-{mode}")
        if raw.startswith(b"tcp://"):
            writer.write("endpoint", b"\x0b" + raw[6:], f"endpoint-{i}-tcp")


def option_value(value: object) -> bytes | None:
    """A value in the options harness's encoding, or None."""
    if isinstance(value, bool):
        return b"\x04" + bytes((value,))
    if isinstance(value, int):
        if -(2**31) <= value < 2**31:
            return b"\x01" + value.to_bytes(4, "big", signed=True)
        if -(2**63) <= value < 2**63:
            return b"\x02" + value.to_bytes(8, "big", signed=True)
        return None
    if isinstance(value, bytes):
        return b"\x05" + sized(value)
    return None


def options_seeds(writer: Writer) -> None:
    """libzmq's defaults (read through pyzmq) for every option, on every socket type."""
    writer.clear("options")
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    try:
        for t, socket_type in enumerate(TYPES):
            sock = ctx.socket(int(socket_type))
            sock.linger = 0
            items = []
            for index, option in enumerate(OPTIONS):
                try:
                    value = sock.getsockopt(int(option))
                except (zmq.ZMQError, TypeError, ValueError):
                    value = 0
                encoded = option_value(value)
                if encoded is not None and index < 0x80:
                    items.append(bytes((index,)) + encoded)
            sock.close(0)
            for i in range(0, len(items), 8):
                writer.write(
                    "options", bytes((t,)) + b"".join(items[i : i + 8]), f"{socket_type.name}-{i}"
                )
        for t, socket_type in enumerate(TYPES):
            keys = [
                (OPTIONS.index(SocketOption.CURVE_SERVERKEY), b"\x05" + sized(SERVER_PUBLIC)),
                (OPTIONS.index(SocketOption.CURVE_SECRETKEY), b"\x0e" + sized(CLIENT_SECRET)),
                (OPTIONS.index(SocketOption.PLAIN_PASSWORD), b"\x05" + sized(PASSWORD)),
                (OPTIONS.index(SocketOption.METADATA), b"\x05" + sized(b"X-Fuzz:value")),
                (OPTIONS.index(SocketOption.SUBSCRIBE), b"\x05" + sized(b"topic")),
                (OPTIONS.index(SocketOption.ROUTING_ID), b"\x06" + sized(b"id")),
            ]
            writer.write(
                "options",
                bytes((t,)) + b"".join(bytes((i,)) + v for i, v in keys),
                f"{socket_type.name}-keys",
            )
    finally:
        ctx.term()


def keep_regressions() -> Iterator[tuple[Path, bytes]]:
    for path in CORPUS.glob("*/regressions/*"):
        if path.is_file():
            yield path, path.read_bytes()


def main() -> int:
    saved = list(keep_regressions())
    recordings, requests = record_all()
    writer = Writer()
    connection_seeds(writer, recordings)
    stream_seeds(writer, recordings)
    large_seeds(writer)
    metadata_seeds(writer, recordings)
    zap_seeds(writer, requests)
    z85_seeds(writer)
    endpoint_seeds(writer)
    options_seeds(writer)
    for path, data in saved:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for target, count in sorted(writer.counts.items()):
        print(f"{target}: {count} seeds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
