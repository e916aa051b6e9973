#!/usr/bin/env bash
# Routing benchmark: in one run, side by side, with wrk on loopback:
#   direct     - straight to a region stub
#   plain-yarp - a plain YARP route to the same stub (no webhook routing)
#   routed     - a Slack slash command routed to its first region (the same stub)
#   fan-out-3  - a Slack block action fanned out to 3 region stubs
#   mailbox-accept - a GitHub push accepted into the SQLite mailbox (202 after the durable write; drained meanwhile)
# Passes: saturated (32 connections: throughput) and light load (1 connection: latency without queueing), with
# stubs that answer at once; then both again with stubs that take REGION_DELAY_MS (default 5) per request, as a
# real silo does, so that fan-out legs can overlap instead of competing for the same two cores.
# Usage: bench/routing/run.sh [seconds per scenario] [connection counts...]
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-10}
shift || true
PASSES=("${@:-32 1}")
read -r -a PASSES <<<"${PASSES[*]}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

dotnet build src/Proxy.Host -c Release -v q -nologo >/dev/null
out=$(mktemp -d)
proxy=""
trap 'kill $proxy 2>/dev/null || true; rm -rf "$out"' EXIT
start_proxy() { # $1: silo answer delay in ms
  [ -n "$proxy" ] && { kill "$proxy"; wait "$proxy" 2>/dev/null || true; }
  rm -rf "$out/data"
  dotnet src/Proxy.Host/bin/Release/net10.0/Proxy.Host.dll --demo --ConfigDir="$PWD/bench/routing/config" \
    --urls=http://127.0.0.1:8080 --Demo:Silos:ap=http://127.0.0.1:5104 --Logging:LogLevel:Default=Warning \
    --Demo:AnswerDelayMs="$1" --Mailbox:DataDir="$out/data" >"$out/proxy.log" 2>&1 &
  proxy=$!
  for _ in $(seq 1 100); do curl -sf http://127.0.0.1:8080/readyz >/dev/null && break; sleep 0.2; done
}

form='team_id=TBENCH&command=%2Fsentry&text=help'
action="payload=$(python3 -c 'import json,urllib.parse;print(urllib.parse.quote(json.dumps({"type":"block_actions","team":{"id":"TFAN"},"actions":[{"type":"button","value":"resolve"}]})))')"
declare -A urls=(
  [direct]="http://127.0.0.1:5102/extensions/slack/commands/"
  [plain-yarp]="http://127.0.0.1:8080/plain/eu/extensions/slack/commands/"
  [routed]="http://127.0.0.1:8080/extensions/slack/commands/"
  [fan-out-3]="http://127.0.0.1:8080/extensions/slack/action/"
  [mailbox-accept]="http://127.0.0.1:8080/extensions/github/webhook/"
)
push='{"ref":"refs/heads/main","repository":{"id":1296269,"full_name":"octocat/Hello-World"},"installation":{"id":4242},"sender":{"login":"octocat"}}'
declare -A bodies=([direct]="$form" [plain-yarp]="$form" [routed]="$form" [fan-out-3]="$action" [mailbox-accept]="$push")
declare -A types=([mailbox-accept]=application/json)
declare -A events=([mailbox-accept]=push)

results="bench/results"
mkdir -p "$results"
: >"$results/routing.md"
for DELAY in 0 "${REGION_DELAY_MS:-5}"; do
start_proxy "$DELAY"
for CONNECTIONS in "${PASSES[@]}"; do
  table="$out/table-$CONNECTIONS.md"
  printf '| scenario | requests/s | p50 | p99 |\n|---|---|---|---|\n' >"$table"
  for name in direct plain-yarp routed fan-out-3 mailbox-accept; do
    export BODY="${bodies[$name]}" CONTENT_TYPE="${types[$name]:-application/x-www-form-urlencoded}" GITHUB_EVENT="${events[$name]:-}"
    # Warm up (JIT, connection pools), then measure.
    wrk -t1 -c"$CONNECTIONS" -d3s -s bench/routing/post.lua "${urls[$name]}" >/dev/null
    wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s bench/routing/post.lua "${urls[$name]}" >"$out/$name.txt"
    rps=$(awk '/Requests\/sec/ {print $2}' "$out/$name.txt")
    p50=$(awk '$1=="50%" {print $2}' "$out/$name.txt")
    p99=$(awk '$1=="99%" {print $2}' "$out/$name.txt")
    non2xx=$(awk '/Non-2xx/ {print $4}' "$out/$name.txt")
    [ -n "$non2xx" ] && echo "warning: $name had $non2xx non-2xx answers" >&2
    printf '| %s | %s | %s | %s |\n' "$name" "$rps" "$p50" "$p99" >>"$table"
    echo "delay=${DELAY}ms c=$CONNECTIONS $name: $rps req/s, p50 $p50, p99 $p99"
  done
  python3 - "$table" <<'PY'
import re, sys
rows = {}
for line in open(sys.argv[1]):
    cells = [c.strip() for c in line.strip().strip('|').split('|')]
    if len(cells) == 4 and cells[0] not in ('scenario', '---'):
        rows[cells[0]] = cells
def ms(v):
    m = re.match(r'([\d.]+)(us|ms|s)', v)
    n = float(m.group(1)); return n / 1000 if m.group(2) == 'us' else n * 1000 if m.group(2) == 's' else n
rps = {k: float(v[1]) for k, v in rows.items()}
with open(sys.argv[1], 'a') as f:
    f.write(f"\nrouted / plain-yarp throughput: {rps['routed'] / rps['plain-yarp']:.2f}x (target >= 0.85x); ")
    f.write(f"plain-yarp / direct: {rps['plain-yarp'] / rps['direct']:.2f}x; ")
    f.write(f"fan-out-3 p50 / routed p50: {ms(rows['fan-out-3'][2]) / ms(rows['routed'][2]):.2f}x (target <= 1.25x)\n")
PY
  { echo "### $CONNECTIONS connection(s), silos answering after ${DELAY} ms, ${DURATION} s per scenario"; echo; cat "$table"; echo; } >>"$results/routing.md"
done
done
cat "$results/routing.md"
