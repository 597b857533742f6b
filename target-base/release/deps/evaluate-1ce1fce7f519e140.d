/work/main/target-base/release/deps/evaluate-1ce1fce7f519e140.d: shared/benches/evaluate.rs

/work/main/target-base/release/deps/evaluate-1ce1fce7f519e140: shared/benches/evaluate.rs

shared/benches/evaluate.rs:

# env-dep:CARGO_MANIFEST_DIR=/tmp/base/shared
