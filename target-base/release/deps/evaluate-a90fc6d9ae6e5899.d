/work/main/target-base/release/deps/evaluate-a90fc6d9ae6e5899.d: shared/benches/evaluate.rs

/work/main/target-base/release/deps/evaluate-a90fc6d9ae6e5899: shared/benches/evaluate.rs

shared/benches/evaluate.rs:

# env-dep:CARGO_MANIFEST_DIR=/tmp/base/shared
