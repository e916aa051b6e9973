#!/usr/bin/env bash
# Runs every test of the solution. Installs what the tests need (redis-server) when it is missing,
# and ends with one line: "tests: N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null 2>&1; then
  echo "redis-server is missing: installing it with apt-get"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq redis-server >/dev/null \
    || { echo "could not install redis-server"; exit 1; }
fi
# The tests start their own redis-server processes on free ports; a packaged service is not needed.

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
results=$(mktemp -d)
# Console at normal verbosity prints each test and the reason of every skipped one.
dotnet test Proxy.sln -c Release --logger "console;verbosity=normal" --logger trx --results-directory "$results" "$@"
status=$?

# Each test assembly writes one TRX file whose <Counters> element holds its totals.
read -r passed failed skipped < <(cat "$results"/*.trx 2>/dev/null | grep -o '<Counters [^>]*>' \
  | sed -E 's/.* passed="([0-9]+)" failed="([0-9]+)".* notExecuted="([0-9]+)".*/\1 \2 \3/' \
  | awk '{p+=$1; f+=$2; s+=$3} END {print p+0, f+0, s+0}')
rm -rf "$results"
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; echo "dotnet test exited with $status"; fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
