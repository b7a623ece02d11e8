#!/usr/bin/env bash
# The project's test command: installs what the tests need from Debian's
# packages when it is missing, then runs every test of the workspace:
#
#   cargo test --workspace --all-features "$@"
#
# `./test.sh --install-only` installs and stops (CI, a new container).
# Any other arguments go to `cargo test`: `./test.sh -p orders-example`.
# Nothing is skipped for a missing service: the Redis and PostgreSQL tests
# start their own servers from these packages, and fail if they cannot.
set -euo pipefail
cd "$(dirname "$0")"

# What the tests need: one line per Debian package, with the test that
# shows it is already there.
needs=(
  # package      present when
  "redis-server  command -v redis-server"
  "postgresql    compgen -G '/usr/lib/postgresql/*/bin/initdb'"
  # The orders app's browser tests (examples/orders/tests/browser):
  # headless Chromium and its WebDriver server.
  "chromium        command -v chromium"
  "chromium-driver command -v chromedriver"
)

# Set up before a package is installed, by package name (optional).
before_install_postgresql() {
  # The tests run their own initdb/postgres; a default cluster would only
  # start a server nobody uses.
  mkdir -p /etc/postgresql-common/createcluster.d
  echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.d/guard-tests.conf
}

install_missing() {
  local line package check missing=()
  for line in "${needs[@]}"; do
    read -r package check <<<"$line"
    eval "$check" >/dev/null 2>&1 || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "test.sh: installing ${missing[*]} (Debian packages)" >&2
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "test.sh: the tests need ${missing[*]}: install them (needs root and apt-get)" >&2
    exit 1
  fi
  for package in "${missing[@]}"; do
    if declare -F "before_install_$package" >/dev/null; then "before_install_$package"; fi
  done
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_missing
if [ "${1:-}" = "--install-only" ]; then
  exit 0
fi
exec cargo test --workspace --all-features "$@"
