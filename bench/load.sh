#!/usr/bin/env bash
# Load benchmark: the same handler body served (a) bare, (b) guarded with
# audit to a JSON-lines file, (b') guarded with audit to a null sink, and
# (c) the reference app's GET /orders/{id} as alice's agent; and (d), (d')
# the floor: the same body behind only the work the contract requires,
# written by hand (examples/bench-server/src/floor.rs), and (d'') less
# than the contract allows (no allocation for the record, two clock reads,
# records dropped unwritten); and (a') a second
# bare server, run last in each round: a control whose ratios to (a) show
# how far this machine's noise alone moves them; (e) guarded with a
# durable allow (each batch fsynced before the body runs; its records per
# sync are printed) and (f) guarded with the hash-chained log; and (g) the
# same request as (c), written by hand as plain axum + sqlx over the same
# SQLite file (examples/bench-server/src/bin/reference-orders.rs). Server and
# load generator are pinned to different cores; rounds alternate so that
# machine noise hits every variant alike; only ratios within this run count.
#
# Usage: bench/load.sh [ROUNDS] [SECONDS] [CONNECTIONS]
# AUDIT_DIR=/dev/shm bench/load.sh ... puts (b)'s audit file on tmpfs, to
# tell the guard's cost from the file system's.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/common.sh
source bench/common.sh

ROUNDS=${1:-3}
SECS=${2:-5}
CONNS=${3:-32}
SERVER_CPU=0
LOAD_CPU=1
PORT_BASE=${PORT_BASE:-38080} # another port range when two runs share a machine
TOKEN=bench-agent-token
work=$(mktemp -d)
audit_dir=$(mktemp -d -p "${AUDIT_DIR:-$work}")
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work" "$audit_dir"' EXIT

need_wrk

cargo build --release -q -p bench-server -p orders-example --bins

start() { # name port command...
  local name=$1 port=$2; shift 2
  taskset -c "$SERVER_CPU" "$@" >"$work/$name.log" 2>&1 &
  echo $! >"$work/$name.pid"
  wait_port "$port"
}

stop() { kill "$(cat "$work/$1.pid")" 2>/dev/null || true; wait "$(cat "$work/$1.pid")" 2>/dev/null || true; }

# CPU time the server NAME has used so far (all its threads), in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$(cat "$work/$1.pid")/stat"; }

