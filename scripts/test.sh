#!/usr/bin/env bash
# scripts/test.sh: every check of the project, in order, with a summary (`make test` runs it after
# scripts/setup.sh). Every step runs even when an earlier one failed, so one run shows everything;
# the exit status is non-zero when any step failed. The last line reads "N passed, N failed"
# (counting steps) for CI.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export TRUNK_SKIP_VERSION_CHECK=true

names=() results=() times=()
run_step() {   # run_step NAME COMMAND...
  local name="$1" start status
  shift
  printf '\n==> %s\n    $ %s\n' "$name" "$*"
  start=$(date +%s)
  "$@"
  status=$?
  names+=("$name")
  times+=("$(( $(date +%s) - start ))")
  if [ $status -eq 0 ]; then results+=(pass); else results+=(FAIL); fi
  printf '<== %s: %s\n' "$name" "$([ $status -eq 0 ] && echo passed || echo "FAILED (exit $status)")"
}
in_frontend() { (cd frontend && "$@"); }

t0=$(date +%s)
run_step "format (cargo fmt --check)" cargo fmt --all --check
run_step "clippy: native workspace" cargo clippy --all-targets -- -D warnings
run_step "clippy: frontend (wasm32)" in_frontend cargo clippy --target wasm32-unknown-unknown --all-targets -- -D warnings
# The end-to-end tests serve dist/: build it before them.
run_step "frontend release build (trunk)" scripts/build-frontend.sh
run_step "tests: shared, server, end-to-end" cargo test
run_step "tests: frontend in Chromium (wasm-bindgen-test)" in_frontend cargo test --target wasm32-unknown-unknown
# the emulator driven by Microsoft's Azure SDK for Python at its default api-versions
sdk_judge() { cargo build --quiet -p portcullis && target/sdk-venv/bin/python -m pytest -q tests/sdk; }
run_step "tests: the emulator judged by the Azure SDK for Python (pytest)" sdk_judge
# the deployment: the image where a container engine runs, the Bicep where bicep is installed
# (neither is on every machine: said so, not failed; deploy/portcullis-role.json is checked by
# the server's integration tests either way)
deploy_check() {
  if docker info >/dev/null 2>&1; then
    docker build --quiet -t portcullis:test . && docker run --rm portcullis:test --version
  else
    echo "no container engine here (docker info failed): the image was not built"
  fi
  local bicep=""
  command -v bicep >/dev/null 2>&1 && bicep="bicep"
  [ -z "$bicep" ] && command -v az >/dev/null 2>&1 && az bicep version >/dev/null 2>&1 && bicep="az bicep"
  if [ -n "$bicep" ]; then
    $bicep build deploy/main.bicep --stdout >/dev/null && $bicep build deploy/role.bicep --stdout >/dev/null
  else
    echo "no bicep here (neither bicep nor az bicep): deploy/*.bicep were not compiled"
  fi
}
run_step "deploy: container image and Bicep (where the tools exist)" deploy_check

passed=0 failed=0
printf '\n==================== summary ====================\n'
for i in "${!names[@]}"; do
  printf '  %-4s  %5ss  %s\n' "${results[$i]}" "${times[$i]}" "${names[$i]}"
  if [ "${results[$i]}" = pass ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
printf '  total %ss\n' "$(( $(date +%s) - t0 ))"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
