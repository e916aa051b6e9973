#!/usr/bin/env bash
# Mailbox benchmark, loopback only, throw-away stores in a temporary folder:
#   1. durable accept over HTTP: wrk posts a GitHub push (installation 4242, region eu, as in bench/routing) to the
#      real proxy (src/Proxy.Host, drainer off, so only the accept is measured) at 32 connections and at 1, on
#      SQLite (synchronous=FULL), on Redis with AOF appendfsync everysec and on Redis with appendfsync always;
#      requests/s, p50, p99 and non-202 answers per pass;
#   2. drain (bench/Proxy.Mailbox.Bench): a backlog spread over the mailboxes, loaded into Redis (everysec) and
#      delivered to a region (Debian's nginx in its own process, answering 200): deliveries/s, and the process's RSS
#      sampled while it drains (peak, and at each quarter of the backlog, to show whether memory stays flat); then a
#      smaller SQLite drain.
# Usage: bench/mailbox/run.sh [seconds per accept pass=10] [backlog=1000000] [mailboxes=1000]
#   quick check: bench/mailbox/run.sh 3 20000; ROUNDS=N (default 3): accept rounds, each running every store once in
#   an order rotated per round; the report gives medians across rounds and the min-max of requests/s.
#   One proxy per store is started once and warmed for WARMUP seconds (default 20) before the first round: the .NET JIT
#   keeps recompiling hot code (tiered, profile-guided) for 15-20 s under load, and a pass on a fresh process measures
#   that compiler as much as the mailbox.
# The report is printed and written to bench/results/mailbox.md (not committed).
set -euo pipefail
cd "$(dirname "$0")/../.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
DURATION=${1:-10}
BACKLOG=${2:-1000000}
MAILBOXES=${3:-1000}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-20}
for n in "$DURATION" "$BACKLOG" "$MAILBOXES" "$ROUNDS" "$WARMUP"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { sed -n 10p "$0" | sed 's/^# //' >&2; exit 2; }
done
need() { command -v "$1" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }; }
need redis-server redis-server
need wrk wrk
need nginx nginx

