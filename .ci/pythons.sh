#!/usr/bin/env bash
# Find an interpreter for each Python version safezmq supports and tests, and print one line per
# version: "VERSION PATH".  Sourced by .ci/run; also runnable alone to see what CI would use.
#
# Where they come from: this project's machines (Debian 12 with pyenv) carry CPython 3.10-3.13
# under ~/.pyenv/versions (pyenv's builds, made when the machine image was made); Debian itself
# ships only 3.11 (/usr/bin/python3.11), and the network reaches PyPI and Debian's archive only,
# so a missing version cannot be downloaded here (no python.org, no GitHub).  Each version is
# looked up, in order, as: $SAFEZMQ_PYTHON_3_XX (an explicit path), pyenv's versions directory
# (the newest patch release), python3.XX on PATH, /usr/bin/python3.XX.  A version found nowhere
# is a failure that names where we looked: CI must not quietly test fewer Pythons.
set -euo pipefail

SUPPORTED_PYTHONS=(3.10 3.11 3.12 3.13)

find_python() {
    local version=$1 var candidate
    var="SAFEZMQ_PYTHON_${version/./_}"
    if [ -n "${!var:-}" ]; then
        echo "${!var}"
        return 0
    fi
    local pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
    for candidate in $(ls -d "$pyenv_root"/versions/"$version".*/bin/python"$version" \
        2>/dev/null | sort -t. -k3,3n -r) \
        "$(command -v "python$version" 2>/dev/null || true)" "/usr/bin/python$version"; do
        if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" -c \
            "import sys, venv, ensurepip; sys.exit(sys.version_info[:2] != tuple(map(int, '$version'.split('.'))))" \
            2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

# Print "VERSION PATH" for every supported version, or fail naming each missing one.
discover_pythons() {
    local version found missing=()
    for version in "${SUPPORTED_PYTHONS[@]}"; do
        if found=$(find_python "$version"); then
            echo "$version $found"
        else
            missing+=("$version")
        fi
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo ".ci/pythons.sh: no usable Python ${missing[*]} (with venv and ensurepip): looked in" \
            "\$SAFEZMQ_PYTHON_3_XX, ${PYENV_ROOT:-$HOME/.pyenv}/versions, PATH and /usr/bin." \
            "Install it (pyenv install VERSION, or point SAFEZMQ_PYTHON_3_XX at one); CI tests" \
            "every supported version and will not skip one." >&2
        return 1
    fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    discover_pythons
fi
