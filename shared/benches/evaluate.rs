//! Benchmark: parse and evaluate synthetic fleets of 1k, 10k and 100k VMs.
//!
//! `cargo bench -p portcullis-shared --bench evaluate [-- SIZES...]`
//!
//! For each size the fleet is generated (deterministic, ARM shape) and written to
//! `target/bench-fleets/fleet-N.json`; then a fresh child process reads, parses and evaluates
//! it, so that its peak resident memory (VmHWM) covers exactly that work. Each timing is the best
//! of three runs in that child. `BENCH_PHASES=1` also prints, per size, the time and resident
//! memory of model building, report building and dropping, on stderr. `BENCH_LB=1` puts a third
//! of the VMs behind public load balancers (NAT rule and two load-balancing rules each, see
//! [`add_load_balancers`]) in `fleet-lb-N.json`.
use portcullis_shared::fleet::{add_load_balancers, synthetic_fleet};
use portcullis_shared::{evaluate, EvalConfig, Inventory};
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

fn rss_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Nanoseconds this thread has spent on a CPU (immune to other processes' load).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn peak_rss_kib() -> u64 {
    rss_kib("VmHWM:")
}

fn measure(path: &str) {
    let baseline_kib = rss_kib("VmRSS:");
    let file_bytes = std::fs::metadata(path).expect("fleet file").len();
    // as `portcullis evaluate` does: one streaming pass, the file is never in memory whole
    let t = Instant::now();
    let file = std::fs::File::open(path).expect("fleet file");
    let mut inv = Inventory::from_reader(std::io::BufReader::with_capacity(1 << 20, file))
        .expect("valid fleet");
    if std::env::var_os("NODEFAULTS").is_some() {
        for n in &mut inv.network_security_groups {
            n.props_mut().default_security_rules = Vec::new();
        }
    }
    let parse_ms = t.elapsed().as_secs_f64() * 1e3;
    let after_parse_kib = rss_kib("VmHWM:");
    if std::env::var_os("BENCH_PHASES").is_some() {
        eprintln!("parsed: rss {} KiB", rss_kib("VmRSS:"));
        let t = Instant::now();
        let model = portcullis_shared::eval::Model::build(&inv, &EvalConfig::default()).unwrap();
        eprintln!(
            "build {:.1} ms, rss {} KiB",
            t.elapsed().as_secs_f64() * 1e3,
            rss_kib("VmRSS:")
        );
        let t = Instant::now();
        let r = model.report();
        eprintln!(
            "report {:.1} ms, rss {} KiB",
            t.elapsed().as_secs_f64() * 1e3,
            rss_kib("VmRSS:")
        );
        let t = Instant::now();
        drop(model);
        eprintln!(
            "drop model {:.1} ms, rss {} KiB",
            t.elapsed().as_secs_f64() * 1e3,
            rss_kib("VmRSS:")
        );
        let t = Instant::now();
        drop(r);
        eprintln!(
            "drop report {:.1} ms, rss {} KiB",
            t.elapsed().as_secs_f64() * 1e3,
            rss_kib("VmRSS:")
        );
    }
    let cfg = EvalConfig::default();
    let mut best = f64::MAX;
    let mut best_cpu = f64::MAX;
    let mut unhealthy = 0;
    for _ in 0..3 {
        let t = Instant::now();
        let c = thread_cpu_ns();
        let report = evaluate(&inv, &cfg).expect("evaluates");
        best = best.min(t.elapsed().as_secs_f64() * 1e3);
        best_cpu = best_cpu.min((thread_cpu_ns() - c) as f64 / 1e6);
        unhealthy = report.control.unhealthy;
        drop(report);
    }
    println!(
        "{{\"vms\":{},\"fileBytes\":{file_bytes},\"parseMs\":{parse_ms:.1},\"parsePeakKiB\":{after_parse_kib},\"evalMs\":{best:.1},\"evalCpuMs\":{best_cpu:.1},\"baselineKiB\":{baseline_kib},\"peakKiB\":{},\"unhealthy\":{unhealthy}}}",
        inv.virtual_machines.len(),
        peak_rss_kib()
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.first().map(String::as_str) == Some("--measure") {
        return measure(&args[1]);
    }
    let sizes: Vec<usize> = if args.is_empty() {
        vec![1_000, 10_000, 100_000]
    } else {
        args.iter().filter_map(|a| a.parse().ok()).collect()
    };
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-fleets");
    std::fs::create_dir_all(&dir).unwrap();
    let parallel = cfg!(feature = "parallel");
    println!(
        "evaluation threads: {}",
        if parallel {
            "all cores (feature parallel)"
        } else {
            "1"
        }
    );
    println!("| VMs | NSGs | file | parse | evaluate (wall) | evaluate (CPU, main thread) | per VM (wall) | peak memory | peak / file | (peak - process baseline) / file |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for n in sizes {
        let lbs = std::env::var_os("BENCH_LB").is_some();
        let path = dir.join(format!("fleet{}-{n}.json", if lbs { "-lb" } else { "" }));
        let mut inv = synthetic_fleet(n, 42);
        if lbs {
            add_load_balancers(&mut inv);
        }
        let nsgs = inv.network_security_groups.len();
        std::fs::write(&path, serde_json::to_vec(&inv).unwrap()).unwrap();
        drop(inv);
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--measure", path.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // the child's phases (BENCH_PHASES=1)
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let file_mb = m["fileBytes"].as_f64().unwrap() / 1_048_576.0;
        let peak_mb = m["peakKiB"].as_f64().unwrap() / 1024.0;
        let work_mb = peak_mb - m["baselineKiB"].as_f64().unwrap() / 1024.0;
        let eval_ms = m["evalMs"].as_f64().unwrap();
        println!(
            "| {n} | {nsgs} | {file_mb:.1} MB | {:.0} ms | {eval_ms:.1} ms | {:.1} ms | {:.2} µs | {peak_mb:.1} MB | {:.2}× | {:.2}× |",
            m["parseMs"].as_f64().unwrap(),
            m["evalCpuMs"].as_f64().unwrap(),
            eval_ms * 1000.0 / n as f64,
            peak_mb / file_mb,
            work_mb / file_mb
        );
    }
}
