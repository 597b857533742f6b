/work/main/target-base/release/deps/portcullis_shared-65769624145313ba.d: shared/src/lib.rs shared/src/api.rs shared/src/arm.rs shared/src/build.rs shared/src/config.rs shared/src/eval.rs shared/src/eval/compile.rs shared/src/eval/engine.rs shared/src/eval/report.rs shared/src/inventory.rs shared/src/net.rs shared/src/net/addr.rs shared/src/net/intervals.rs shared/src/net/ports.rs shared/src/remediation.rs

/work/main/target-base/release/deps/libportcullis_shared-65769624145313ba.rlib: shared/src/lib.rs shared/src/api.rs shared/src/arm.rs shared/src/build.rs shared/src/config.rs shared/src/eval.rs shared/src/eval/compile.rs shared/src/eval/engine.rs shared/src/eval/report.rs shared/src/inventory.rs shared/src/net.rs shared/src/net/addr.rs shared/src/net/intervals.rs shared/src/net/ports.rs shared/src/remediation.rs

/work/main/target-base/release/deps/libportcullis_shared-65769624145313ba.rmeta: shared/src/lib.rs shared/src/api.rs shared/src/arm.rs shared/src/build.rs shared/src/config.rs shared/src/eval.rs shared/src/eval/compile.rs shared/src/eval/engine.rs shared/src/eval/report.rs shared/src/inventory.rs shared/src/net.rs shared/src/net/addr.rs shared/src/net/intervals.rs shared/src/net/ports.rs shared/src/remediation.rs

shared/src/lib.rs:
shared/src/api.rs:
shared/src/arm.rs:
shared/src/build.rs:
shared/src/config.rs:
shared/src/eval.rs:
shared/src/eval/compile.rs:
shared/src/eval/engine.rs:
shared/src/eval/report.rs:
shared/src/inventory.rs:
shared/src/net.rs:
shared/src/net/addr.rs:
shared/src/net/intervals.rs:
shared/src/net/ports.rs:
shared/src/remediation.rs:
