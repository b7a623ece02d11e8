#!/usr/bin/env bash
# Latency benchmark at a fixed request rate (open loop), the way to read a
# p99: wrk (bench/load.sh) runs a closed loop at saturation, where every
# connection waits for the requests ahead of it, so its latencies track
# 1 / throughput plus the machine's noise. Here oha sends RATE requests a
# second whatever the answers' pace, and with --latency-correction counts
# each request from when it was due, not from when it could be sent.
#
# Variants: (a) bare, (a') a second bare server (control), (b) guarded with
# audit to a JSON-lines file, (b') guarded with a null sink, (d) the floor
# with audit to a JSON-lines file (examples/bench-server/src/floor.rs: the
# same sink behind the contract's least work); the same
# handler body and request bytes as bench/load.sh. Server pinned to core 0,
# oha to core 1, variants alternating each round.
#
# Usage: bench/latency.sh [ROUNDS] [SECONDS] [RATE] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/common.sh
source bench/common.sh

ROUNDS=${1:-5}
SECS=${2:-5}
RATE=${3:-30000}
CONNS=${4:-32}
PORT_BASE=38180
TOKEN=bench-agent-token
OHA_VERSION=1.16.0
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

oha=target/bench-tools/bin/oha
if ! [ -x "$oha" ]; then
  echo "installing oha $OHA_VERSION (cargo install)..." >&2
  cargo install -q oha --locked --version "$OHA_VERSION" --root target/bench-tools >&2
fi

cargo build --release -q -p bench-server

start() { # name port args...
  local name=$1 port=$2; shift 2
  taskset -c 0 target/release/bench-server "127.0.0.1:$port" "$@" >"$work/$name.log" 2>&1 &
  wait_port "$port"
}

# run NAME PORT -> appends "p50_us p99_us p99.9_us achieved_rps" to $work/NAME.txt
run() {
  taskset -c 1 "$oha" -z "${SECS}s" -q "$RATE" -c "$CONNS" --latency-correction --no-tui --output-format json \
    -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$2/orders/1" >"$work/out.json"
  python3 - "$work/out.json" >>"$work/$1.txt" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
s, p = d["summary"], d["latencyPercentiles"]
if s["successRate"] < 1.0:
    sys.exit(f"non-2xx or failed requests: success rate {s['successRate']}")
print(f'{p["p50"] * 1e6:.1f} {p["p99"] * 1e6:.1f} {p["p99.9"] * 1e6:.1f} {s["requestsPerSec"]:.0f}')
PY
}

start bare $PORT_BASE bare
start control $((PORT_BASE + 1)) bare
start guarded $((PORT_BASE + 2)) guarded "$work/audit.jsonl"
start null $((PORT_BASE + 3)) guarded-null
start floor $((PORT_BASE + 4)) floor "$work/floor.jsonl"

for round in $(seq "$ROUNDS"); do
  echo "round $round/$ROUNDS" >&2
  run bare $PORT_BASE
  run guarded $((PORT_BASE + 2))
  run null $((PORT_BASE + 3))
  run floor $((PORT_BASE + 4))
  run control $((PORT_BASE + 1))
done

python3 - "$work" "$RATE" "$ROUNDS" <<'PY'
import statistics, sys
work, rate, rounds = sys.argv[1], sys.argv[2], sys.argv[3]
rows = {v: [list(map(float, l.split())) for l in open(f"{work}/{v}.txt")] for v in ("bare", "control", "guarded", "null", "floor")}
labels = {"bare": "(a) bare axum", "control": "(a') bare again (control)",
          "guarded": "(b) guarded, audit to file", "null": "(b') guarded, null sink",
          "floor": "(d) floor, audit to file"}
med = lambda v, c: statistics.median(r[c] for r in rows[v])
print(f"\n{rate} requests a second, median of {rounds} rounds")
print(f"{'variant':30} {'achieved/s':>10} {'p50 us':>8} {'p99 us':>8} {'p99.9 us':>9} {'p99 vs bare':>12}")
for v in rows:
    print(f"{labels[v]:30} {med(v, 3):10.0f} {med(v, 0):8.0f} {med(v, 1):8.0f} {med(v, 2):9.0f} {med(v, 1) / med('bare', 1):12.3f}")
print("\npaired per round (against the bare run of the same round), median (range):   p50          p99")
for v in ("control", "guarded", "null", "floor"):
    def paired(c):
        r = sorted(a[c] / b[c] for a, b in zip(rows[v], rows["bare"]))
        return f"{statistics.median(r):.3f} ({r[0]:.3f}-{r[-1]:.3f})"
    print(f"  {labels[v]:30} {paired(0)}   {paired(1)}")
PY
