#!/usr/bin/env bash
# scripts/bench-serve.sh: the server's throughput and latency on a large demo tenant, measured with
# wrk (Debian's `wrk`, installed here if missing; not by `make test`). Numbers go to BENCHMARKS.md.
#
#   scripts/bench-serve.sh [EXTRA_VMS] [CONNECTIONS] [SECONDS] [refresh]     # defaults: 10000 64 10
#
# With `refresh`, an operator keeps a refresh running (POST /api/refresh again as soon as one
# ends) during each load, and the script says how many refreshes overlapped it.
#
# It builds the release server, starts `portcullis serve --demo-extra-vms EXTRA_VMS` on a free
# loopback port with a throwaway data directory, signs in as the demo viewer, and loads
# GET /api/posture and a page of the VM table (sorted, filtered) for SECONDS each at CONNECTIONS
# connections. It prints wrk's summary and the server's resident memory (VmRSS, VmHWM) after.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
EXTRA="${1:-10000}" CONNS="${2:-64}" SECS="${3:-10}" REFRESH="${4:-}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --quiet -p portcullis
[ -f dist/index.html ] || mkdir -p dist
data="$(mktemp -d)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
MIMALLOC_PURGE_DELAY="${MIMALLOC_PURGE_DELAY-0}" PORTCULLIS_DEMO_PASSWORD=bench-password target/release/portcullis serve --listen "127.0.0.1:$port" \
  --data-dir "$data" --demo-extra-vms "$EXTRA" >"$data/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -rf "$data"' EXIT
base="http://127.0.0.1:$port"
# ready once the first snapshot is evaluated (the demo backfill follows)
for _ in $(seq 1 900); do curl -sf "$base/readyz" >/dev/null && break; sleep 1; done
cookie=$(curl -s -D - -o /dev/null -X POST "$base/api/login" -H 'content-type: application/json' \
  -d '{"username":"viewer","password":"bench-password"}' | awk -F': ' 'tolower($1)=="set-cookie" {split($2,a,";"); print a[1]}')
[ -n "$cookie" ] || { echo "sign-in failed"; cat "$data/server.log"; exit 1; }
vms=$(curl -s -H "Cookie: $cookie" "$base/api/posture?perPage=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["counts"]["vms"])')
echo "server pid $pid, $vms VMs, $CONNS connections, ${SECS}s per endpoint"
refresher() {   # keeps one refresh running until killed; counts the ones it started
  local jar csrf n=0
  jar=$(curl -s -D - -o "$data/op.json" -X POST "$base/api/login" -H 'content-type: application/json' \
    -d '{"username":"operator","password":"bench-password"}' | awk -F': ' 'tolower($1)=="set-cookie" {split($2,a,";"); print a[1]}')
  csrf=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["csrfToken"])' "$data/op.json")
  while true; do
    if curl -s -X POST "$base/api/refresh" -H "Cookie: $jar" -H "x-csrf-token: $csrf" | grep -q '"started":true'; then
      n=$((n + 1)); echo "$n" > "$data/refreshes"
    fi
    sleep 0.2
  done
}
for path in "/api/posture" "/api/posture?sort=exposure&order=desc&page=3&perPage=50&status=unhealthy"; do
  echo "== GET $path${REFRESH:+ (while refreshes run)}"
  rpid=""
  if [ -n "$REFRESH" ]; then echo 0 > "$data/refreshes"; refresher & rpid=$!; fi
  wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -H "Cookie: $cookie" "$base$path" | grep -E 'Latency|Requests/sec|50%|90%|99%|requests in|Non-2xx'
  if [ -n "$rpid" ]; then kill "$rpid"; wait "$rpid" 2>/dev/null || true; echo "   refreshes started during the load: $(cat "$data/refreshes")"; fi
done
grep -E 'VmRSS|VmHWM' "/proc/$pid/status"
