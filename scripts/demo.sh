#!/usr/bin/env bash
# `make demo`: build librasp, start the example app under it in block mode, send one benign
# request and the attacks, and show what the app answered and what the agent reported.
# Needs a Rust toolchain (its C linker compiles the app) and SQLite's runtime library, which
# scripts/install-deps.sh installs when missing; talks to the app with bash's /dev/tcp, so no
# HTTP client is required.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/target/demo
mkdir -p "$OUT/files"

./scripts/install-deps.sh --demo
echo "==> building librasp.so and rasp (release)"
cargo build --release --quiet -p librasp-agent -p rasp
cc -O1 -pthread -o "$OUT/app" examples/demo-app/app.c -l:libsqlite3.so.0
echo "Welcome to the notes app." > "$OUT/files/welcome.txt"
rm -f "$OUT/events.jsonl"
cat > "$OUT/policy.toml" <<POLICY
mode = "block"
[telemetry]
path = "$OUT/events.jsonl"
POLICY

echo "==> starting the example app under LD_PRELOAD=target/release/librasp.so (block mode)"
coproc APP { LD_PRELOAD="$ROOT/target/release/librasp.so" RASP_POLICY="$OUT/policy.toml" exec "$OUT/app" "$OUT/files"; }
trap 'kill $APP_PID 2>/dev/null || true' EXIT
read -r -t 10 _ PORT <&"${APP[0]}"

# GET <path>: prints the status line and the body.
get() {
    exec 3<>"/dev/tcp/127.0.0.1/$PORT"
    printf 'GET %s HTTP/1.1\r\nHost: demo\r\nConnection: close\r\n\r\n' "$1" >&3
    local response
    response=$(cat <&3)
    exec 3<&-
    printf '    %s\n' "$(head -1 <<<"$response" | tr -d '\r')"
    sed '1,/^\r$/d' <<<"$response" | sed 's/^/    | /'
}

show() {
    echo
    echo "--- $1"
    echo "    GET $2"
    get "$2"
}

show "benign request" "/greet?name=world"
show "attack: command injection" "/greet?name=world%3B%20cat%20%2Fetc%2Fhostname"
show "attack: path traversal" "/files?name=..%2F..%2F..%2F..%2Fetc%2Fhostname"
show "attack: SQL injection" "/search?q=%25%27%20OR%20%271%27%3D%271"
show "benign search" "/search?q=holiday"
show "benign file" "/files?name=welcome.txt"

sleep 0.5
echo
echo "==> events reported by librasp ($OUT/events.jsonl)"
"$ROOT/target/release/rasp" events "$OUT/events.jsonl"
