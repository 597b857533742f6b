#!/usr/bin/env bash
# scripts/setup.sh: install what building and testing Portcullis needs, and only what is missing.
# `make run` and `make test` call it first; a second run only checks versions (about 1-2 s).
#
# What it sets up (machine: Debian 12 with rustup stable, cargo-nextest, node/npm, gcc; no internet
# beyond crates.io, npm and Debian's apt):
#   * a Rust that builds wasm32-unknown-unknown, as the rustup toolchain "wasm" that
#     frontend/rust-toolchain.toml names:
#       - rustup's stable with the wasm32 std (`rustup target add`, tried once with a time limit), or
#       - Debian's rustc-web 1.96 with a wasm32 std built once from rust-web-src (-Zbuild-std) into
#         Debian's own sysroot, when rustup cannot fetch the target;
#   * clippy and rustfmt for the native toolchain;
#   * chromium + chromium-driver from Debian (e2e and wasm-bindgen-test), nodejs/npm if missing;
#   * postgresql and openssl from Debian: server/tests/integration/postgres.rs runs the store and
#     the server against throwaway clusters of its own (initdb + pg_ctl from
#     /usr/lib/postgresql/*/bin), one with TLS on a certificate the test makes with openssl;
#   * trunk 0.21.14 (0.22 needs rustc >= 1.96.1), wasm-bindgen-cli = the wasm-bindgen of Cargo.lock,
#     wasm-opt 132 from npm's binaryen (Debian's binaryen 108 breaks wasm-bindgen's output);
#   * a Python virtualenv (target/sdk-venv) with Microsoft's Azure SDK for Python, pinned in
#     tests/sdk/requirements.txt, for the suite that judges the emulator (about 30 s).
#
# Fresh machine: about 9-10 minutes, almost all of it `cargo install trunk` (6.5 min) and
# wasm-bindgen-cli (2 min). Knobs (env): WITH_BROWSER=0 skips chromium, WITH_TEST_TOOLS=0 skips
# what only the tests need (postgresql, openssl, the SDK virtualenv; the Dockerfile's build),
# FORCE_DEBIAN=1 uses Debian's rustc for wasm32 even when rustup has the std.
set -euo pipefail

TRUNK_VERSION=0.21.14
BINARYEN_VERSION=132.0.0
WASM_TOOLCHAIN=wasm
WITH_BROWSER="${WITH_BROWSER:-1}"
WITH_TEST_TOOLS="${WITH_TEST_TOOLS:-1}"
FORCE_DEBIAN="${FORCE_DEBIAN:-0}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
BIN_DIR="$CARGO_HOME/bin"
mkdir -p "$BIN_DIR"
export PATH="$BIN_DIR:$PATH" DEBIAN_FRONTEND=noninteractive
# Outside the repository, so that frontend/rust-toolchain.toml never applies to `cargo install`.
cd /

t0=$(date +%s)
changed=0
log() { printf '[setup] %s\n' "$*"; }
step() { log "$*"; changed=1; }
die() { log "error: $*"; exit 1; }

apt_updated=0
apt_install() {   # installs only the packages that are missing
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get to install them"
  if [ $apt_updated = 0 ]; then
    step "apt-get update"
    apt-get update -qq
    apt_updated=1
  fi
  step "apt-get install ${missing[*]}"
  apt-get install -y -qq "${missing[@]}" >/dev/null
}

command -v rustup >/dev/null || die "rustup is required (the machine's Rust toolchain)"
command -v cargo >/dev/null || die "cargo is required"

