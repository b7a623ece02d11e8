#!/usr/bin/env bash
# Login memory: starts the release app, fires N logins at it at once
# (wrong passwords: each one runs argon2, 19 MiB, like a real login), and
# reports the app's peak resident memory (VmHWM) and how the logins were
# answered (401: checked; 503: every hashing slot taken, come back later).
# Not a test: a figure for the README and for reviews. Talks only to
# 127.0.0.1.
#
# Usage: bench/login_memory.sh [LOGINS] [PORT]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/common.sh
source bench/common.sh

LOGINS=${1:-500}
PORT=${2:-38180}
work=$(mktemp -d)
app_pid=
cleanup() {
  if [ -n "$app_pid" ]; then kill "$app_pid" 2>/dev/null || true; wait "$app_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --release -q -p orders-example
target/release/orders-example --addr "127.0.0.1:$PORT" --db "$work/orders.db" --probe-threshold 0 \
  >"$work/stdout" 2>"$work/stderr" &
app_pid=$!
wait_port "$PORT"

vm() { awk -v key="$1:" '$1 == key { print $2 }' "/proc/$app_pid/status"; }
echo "before: VmRSS $(vm VmRSS) kB, VmHWM $(vm VmHWM) kB"

# One curl per login, all started before any is waited for. Each writes its
# status code; xargs -P runs them all at once.
started=$(date +%s%N)
seq "$LOGINS" | xargs -P "$LOGINS" -I{} curl -s -o /dev/null -w '%{http_code}\n' --max-time 60 \
  -H 'content-type: application/json' -d '{"username":"alice","password":"wrong-{}"}' \
  "http://127.0.0.1:$PORT/login" >"$work/codes"
took_ms=$(( ($(date +%s%N) - started) / 1000000 ))

echo "$LOGINS logins in ${took_ms} ms: $(sort "$work/codes" | uniq -c | awk '{ printf "%s x %s, ", $1, $2 }')"
echo "peak RSS (VmHWM): $(vm VmHWM) kB on $(nproc) cores"