# run NAME URL [HEADER] -> appends "rps p50_us p99_us requests cpu_us_per_request"
# to $work/NAME.txt. The server's CPU time per request does not count time
# the machine's other tenants took from its core, which req/s does.
run() {
  local name=$1 url=$2 header=${3:-}
  local out ticks_before
  ticks_before=$(cpu_ticks "$name")
  if [ -n "$header" ]; then
    out=$(taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -H "$header" "$url")
  else
    out=$(taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${SECS}s" --latency "$url")
  fi
  if echo "$out" | grep -q "Non-2xx"; then
    echo "$name: non-2xx answers:" >&2; echo "$out" >&2; exit 1
  fi
  local rps p50 p99 reqs
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  local cpu_us
  cpu_us=$(awk -v t="$(($(cpu_ticks "$name") - ticks_before))" -v hz="$(getconf CLK_TCK)" -v n="$reqs" \
    'BEGIN { printf "%.3f", t / hz * 1e6 / n }')
  echo "$rps $(to_us "$p50") $(to_us "$p99") $reqs $cpu_us" >>"$work/$name.txt"
}

to_us() { # wrk prints 1.23ms / 456.00us / 1.2s
  awk -v v="$1" 'BEGIN { n=v+0; if (v ~ /us$/) print n; else if (v ~ /ms$/) print n*1000; else if (v ~ /s$/) print n*1000000; else print n }'
}

start bare $((PORT_BASE)) target/release/bench-server 127.0.0.1:$((PORT_BASE)) bare
start guarded $((PORT_BASE+1)) target/release/bench-server 127.0.0.1:$((PORT_BASE+1)) guarded "$audit_dir/audit.jsonl"
start null $((PORT_BASE+2)) target/release/bench-server 127.0.0.1:$((PORT_BASE+2)) guarded-null
start control $((PORT_BASE+6)) target/release/bench-server 127.0.0.1:$((PORT_BASE+6)) bare
start floor $((PORT_BASE+4)) target/release/bench-server 127.0.0.1:$((PORT_BASE+4)) floor "$audit_dir/floor.jsonl"
start floornull $((PORT_BASE+5)) target/release/bench-server 127.0.0.1:$((PORT_BASE+5)) floor-null
start durable $((PORT_BASE+8)) target/release/bench-server 127.0.0.1:$((PORT_BASE+8)) guarded-durable "$audit_dir/durable.jsonl"
start chained $((PORT_BASE+9)) target/release/bench-server 127.0.0.1:$((PORT_BASE+9)) guarded-chained "$audit_dir/chained.jsonl"
start floormin $((PORT_BASE+7)) target/release/bench-server 127.0.0.1:$((PORT_BASE+7)) floor-min-null
start orders $((PORT_BASE+3)) target/release/orders-example --addr 127.0.0.1:$((PORT_BASE+3)) --db "$work/orders.db" --audit-log "$work/orders-audit.jsonl" --probe-threshold 0

# The hand-written reference app, on the orders app's database file.
start reference $((PORT_BASE+10)) target/release/reference-orders 127.0.0.1:$((PORT_BASE+10)) "$work/orders.db" "$work/reference-audit.jsonl"

# An order of alice's for the agent to read.
csrf=$(curl -s -c "$work/jar" -H 'content-type: application/json' -d '{"username":"alice","password":"alice-pass"}' "http://127.0.0.1:$((PORT_BASE+3))/login" | sed 's/.*"csrf_token":"\([^"]*\)".*/\1/')
order=$(curl -s -b "$work/jar" -H "x-csrf-token: $csrf" -H 'content-type: application/json' -d '{"item":"book","quantity":1,"address":"1 Main St"}' "http://127.0.0.1:$((PORT_BASE+3))/orders" | sed 's/.*"id":"\{0,1\}\([0-9A-Za-z-]*\)"\{0,1\},.*/\1/')

# One run of variant $1.
run_variant() {
  case $1 in
    bare) run bare "http://127.0.0.1:$((PORT_BASE))/orders/1" "Authorization: Bearer $TOKEN" ;;
    guarded) run guarded "http://127.0.0.1:$((PORT_BASE+1))/orders/1" "Authorization: Bearer $TOKEN" ;;
    null) run null "http://127.0.0.1:$((PORT_BASE+2))/orders/1" "Authorization: Bearer $TOKEN" ;;
    floor) run floor "http://127.0.0.1:$((PORT_BASE+4))/orders/1" "Authorization: Bearer $TOKEN" ;;
    floornull) run floornull "http://127.0.0.1:$((PORT_BASE+5))/orders/1" "Authorization: Bearer $TOKEN" ;;
    floormin) run floormin "http://127.0.0.1:$((PORT_BASE+7))/orders/1" "Authorization: Bearer $TOKEN" ;;
    orders) run orders "http://127.0.0.1:$((PORT_BASE+3))/orders/$order" "Authorization: Bearer assistant-demo-token" ;;
    durable) run durable "http://127.0.0.1:$((PORT_BASE+8))/orders/1" "Authorization: Bearer $TOKEN" ;;
    chained) run chained "http://127.0.0.1:$((PORT_BASE+9))/orders/1" "Authorization: Bearer $TOKEN" ;;
    control) run control "http://127.0.0.1:$((PORT_BASE+6))/orders/1" "Authorization: Bearer $TOKEN" ;;
    reference) run reference "http://127.0.0.1:$((PORT_BASE+10))/orders/$order" "Authorization: Bearer assistant-demo-token" ;;
  esac
}

# The same request bytes for every variant but (c): bare ignores the
# header. Each round starts one variant later than the one before, so no
# variant always follows the same one (the control, say, always after the
# SQLite-heavy orders app).
variants=(bare guarded null durable chained floor floornull floormin orders reference control)
# Warm every server up first: one second each, kept apart from the rounds
# (its requests still count toward the audit check below).
for v in "${variants[@]}"; do
  SECS=1 run_variant "$v"
  mv "$work/$v.txt" "$work/$v.warm"
done
for round in $(seq "$ROUNDS"); do
  echo "round $round/$ROUNDS" >&2
  for i in "${!variants[@]}"; do
    run_variant "${variants[$(((i + round - 1) % ${#variants[@]}))]}"
  done
done

# Audit completeness: stop the guarded server (it flushes on the way out is
# not needed: the sink writes each batch as it comes), then count lines.
sleep 1
served=$(cat "$work/guarded.warm" "$work/guarded.txt" | awk '{s+=$4} END {print s}')
lines=$(wc -l <"$audit_dir/audit.jsonl")
floor_served=$(cat "$work/floor.warm" "$work/floor.txt" | awk '{s+=$4} END {print s}')
floor_lines=$(wc -l <"$audit_dir/floor.jsonl")

label() { # variant -> its name in the tables
  case $1 in
    bare) echo "(a) bare axum" ;;
    control) echo "(a') bare again (control)" ;;
    guarded) echo "(b) guarded, audit to file" ;;
    null) echo "(b') guarded, audit to null sink" ;;
    floor) echo "(d) floor, audit to file" ;;
    floornull) echo "(d') floor, audit to null sink" ;;
    floormin) echo "(d'') below the floor, no audit" ;;
    orders) echo "(c) orders app, agent GET" ;;
    durable) echo "(e) guarded, durable allow" ;;
    chained) echo "(f) guarded, hash-chained log" ;;
    reference) echo "(g) hand-written app, agent GET" ;;
  esac
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
col() { awk -v c="$2" '{print $c}' "$work/$1.txt" | median; }

