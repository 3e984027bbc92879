"""``import zmq`` → safezmq: the call, the launcher and the environment-wide .pth file.

Every check runs in a fresh interpreter: this test process has real pyzmq imported (the interop
tests compare against it), which is exactly what install_as_zmq() refuses to mix with.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path

import pytest

from safezmq import aszmq
from safezmq.cli import aszmq as cli_aszmq
from safezmq.cli._common import CLIError


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    for name in (aszmq.ENV_VAR, "PYTHONPATH", "SAFEZMQ_POLICY"):
        env.pop(name, None)
    env.update(extra)
    return env


def python(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, exe: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [exe or sys.executable, *args],
        capture_output=True,
        text=True,
        env=clean_env() if env is None else env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def last_json(result: subprocess.CompletedProcess[str]) -> object:
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# What a child reports about its zmq: the module's name and whether any real pyzmq is loaded.
PROBE = (
    "import json, sys, zmq; print(json.dumps([zmq.__name__, sorted(n for n, m in "
    "sys.modules.items() if (n == 'zmq' or n.startswith('zmq.')) and m is not None "
    "and not m.__name__.startswith('safezmq'))]))"
)

# pyzmq 27's public modules (all but its C backends, private modules and zmq.log.__main__):
# each must be safezmq's module of the same name.
SUBMODULES = [
    "zmq.asyncio",
    "zmq.auth",
    "zmq.auth.asyncio",
    "zmq.auth.base",
    "zmq.auth.certs",
    "zmq.auth.ioloop",
    "zmq.auth.thread",
    "zmq.backend",
    "zmq.backend.select",
    "zmq.constants",
    "zmq.curve_keygen",
    "zmq.decorators",
    "zmq.devices",
    "zmq.devices.basedevice",
    "zmq.devices.monitoredqueue",
    "zmq.devices.monitoredqueuedevice",
    "zmq.devices.proxydevice",
    "zmq.devices.proxysteerabledevice",
    "zmq.error",
    "zmq.eventloop",
    "zmq.eventloop.future",
    "zmq.eventloop.ioloop",
    "zmq.eventloop.zmqstream",
    "zmq.green",
    "zmq.green.core",
    "zmq.green.device",
    "zmq.green.eventloop",
    "zmq.green.eventloop.ioloop",
    "zmq.green.eventloop.zmqstream",
    "zmq.green.poll",
    "zmq.log",
    "zmq.log.handlers",
    "zmq.ssh",
    "zmq.ssh.forward",
    "zmq.ssh.tunnel",
    "zmq.sugar",
    "zmq.sugar.attrsettr",
    "zmq.sugar.context",
    "zmq.sugar.frame",
    "zmq.sugar.poll",
    "zmq.sugar.socket",
    "zmq.sugar.stopwatch",
    "zmq.sugar.tracker",
    "zmq.sugar.version",
    "zmq.utils",
    "zmq.utils.garbage",
    "zmq.utils.interop",
    "zmq.utils.jsonapi",
    "zmq.utils.monitor",
    "zmq.utils.strtypes",
    "zmq.utils.win32",
    "zmq.utils.z85",
]


class TestInstallAsZmq:
    def test_zmq_is_safezmq_object_for_object(self) -> None:
        code = textwrap.dedent(
            """
            import json, sys, safezmq
            from safezmq.aszmq import install_as_zmq
            install_as_zmq()
            install_as_zmq()  # a second call changes nothing
            import zmq, zmq.asyncio
            ctx = zmq.Context()
            sock = ctx.socket(zmq.PAIR)
            print(json.dumps({
                "same": zmq is safezmq,
                "context": isinstance(ctx, safezmq.Context) and zmq.Context is safezmq.Context,
                "socket": isinstance(sock, safezmq.Socket),
                "error": zmq.ZMQError is safezmq.ZMQError,
                "asyncio": zmq.asyncio.Context is safezmq.asyncio.Context,
                "spec": [zmq.__spec__.name, zmq.asyncio.__spec__.name],
                "finders": sum(type(f).__name__ == "_ZmqAlias" for f in sys.meta_path),
            }))
            sock.close(); ctx.term()
            """
        )
        assert last_json(python("-c", code)) == {
            "same": True,
            "context": True,
            "socket": True,
            "error": True,
            "asyncio": True,
            # safezmq's modules keep their own specs (importlib.reload, pickling, -m)
            "spec": ["safezmq", "safezmq.asyncio"],
            "finders": 1,
        }

    @pytest.mark.parametrize("name", SUBMODULES)
    def test_submodule_is_safezmqs(self, name: str) -> None:
        real = "safezmq" + name[3:]
        code = (
            "import importlib, json, sys\n"
            "from safezmq.aszmq import install_as_zmq\n"
            "install_as_zmq()\n"
            f"alias = importlib.import_module({name!r})\n"
            f"print(json.dumps([alias is importlib.import_module({real!r}), alias.__name__,\n"
            "    alias is sys.modules[alias.__name__]]))\n"
        )
        assert last_json(python("-c", code)) == [True, real, True]

    def test_a_module_safezmq_lacks_does_not_fall_back_to_pyzmq(self) -> None:
        code = (
            "import json, sys\n"
            "from safezmq.aszmq import install_as_zmq\n"
            "install_as_zmq()\n"
            "try:\n"
            "    import zmq.backend.cython._zmq\n"
            "except ImportError as exc:\n"
            "    error = [type(exc).__name__, exc.name]\n"
            "else:\n"
            "    error = None\n" + PROBE.replace("print(json.dumps([", "print(json.dumps([error, ")
        )
        error, name, foreign = last_json(python("-c", code))  # type: ignore[misc]
        assert error == ["ModuleNotFoundError", "zmq.backend.cython"]
        assert (name, foreign) == ("safezmq", [])

    def test_reprs_name_the_module_the_program_imported(self) -> None:
        # pyzmq's reprs say zmq.Frame / zmq.Socket; a program that chose `import zmq` to mean
        # safezmq sees the same, while a plain `import safezmq` keeps saying safezmq.
        code = (
            "import json, safezmq\n"
            "before = repr(safezmq.Frame(b'x'))\n"
            "from safezmq.aszmq import install_as_zmq\n"
            "install_as_zmq()\n"
            "import zmq\n"
            "ctx = zmq.Context()\n"
            "sock = ctx.socket(zmq.PUSH)\n"
            "after = [repr(zmq.Frame(b'x')), repr(sock).split(' at ')[0]]\n"
            "sock.close()\n"
            "ctx.term()\n"
            "print(json.dumps([before, *after]))\n"
        )
        assert last_json(python("-c", code)) == [
            "<safezmq.Frame(b'x')>",
            "<zmq.Frame(b'x')>",
            "<zmq.Socket(zmq.PUSH)",
        ]

    def test_refuses_when_pyzmq_is_already_imported(self) -> None:
        code = textwrap.dedent(
            """
            import json, sys, zmq
            from safezmq.aszmq import PyzmqAlreadyImported, install_as_zmq
            try:
                install_as_zmq()
            except PyzmqAlreadyImported as exc:
                outcome = str(exc)
            else:
                outcome = None
            import zmq as again
            print(json.dumps([outcome, again.__name__, again is zmq]))
            """
        )
        outcome, name, same = last_json(python("-c", code))  # type: ignore[misc]
        assert outcome is not None
        assert "pyzmq is already imported" in outcome and "before anything imports zmq" in outcome
        assert (name, same) == ("zmq", True)  # nothing changed: pyzmq stays pyzmq

    def test_nothing_happens_without_an_explicit_choice(self) -> None:
        # Importing safezmq (or this module) never redirects zmq, and the launcher's variable
        # alone (without the launcher's start-up hook) does nothing either.
        code = "import safezmq, safezmq.aszmq\n" + PROBE
        assert last_json(python("-c", code))[0] == "zmq"  # type: ignore[index]
        env = clean_env(**{aszmq.ENV_VAR: "1"})
        assert last_json(python("-c", code, env=env))[0] == "zmq"  # type: ignore[index]


SCRIPT = textwrap.dedent(
    """
    import json, multiprocessing, os, subprocess, sys
    import zmq

    def child_zmq(queue):
        import zmq
        queue.put(zmq.__name__)

    if __name__ == "__main__":
        spawn = multiprocessing.get_context("spawn")
        queue = spawn.Queue()
        process = spawn.Process(target=child_zmq, args=(queue,))
        process.start()
        spawned = queue.get(timeout=60)
        process.join(60)
        sub = subprocess.run([sys.executable, "-c", "import zmq; print(zmq.__name__)"],
                             capture_output=True, text=True, check=True).stdout.strip()
        print(json.dumps({
            "argv": sys.argv, "path0": sys.path[0], "name": __name__, "zmq": zmq.__name__,
            "spawned": spawned, "subprocess": sub,
            "user_sitecustomize": os.environ.get("USER_SITECUSTOMIZE_RAN"),
        }))
        sys.exit(int(os.environ.get("EXIT_WITH", "0")))
    """
)


class TestLauncher:
    @pytest.fixture
    def program(self, tmp_path: Path) -> Path:
        directory = tmp_path / "prog"
        directory.mkdir()
        (directory / "zprog.py").write_text(SCRIPT)
        return directory

    def test_script(self, program: Path, tmp_path: Path) -> None:
        result = python("-m", "safezmq.aszmq", str(program / "zprog.py"), "a", "--b", cwd=tmp_path)
        assert last_json(result) == {
            "argv": [str(program / "zprog.py"), "a", "--b"],
            "path0": str(program),  # as `python script.py`: the script's directory
            "name": "__main__",
            "zmq": "safezmq",
            "spawned": "safezmq",  # multiprocessing's spawned child
            "subprocess": "safezmq",  # any Python the program starts
            "user_sitecustomize": None,
        }

    def test_module(self, program: Path) -> None:
        result = python("-m", "safezmq.aszmq", "-m", "zprog", "x", cwd=program)
        report = last_json(result)
        assert isinstance(report, dict)
        assert report["argv"] == [str(program / "zprog.py"), "x"]  # as `python -m zprog x`
        assert (report["name"], report["zmq"], report["spawned"], report["subprocess"]) == (
            "__main__",
            "safezmq",
            "safezmq",
            "safezmq",
        )

    def test_exit_status_and_usage(self, program: Path) -> None:
        env = clean_env(EXIT_WITH="3")
        assert python("-m", "safezmq.aszmq", str(program / "zprog.py"), env=env).returncode == 3
        usage = python("-m", "safezmq.aszmq")
        assert usage.returncode == 2 and "usage: python -m safezmq.aszmq" in usage.stderr
        missing = python("-m", "safezmq.aszmq", str(program / "nope.py"))
        assert missing.returncode == 2 and "can't open file" in missing.stderr
        no_module = python("-m", "safezmq.aszmq", "-m", "no_such_module_here")
        assert (
            no_module.returncode == 1 and "no module named no_such_module_here" in no_module.stderr
        )

    def test_the_users_sitecustomize_still_runs_in_children(
        self, program: Path, tmp_path: Path
    ) -> None:
        own = tmp_path / "own"
        own.mkdir()
        (own / "sitecustomize.py").write_text(
            "import os\nos.environ['USER_SITECUSTOMIZE_RAN'] = 'yes'\n"
        )
        env = clean_env(PYTHONPATH=str(own))
        code = (
            "import os, subprocess, sys; print(subprocess.run([sys.executable, '-c', "
            + repr(
                "import json, os, zmq; print(json.dumps([zmq.__name__, "
                "os.environ.get('USER_SITECUSTOMIZE_RAN')]))"
            )
            + "], capture_output=True, text=True, check=True).stdout)"
        )
        script = tmp_path / "spawner.py"
        script.write_text(code)
        assert last_json(python("-m", "safezmq.aszmq", str(script), env=env)) == [
            "safezmq",
            "yes",
        ]

    def test_children_opt_out_by_dropping_the_variable(self, tmp_path: Path) -> None:
        script = tmp_path / "optout.py"
        script.write_text(
            "import os, subprocess, sys\n"
            f"env = dict(os.environ); env.pop({aszmq.ENV_VAR!r})\n"
            f"print(subprocess.run([sys.executable, '-c', {PROBE!r}], env=env,\n"
            "      capture_output=True, text=True, check=True).stdout)\n"
        )
        assert last_json(python("-m", "safezmq.aszmq", str(script)))[0] == "zmq"  # type: ignore[index]


@pytest.fixture
def throwaway_venv(tmp_path: Path) -> tuple[str, Path]:
    """A new virtual environment that sees this one's packages (safezmq and real pyzmq) through
    a .pth file, so that `as-zmq enable` can change its site-packages, not ours."""
    root = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(root)
    exe = str(root / "bin" / "python")
    purelib = Path(
        subprocess.run(
            [exe, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    parent = sysconfig.get_paths()["purelib"]
    (purelib / "00-parent-env.pth").write_text(f"import site; site.addsitedir({parent!r})\n")
    return exe, purelib


class TestEnvironmentWide:
    def test_enable_status_disable(self, throwaway_venv: tuple[str, Path]) -> None:
        exe, purelib = throwaway_venv
        pth = purelib / aszmq.PTH_NAME
        assert last_json(python("-c", PROBE, exe=exe))[0] == "zmq"  # type: ignore[index]  # pyzmq

        enabled = python("-m", "safezmq", "as-zmq", "enable", exe=exe)
        assert enabled.returncode == 0, enabled.stderr
        assert f"enabled: wrote {pth}" in enabled.stdout
        assert "undo: safezmq as-zmq disable" in enabled.stdout
        assert pth.read_text().startswith(aszmq.PTH_MARKER)

        # Every new interpreter: zmq is safezmq, without any pyzmq module beside it ...
        assert last_json(python("-c", PROBE, exe=exe)) == ["safezmq", []]
        # ... including the processes it starts (a kernel, a multiprocessing child) ...
        nested = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {PROBE!r}])"
        assert last_json(python("-c", nested, exe=exe)) == ["safezmq", []]
        # ... but safezmq is imported only when a program imports zmq.
        lazy = python("-c", "import sys; print('safezmq' in sys.modules)", exe=exe)
        assert lazy.stdout.strip() == "False", lazy.stderr
        # SAFEZMQ_AS_ZMQ=0 turns it off for one process.
        off = clean_env(**{aszmq.ENV_VAR: "0"})
        assert last_json(python("-c", PROBE, exe=exe, env=off))[0] == "zmq"  # type: ignore[index]

        status = python("-m", "safezmq", "as-zmq", "status", exe=exe)
        assert status.returncode == 0, status.stderr
        assert status.stdout.startswith(f"enabled: {pth} exists")
        assert "gives: safezmq (" in status.stdout

        disabled = python("-m", "safezmq", "as-zmq", "disable", exe=exe)
        assert disabled.returncode == 0 and f"disabled: removed {pth}" in disabled.stdout
        assert not pth.exists()
        assert last_json(python("-c", PROBE, exe=exe))[0] == "zmq"  # type: ignore[index]
        status = python("-m", "safezmq", "as-zmq", "status", exe=exe)
        assert status.stdout.startswith("disabled:") and "gives: pyzmq (" in status.stdout
        again = python("-m", "safezmq", "as-zmq", "disable", exe=exe)
        assert again.returncode == 0 and "not enabled" in again.stdout

    def test_leaves_a_file_it_did_not_write_alone(self, tmp_path: Path) -> None:
        foreign = tmp_path / aszmq.PTH_NAME
        foreign.write_text("/some/path\n")
        with pytest.raises(CLIError, match="not written by safezmq"):
            cli_aszmq.enable(str(tmp_path))
        with pytest.raises(CLIError, match="not written by safezmq"):
            cli_aszmq.disable(str(tmp_path))
        assert foreign.read_text() == "/some/path\n"

    def test_outside_a_virtualenv_the_directory_must_be_named(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        monkeypatch.setattr(sys, "prefix", sys.base_prefix)
        with pytest.raises(CLIError, match="not in a virtual environment"):
            cli_aszmq.site_packages(None)
        assert cli_aszmq.site_packages(str(tmp_path)) == str(tmp_path)
        with pytest.raises(CLIError, match="not a directory"):
            cli_aszmq.site_packages(str(tmp_path / "missing"))
