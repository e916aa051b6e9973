#!/usr/bin/env bash
# Usage: bench/routing/run.sh [seconds per scenario] [rounds] [connection counts...]
#   defaults: 5 s, 5 rounds, passes at 32 and 1 connections: about 6 1/2 minutes in all (5 s x 6 scenarios x 5 rounds x
#   2 passes, plus a 5 s warm-up per scenario (WARMUP=N), the build, and the mailbox drain waits).
# Environment: REGION_DELAY_MS=N adds passes where the upstream regions answer after N ms (nginx echo_sleep, from
#   Debian's libnginx-mod-http-echo, installed when missing); it doubles the run. PIN=1 gives wrk and the upstream
#   nginx CPU 0 and the proxy under test CPU 1 (nginx proxy_pass then runs 1 worker); the default pins nothing.
#
# Routing benchmark, every scenario in the same run against the same upstream: Debian's nginx in its own process
# (1 worker) serving control and the regions ap, eu, us on loopback, each answering 200 with a small JSON body.
#   direct           - wrk straight to the eu upstream
#   nginx-proxy_pass - a second nginx (worker_processes auto) proxying /plain/eu/ to the eu upstream, keep-alive pool
#   plain-yarp       - the proxy's plain YARP route /plain/eu/ to the same upstream (no webhook routing)
#   routed           - a Slack slash command routed to its first region (eu)
#   fan-out-3        - a Slack block action fanned out to ap, eu and us; the first answer is returned
#   mailbox-accept   - a GitHub push stored in the SQLite mailbox (202); the drainer delivers it to eu, and the next
#                      scenario starts once the mailbox is empty again
# Each round runs every scenario once, in an order rotated per round; the report gives medians across rounds.
set -euo pipefail
cd "$(dirname "$0")/../.."
usage() { sed -n 2p "$0" | sed 's/^# //' >&2; exit 2; }
DURATION=${1:-5}
ROUNDS=${2:-5}
shift 2 || shift $# || true
PASSES=("$@")
[ ${#PASSES[@]} -gt 0 ] || PASSES=(32 1)
for n in "$DURATION" "$ROUNDS" "${PASSES[@]}"; do [[ "$n" =~ ^[1-9][0-9]*$ ]] || usage; done
DELAY_MS=${REGION_DELAY_MS:-0}
[[ "$DELAY_MS" =~ ^[0-9]+$ ]] || usage
PIN=${PIN:-0}
# Per scenario before the first round (WARMUP=N to change): the proxy's four scenarios give its JIT about 20 s of load to
# finish recompiling hot code (tiered, profile-guided), which otherwise lands in the first rounds.
WARMUP=${WARMUP:-5}
[[ "$WARMUP" =~ ^[1-9][0-9]*$ ]] || usage
PROXY_PORT=8080 NGINX_PROXY_PORT=5200
declare -A UPSTREAM_PORTS=([control]=5101 [eu]=5102 [us]=5103 [ap]=5104)
SCENARIOS=(direct nginx-proxy_pass plain-yarp routed fan-out-3 mailbox-accept)

need() { command -v "$1" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }; }
need wrk wrk
need nginx nginx
echo_module=/usr/lib/nginx/modules/ngx_http_echo_module.so
if [ "$DELAY_MS" -gt 0 ] && [ ! -f "$echo_module" ]; then
  apt-get update -qq && apt-get install -y -qq libnginx-mod-http-echo >/dev/null
fi
for port in "$PROXY_PORT" "$NGINX_PROXY_PORT" "${UPSTREAM_PORTS[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "error: 127.0.0.1:$port is already in use (another benchmark or demo running?)" >&2; exit 1
  fi
done

echo "building src/Proxy.Host (Release)..."
dotnet build src/Proxy.Host -c Release -v q -nologo >/dev/null
commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- src 2>/dev/null || commit="$commit (with uncommitted changes under src/)"

tmp=$(mktemp -d)
chmod 755 "$tmp" # nginx workers run as nobody and create their temp folders here
proxy_pid="" upstream_pid="" nginx_proxy_pid=""
stop() { # $1: pid; SIGTERM, then wait for it, so its ports are free for the next start
  [ -n "$1" ] || return 0
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() { stop "$proxy_pid"; stop "$nginx_proxy_pid"; stop "$upstream_pid"; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$PIN" = 1 ]; then
  [ "$(nproc)" -ge 2 ] || { echo "error: PIN=1 needs 2 CPUs" >&2; exit 1; }
  load_cpu=(taskset -c 0) proxy_cpu=(taskset -c 1) nginx_proxy_workers=1
else
  load_cpu=() proxy_cpu=() nginx_proxy_workers=auto
fi

# shellcheck source=bench/nginx.sh
. bench/nginx.sh
write_upstream_config() { # $1: answer delay in ms
  {
    [ "$1" -gt 0 ] && echo "load_module $echo_module;"
    echo "worker_processes 1;"
    nginx_common upstream
    echo "http {"
    nginx_http_common upstream
    for region in control ap eu us; do
      if [ "$1" -gt 0 ]; then
        answer="echo_read_request_body; echo_sleep $(awk "BEGIN { print $1 / 1000 }"); echo '{\"answeredBy\":\"$region\"}';"
      else
        answer="return 200 '{\"answeredBy\":\"$region\"}';"
      fi
      echo "  server { listen 127.0.0.1:${UPSTREAM_PORTS[$region]}; location / { $answer } }"
    done
    echo "}"
  } >"$tmp/upstream.conf"
}
write_nginx_proxy_config() {
  {
    echo "worker_processes $nginx_proxy_workers;"
    nginx_common nginx-proxy
    echo "http {"
    nginx_http_common nginx-proxy
    cat <<EOF
  upstream eu { server 127.0.0.1:${UPSTREAM_PORTS[eu]}; keepalive 64; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:$NGINX_PROXY_PORT;
    location /plain/eu/ {
      proxy_pass http://eu/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
  } >"$tmp/nginx-proxy.conf"
}
wait_port() { # $1: port, $2: what
  for _ in $(seq 1 150); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "error: $2 did not listen on 127.0.0.1:$1" >&2; exit 1
}
start_upstream() { # $1: answer delay in ms
  stop "$upstream_pid"
  write_upstream_config "$1"
  nginx -t -q -c "$tmp/upstream.conf" -g 'daemon off;'
  "${load_cpu[@]}" nginx -c "$tmp/upstream.conf" -g 'daemon off;' &
  upstream_pid=$!
  for region in "${!UPSTREAM_PORTS[@]}"; do wait_port "${UPSTREAM_PORTS[$region]}" "upstream nginx ($region)"; done
}
start_nginx_proxy() {
  write_nginx_proxy_config
  nginx -t -q -c "$tmp/nginx-proxy.conf" -g 'daemon off;'
  "${proxy_cpu[@]}" nginx -c "$tmp/nginx-proxy.conf" -g 'daemon off;' &
  nginx_proxy_pid=$!
  wait_port "$NGINX_PROXY_PORT" "nginx proxy_pass"
}
admin_key="bench-$RANDOM$RANDOM"
start_proxy() {
  # One load generator on 127.0.0.1 is one client: the rate limits would measure themselves, not the proxy.
  "${proxy_cpu[@]}" dotnet src/Proxy.Host/bin/Release/net10.0/Proxy.Host.dll --ConfigDir="$PWD/bench/routing/config" \
    --urls="http://127.0.0.1:$PROXY_PORT" --Logging:LogLevel:Default=Warning --Mailbox:DataDir="$tmp/data" \
    --Mailbox:Admin:ApiKey="$admin_key" --RateLimits:Enabled=false >"$tmp/proxy.log" 2>&1 &
  proxy_pid=$!
  for _ in $(seq 1 150); do
    curl -sf "http://127.0.0.1:$PROXY_PORT/readyz" >/dev/null && return 0
    kill -0 "$proxy_pid" 2>/dev/null || break
    sleep 0.2
  done
  echo "error: the proxy is not ready; its log:" >&2; cat "$tmp/proxy.log" >&2; exit 1
}

form='team_id=TBENCH&command=%2Fsentry&text=help'
action="payload=$(python3 -c 'import json,urllib.parse;print(urllib.parse.quote(json.dumps({"type":"block_actions","team":{"id":"TFAN"},"actions":[{"type":"button","value":"resolve"}]})))')"
push='{"ref":"refs/heads/main","repository":{"id":1296269,"full_name":"octocat/Hello-World"},"installation":{"id":4242},"sender":{"login":"octocat"}}'
# The same path after the proxies' prefix removal, so direct, nginx-proxy_pass and plain-yarp serve the same request.
declare -A urls=(
  [direct]="http://127.0.0.1:${UPSTREAM_PORTS[eu]}/extensions/slack/commands/"
  [nginx-proxy_pass]="http://127.0.0.1:$NGINX_PROXY_PORT/plain/eu/extensions/slack/commands/"
  [plain-yarp]="http://127.0.0.1:$PROXY_PORT/plain/eu/extensions/slack/commands/"
  [routed]="http://127.0.0.1:$PROXY_PORT/extensions/slack/commands/"
  [fan-out-3]="http://127.0.0.1:$PROXY_PORT/extensions/slack/action/"
  [mailbox-accept]="http://127.0.0.1:$PROXY_PORT/extensions/github/webhook/"
)
declare -A bodies=([direct]="$form" [nginx-proxy_pass]="$form" [plain-yarp]="$form" [routed]="$form" [fan-out-3]="$action" [mailbox-accept]="$push")
declare -A types=([mailbox-accept]=application/json)
declare -A events=([mailbox-accept]=push)
# The upstream whose answer each scenario expects (fan-out: any region).
declare -A answers=([direct]=eu [nginx-proxy_pass]=eu [plain-yarp]=eu [routed]=eu [fan-out-3]='ap|eu|us' [mailbox-accept]=)
set_request() { # $1: scenario; post.lua reads these
  export BODY="${bodies[$1]}" CONTENT_TYPE="${types[$1]:-application/x-www-form-urlencoded}" GITHUB_EVENT="${events[$1]:-}"
}

check_scenarios() {
  for name in "${SCENARIOS[@]}"; do
    set_request "$name"
    local args=(-s -o "$tmp/check.body" -D "$tmp/check.headers" -w '%{http_code}' -X POST -H "Content-Type: $CONTENT_TYPE" --data-binary "$BODY")
    [ -n "$GITHUB_EVENT" ] && args+=(-H "X-GitHub-Event: $GITHUB_EVENT")
    code=$(curl "${args[@]}" "${urls[$name]}" || echo 000)
    body=$(cat "$tmp/check.body" 2>/dev/null || true)
    if [[ "$code" != 2* ]] || { [ -n "${answers[$name]}" ] && ! grep -Eq "\"answeredBy\":\"(${answers[$name]})\"" <<<"$body"; }; then
      echo "error: $name (${urls[$name]}) answered $code: $body" >&2
      [ -s "$tmp/proxy.log" ] && { echo "proxy log:" >&2; tail -20 "$tmp/proxy.log" >&2; }
      exit 1
    fi
    printf 'check %-17s %s %s\n' "$name" "$code" "$body"
  done
}

mailbox_depth() {
  curl -sf -H "X-Admin-Key: $admin_key" "http://127.0.0.1:$PROXY_PORT/admin/mailbox/mailboxes?limit=1000" |
    python3 -c 'import json,sys; print(sum(m["depth"] for m in json.load(sys.stdin)["mailboxes"]))'
}
wait_for_drain() { # prints the seconds the drainer needed to empty the mailbox; gives up after 300 s
  local start=$SECONDS
  for _ in $(seq 1 3000); do
    [ "$(mailbox_depth)" = 0 ] && { echo $((SECONDS - start)); return 0; }
    sleep 0.1
  done
  echo "error: the mailbox did not drain within 300 s" >&2; exit 1
}

cpu_ticks() { # user+system clock ticks of the given pids and their threads
  local total=0 pid
  for pid in "$@"; do
    [ -r "/proc/$pid/stat" ] || continue
    total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat")))
  done
  echo "$total"
}
# The process that serves each scenario's requests (the CPU column of the report): nginx workers or the proxy.
serving_pids() {
  case "$1" in
    direct) pgrep -P "$upstream_pid" ;;
    nginx-proxy_pass) pgrep -P "$nginx_proxy_pid" ;;
    *) echo "$proxy_pid" ;;
  esac
}

run_wrk() { # $1: scenario, $2: connections, $3: seconds, $4: output file
  local threads=1
  [ "$2" -ge 2 ] && threads=2
  set_request "$1"
  "${load_cpu[@]}" wrk -t"$threads" -c"$2" -d"$3s" --latency -s bench/routing/post.lua "${urls[$1]}" >"$4"
}

raw="$tmp/raw"
mkdir -p "$raw"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u +'%Y-%m-%d %H:%M UTC')
run_start=$SECONDS
delays=(0)
[ "$DELAY_MS" -gt 0 ] && delays+=("$DELAY_MS")
start_nginx_proxy
start_proxy
for delay in "${delays[@]}"; do
  start_upstream "$delay"
  check_scenarios
  echo "warm-up: $WARMUP s per scenario at ${PASSES[0]} connections (upstream delay ${delay} ms)"
  for name in "${SCENARIOS[@]}"; do
    run_wrk "$name" "${PASSES[0]}" "$WARMUP" /dev/null
    if [ "$name" = mailbox-accept ]; then wait_for_drain >/dev/null; fi
  done
  for connections in "${PASSES[@]}"; do
    for round in $(seq 1 "$ROUNDS"); do
      n=${#SCENARIOS[@]}
      for i in $(seq 0 $((n - 1))); do
        name=${SCENARIOS[$(((i + round - 1) % n))]}
        file="$raw/d$delay-c$connections-r$round-$name.txt"
        mapfile -t pids < <(serving_pids "$name")
        before=$(cpu_ticks "${pids[@]}")
        run_wrk "$name" "$connections" "$DURATION" "$file"
        echo "cpu_ticks $(($(cpu_ticks "${pids[@]}") - before)) $(getconf CLK_TCK)" >>"$file"
        drain=""
        if [ "$name" = mailbox-accept ]; then
          drain=$(wait_for_drain)
          echo "drain_seconds $drain" >>"$file"
        fi
        printf 'delay %s ms, %s connection(s), round %s/%s, %-17s %10s req/s  p50 %-9s p99 %-9s%s\n' "$delay" \
          "$connections" "$round" "$ROUNDS" "$name" "$(awk '/Requests\/sec/ {print $2}' "$file")" \
          "$(awk '$1=="50%" {print $2}' "$file")" "$(awk '$1=="99%" {print $2}' "$file")" \
          "$(awk '/Non-2xx/ {printf "  NON-2XX %s", $NF}' "$file")${drain:+  (drained in ${drain} s)}"
      done
    done
  done
done

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p bench/results
export LOAD_AFTER="$load_after" RAW="$raw" OUT=bench/results/routing.md SCENARIO_LIST="${SCENARIOS[*]}" PASS_LIST="${PASSES[*]}" \
  DELAY_LIST="${delays[*]}" PIN DURATION ROUNDS WARMUP STARTED="$started" COMMIT="$commit" LOAD_BEFORE="$load_before" \
  ELAPSED=$((SECONDS - run_start)) COMMAND="bench/routing/run.sh $DURATION $ROUNDS ${PASSES[*]}" DELAY_MS
python3 - <<'PY'
import glob, os, re, statistics, subprocess, sys
env = os.environ
raw, out = env["RAW"], env["OUT"]
scenarios = env["SCENARIO_LIST"].split()
passes = [int(c) for c in env["PASS_LIST"].split()]
delays = [int(d) for d in env["DELAY_LIST"].split()]
pin = env["PIN"] == "1"
elapsed = int(env["ELAPSED"])

def ms(v):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", v)
    return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[m.group(2)]

def parse(path):
    text = open(path).read()
    r = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
         "p50": ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1)),
         "p99": ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1)),
         "requests": int(re.search(r"(\d+) requests in", text).group(1))}
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    r["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    r["errors"] = sum(int(x) for x in m.groups()) if m else 0
    ticks, hz = re.search(r"cpu_ticks (\d+) (\d+)", text).groups()
    r["cpu_us"] = int(ticks) / int(hz) * 1e6 / max(r["requests"], 1)
    m = re.search(r"drain_seconds (\d+)", text)
    r["drain"] = int(m.group(1)) if m else None
    return r

def fmt_ms(v):
    return f"{v * 1000:.0f} µs" if v < 1 else f"{v:.2f} ms"

def version(*cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    return (p.stdout + p.stderr).strip()

model = re.search(r"model name\s*:\s*(.*)", open("/proc/cpuinfo").read())
command = env["COMMAND"]
if int(env["DELAY_MS"]):
    command = f"REGION_DELAY_MS={env['DELAY_MS']} " + command
if pin:
    command = "PIN=1 " + command
lines = [
    "# Routing benchmark",
    "",
    f"- {env['STARTED']}, commit {env['COMMIT']}, `{command}`, {elapsed // 60} min {elapsed % 60} s in all.",
    f"- Machine: {os.cpu_count()} cores ({model.group(1) if model else 'unknown CPU'}), load average {env['LOAD_BEFORE']}"
    f" before the run, {env['LOAD_AFTER']} after it; .NET SDK {version('dotnet', '--version')}, nginx {version('nginx', '-v').split('/')[-1]}, wrk 4.",
    "- Upstream: nginx in its own process (`worker_processes 1`): control and the regions ap, eu, us as server blocks"
    " answering 200 `{\"answeredBy\":\"<region>\"}`. nginx-proxy_pass: a second nginx process (`worker_processes "
    + ("1" if pin else "auto") + "`, keep-alive pool of 64 to the upstream). The proxy: Kestrel + YARP in one process.",
    ("- Pinned (PIN=1): wrk and the upstream nginx on CPU 0, the proxy under test (nginx proxy_pass or the .NET proxy)"
     " on CPU 1." if pin else
     "- Nothing is pinned: wrk, the upstream nginx and the proxy under test share the 2 cores, so every figure includes"
     " wrk's and the upstream's CPU use. Compare rows of one table, not machines."),
    f"- {env['ROUNDS']} rounds per connection count; a round runs every scenario once for {env['DURATION']} s, in an"
    " order rotated per round, after one warm-up of"
    f" {env['WARMUP']} s per scenario. Figures are medians across rounds; requests/s also shows the min–max of the"
    " rounds. CPU/request: CPU time of the process serving the scenario (the upstream nginx worker for direct, the"
    " proxying nginx workers, or the .NET proxy, whose mailbox-accept figure includes the drainer's work meanwhile)"
    " divided by the requests answered.",
    "",
]
problems = []
for delay in delays:
    for c in passes:
        rows = {name: [parse(p) for p in sorted(glob.glob(f"{raw}/d{delay}-c{c}-r*-{name}.txt"))] for name in scenarios}
        title = f"## {c} connection{'s' if c != 1 else ''} (wrk -t{1 if c < 2 else 2})"
        if delay:
            title += f", upstream answering after {delay} ms (echo_sleep)"
        lines += [title, "",
                  "| scenario | requests/s | min–max | p50 | p99 | CPU/request | non-2xx / socket errors |",
                  "|---|---|---|---|---|---|---|"]
        med = {}
        for name, runs in rows.items():
            rps = [r["rps"] for r in runs]
            med[name] = {k: statistics.median(r[k] for r in runs) for k in ("rps", "p50", "p99", "cpu_us")}
            non2xx, errors = sum(r["non2xx"] for r in runs), sum(r["errors"] for r in runs)
            if non2xx or errors:
                problems.append(f"{name} at {c} connection(s), delay {delay} ms: {non2xx} non-2xx answers, {errors} socket errors")
            lines.append(f"| {name} | {med[name]['rps']:,.0f} | {min(rps):,.0f}–{max(rps):,.0f} | {fmt_ms(med[name]['p50'])}"
                         f" | {fmt_ms(med[name]['p99'])} | {med[name]['cpu_us']:.0f} µs | {non2xx} / {errors} |")
        def ratio(a, b, key="rps"):
            return med[a][key] / med[b][key]
        lines += ["", "| ratio of medians | value | target |", "|---|---|---|",
                  f"| routed / plain-yarp, requests/s | {ratio('routed', 'plain-yarp'):.2f}x | >= 1.0x |",
                  f"| routed / nginx-proxy_pass, requests/s | {ratio('routed', 'nginx-proxy_pass'):.2f}x | |",
                  f"| plain-yarp / nginx-proxy_pass, requests/s | {ratio('plain-yarp', 'nginx-proxy_pass'):.2f}x | |",
                  f"| fan-out-3 p50 / routed p50 | {ratio('fan-out-3', 'routed', 'p50'):.2f}x | "
                  + ("<= 1.1x" if c == 1 else "(at 1 connection)") + " |",
                  f"| plain-yarp / nginx-proxy_pass, CPU per request | {ratio('plain-yarp', 'nginx-proxy_pass', 'cpu_us'):.2f}x | |",
                  f"| routed / plain-yarp, CPU per request | {ratio('routed', 'plain-yarp', 'cpu_us'):.2f}x | |"]
        drains = [r["drain"] for r in rows.get("mailbox-accept", []) if r["drain"] is not None]
        if drains:
            accepted = statistics.median(r["requests"] for r in rows["mailbox-accept"])
            lines += ["", f"After each mailbox-accept run the next scenario waited for the drainer to empty the mailbox:"
                      f" median {statistics.median(drains):.0f} s for a median of {accepted:,.0f} accepted pushes (one"
                      " mailbox, delivered in order to eu)."]
        lines.append("")
if problems:
    lines += ["**Not every answer was 2xx:**", ""] + [f"- {p}" for p in problems] + [""]
open(out, "w").write("\n".join(lines))
print("\n".join(lines))
if problems:
    print("error: some answers were not 2xx (see above)", file=sys.stderr)
    sys.exit(3)
PY
