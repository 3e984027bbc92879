"""Secret: a container that never shows, hashes or pickles its content."""

from __future__ import annotations

import hmac
import pickle

import pytest

from safezmq.protocol.secret import Secret

PASSWORD = b"hunter2-correct-horse"


def renderings(value: object) -> list[str]:
    return [
        repr(value),
        str(value),
        f"{value}",
        f"{value!r}",
        f"{value!s}",
        "%s" % (value,),  # noqa: UP031
        "%r" % (value,),  # noqa: UP031
        "{}".format(value),  # noqa: UP032
        format(value, ""),
        repr([value]),
        str({"password": value}),
    ]


def test_repr_and_str_are_redacted() -> None:
    s = Secret(PASSWORD, "password")
    for text in renderings(s):
        assert "hunter2" not in text
        assert PASSWORD.hex() not in text
        assert "redacted" in text
    assert repr(s) == "<password: redacted>"
    assert str(s) == repr(s)


def test_default_kind() -> None:
    assert repr(Secret(b"x")) == "<secret: redacted>"


def test_reveal() -> None:
    assert Secret(PASSWORD).reveal() == PASSWORD
    from_bytearray = Secret(bytearray(PASSWORD))  # type: ignore[arg-type]
    assert isinstance(from_bytearray.reveal(), bytes)
    assert from_bytearray.reveal() == PASSWORD
    from_view = Secret(memoryview(PASSWORD))  # type: ignore[arg-type]
    assert from_view.reveal() == PASSWORD


def test_a_mutable_source_is_copied() -> None:
    source = bytearray(PASSWORD)
    s = Secret(source)  # type: ignore[arg-type]
    source[:] = b"changed"
    assert s.reveal() == PASSWORD


def test_len() -> None:
    assert len(Secret(PASSWORD)) == len(PASSWORD)
    assert len(Secret(b"")) == 0


def test_refuses_non_bytes_without_showing_it() -> None:
    with pytest.raises(TypeError) as info:
        Secret("hunter2", "password")  # type: ignore[arg-type]
    assert "hunter2" not in str(info.value)
    assert "str" in str(info.value)


def test_equality() -> None:
    s = Secret(PASSWORD)
    assert s == Secret(PASSWORD)
    assert s == PASSWORD
    assert s == bytearray(PASSWORD)
    assert PASSWORD == s  # noqa: SIM300 (the reflected comparison)
    assert s != Secret(PASSWORD + b"!")
    assert s != Secret(PASSWORD[:-1] + b"?")
    assert s != PASSWORD[:-1]
    assert s != b""
    assert s != PASSWORD.decode()
    assert s != 42
    assert Secret(b"") == Secret(b"")


def test_equality_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        result: bool = real(a, b)
        return result

    # secret.py calls hmac.compare_digest through the module: the spy sees every call.
    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert Secret(PASSWORD) == Secret(PASSWORD)
    assert Secret(PASSWORD) != PASSWORD + b"x"
    assert Secret(PASSWORD) == bytearray(PASSWORD)
    assert len(calls) == 3


def test_not_hashable() -> None:
    s = Secret(PASSWORD)
    with pytest.raises(TypeError, match="hashable"):
        hash(s)
    with pytest.raises(TypeError):
        {s}  # noqa: B018
    with pytest.raises(TypeError):
        {s: 1}  # noqa: B018


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_not_picklable(protocol: int) -> None:
    with pytest.raises(TypeError, match="pickled") as info:
        pickle.dumps(Secret(PASSWORD), protocol=protocol)
    assert "hunter2" not in str(info.value)


def test_not_picklable_inside_a_container() -> None:
    with pytest.raises(TypeError):
        pickle.dumps({"credentials": [Secret(PASSWORD)]})


def test_no_instance_dict() -> None:
    s = Secret(PASSWORD)
    with pytest.raises(AttributeError):
        s.extra = 1  # type: ignore[attr-defined]
    assert not hasattr(s, "__dict__")


def test_derive_computes_once_per_function_and_shows_nothing() -> None:
    secret = Secret(PASSWORD, "CURVE secret key")
    calls: list[bytes] = []

    def length(value: bytes) -> int:
        calls.append(value)
        return len(value)

    assert secret.derive(length) == len(PASSWORD)
    assert secret.derive(length) == len(PASSWORD)
    assert calls == [PASSWORD]
    assert secret.derive(bytes.upper) == PASSWORD.upper()  # another function, its own value
    assert all(PASSWORD.decode() not in text for text in renderings(secret))
    with pytest.raises(TypeError):
        pickle.dumps(secret)
