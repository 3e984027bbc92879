"""safezmq.green's namespace: every safezmq name, the green ones replaced; and gevent stays an
optional extra that ``import safezmq`` never loads."""

from __future__ import annotations

import subprocess
import sys

import safezmq
import safezmq.green

GREEN_NAMES = {
    "Context": safezmq.green.core.Context,
    "Socket": safezmq.green.core.Socket,
    "Poller": safezmq.green.poll.Poller,
    "select": safezmq.green.poll.select,
    "zmq_poll": safezmq.green.poll.zmq_poll,
    "MessageTracker": safezmq.green.core.MessageTracker,
}


def test_every_safezmq_name_is_exported() -> None:
    for name in safezmq.__all__:
        if not hasattr(safezmq, name):
            continue  # (reported by the tests of safezmq's own namespace)
        assert name in safezmq.green.__all__, name
        if name in GREEN_NAMES:
            assert getattr(safezmq.green, name) is GREEN_NAMES[name]
        else:
            assert getattr(safezmq.green, name) is getattr(safezmq, name), name
    for name in safezmq.green.__all__:
        assert hasattr(safezmq.green, name), name


def test_green_classes_are_safezmq_classes() -> None:
    assert issubclass(safezmq.green.Context, safezmq.Context)
    assert issubclass(safezmq.green.Socket, safezmq.Socket)
    assert issubclass(safezmq.green.Poller, safezmq.Poller)
    assert issubclass(safezmq.green.MessageTracker, safezmq.MessageTracker)
    assert safezmq.green.Context._socket_class is safezmq.green.Socket
    # Devices and proxies are safezmq's own, waiting with the Poller their sockets name.
    assert safezmq.green.device is safezmq.device
    assert safezmq.green.Socket._poller_class is safezmq.green.Poller


def test_import_safezmq_does_not_import_gevent() -> None:
    code = (
        "import sys, safezmq, safezmq.asyncio, safezmq.devices\n"
        "ctx = safezmq.Context(); s = ctx.socket(safezmq.PAIR); s.bind('tcp://127.0.0.1:*')\n"
        "s.close(); ctx.term()\n"
        "assert 'gevent' not in sys.modules, sorted(m for m in sys.modules if 'gevent' in m)\n"
        "import safezmq.green\n"
        "assert 'gevent' in sys.modules\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_without_gevent_the_import_error_says_what_to_install() -> None:
    code = (
        "import sys\n"
        "sys.modules['gevent'] = None  # as if gevent were not installed\n"
        "try:\n"
        "    import safezmq.green\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "pip install 'safezmq[green]'" in result.stdout
