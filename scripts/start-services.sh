#!/usr/bin/env bash
# Starts the local PostgreSQL and MariaDB servers when they are installed but not running.
# Database tests skip, with a clear message, only when a server truly cannot be started.
set -uo pipefail

if command -v pg_ctlcluster >/dev/null && [[ -d /etc/postgresql ]]; then
    for version in $(ls /etc/postgresql); do
        if ! pg_ctlcluster "$version" main status >/dev/null 2>&1; then
            echo "start-services: starting PostgreSQL $version"
            pg_ctlcluster --skip-systemctl-redirect "$version" main start || echo "start-services: PostgreSQL failed to start" >&2
        fi
    done
fi

if [[ -x /usr/sbin/mariadbd ]] && ! pgrep -x mariadbd >/dev/null; then
    echo "start-services: starting MariaDB"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    for _ in $(seq 1 30); do
        mariadb -uroot -e 'select 1' >/dev/null 2>&1 && break
        sleep 1
    done
fi
exit 0
