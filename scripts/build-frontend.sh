#!/usr/bin/env bash
# scripts/build-frontend.sh: `trunk build --release` (Trunk.toml at the root: frontend/ -> dist/).
# One at a time per checkout: trunk stages into dist/.stage, so two builds at once (say `make run`
# and `make test` in two terminals) would delete each other's files.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mkdir -p target
# trunk runs cargo from the root, where frontend/rust-toolchain.toml does not apply: name the
# wasm32-capable toolchain explicitly (it matters when that is Debian's rather than rustup's).
export RUSTUP_TOOLCHAIN=wasm TRUNK_SKIP_VERSION_CHECK=true
exec flock target/.trunk-build.lock trunk build --release "$@"
