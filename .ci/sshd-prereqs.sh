#!/usr/bin/env bash
# The ssh tunnel tests (tests/ssh) start their own sshd on loopback and drive the ssh client:
# both come from Debian's openssh-server (which pulls in openssh-client).  Install it when
# either program is missing; when that is impossible, stop here and say so rather than let the
# tests skip silently.
set -euo pipefail

sshd_ready() {
    [ -x /usr/sbin/sshd ] && command -v ssh >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1
}
if sshd_ready; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo ".ci/sshd-prereqs.sh: apt-get is not available: cannot install Debian's" \
        "openssh-server, which the ssh tunnel tests need; run CI on Debian/Ubuntu" >&2
    exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo="sudo -n"
    else
        echo ".ci/sshd-prereqs.sh: installing openssh-server with apt-get needs root (or sudo" \
            "without a password)" >&2
        exit 1
    fi
fi
# Only the packages: the tests run their own sshd with a private configuration, so the
# system's service is neither needed nor started by this script.
if ! { DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q openssh-server \
    || { $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive \
        $sudo apt-get install -y -q openssh-server; }; } >/dev/null; then
    echo ".ci/sshd-prereqs.sh: apt-get could not install openssh-server for the ssh tunnel" \
        "tests" >&2
    exit 1
fi
if ! sshd_ready; then
    echo ".ci/sshd-prereqs.sh: /usr/sbin/sshd, ssh or ssh-keygen is still missing after" \
        "installing openssh-server" >&2
    exit 1
fi