printf '\n%-34s %12s %10s %10s %14s %12s %14s\n' "variant (median of $ROUNDS rounds)" "req/s" "p50 us" "p99 us" \
  "req/s vs bare" "CPU us/req" "bare CPU/CPU"
bare_rps=$(col bare 1); bare_p99=$(col bare 3); bare_cpu=$(col bare 5)
for v in bare control guarded null durable chained floor floornull floormin orders reference; do
  label=$(label "$v")
  rps=$(col $v 1); p50=$(col $v 2); p99=$(col $v 3); cpu=$(col $v 5)
  printf '%-34s %12.0f %10.0f %10.0f %14.3f %12.2f %14.3f\n' "$label" "$rps" "$p50" "$p99" \
    "$(awk -v a="$rps" -v b="$bare_rps" 'BEGIN{print a/b}')" "$cpu" "$(awk -v a="$bare_cpu" -v b="$cpu" 'BEGIN{print a/b}')"
done
printf '\np99 guarded/bare: %.3f   p99 null/bare: %.3f   p99 control/bare: %.3f   (ratio of the medians)\n' \
  "$(awk -v a="$(col guarded 3)" -v b="$bare_p99" 'BEGIN{print a/b}')" \
  "$(awk -v a="$(col null 3)" -v b="$bare_p99" 'BEGIN{print a/b}')" \
  "$(awk -v a="$(col control 3)" -v b="$bare_p99" 'BEGIN{print a/b}')"

# Paired ratios: each round's variant against the bare run of the same
# round (seconds apart), then the median and range over rounds. Noise
# that lasts longer than a round cancels out of these.
paired() { # variant column [inverse] -> "median (min-max)"
  paste "$work/$1.txt" "$work/bare.txt" | awk -v c="$2" -v n=5 -v inv="${3:-}" '{print inv ? $(c + n) / $c : $c / $(c + n)}' | sort -n |
    awk '{a[NR]=$1} END {m = (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.3f (%.3f-%.3f)", m, a[1], a[NR]}'
}
printf '\npaired per round, median (range):   req/s vs bare         p99 vs bare           bare CPU/CPU\n'
for v in control guarded null durable chained floor floornull floormin; do
  label=$(label "$v")
  printf '  %-33s %s   %s   %s\n' "$label" "$(paired $v 1)" "$(paired $v 3)" "$(paired $v 5 inverse)"
done
# The targets relative to the floor and to the hand-written app, paired
# per round.
paired_to() { # variant base column [inverse] -> "median (min-max)"
  paste "$work/$1.txt" "$work/$2.txt" | awk -v c="$3" -v n=5 -v inv="${4:-}" '{print inv ? $(c + n) / $c : $c / $(c + n)}' | sort -n |
    awk '{a[NR]=$1} END {m = (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.3f (%.3f-%.3f)", m, a[1], a[NR]}'
}
# CPU a request over bare's, guard's against the floor's, per round.
over_bare() { # variant floor -> "median (min-max)" of (variant - bare) / (floor - bare)
  paste "$work/$1.txt" "$work/$2.txt" "$work/bare.txt" | awk '{print ($5 - $15) / ($10 - $15)}' | sort -n |
    awk '{a[NR]=$1} END {m = (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.3f (%.3f-%.3f)", m, a[1], a[NR]}'
}
printf '\ntargets, paired per round, median (range):\n'
printf '  (b) / (d)  req/s, file sink:        %s\n' "$(paired_to guarded floor 1)"
printf '  (b'"'"') / (d'"'"') req/s, null sink:       %s\n' "$(paired_to null floornull 1)"
printf '  CPU over bare, (b) / (d):           %s\n' "$(over_bare guarded floor)"
printf '  CPU over bare, (b'"'"') / (d'"'"'):         %s\n' "$(over_bare null floornull)"
printf '  (c) / (g)  req/s, orders app / hand-written: %s\n' "$(paired_to orders reference 1)"
printf '  (c) / (a)  req/s, orders app / bare:         %s\n' "$(paired_to orders bare 1)"
printf 'audit lines written by (b): %s, requests served by (b): %s\n' "$lines" "$served"
printf 'audit lines written by (d): %s, requests served by (d): %s\n' "$floor_lines" "$floor_served"
# (e)'s sink counts its syncs; the last count it printed covers the run.
sleep 1
durable_count=$(grep '^durable:' "$work/durable.log" | tail -1)
printf '(e) %s; records per sync: %s; (e) req/s vs (b): %s\n' "$durable_count" \
  "$(echo "$durable_count" | sed 's/.*syncs=\([0-9]*\) records=\([0-9]*\).*/\2 \1/' | awk '{ if ($2 > 0) printf "%.1f", $1 / $2; else print "n/a" }')" \
  "$(awk -v a="$(col durable 1)" -v b="$(col guarded 1)" 'BEGIN{printf "%.3f", a/b}')"
printf '(f) chained req/s vs (b): %s\n' "$(awk -v a="$(col chained 1)" -v b="$(col guarded 1)" 'BEGIN{printf "%.3f", a/b}')"