# --- wasm-bindgen version: the CLI must equal the crate in Cargo.lock --------------------------
WASM_BINDGEN_VERSION="$(awk '$0=="name = \"wasm-bindgen\"" {getline; gsub(/version = |"/, ""); print; exit}' \
  "$REPO/Cargo.lock" 2>/dev/null || true)"
WASM_BINDGEN_VERSION="${WASM_BINDGEN_VERSION:-0.2.130}"

# --- 1. native lint tools ---------------------------------------------------------------------
for component in clippy rustfmt; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
    step "rustup component add $component"
    timeout 180 rustup component add "$component" >/dev/null 2>&1 ||
      die "cannot install the $component component (needed by make test)"
  fi
done

# --- 2. which Rust builds wasm32 ---------------------------------------------------------------
default_sysroot="$(rustc --print sysroot)"
have_wasm_std() { compgen -G "$default_sysroot/lib/rustlib/wasm32-unknown-unknown/lib/libstd-*.rlib" >/dev/null; }
if [ "$FORCE_DEBIAN" != 1 ] && ! have_wasm_std; then
  step "rustup target add wasm32-unknown-unknown"
  timeout 180 rustup target add wasm32-unknown-unknown >/dev/null 2>&1 ||
    log "rustup could not fetch the wasm32 std; falling back to Debian's rustc-web"
fi
mode=debian
[ "$FORCE_DEBIAN" != 1 ] && have_wasm_std && mode=rustup

# --- 3. Debian packages -------------------------------------------------------------------------
pkgs=()
[ "$WITH_BROWSER" = 1 ] && pkgs+=(chromium chromium-driver)
[ "$WITH_TEST_TOOLS" = 1 ] && pkgs+=(postgresql openssl)
[ "$mode" = debian ] && pkgs+=(rustc-web cargo-web rust-web-src rust-web-llvm rust-web-clippy)
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
[ ${#pkgs[@]} -gt 0 ] && apt_install "${pkgs[@]}"

if [ "$mode" = debian ]; then
  # rust-web-llvm ships /usr/bin/rust-lld -> lld-NN without depending on lld-NN.
  if ! /usr/bin/rust-lld -flavor wasm --version >/dev/null 2>&1; then
    apt_install "$(basename "$(readlink /usr/bin/rust-lld)")"
  fi
  # A wasm32 std for Debian's rustc, built once per rustc version into its own sysroot.
  wasm_dir="$(/usr/bin/rustc --print sysroot)/lib/rustlib/wasm32-unknown-unknown"
  if [ "$(cat "$wasm_dir/built-by" 2>/dev/null)" != "$(/usr/bin/rustc -V)" ]; then
    step "building the wasm32 std with $(/usr/bin/rustc -V) (-Zbuild-std, about 40 s)"
    tmp="$(mktemp -d)"
    mkdir -p "$tmp/src"
    printf '[package]\nname = "wasm32-std-stub"\nversion = "0.0.0"\nedition = "2021"\n[profile.release]\ndebug = 0\n' \
      > "$tmp/Cargo.toml"
    : > "$tmp/src/lib.rs"
    (cd "$tmp" && env -u RUSTUP_TOOLCHAIN RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
       CARGO_TARGET_DIR="$tmp/target" /usr/bin/cargo build --quiet --release \
       -Zbuild-std=std,panic_abort,test --target wasm32-unknown-unknown)
    rm -rf "$wasm_dir/lib"
    mkdir -p "$wasm_dir/lib"
    find "$tmp/target/wasm32-unknown-unknown/release/deps" -name 'lib*.rlib' ! -name 'libwasm32_std_stub-*' \
      -exec cp {} "$wasm_dir/lib/" \;
    /usr/bin/rustc -V > "$wasm_dir/built-by"
    rm -rf "$tmp"
  fi
  toolchain_dir=/usr
else
  toolchain_dir="$default_sysroot"
fi

# --- 4. the rustup toolchain "wasm" -> the Rust chosen above ------------------------------------
link="$RUSTUP_HOME/toolchains/$WASM_TOOLCHAIN"
if [ "$(readlink "$link" 2>/dev/null || true)" != "$toolchain_dir" ]; then
  [ -e "$link" ] && [ ! -L "$link" ] && die "$link exists and is not a link: remove it or set up by hand"
  [ -L "$link" ] && rm "$link"   # only ever our own symlink
  step "rustup toolchain link $WASM_TOOLCHAIN $toolchain_dir"
  rustup toolchain link "$WASM_TOOLCHAIN" "$toolchain_dir"
fi

# --- 5. trunk -------------------------------------------------------------------------------------
if [ "$(trunk --version 2>/dev/null || true)" != "trunk $TRUNK_VERSION" ]; then
  step "cargo install trunk $TRUNK_VERSION --locked (about 6.5 min on 2 cores)"
  cargo install --quiet trunk --version "$TRUNK_VERSION" --locked
fi

# --- 6. wasm-bindgen-cli, exactly the version in Cargo.lock ---------------------------------------
if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ] ||
   ! command -v wasm-bindgen-test-runner >/dev/null; then
  step "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 2-3 min)"
  # 0.2.130's own lock names a webpki-roots release the registry here does not serve: if the
  # locked install fails, install unlocked (newest compatible dependencies).
  cargo install --quiet wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --locked 2>/dev/null ||
    cargo install --quiet wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# --- 7. wasm-opt from npm (Trunk.toml pins [tools] wasm_opt = "version_132") ---------------------
major="${BINARYEN_VERSION%%.*}"
if [ "$("$BIN_DIR/wasm-opt" --version 2>/dev/null || true)" != "wasm-opt version $major (version_$major)" ]; then
  prefix="$CARGO_HOME/wasm-tools/binaryen"
  mkdir -p "$prefix"
  step "npm install binaryen@$BINARYEN_VERSION (wasm-opt) into $prefix"
  npm install --prefix "$prefix" --no-audit --no-fund --silent "binaryen@$BINARYEN_VERSION"
  ln -sf "$prefix/node_modules/.bin/wasm-opt" "$BIN_DIR/wasm-opt"
fi

# --- 8. Microsoft's Azure SDK for Python (tests/sdk: the emulator's judge), pinned ----------------
SDK_VENV="$REPO/target/sdk-venv"
SDK_REQ="$REPO/tests/sdk/requirements.txt"
if [ "$WITH_TEST_TOOLS" = 1 ] && [ "$(cat "$SDK_VENV/.installed" 2>/dev/null)" != "$(sha256sum "$SDK_REQ" | cut -d' ' -f1)" ]; then
  step "python venv with the Azure SDK for Python ($SDK_REQ) into $SDK_VENV"
  command -v python3 >/dev/null || apt_install python3
  python3 -m venv "$SDK_VENV" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$SDK_VENV"; }
  "$SDK_VENV/bin/pip" install --quiet --disable-pip-version-check -r "$SDK_REQ"
  sha256sum "$SDK_REQ" | cut -d' ' -f1 > "$SDK_VENV/.installed"
fi

# --- 9. after any change: prove the wasm toolchain links a std-using cdylib ----------------------
if [ $changed = 1 ]; then
  log "smoke test: a wasm32 cdylib with the '$WASM_TOOLCHAIN' toolchain"
  tmp="$(mktemp -d)"
  mkdir -p "$tmp/src"
  printf '[package]\nname = "smoke"\nversion = "0.0.0"\nedition = "2021"\n[lib]\ncrate-type = ["cdylib"]\n' \
    > "$tmp/Cargo.toml"
  echo '#[no_mangle] pub extern "C" fn f(n: u32) -> u32 { (0..n).collect::<Vec<u32>>().iter().sum() }' \
    > "$tmp/src/lib.rs"
  (cd "$tmp" && cargo "+$WASM_TOOLCHAIN" build --quiet --release --target wasm32-unknown-unknown)
  test -s "$tmp/target/wasm32-unknown-unknown/release/smoke.wasm"
  rm -rf "$tmp"
fi

summary="wasm32 via $mode ($(rustc "+$WASM_TOOLCHAIN" -V | cut -d' ' -f1-2)), $(trunk --version), $(wasm-bindgen --version)"
[ "$WITH_BROWSER" = 1 ] && summary="$summary, $(chromedriver --version | cut -d' ' -f1-2)"
if [ $changed = 1 ]; then
  log "done in $(( $(date +%s) - t0 )) s: $summary"
else
  log "up to date ($summary)"
fi
