#!/usr/bin/env bash
# Mailbox benchmark: accept (append) latency on SQLite and Redis at a steady rate, then drain throughput and memory
# while a backlog spread over 1,000 mailboxes drains to a fast Kestrel region stub. Loopback only; one throw-away
# redis-server (AOF on, appendfsync everysec, as recommended in docs/MAILBOX.md) on a free port.
# Usage: bench/mailbox/run.sh [appends=5000] [rate/s=500] [backlog=100000] [mailboxes=1000]
set -euo pipefail
cd "$(dirname "$0")/../.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

command -v redis-server >/dev/null || { echo "redis-server is not installed (apt-get install redis-server)"; exit 1; }
dotnet build bench/Proxy.Mailbox.Bench -c Release -v quiet -nologo >/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dir=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync everysec --dir "$dir" --protected-mode no >/dev/null &
redis_pid=$!
trap 'kill "$redis_pid" 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done

echo "redis-server $(redis-server --version | grep -o 'v=[^ ]*') (appendonly yes, appendfsync everysec)"
timeout 900 dotnet bench/Proxy.Mailbox.Bench/bin/Release/net10.0/Proxy.Mailbox.Bench.dll "127.0.0.1:$port" "${1:-5000}" "${2:-500}" "${3:-100000}" "${4:-1000}"
