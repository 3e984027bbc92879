"""The fuzz harnesses (fuzz/harnesses/) as part of the normal suite.

1. Every seed in fuzz/corpus/TARGET/ and every saved crash in fuzz/corpus/TARGET/regressions/
   goes through the target's ``check`` (the same function atheris drives; no atheris needed)
   and must pass: a crash is saved there once it is fixed, so it stays fixed.
2. Hypothesis fuzzes the targets that tests/protocol/test_robustness.py does not cover (endpoint
   parsing, option setting, the ZAP codec, metadata, Z85 and CURVE MESSAGE unboxing) with
   structured inputs, through the same property functions the harnesses use.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fuzz.harnesses import TARGETS, load
from fuzz.harnesses import curve_message as curve_message_harness
from fuzz.harnesses import endpoint as endpoint_harness
from fuzz.harnesses import metadata as metadata_harness
from fuzz.harnesses import options as options_harness
from fuzz.harnesses import z85 as z85_harness
from fuzz.harnesses import zap as zap_harness
from fuzz.harnesses._util import DEFAULT, SMALL, pack_frames, sized
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safezmq.constants import SocketOption
from safezmq.protocol import z85

CORPUS = Path(__file__).resolve().parents[2] / "fuzz" / "corpus"
REGRESSIONS = sorted(CORPUS.glob("*/regressions/*"))
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(autouse=True, scope="module")
def _close_harness_sockets() -> Iterator[None]:
    """The options harness keeps a Context and sockets between inputs: close them after."""
    yield
    options_harness.close()


def _run(target: str, path: Path) -> None:
    """Run one input; any failure names the input."""
    try:
        load(target)(path.read_bytes())
    except Exception as exc:
        raise AssertionError(f"{path.relative_to(CORPUS)}: {type(exc).__name__}: {exc}") from exc


# -- corpus replay ---------------------------------------------------------------------------------


def test_every_target_has_seeds() -> None:
    for target in TARGETS:
        seeds = [p for p in (CORPUS / target).glob("*") if p.is_file()]
        assert seeds, f"fuzz/corpus/{target} has no seeds: run fuzz/make_corpus.py"


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_seed_corpus(target: str) -> None:
    """Every seed passes (seeds are libzmq's traffic and its variations)."""
    failures = []
    for path in sorted(p for p in (CORPUS / target).glob("*") if p.is_file()):
        try:
            _run(target, path)
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, "\n".join(failures[:20])


@pytest.mark.parametrize("path", REGRESSIONS, ids=[str(p.relative_to(CORPUS)) for p in REGRESSIONS])
def test_regression(path: Path) -> None:
    """A minimised crash, fixed: it must keep passing."""
    _run(path.parent.parent.name, path)


# -- Hypothesis, for the targets test_robustness.py does not cover ---------------------------------


#: ASCII digits, and characters str.isdigit() accepts that int() may not (superscripts) or reads
#: as other digits (Arabic-Indic, fullwidth).
DIGITS = "0123456789\u00b2\u00b3\u00b9" + "".join(map(chr, range(0x660, 0x66A))) + "\uff10\uff11"
HOST_CHARS = "abcxyzABC.-_:*%[]@;/" + DIGITS + "\u00fc\u00df"
endpoints = st.one_of(
    st.builds(
        lambda transport, host, sep, port: f"{transport}://{host}{sep}{port}",
        st.sampled_from(["tcp", "ipc", "inproc", "pgm", "ws", "bogus", "TCP", ""]),
        st.one_of(
            st.sampled_from(["127.0.0.1", "*", "[::1]", "[fe80::1%eth0]", "localhost", "a;b"]),
            st.text(HOST_CHARS, max_size=20),
        ),
        st.sampled_from([":", "", "::", ";"]),
        st.one_of(st.integers(-1, 70000).map(str), st.text(DIGITS + "*!-+ ", max_size=6)),
    ),
    st.text(max_size=40).map(lambda s: "tcp://" + s),
    st.text(max_size=40).map(lambda s: "ipc://" + s),
)


@FAST
@given(
    endpoint=st.one_of(endpoints, endpoints.map(lambda e: e.encode("utf-8", "surrogatepass"))),
    bind=st.booleans(),
)
def test_endpoint_parsing(endpoint: str | bytes, bind: bool) -> None:
    endpoint_harness.check_endpoint(endpoint, bind)


option_values = st.one_of(
    st.integers(-(2**70), 2**70),
    st.integers(-2, 2),
    st.booleans(),
    st.binary(max_size=48),
    st.text(max_size=48),
    st.none(),
    st.floats(allow_nan=True),
    st.lists(st.integers(0, 255), max_size=4),
    st.binary(max_size=48).map(bytearray),
    st.binary(max_size=48).map(lambda b: memoryview(b)),
    st.sampled_from([b"X-Key:value", b"X-:v", b"x-a:", "X-Key:value", b"\x00id", b"id"]),
    st.sampled_from([z85.encode(bytes(32)), bytes(32), b"A" * 40, "é" * 40]),
)


@FAST
@given(
    socket_type=st.sampled_from(options_harness.TYPES),
    option=st.one_of(st.sampled_from(list(SocketOption)).map(int), st.integers(-5, 200)),
    value=option_values,
)
def test_option_setting(socket_type: object, option: int, value: object) -> None:
    options_harness.check_options(socket_type, option, value)


def _property_list(items: list[tuple[bytes, bytes, int]]) -> bytes:
    """name-size name value-size value, with the sizes sometimes lying (delta)."""
    out = b""
    for name, value, delta in items:
        out += bytes(((len(name) + (delta & 1)) % 256,)) + name
        out += min(max(len(value) + (delta >> 1), 0), 2**32 - 1).to_bytes(4, "big") + value
    return out


metadata_lists = st.lists(
    st.tuples(
        st.one_of(
            st.sampled_from([b"Socket-Type", b"socket-type", b"Identity", b"User-Id", b"X-a"]),
            st.binary(max_size=6),
            st.text("abcXYZ019-_.+ é", max_size=6).map(lambda t: t.encode("utf-8")),
        ),
        st.binary(max_size=20),
        st.sampled_from([0, 0, 0, 1, 2, -2, 1 << 33]),
    ),
    max_size=5,
).map(_property_list)


@FAST
@given(
    raw=st.one_of(metadata_lists, st.binary(max_size=80)),
    max_size=st.sampled_from([0, 1, 20, 80, 16384]),
    max_properties=st.sampled_from([1, 2, 3, 64]),
)
def test_metadata(raw: bytes, max_size: int, max_properties: int) -> None:
    metadata_harness.check_metadata(raw, max_size, max_properties)


zap_fields = st.one_of(
    st.sampled_from([b"", b"1.0", b"1", b"2", b"200", b"300", b"400", b"500", b"201", b"OK"]),
    st.binary(max_size=12),
    metadata_lists,
)
zap_frames = st.lists(zap_fields, max_size=9)


@FAST
@given(frames=zap_frames, delimiter=st.booleans(), small=st.booleans())
def test_zap_codec(frames: list[bytes], delimiter: bool, small: bool) -> None:
    limits = SMALL if small else DEFAULT
    zap_harness.check_reply(frames, delimiter, limits)
    zap_harness.check_request(frames, delimiter)


@settings(max_examples=60, deadline=None)
@given(
    fields=st.tuples(
        st.sampled_from([b"1.0", b"1.1"]),
        st.sampled_from([b"1", b"2"]),
        st.sampled_from([b"200", b"300", b"400", b"500", b"999"]),
        st.binary(max_size=8),
        st.one_of(st.binary(max_size=8), st.just(b"u" * 256)),
        st.one_of(metadata_lists, st.binary(max_size=10)),
    ),
    which=st.sampled_from([0, 1, 2]),
)
def test_zap_reply_to_connection(fields: tuple[bytes, ...], which: int) -> None:
    zap_harness.check_connection([b"", *fields], which, DEFAULT)


z85_text = st.one_of(
    st.text(z85.ALPHABET.decode(), max_size=45),
    st.text(z85.ALPHABET.decode() + " \x00~é", max_size=45),
    st.sampled_from(["#####", "%nSc0", "%nSc1", "HelloWorld"]),
)


@FAST
@given(text=st.one_of(z85_text, z85_text.map(lambda t: t.encode("utf-8"))), raw=st.binary())
def test_z85(text: str | bytes, raw: bytes) -> None:
    z85_harness.check_decode(text)
    z85_harness.check_encode(raw)
    z85_harness.check_key(text)


curve_items = st.lists(
    st.one_of(
        # kind 0: a raw body
        st.binary(max_size=60).map(lambda b: b"\x00" + sized(b"\x07MESSAGE" + b)),
        # kinds 1-3: boxed with inner flags and a nonce step, maybe changed or cut
        st.builds(
            lambda what, inner, back, plain, pos, xor: (
                bytes((what | inner << 2 | back << 6,))
                + sized(plain)
                + (pos.to_bytes(2, "big") + bytes((xor,)) if what == 2 else b"")
                + (pos.to_bytes(2, "big") if what == 3 else b"")
            ),
            st.sampled_from([1, 1, 1, 2, 3]),
            st.integers(0, 15),
            st.sampled_from([0, 0, 0, 1, 2, 3]),
            st.binary(max_size=40),
            st.integers(0, 65535),
            st.integers(0, 255),
        ),
    ),
    max_size=8,
)


@FAST
@given(mode=st.integers(0, 3), items=curve_items)
def test_curve_message_unboxing(mode: int, items: list[bytes]) -> None:
    curve_message_harness.check(bytes((mode,)) + b"".join(items))


def test_harness_input_helpers() -> None:
    """The seed encodings read back as written."""
    from fuzz.harnesses._util import Reader, unpack_frames

    frames = [b"", b"a", b"b" * 300]
    assert unpack_frames(pack_frames(frames)) == frames
    reader = Reader(sized(b"x" * 255) + b"\x01")
    assert reader.sized() == b"x" * 255 and reader.byte() == 1 and reader.byte() == 0
