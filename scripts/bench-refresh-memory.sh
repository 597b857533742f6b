#!/usr/bin/env bash
# Memory of the server through a refresh, at scale (release build, numbers in BENCHMARKS.md).
#   scripts/bench-refresh-memory.sh [EXTRA_VMS]             # demo mode: the emulator in-process
#   scripts/bench-refresh-memory.sh [EXTRA_VMS] separate    # the emulator in a process of its own
# Prints VmRSS and VmHWM (from /proc/PID/status): after start-up (HWM: the start-up peak), then
# the peak of one refresh (VmHWM reset just before it, through /proc/PID/clear_refs) and the
# resident memory after it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
EXTRA="${1:-100000}" MODE="${2:-demo}"
cargo build --release --quiet -p portcullis
[ -f dist/index.html ] || mkdir -p dist
bin=target/release/portcullis
data="$(mktemp -d)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
export MIMALLOC_PURGE_DELAY="${MIMALLOC_PURGE_DELAY-0}" PORTCULLIS_DEMO_PASSWORD=bench-password
epid=""
if [ "$MODE" = separate ]; then
  eport=$(free_port)
  "$bin" emulator --listen "127.0.0.1:$eport" --demo-extra-vms "$EXTRA" --page-size 1000 >"$data/emulator.log" 2>&1 &
  epid=$!
  for _ in $(seq 1 900); do curl -sf "http://127.0.0.1:$eport/subscriptions?api-version=2022-12-01" >/dev/null && break; sleep 1; done
  # no demo accounts against another ARM: the scheduler takes the second snapshot
  "$bin" serve --listen "127.0.0.1:$port" --data-dir "$data" --arm-url "http://127.0.0.1:$eport" \
    --credential none --snapshot-interval-secs 30 >"$data/server.log" 2>&1 &
else
  "$bin" serve --listen "127.0.0.1:$port" --data-dir "$data" --demo-extra-vms "$EXTRA" >"$data/server.log" 2>&1 &
fi
pid=$!
trap 'kill $pid $epid 2>/dev/null; wait 2>/dev/null || true; rm -rf "$data"' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 900); do curl -sf "$base/readyz" >/dev/null && break; sleep 1; done
sleep 20   # the demo backfill
mem() { grep -E 'VmRSS|VmHWM' "/proc/$1/status" | tr -s ' \t' ' ' | tr '\n' ' '; }
echo "after start-up: server $(mem $pid)${epid:+| emulator $(mem $epid)}"
taken=$(grep -c "snapshot taken" "$data/server.log" || true)
echo 5 > "/proc/$pid/clear_refs"
if [ "$MODE" != separate ]; then
  jar=$(curl -s -D - -o "$data/op.json" -X POST "$base/api/login" -H 'content-type: application/json' \
    -d '{"username":"operator","password":"bench-password"}' | awk -F': ' 'tolower($1)=="set-cookie" {split($2,a,";"); print a[1]}')
  csrf=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["csrfToken"])' "$data/op.json")
  curl -sf -X POST "$base/api/refresh" -H "Cookie: $jar" -H "x-csrf-token: $csrf" >/dev/null
fi
start=$(date +%s.%N)
for _ in $(seq 1 1200); do [ "$(grep -c 'snapshot taken' "$data/server.log")" -gt "$taken" ] && break; sleep 0.5; done
end=$(date +%s.%N)
sleep 5
echo "refresh: $(python3 -c "print(f'{$end - $start:.1f}')") s; after it (VmHWM: its peak): server $(mem $pid)${epid:+| emulator $(mem $epid)}"
