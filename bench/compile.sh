#!/usr/bin/env bash
# Compile cost of the macro: a crate with 100 guarded actions against the
# same crate with 100 plain axum handlers. Dependencies are built once;
# each round then times only the leaf crate, alternating the two, in two
# ways: a full build of the crate (CARGO_INCREMENTAL=0: every line the
# macro generates is compiled), and an incremental rebuild after a touch
# (what an edit-compile loop pays at least: mostly reloading the
# incremental cache, which grows with the amount of code).
#
# Usage: bench/compile.sh [ROUNDS] [ACTIONS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${1:-3}
N=${2:-100}
work="$root/target/compile-bench"
rm -rf "$work/ws"
mkdir -p "$work/ws/guarded/src" "$work/ws/plain/src"
cp "$root/Cargo.lock" "$work/ws/Cargo.lock"   # the same dependency versions

cat >"$work/ws/Cargo.toml" <<TOML
[workspace]
resolver = "2"
members = ["guarded", "plain"]
[workspace.dependencies]
guard-runtime = { path = "$root/guard-runtime" }
axum = { version = "0.8", default-features = false, features = ["json", "tokio", "http1", "query"] }
serde = { version = "1", features = ["derive"] }
TOML
for crate in guarded plain; do
  cat >"$work/ws/$crate/Cargo.toml" <<TOML
[package]
name = "gen-$crate"
version = "0.0.0"
edition = "2021"
publish = false
[dependencies]
guard-runtime.workspace = true
axum.workspace = true
serde.workspace = true
TOML
done

{
  echo 'use guard_runtime::{action, Actions, Authorized, Json, Resolvers, RolePolicy};'
  echo 'use guard_runtime::authn::{MemoryTokenStore, Tokens};'
  echo '#[derive(serde::Deserialize, serde::Serialize)] pub struct Input { pub name: String }'
  for i in $(seq "$N"); do
    echo "#[action(POST \"/items$i/{id}\", requires = \"items:write\", tenant = \"id\")]"
    echo "pub async fn action_$i(auth: Authorized, axum::extract::Path(id): axum::extract::Path<String>, Json(input): Json<Input>) -> String { format!(\"{} {id} {}\", auth.principal().id, input.name) }"
  done
  echo 'pub fn app(resolvers: Resolvers) -> axum::Router {'
  echo '    Actions::new(RolePolicy::new(), Tokens::new(MemoryTokenStore::new()), resolvers)'
  for i in $(seq "$N"); do echo "        .mount(action_$i)"; done
  echo '        .into_router(())'
  echo '}'
} >"$work/ws/guarded/src/lib.rs"

{
  echo 'use axum::{routing::post, Json, Router};'
  echo '#[derive(serde::Deserialize, serde::Serialize)] pub struct Input { pub name: String }'
  for i in $(seq "$N"); do
    echo "pub async fn action_$i(axum::extract::Path(id): axum::extract::Path<String>, Json(input): Json<Input>) -> String { format!(\"{id} {}\", input.name) }"
  done
  echo 'pub fn app() -> Router {'
  echo '    Router::new()'
  for i in $(seq "$N"); do echo "        .route(\"/items$i/{id}\", post(action_$i))"; done
  echo '}'
} >"$work/ws/plain/src/lib.rs"

cd "$work/ws"
export CARGO_TARGET_DIR="$work/target"
cargo build -q -p gen-guarded -p gen-plain   # dependencies, once

time_build() { # crate incremental(0|1) -> seconds
  touch "$1/src/lib.rs"
  local start end
  start=$(date +%s.%N)
  CARGO_INCREMENTAL=$2 cargo build -q -p "gen-$1"
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f\n", b - a }'
}

median() { sort -n "$1" | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
for incremental in 0 1; do
  CARGO_INCREMENTAL=$incremental cargo build -q -p gen-guarded -p gen-plain   # warm this mode
  : >"$work/guarded.txt"; : >"$work/plain.txt"
  for round in $(seq "$ROUNDS"); do
    time_build guarded $incremental >>"$work/guarded.txt"
    time_build plain $incremental >>"$work/plain.txt"
  done
  g=$(median "$work/guarded.txt"); p=$(median "$work/plain.txt")
  case $incremental in 0) mode="full build";; 1) mode="incremental, after touch";; esac
  printf '\n%s (median of %s)\n' "$mode" "$ROUNDS"
  printf '  %-32s %8s s\n' "$N guarded actions" "$g" "$N plain axum handlers" "$p"
  printf '  ratio guarded/plain: %.2f\n' "$(awk -v a="$g" -v b="$p" 'BEGIN { print a / b }')"
done
