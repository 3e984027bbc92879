"""Hands a password to the ssh command without putting it in argv, the environment or a file.

ssh reads a password from its terminal, or from the program named by SSH_ASKPASS when
SSH_ASKPASS_REQUIRE=force (OpenSSH 8.4+).  That program is a two-line shell script reading a
named pipe in a private (0700) temporary directory; only the path of the pipe is in the
environment, and the password crosses the pipe exactly once: the pipe is unlinked as soon as it
has been read, so a second prompt (a wrong password, a host-key question) gets nothing and ssh
gives up rather than retrying or answering a question with the password.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
import threading
from types import TracebackType

_SCRIPT = '#!/bin/sh\nexec cat -- "$SAFEZMQ_ASKPASS_FIFO" 2>/dev/null\n'


class AskPass:
    """Context manager: ``env()`` gives the variables that make ssh ask this object once."""

    def __init__(self, password: str) -> None:
        self._password = password
        self._dir = tempfile.mkdtemp(prefix="safezmq-askpass-")
        os.chmod(self._dir, stat.S_IRWXU)
        self._fifo = os.path.join(self._dir, "fifo")
        self._script = os.path.join(self._dir, "askpass")
        os.mkfifo(self._fifo, 0o600)
        fd = os.open(self._script, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o700)
        with os.fdopen(fd, "w") as script:
            script.write(_SCRIPT)
        self._writer = threading.Thread(target=self._feed, name="safezmq-askpass", daemon=True)
        self._writer.start()

    def env(self) -> dict[str, str]:
        """Environment entries for the ssh process (paths only, never the password)."""
        return {
            "SSH_ASKPASS": self._script,
            "SSH_ASKPASS_REQUIRE": "force",
            "SAFEZMQ_ASKPASS_FIFO": self._fifo,
        }

    def _feed(self) -> None:
        try:
            # Blocks until a reader opens the pipe: the askpass script, or close() below.
            fd = os.open(self._fifo, os.O_WRONLY)
        except OSError:
            return
        try:
            os.unlink(self._fifo)
        except OSError:
            pass
        try:
            os.write(fd, (self._password + "\n").encode("utf8"))
        except OSError as exc:  # the reader went away: nothing to deliver
            if exc.errno != errno.EPIPE:
                raise
        finally:
            os.close(fd)

    def close(self) -> None:
        """Release the writer if ssh never asked, and remove the directory."""
        if self._writer.is_alive():
            try:
                # Opening the read end unblocks the writer's open(); the text is discarded.
                fd = os.open(self._fifo, os.O_RDONLY | os.O_NONBLOCK)
            except OSError:
                fd = -1
            self._writer.join(5)
            if fd >= 0:
                os.close(fd)
        self._password = ""
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> AskPass:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return "<AskPass: password redacted>"
