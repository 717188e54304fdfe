#!/usr/bin/env bash
# The programs the tests start or call that pip cannot install: `make test` (and so .ci/run) runs this first.
# Installs the missing ones from Debian's packages when it can (root, apt-get); otherwise names what to
# install. Under CI=true a program still missing is an error (its tests would fail); elsewhere their tests
# skip, saying so.
set -euo pipefail

missing_packages=()
missing_lines=()

# need <present?> <Debian package> <what needs it>
need() {
  if ! eval "$1" >/dev/null 2>&1; then
    missing_packages+=("$2")
    missing_lines+=("  $2: $3")
  fi
}

need 'command -v initdb || ls /usr/lib/postgresql/*/bin/initdb' postgresql \
  "PostgreSQL server binaries (every integration test starts its own cluster)"
need 'command -v chromium' chromium "the admin browser tests (Playwright drives the system Chromium)"
need 'command -v docker-compose' docker-compose "validating docker-compose.yml (docker-compose config, no engine)"
need 'command -v promtool' prometheus "checking and unit-testing the alerting rules, and the production test's Prometheus"

[ ${#missing_packages[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages the tests need: ${missing_packages[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing_packages[@]}" >/dev/null
  exit 0
fi

echo "The tests need programs this machine lacks, and this script cannot install them (it needs root and apt-get):"
printf '%s\n' "${missing_lines[@]}"
echo "Install them with: sudo apt-get install ${missing_packages[*]}"
if [ "${CI:-}" = true ]; then
  exit 1
fi
echo "Their tests will be skipped."
