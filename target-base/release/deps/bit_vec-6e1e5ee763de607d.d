/work/main/target-base/release/deps/bit_vec-6e1e5ee763de607d.d: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/bit-vec-0.10.2/src/lib.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/bit-vec-0.10.2/src/util.rs

/work/main/target-base/release/deps/libbit_vec-6e1e5ee763de607d.rlib: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/bit-vec-0.10.2/src/lib.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/bit-vec-0.10.2/src/util.rs

/work/main/target-base/release/deps/libbit_vec-6e1e5ee763de607d.rmeta: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/bit-vec-0.10.2/src/lib.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/bit-vec-0.10.2/src/util.rs

/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/bit-vec-0.10.2/src/lib.rs:
/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/bit-vec-0.10.2/src/util.rs:
