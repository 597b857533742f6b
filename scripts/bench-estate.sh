#!/usr/bin/env bash
# scripts/bench-estate.sh: a full snapshot of a large synthetic estate through Resource Graph and
# through list calls, against the emulator (issue 15, item 4). Numbers go to BENCHMARKS.md.
#
#   scripts/bench-estate.sh [SUBSCRIPTIONS,VMS] [PAGE_SIZE] [SOURCES]   # defaults: 1000,100000 100 "graph graph-rows lists"
#
# It builds the release binary, starts `portcullis emulator --demo-estate SUBSCRIPTIONS,VMS` (the
# demo tenant plus the estate, under the management group `contoso`, Resource Graph's real
# quota of 15 queries per 5 s, list pages of PAGE_SIZE items), then runs `portcullis snapshot`
# once per source: `--source graph` (packed summaries) and `--source graph-rows` (one resource per
# row), both `--scope managementGroups/contoso`, and `--source lists`
# (every subscription, 8 list calls in flight). Each run prints the snapshot's own line (VMs,
# resources, time, requests, retries, answers 429) and GNU time's wall clock and peak memory;
# the emulator's peak memory is printed at the end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ESTATE="${1:-1000,100000}" PAGE="${2:-100}" SOURCES="${3:-graph graph-rows lists}"
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
cargo build --release --quiet -p portcullis
bin=target/release/portcullis
out="$(mktemp -d)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
started=$(date +%s.%N)
"$bin" emulator --listen "127.0.0.1:$port" --demo-estate "$ESTATE" --page-size "$PAGE" \
  --assessment-interval-minutes 0 >"$out/emulator.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -rf "$out"' EXIT
base="http://127.0.0.1:$port"
until curl -sf "$base/subscriptions?api-version=2022-12-01" >/dev/null; do
  kill -0 "$pid" 2>/dev/null || { cat "$out/emulator.log"; exit 1; }
  sleep 0.5
done
echo "emulator up with the estate $ESTATE in $(python3 -c "print(f'{$(date +%s.%N) - $started:.1f}')") s (pid $pid)"
for source in $SOURCES; do
  if [ "$source" != lists ]; then scope=(--scope managementGroups/contoso); else scope=(--concurrency 8); fi
  echo "== snapshot --source $source ${scope[*]}"
  /usr/bin/time -f '   wall %e s, peak memory (max RSS) %M KB' "$bin" snapshot --arm-url "$base" \
    --credential none --source "$source" "${scope[@]}" --out "$out/$source.json" 2>&1 \
    | grep -v '^subscription ' || true
  ls -l "$out/$source.json" | awk '{printf "   snapshot file %.1f MB\n", $5/1e6}'
done
grep -E 'VmRSS|VmHWM' "/proc/$pid/status" | sed 's/^/emulator /'
