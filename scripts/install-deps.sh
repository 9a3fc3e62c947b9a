#!/usr/bin/env bash
# Installs what the shim tests run, from Debian packages, only when missing: a C compiler for
# the victim programs and Python 3 for the Python victim app. Idempotent; quiet when all present.
set -euo pipefail

missing=()
command -v cc >/dev/null || missing+=(gcc libc6-dev)
command -v python3 >/dev/null || missing+=(python3)
command -v unshare >/dev/null || missing+=(util-linux)
command -v ip >/dev/null || missing+=(iproute2)
command -v sqlite3 >/dev/null || missing+=(sqlite3)
[[ -e /usr/lib/x86_64-linux-gnu/libsqlite3.so.0 || -e /usr/lib/aarch64-linux-gnu/libsqlite3.so.0 ]] || missing+=(libsqlite3-0)

if ((${#missing[@]})); then
    echo "install-deps: installing ${missing[*]}"
    if [[ $(id -u) -ne 0 ]]; then
        echo "install-deps: need root to apt-get install ${missing[*]}" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
