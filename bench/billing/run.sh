#!/usr/bin/env bash
# Billing consumer benchmark: parse+count per core, the raw Redis Streams ceiling and the consumer end to end,
# side by side in one run against one throw-away redis-server on a free loopback port.
# Usage: bench/billing/run.sh [buckets=200000] [batch size=500]
set -euo pipefail
cd "$(dirname "$0")/../.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

command -v redis-server >/dev/null || { echo "redis-server is not installed (apt-get install redis-server)"; exit 1; }
dotnet build bench/Proxy.Billing.Bench -c Release -v quiet -nologo >/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dir=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" --protected-mode no >/dev/null &
redis_pid=$!
trap 'kill "$redis_pid" 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done

echo "redis-server $(redis-server --version | grep -o 'v=[^ ]*'), $(nproc) cores"
dotnet bench/Proxy.Billing.Bench/bin/Release/net10.0/Proxy.Billing.Bench.dll "127.0.0.1:$port" "${1:-200000}" "${2:-500}"
