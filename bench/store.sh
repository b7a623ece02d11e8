#!/usr/bin/env bash
# Store benchmark: the reference app's GET /orders/{id} as alice's agent
# (`assistant-demo-token`), served (a) on the in-process store (keys in
# SQLite, replay/denials in memory) and (b) on `--store redis://` (keys,
# sessions, replay keys, denial counters in a local redis-server this script
# starts). Same binary, same flags otherwise. App (and Redis) and load
# generator are pinned to different cores; rounds alternate so that machine
# noise hits both alike; only the ratio within this run counts.
#
# Usage: bench/store.sh [ROUNDS] [SECONDS] [CONNECTIONS]
# Env: SERVER_CPU (default 0), LOAD_CPU (default 1), REDIS_CPU (default: SERVER_CPU)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/common.sh
source bench/common.sh

ROUNDS=${1:-3}
SECS=${2:-5}
CONNS=${3:-32}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
REDIS_CPU=${REDIS_CPU:-$SERVER_CPU}
PORT_BASE=${PORT_BASE:-38180}
MEM_PORT=$PORT_BASE
REDIS_APP_PORT=$((PORT_BASE + 1))
REDIS_PORT=$((PORT_BASE + 2))
TOKEN=assistant-demo-token
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

need_wrk
if ! command -v redis-server >/dev/null; then
  echo "redis-server is not on PATH (Debian/Ubuntu: apt-get install -y redis-server)" >&2
  exit 1
fi

cargo build --release -q -p orders-example

start() { # name port cpu command...
  local name=$1 port=$2 cpu=$3; shift 3
  taskset -c "$cpu" "$@" >"$work/$name.log" 2>&1 &
  echo $! >"$work/$name.pid"
  wait_port "$port"
}

# run NAME URL HEADER -> appends "rps p50_us p99_us requests" to $work/NAME.txt
run() {
  local name=$1 url=$2 header=$3 out
  out=$(taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -H "$header" "$url")
  if echo "$out" | grep -q "Non-2xx"; then
    echo "$name: non-2xx answers:" >&2; echo "$out" >&2; exit 1
  fi
  local rps p50 p99 reqs
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  echo "$rps $(to_us "$p50") $(to_us "$p99") $reqs" >>"$work/$name.txt"
}

to_us() { # wrk prints 1.23ms / 456.00us / 1.2s
  awk -v v="$1" 'BEGIN { n=v+0; if (v ~ /us$/) print n; else if (v ~ /ms$/) print n*1000; else if (v ~ /s$/) print n*1000000; else print n }'
}

# An order of alice's for the agent to read; prints its id.
seed_order() { # port
  local base="http://127.0.0.1:$1" csrf
  csrf=$(curl -sf -c "$work/jar-$1" -H 'content-type: application/json' \
    -d '{"username":"alice","password":"alice-pass"}' "$base/login" | sed 's/.*"csrf_token":"\([^"]*\)".*/\1/')
  curl -sf -b "$work/jar-$1" -H "x-csrf-token: $csrf" -H 'content-type: application/json' \
    -d '{"item":"book","quantity":1,"address":"1 Main St"}' "$base/orders" |
    sed 's/.*"id":"\{0,1\}\([0-9A-Za-z-]*\)"\{0,1\},.*/\1/'
}

start redis-server "$REDIS_PORT" "$REDIS_CPU" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no
common=(--probe-threshold 0)
start memory "$MEM_PORT" "$SERVER_CPU" target/release/orders-example --addr "127.0.0.1:$MEM_PORT" \
  --db "$work/memory.db" --audit-log "$work/memory-audit.jsonl" "${common[@]}"
start redis "$REDIS_APP_PORT" "$SERVER_CPU" target/release/orders-example --addr "127.0.0.1:$REDIS_APP_PORT" \
  --db "$work/redis.db" --audit-log "$work/redis-audit.jsonl" --store "redis://127.0.0.1:$REDIS_PORT" "${common[@]}"
mem_order=$(seed_order "$MEM_PORT")
redis_order=$(seed_order "$REDIS_APP_PORT")

for round in $(seq "$ROUNDS"); do
  echo "round $round/$ROUNDS" >&2
  run memory "http://127.0.0.1:$MEM_PORT/orders/$mem_order" "Authorization: Bearer $TOKEN"
  run redis "http://127.0.0.1:$REDIS_APP_PORT/orders/$redis_order" "Authorization: Bearer $TOKEN"
done

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
col() { awk -v c="$2" '{print $c}' "$work/$1.txt" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

echo
echo "GET /orders/{id} as $TOKEN; $ROUNDS alternating rounds x ${SECS}s, $CONNS connections;"
echo "app on cpu $SERVER_CPU, redis-server on cpu $REDIS_CPU, wrk on cpu $LOAD_CPU; medians over rounds"
printf '%-26s %12s %10s %10s\n' "store" "req/s" "p50 us" "p99 us"
for v in memory redis; do
  case $v in
    memory) label="in-process (SQLite keys)";;
    redis) label="redis://";;
  esac
  printf '%-26s %12.0f %10.0f %10.0f\n' "$label" "$(col $v 1)" "$(col $v 2)" "$(col $v 3)"
done
printf '%-26s %12s %10s %10s\n' "ratio redis/in-process" \
  "$(ratio "$(col redis 1)" "$(col memory 1)")" "$(ratio "$(col redis 2)" "$(col memory 2)")" \
  "$(ratio "$(col redis 3)" "$(col memory 3)")"
echo
echo "per round (req/s p50us p99us requests):"
for v in memory redis; do sed "s/^/  $v: /" "$work/$v.txt"; done
