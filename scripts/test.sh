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
# The console lists every test as it runs; the TRX files are read afterwards for the totals and skip reasons.
dotnet test Proxy.sln -c Release --logger "console;verbosity=normal" --logger trx --results-directory "$results" "$@"
status=$?

# Each test assembly writes one TRX file: count its results, and print every failed test (with the start of its
# message) and every skipped test (with its reason) just above the totals, where a shortened log still shows them.
read -r passed failed skipped < <(python3 - "$results" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
passed = failed = skipped = 0
for path in glob.glob(sys.argv[1] + "/*.trx"):
    for result in ET.parse(path).getroot().iterfind(".//t:UnitTestResult", ns):
        outcome = result.get("outcome")
        if outcome == "Passed":
            passed += 1
        elif outcome == "NotExecuted":
            skipped += 1
            message = result.find("t:Output/t:ErrorInfo/t:Message", ns)
            print(f"skipped: {result.get('testName')}: {message.text if message is not None else 'no reason given'}", file=sys.stderr)
        else:
            failed += 1
            message = result.find("t:Output/t:ErrorInfo/t:Message", ns)
            text = (message.text or "").strip().splitlines() if message is not None else []
            print(f"failed: {result.get('testName')}: {' '.join(text[:3])[:400] or 'no message'}", file=sys.stderr)
print(passed, failed, skipped)
PY
)
rm -rf "$results"
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; echo "dotnet test exited with $status"; fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
