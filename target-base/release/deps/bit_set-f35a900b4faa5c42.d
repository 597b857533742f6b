/work/main/target-base/release/deps/bit_set-f35a900b4faa5c42.d: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/bit-set-0.11.1/src/lib.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/bit-set-0.11.1/src/iter.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/bit-set-0.11.1/src/set.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/bit-set-0.11.1/src/util.rs

/work/main/target-base/release/deps/libbit_set-f35a900b4faa5c42.rlib: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/bit-set-0.11.1/src/lib.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/bit-set-0.11.1/src/iter.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/bit-set-0.11.1/src/set.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/bit-set-0.11.1/src/util.rs

/work/main/target-base/release/deps/libbit_set-f35a900b4faa5c42.rmeta: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/bit-set-0.11.1/src/lib.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/bit-set-0.11.1/src/iter.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/bit-set-0.11.1/src/set.rs /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/bit-set-0.11.1/src/util.rs

/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/bit-set-0.11.1/src/lib.rs:
/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/bit-set-0.11.1/src/iter.rs:
/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/bit-set-0.11.1/src/set.rs:
/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/bit-set-0.11.1/src/util.rs:
