#!/usr/bin/env bash
# Installs what the tests run, only when missing: Debian packages (a C compiler for the victim
# programs, Python 3, SQLite, the tools for network namespaces, headers to build the mysqlclient
# driver) and a project-local virtual environment (.venv) with the database drivers listed in
# shim-tests/requirements.txt. Idempotent and quiet when everything is present.
# `install-deps.sh --demo` installs only what `make demo` needs (a C compiler and SQLite).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
need() { command -v "$1" >/dev/null || missing+=("$2"); }
install_missing() {
    ((${#missing[@]})) || return 0
    echo "install-deps: installing ${missing[*]}"
    if [[ $(id -u) -ne 0 ]]; then
        echo "install-deps: need root to apt-get install ${missing[*]}" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

need cc gcc
ldconfig -p | grep 'libsqlite3.so.0 ' >/dev/null || missing+=(libsqlite3-0)
if [[ ${1:-} == --demo ]]; then
    install_missing
    exit 0
fi
need python3 python3
need sqlite3 sqlite3
need unshare util-linux
need ip iproute2
need pkg-config pkg-config
need chromium chromium
need rsyslogd rsyslog
[[ -d /usr/share/fonts/truetype/dejavu ]] || missing+=(fonts-dejavu-core)
[[ -e /usr/include/mariadb/mysql.h ]] || missing+=(libmariadb-dev)
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)

install_missing

# The Python database drivers, pinned; reinstalled only when the requirements change.
stamp=.venv/.requirements
if [[ ! -x .venv/bin/python ]] || ! cmp -s shim-tests/requirements.txt "$stamp"; then
    echo "install-deps: preparing .venv (shim-tests/requirements.txt)"
    python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check -r shim-tests/requirements.txt
    cp shim-tests/requirements.txt "$stamp"
fi
