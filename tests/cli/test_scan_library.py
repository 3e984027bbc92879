"""``safezmq.scan.scan()`` in-process: the report dataclass, ipc endpoints, and the traffic
budget (every connection carries at most a handshake, all to the endpoint given)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

from safezmq import scan as scanner

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def zctx() -> Iterator[zmq.Context[zmq.Socket[bytes]]]:
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    yield context
    context.destroy(linger=0)


def test_scan_returns_a_report_and_stays_within_its_budget(
    zctx: zmq.Context[zmq.Socket[bytes]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = zctx.socket(zmq.PAIR)
    server.linger = 0
    endpoint = f"ipc://{tmp_path}/probe"
    server.bind(endpoint)

    sent: dict[int, int] = {}
    addresses: list[Any] = []
    original_init = scanner._Link.__init__
    original_send = scanner._Link.send

    def init(self: scanner._Link, target: Any, timeout: float) -> None:
        addresses.append(target.address)
        original_init(self, target, timeout)

    def send(self: scanner._Link, data: bytes) -> bool:
        sent[id(self)] = sent.get(id(self), 0) + len(data)
        return original_send(self, data)

    monkeypatch.setattr(scanner._Link, "__init__", init)
    monkeypatch.setattr(scanner._Link, "send", send)
    report = scanner.scan(endpoint, timeout=0.5)

    assert isinstance(report, scanner.ScanReport)
    assert report.mechanism == "NULL"
    assert report.socket_type == "PAIR"
    assert report.null_peer.status == scanner.ACCEPTED
    assert "as a PAIR peer" in report.null_peer.detail
    assert report.client_authentication.status == scanner.NOT_APPLICABLE
    assert report.weak
    # ipc is local: a NULL server there is a medium finding, not a high one.
    assert report.findings[0].severity == scanner.MEDIUM
    assert report.to_dict()["weak"] is True
    assert "ZMTP 1.0 peer" in report.format()

    # Four connections, all to the endpoint given: greeting + NULL handshake, stalled handshake
    # (sends nothing), ZMTP 2.0, ZMTP 1.0.
    assert addresses == [f"{tmp_path}/probe"] * 4
    assert len(sent) == 3
    assert max(sent.values()) <= scanner.MAX_SENT_PER_CONNECTION


def test_scan_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="positive"):
        scanner.scan("tcp://127.0.0.1:5555", timeout=0)
    with pytest.raises(ValueError, match="unknown socket type"):
        scanner.scan("tcp://127.0.0.1:5555", socket_type="TOASTER")
    with pytest.raises(ValueError, match="CURVE server key"):
        scanner.scan("tcp://127.0.0.1:5555", curve_serverkey="short")
    with pytest.raises(ValueError, match="transport://address"):
        scanner.scan("127.0.0.1:5555")