echo "building src/Proxy.Host and bench/Proxy.Mailbox.Bench (Release)..."
dotnet build src/Proxy.Host -c Release -v q -nologo >/dev/null
dotnet build bench/Proxy.Mailbox.Bench -c Release -v q -nologo >/dev/null
commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- src bench 2>/dev/null || commit="$commit (with uncommitted changes)"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
tmp=$(mktemp -d)
redis_port=$(free_port)
redis_pid=""
declare -A proxy_pids=() proxy_ports=()
stop() { [ -n "$1" ] || return 0; kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
region_pid=""
cleanup() { for pid in "${proxy_pids[@]}"; do stop "$pid"; done; stop "$region_pid"; stop "$redis_pid"; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$tmp/redis" "$tmp/raw"
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync everysec \
  --maxmemory-policy noeviction --dir "$tmp/redis" --protected-mode no >"$tmp/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
rcli() { redis-cli -p "$redis_port" "$@" >/dev/null; }

start_proxy() { # $1: store, then its mailbox settings. Rate limits off: one load generator on 127.0.0.1 is one client.
  local store=$1 port
  shift
  port=$(free_port)
  dotnet src/Proxy.Host/bin/Release/net10.0/Proxy.Host.dll --ConfigDir="$PWD/bench/routing/config" \
    --urls="http://127.0.0.1:$port" --Logging:LogLevel:Default=Warning --RateLimits:Enabled=false \
    --Mailbox:DrainerEnabled=false --Mailbox:DataDir="$tmp/data-$store" "$@" >"$tmp/proxy-$store.log" 2>&1 &
  proxy_pids[$store]=$! proxy_ports[$store]=$port
  for _ in $(seq 1 150); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return 0
    kill -0 "${proxy_pids[$store]}" 2>/dev/null || break
    sleep 0.2
  done
  echo "error: the $store proxy is not ready; its log:" >&2; cat "$tmp/proxy-$store.log" >&2; exit 1
}

url_of() { echo "http://127.0.0.1:${proxy_ports[$1]}/extensions/github/webhook/"; }
export BODY='{"ref":"refs/heads/main","repository":{"id":1296269,"full_name":"octocat/Hello-World"},"installation":{"id":4242},"sender":{"login":"octocat"}}'
export CONTENT_TYPE=application/json GITHUB_EVENT=push
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u +'%Y-%m-%d %H:%M UTC')
run_start=$SECONDS
declare -A settings=(
  [sqlite]="--Mailbox:Store=Sqlite --Mailbox:Sqlite:Synchronous=Full"
  [redis-everysec]="--Mailbox:Store=Redis --Mailbox:Redis:ConnectionString=127.0.0.1:$redis_port"
  [redis-always]="--Mailbox:Store=Redis --Mailbox:Redis:ConnectionString=127.0.0.1:$redis_port"
)
stores=(sqlite redis-everysec redis-always)
prepare() { # $1: store: an empty Redis with the store's appendfsync
  rcli FLUSHALL
  rcli CONFIG SET appendfsync "$([ "$1" = redis-always ] && echo always || echo everysec)"
}
for store in "${stores[@]}"; do
  # shellcheck disable=SC2086 # the settings are words
  start_proxy "$store" ${settings[$store]}
  prepare "$store"
  url=$(url_of "$store")
  code=$(curl -s -o "$tmp/check.body" -w '%{http_code}' -X POST -H "Content-Type: $CONTENT_TYPE" -H "X-GitHub-Event: push" --data-binary "$BODY" "$url" || echo 000)
  [ "$code" = 202 ] || { echo "error: $store: the push was answered $code: $(cat "$tmp/check.body")" >&2; tail -20 "$tmp/proxy-$store.log" >&2; exit 1; }
  echo "warm-up: $store, $WARMUP s at 32 connections"
  wrk -t2 -c32 -d"${WARMUP}s" -s bench/routing/post.lua "$url" >/dev/null
done
for round in $(seq 1 "$ROUNDS"); do
  for i in "${!stores[@]}"; do
    store=${stores[$(((i + round - 1) % ${#stores[@]}))]} # the order rotates per round
    prepare "$store"
    url=$(url_of "$store")
    for connections in 32 1; do
      file="$tmp/raw/$store-c$connections-r$round.txt"
      wrk -t"$([ "$connections" = 1 ] && echo 1 || echo 2)" -c"$connections" -d"${DURATION}s" --latency -s bench/routing/post.lua "$url" >"$file"
      printf 'round %s/%s %-15s %2s connection(s) %10s req/s  p50 %-9s p99 %-9s%s\n' "$round" "$ROUNDS" "$store" "$connections" \
        "$(awk '/Requests\/sec/ {print $2}' "$file")" "$(awk '$1=="50%" {print $2}' "$file")" "$(awk '$1=="99%" {print $2}' "$file")" \
        "$(awk '/Non-2xx/ {printf "  NON-2XX %s", $NF}' "$file")"
    done
  done
done
for store in "${stores[@]}"; do stop "${proxy_pids[$store]}"; done
proxy_pids=()

# The drain's region: Debian's nginx in its own process (1 worker) answering 200, as the routing benchmark's upstreams.
region_port=$(free_port)
chmod 755 "$tmp" # nginx workers run as nobody and create their temp folders here
# shellcheck source=bench/nginx.sh
. bench/nginx.sh
{
  echo "worker_processes 1;"
  nginx_common region
  echo "http {"
  nginx_http_common region
  echo "  server { listen 127.0.0.1:$region_port; location / { return 200 '{\"ok\":true}'; } }"
  echo "}"
} >"$tmp/region.conf"
nginx -c "$tmp/region.conf" -g 'daemon off;' &
region_pid=$!
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$region_port/" && break; sleep 0.05; done

echo "drain: $BACKLOG entries over $MAILBOXES mailboxes (Redis appendfsync everysec), region nginx on port $region_port..."
rcli FLUSHALL
rcli CONFIG SET appendfsync everysec
timeout 1800 dotnet bench/Proxy.Mailbox.Bench/bin/Release/net10.0/Proxy.Mailbox.Bench.dll "127.0.0.1:$redis_port" "$BACKLOG" "$MAILBOXES" \
  "http://127.0.0.1:$region_port/" | tee "$tmp/drain.md"

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p bench/results
RAW="$tmp/raw" DRAIN="$tmp/drain.md" OUT=bench/results/mailbox.md STARTED="$started" COMMIT="$commit" \
  LOAD_BEFORE="$load_before" LOAD_AFTER="$load_after" ELAPSED=$((SECONDS - run_start)) \
  ROUNDS="$ROUNDS" WARMUP="$WARMUP" COMMAND="ROUNDS=$ROUNDS WARMUP=$WARMUP bench/mailbox/run.sh $DURATION $BACKLOG $MAILBOXES" REDIS="$(redis-server --version | grep -o 'v=[^ ]*')" python3 - <<'PY'
import os, re
env = os.environ

def ms(v):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", v)
    return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[m.group(2)]

def fmt(v):
    return f"{v * 1000:.0f} µs" if v < 1 else f"{v:.2f} ms"

lines = ["# Mailbox benchmark", "",
         f"- {env['STARTED']}, commit {env['COMMIT']}, `{env['COMMAND']}`, {int(env['ELAPSED']) // 60} min {int(env['ELAPSED']) % 60} s in all;"
         f" {os.cpu_count()} cores, load average {env['LOAD_BEFORE']} before, {env['LOAD_AFTER']} after; redis-server {env['REDIS'][2:]}.",
         "- Accept: wrk posts a GitHub push (installation 4242, region eu) to the proxy, drainer off; every answer must be 202."
         f" One proxy per store, started once and warmed for"
         f" {env['WARMUP']} s at 32 connections; {env['ROUNDS']} rounds, each running every store once (order rotated per round); medians across rounds, requests/s also as min–max.",
         "", "| store | connections | requests/s | min–max | p50 | p99 | non-2xx / socket errors |", "|---|---|---|---|---|---|---|"]
names = {"sqlite": "SQLite, synchronous=FULL", "redis-everysec": "Redis, AOF appendfsync everysec", "redis-always": "Redis, AOF appendfsync always"}
def median(values):
    values = sorted(values)
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2
for store in names:
    for c in (32, 1):
        rps, p50, p99, non2xx, errors = [], [], [], 0, 0
        for r in range(1, int(env["ROUNDS"]) + 1):
            text = open(f"{env['RAW']}/{store}-c{c}-r{r}.txt").read()
            rps.append(float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)))
            p50.append(ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1)))
            p99.append(ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1)))
            non2xx += int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", text)) else 0
            errors += sum(int(x) for x in m.groups()) if (m := re.search(r"connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)) else 0
        lines.append(f"| {names[store]} | {c} | {median(rps):,.0f} | {min(rps):,.0f}–{max(rps):,.0f} | {fmt(median(p50))} | {fmt(median(p99))} | {non2xx} / {errors} |")
lines += ["", "Targets: accept at 32 connections >= 0.8x the routed row of bench/routing/run.sh on the same machine;"
          " p99 <= 5 ms at 1 connection.", "", open(env["DRAIN"]).read()]
open(env["OUT"], "w").write("\n".join(lines))
print("\n".join(lines))
PY
