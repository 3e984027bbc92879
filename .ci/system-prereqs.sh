#!/usr/bin/env bash
# System programs the tests drive, from Debian's packages: each missing one is installed, and
# when that is impossible this stops CI and says so, rather than let the tests skip silently.
#   - sshd, ssh, ssh-keygen (openssh-server): tests/ssh starts its own sshd on loopback;
#   - ip, tc (iproute2) and iptables: tests/chaos and tests/pgm build network namespaces, and
#     tests/chaos makes loss, delay and partitions with tc and iptables.
# The services themselves are never started here: each test starts what it needs.
set -euo pipefail

# "program package" pairs; a program given as a path must exist there.
needs=(
    "/usr/sbin/sshd openssh-server"
    "ssh openssh-client"
    "ssh-keygen openssh-client"
    "ip iproute2"
    "tc iproute2"
    "iptables iptables"
)

have() {
    case "$1" in
        /*) [ -x "$1" ] ;;
        *) command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ] ;;
    esac
}

missing=()
for need in "${needs[@]}"; do
    read -r program package <<< "$need"
    if ! have "$program"; then
        missing+=("$package")
    fi
done
if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi
# shellcheck disable=SC2207
missing=($(printf '%s\n' "${missing[@]}" | sort -u))

if ! command -v apt-get >/dev/null 2>&1; then
    echo ".ci/system-prereqs.sh: apt-get is not available: cannot install ${missing[*]}," \
        "which the tests need; run CI on Debian/Ubuntu" >&2
    exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo="sudo -n"
    else
        echo ".ci/system-prereqs.sh: installing ${missing[*]} with apt-get needs root (or sudo" \
            "without a password)" >&2
        exit 1
    fi
fi
if ! { DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}" \
    || { $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive \
        $sudo apt-get install -y -q "${missing[@]}"; }; } >/dev/null; then
    echo ".ci/system-prereqs.sh: apt-get could not install ${missing[*]}" >&2
    exit 1
fi
for need in "${needs[@]}"; do
    read -r program package <<< "$need"
    if ! have "$program"; then
        echo ".ci/system-prereqs.sh: $program is still missing after installing $package" >&2
        exit 1
    fi
done
