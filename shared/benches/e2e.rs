//! Benchmark: `portcullis evaluate` end to end, from process start to exit, on inventories of
//! several shapes, against the parse floor and a naive Python check measured in the same run.
//!
//! ```text
//! cargo build --release -p portcullis
//! cargo bench -p portcullis-shared --bench e2e [-- [--runs N] [--shapes a,b] SIZES...]
//! cargo bench -p portcullis-shared --features simd-floor --bench e2e   # + simd-json's and sonic-rs's floors
//! ```
//!
//! For each shape and size the inventory is generated once (deterministic) into
//! `target/bench-fleets/e2e-SHAPE-N.json`. Then, `--runs` times (3 by default), in turn:
//! - the **parse floor**: a fresh process (this binary, `--floor`) reads the file into one
//!   buffer and parses it with serde_json into `IgnoredAny` (every value read and validated,
//!   nothing built); with `simd-floor` also simd-json's tape and sonic-rs into `IgnoredAny`;
//! - `portcullis evaluate FILE --format json > out.json`, and `--format table > out.txt`;
//! - `python3 shared/benches/naive_baseline.py FILE > out.json` (json.load and a per-rule
//!   string match).
//!
//! Then once: `--format json --compact`, and `--compact --rules-table` (size and time). Then,
//! `--runs` times, the **write floor**: a fresh process (this binary, `--write-floor N`) writes
//! as many bytes as the pretty JSON report into the same place, a MB per `write`: what writing
//! the report alone costs, whatever produces it.
//!
//! Each is timed from spawn to exit (wall clock), and its peak resident memory (VmHWM, which
//! counts mapped file pages) is read by GNU `time` (Debian package `time`). The tables print the
//! medians. The binary is `target/release/portcullis`, or `$PORTCULLIS_BIN`.
//!
//! Shapes:
//! - `fleet`: the engine bench's fleet (`fleet::synthetic_fleet`: ~10 VMs per NSG, 20 rules,
//!   default rules listed, 30% public IPs);
//! - `nsg-per-vm`: one NSG per VM (8 rules), dual stack IPv4 + IPv6 (`fleet::per_vm_nsg_fleet`);
//! - `rich`: long names and ids, eight tags per VM and NSG, full VM payloads as ARM's
//!   `VirtualMachine_Get` example returns them, subnets listing their ip configurations as real
//!   VNet payloads do, one large JIT policy per resource group with a request history
//!   (`fleet::rich_fleet`);
//! - `portal`: every VM as the Azure portal creates it, with its own NSG and the portal's one
//!   rule (SSH or RDP from any source), in lean payloads of about 2 KB per VM, so that the
//!   model's memory weighs most against the file (`fleet::portal_fleet`).
use portcullis_shared::fleet::{per_vm_nsg_fleet, portal_fleet, rich_fleet, synthetic_fleet};
use portcullis_shared::Inventory;
use serde_json::{json, Value};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const SHAPES: [&str; 4] = ["fleet", "nsg-per-vm", "rich", "portal"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

// ---------------------------------------------------------------------------------------------
// the parse floor (run in a child process)
// ---------------------------------------------------------------------------------------------

fn floor(kind: &str, path: &str) {
    let bytes = std::fs::read(path).expect("inventory file");
    match kind {
        "serde" => {
            let _: serde::de::IgnoredAny = serde_json::from_slice(&bytes).expect("valid JSON");
        }
        #[cfg(feature = "simd-floor")]
        "simd" => {
            let mut bytes = bytes;
            let tape = simd_json::to_tape(&mut bytes).expect("valid JSON");
            std::hint::black_box(&tape);
        }
        #[cfg(feature = "simd-floor")]
        "sonic" => {
            let _: serde::de::IgnoredAny = sonic_rs::from_slice(&bytes).expect("valid JSON");
        }
        other => panic!("unknown floor {other}"),
    }
}

/// The write floor: `bytes` bytes of text (lines of 64) written to standard output, a MB at a
/// time, as fast as plain `write` calls go. Run with standard output on the report's file, it
/// is what writing a report of that size costs the machine, whatever produces it.
fn write_floor(bytes: u64) {
    let mut chunk = vec![b' '; 1 << 20];
    for line in chunk.chunks_mut(64) {
        line[63] = b'\n';
    }
    let mut out = std::io::stdout().lock();
    let mut left = bytes;
    while left > 0 {
        let k = left.min(chunk.len() as u64) as usize;
        out.write_all(&chunk[..k]).expect("writing");
        left -= k as u64;
    }
    out.flush().expect("writing");
}

// ---------------------------------------------------------------------------------------------
// shapes
// ---------------------------------------------------------------------------------------------

fn write_shape(shape: &str, n: usize, path: &Path) {
    let inv = match shape {
        "fleet" => synthetic_fleet(n, 42),
        "nsg-per-vm" => per_vm_nsg_fleet(n, 42),
        "rich" => rich_fleet(n, 42),
        "portal" => portal_fleet(n, 42),
        other => panic!("unknown shape {other}"),
    };
    let tmp = path.with_extension("tmp");
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp).unwrap());
    if shape == "rich" {
        write_rich(&inv, &mut w).unwrap();
    } else {
        serde_json::to_writer(&mut w, &inv).unwrap();
    }
    w.flush().unwrap();
    drop(w);
    std::fs::rename(tmp, path).unwrap();
}

/// The rich shape: what the ARM types keep, plus what real payloads carry beside it.
fn write_rich(inv: &Inventory, w: &mut impl Write) -> std::io::Result<()> {
    let example: Value = serde_json::from_slice(
        &std::fs::read(root().join("shared/tests/fixtures/arm-examples/VirtualMachine_Get.json"))
            .expect("the VirtualMachine_Get example"),
    )
    .unwrap();
    let template = example["responses"]["200"]["body"].clone();
    // subnet id -> the ip configurations in it, as VNet payloads list them
    let mut in_subnet: std::collections::HashMap<String, Vec<Value>> = Default::default();
    for nic in &inv.network_interfaces {
        for c in &nic.properties.ip_configurations {
            if let (Some(s), Some(id)) = (&c.properties.subnet, &c.id) {
                in_subnet
                    .entry(s.id.clone().unwrap_or_default().to_ascii_lowercase())
                    .or_default()
                    .push(json!({ "id": id }));
            }
        }
    }
    let section = |w: &mut dyn Write, key: &str, first: bool| -> std::io::Result<()> {
        write!(w, "{}\"{key}\":[", if first { "{" } else { "]," })
    };
    section(w, "virtualMachines", true)?;
    for (i, vm) in inv.virtual_machines.iter().enumerate() {
        let mut v = template.clone();
        let own = serde_json::to_value(vm).unwrap();
        let o = v.as_object_mut().unwrap();
        for k in ["id", "name", "location", "tags"] {
            o.insert(k.into(), own[k].clone());
        }
        let p = o["properties"].as_object_mut().unwrap();
        p.insert(
            "vmId".into(),
            json!(format!("0f47b100-583c-48e3-a4c0-{i:012}")),
        );
        p.insert(
            "networkProfile".into(),
            own["properties"]["networkProfile"].clone(),
        );
        p["osProfile"]["computerName"] = own["name"].clone();
        p["storageProfile"]["osDisk"]["osType"] =
            own["properties"]["storageProfile"]["osDisk"]["osType"].clone();
        if i > 0 {
            w.write_all(b",")?;
        }
        serde_json::to_writer(&mut *w, &v)?;
    }
    let list = |w: &mut dyn Write, items: &mut dyn Iterator<Item = Value>| -> std::io::Result<()> {
        for (i, v) in items.enumerate() {
            if i > 0 {
                w.write_all(b",")?;
            }
            serde_json::to_writer(&mut *w, &v)?;
        }
        Ok(())
    };
    section(w, "networkInterfaces", false)?;
    list(w, &mut inv.network_interfaces.iter().map(|x| json!(x)))?;
    section(w, "publicIPAddresses", false)?;
    list(w, &mut inv.public_ip_addresses.iter().map(|x| json!(x)))?;
    section(w, "virtualNetworks", false)?;
    list(
        w,
        &mut inv.virtual_networks.iter().map(|x| {
            let mut v = json!(x);
            for s in v["properties"]["subnets"].as_array_mut().unwrap() {
                let key = s["id"].as_str().unwrap_or_default().to_ascii_lowercase();
                s["properties"]["ipConfigurations"] =
                    Value::Array(in_subnet.get(&key).cloned().unwrap_or_default());
            }
            v
        }),
    )?;
    section(w, "networkSecurityGroups", false)?;
    list(w, &mut inv.network_security_groups.iter().map(|x| json!(x)))?;
    section(w, "jitNetworkAccessPolicies", false)?;
    list(
        w,
        &mut inv.jit_network_access_policies.iter().map(|x| json!(x)),
    )?;
    w.write_all(b"]}")
}

// ---------------------------------------------------------------------------------------------
// measuring children
// ---------------------------------------------------------------------------------------------

struct Run {
    secs: f64,
    peak_kib: u64,
}

/// Runs `cmd` under GNU time with stdout to `out`: wall time from spawn to exit, peak RSS.
fn run(cmd: &[&str], out: &Path) -> Run {
    let stats = out.with_extension("time");
    // the previous run's output is removed and flushed to disk before the clock starts:
    // truncating a file the kernel is still writing back waits for the disk, and that wait
    // belongs to the previous run, not to this one
    let _ = std::fs::remove_file(out);
    let _ = Command::new("sync").status();
    let stdout = std::fs::File::create(out).unwrap();
    let t = Instant::now();
    let status = Command::new("/usr/bin/time")
        .args(["-f", "%M", "-o", stats.to_str().unwrap()])
        .args(cmd)
        .stdout(stdout)
        .stderr(Stdio::inherit())
        .status()
        .expect("GNU time (/usr/bin/time, Debian package `time`)");
    let secs = t.elapsed().as_secs_f64();
    assert!(status.success(), "{cmd:?} failed: {status}");
    let text = std::fs::read_to_string(&stats).unwrap();
    let peak_kib = text
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .next_back()
        .expect("time's %M");
    Run { secs, peak_kib }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let mut args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.first().map(String::as_str) == Some("--floor") {
        return floor(&args[1], &args[2]);
    }
    if args.first().map(String::as_str) == Some("--write-floor") {
        return write_floor(args[1].parse().expect("a byte count"));
    }
    let mut runs = 3;
    let mut shapes: Vec<String> = SHAPES.iter().map(|s| s.to_string()).collect();
    let mut sizes = Vec::new();
    while !args.is_empty() {
        let a = args.remove(0);
        match a.as_str() {
            "--runs" => runs = args.remove(0).parse().expect("--runs N"),
            "--shapes" => shapes = args.remove(0).split(',').map(str::to_string).collect(),
            n => sizes.push(n.parse::<usize>().expect("a size")),
        }
    }
    if sizes.is_empty() {
        sizes = vec![1_000, 10_000, 100_000];
    }
    let bin = std::env::var("PORTCULLIS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("target/release/portcullis"));
    assert!(
        bin.exists(),
        "{} is missing: cargo build --release -p portcullis first",
        bin.display()
    );
    let script = root().join("shared/benches/naive_baseline.py");
    let dir = root().join("target/bench-fleets");
    std::fs::create_dir_all(&dir).unwrap();
    let me = std::env::current_exe().unwrap();
    let mut floors = vec!["serde"];
    if cfg!(feature = "simd-floor") {
        floors.extend(["simd", "sonic"]);
    }
    for shape in &shapes {
        println!("\n### Shape `{shape}`\n");
        println!("| VMs | file | parse floor{} | write floor (the json's size; / parse floor) | e2e json | e2e table | Python | Python / json | Python / table | json / floor | table / floor | paired: json / its floor, table / its floor | peak / file (json, table) | report (json) | per VM | report (compact) | per VM | compact + rules table: e2e (1 run), report, per VM |",
            if floors.len() > 1 { " (serde_json; simd-json; sonic-rs)" } else { " (serde_json)" });
        println!(
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for &n in &sizes {
            let path = dir.join(format!("e2e-{shape}-{n}.json"));
            if !path.exists() {
                let t = Instant::now();
                write_shape(shape, n, &path);
                eprintln!(
                    "generated {} in {:.1} s",
                    path.display(),
                    t.elapsed().as_secs_f64()
                );
            }
            let file = path.to_str().unwrap();
            let file_bytes = std::fs::metadata(&path).unwrap().len() as f64;
            let out_json = dir.join(format!("e2e-{shape}-{n}.out.json"));
            let out_compact = dir.join(format!("e2e-{shape}-{n}.out.compact.json"));
            let out_shared = dir.join(format!("e2e-{shape}-{n}.out.rules.json"));
            let out_table = dir.join(format!("e2e-{shape}-{n}.out.txt"));
            let out_py = dir.join(format!("e2e-{shape}-{n}.out.py.json"));
            let out_floor = dir.join(format!("e2e-{shape}-{n}.out.floor"));
            let mut t_floor: Vec<Vec<f64>> = vec![Vec::new(); floors.len()];
            let (mut t_json, mut t_table, mut t_py) = (Vec::new(), Vec::new(), Vec::new());
            // each run's json and table against the serde_json floor run just before it, so
            // that both meet the machine in the same state (fresh pages cost more than reused)
            let (mut paired_json, mut paired_table) = (Vec::new(), Vec::new());
            let (mut m_json, mut m_table) = (0u64, 0u64);
            let bin = bin.to_str().unwrap();
            for _ in 0..runs {
                for (k, f) in floors.iter().enumerate() {
                    let r = run(&[me.to_str().unwrap(), "--floor", f, file], &out_floor);
                    t_floor[k].push(r.secs);
                }
                let before = t_floor[0].last().copied().unwrap_or(f64::NAN);
                let r = run(&[bin, "evaluate", file, "--format", "json"], &out_json);
                t_json.push(r.secs);
                paired_json.push(r.secs / before);
                m_json = m_json.max(r.peak_kib);
                let before = run(
                    &[me.to_str().unwrap(), "--floor", floors[0], file],
                    &out_floor,
                );
                t_floor[0].push(before.secs);
                let r = run(&[bin, "evaluate", file, "--format", "table"], &out_table);
                t_table.push(r.secs);
                paired_table.push(r.secs / before.secs);
                m_table = m_table.max(r.peak_kib);
                let r = run(&["python3", script.to_str().unwrap(), file], &out_py);
                t_py.push(r.secs);
            }
            run(
                &[bin, "evaluate", file, "--format", "json", "--compact"],
                &out_compact,
            );
            let shared = run(
                &[
                    bin,
                    "evaluate",
                    file,
                    "--format",
                    "json",
                    "--compact",
                    "--rules-table",
                ],
                &out_shared,
            );
            // writing a report of the pretty JSON's size, alone
            let report_len = std::fs::metadata(&out_json).unwrap().len().to_string();
            let out_write = dir.join(format!("e2e-{shape}-{n}.out.write"));
            let t_write = median(
                (0..runs)
                    .map(|_| {
                        let me = me.to_str().unwrap();
                        run(&[me, "--write-floor", &report_len], &out_write).secs
                    })
                    .collect(),
            );
            let _ = std::fs::remove_file(&out_write);
            let floor: Vec<f64> = t_floor.into_iter().map(median).collect();
            let fastest = floor.iter().cloned().fold(f64::MAX, f64::min);
            let (j, t, p) = (median(t_json), median(t_table), median(t_py));
            let report = std::fs::metadata(&out_json).unwrap().len() as f64;
            let compact = std::fs::metadata(&out_compact).unwrap().len() as f64;
            let shared_size = std::fs::metadata(&out_shared).unwrap().len() as f64;
            let mb = |b: f64| b / 1_048_576.0;
            let floor_text: Vec<String> = floor.iter().map(|f| format!("{:.2} s", f)).collect();
            println!(
                "| {n} | {:.1} MB | {} | {t_write:.2} s ({:.2}×) | {j:.2} s | {t:.2} s | {p:.2} s | {:.1}× | {:.1}× | {:.2}× | {:.2}× | {:.2}×, {:.2}× | {:.2}×, {:.2}× | {:.1} MB | {:.0} B | {:.1} MB | {:.0} B | {:.2} s, {:.1} MB, {:.0} B |",
                mb(file_bytes),
                floor_text.join("; "),
                t_write / fastest,
                p / j,
                p / t,
                j / fastest,
                t / fastest,
                median(paired_json),
                median(paired_table),
                m_json as f64 * 1024.0 / file_bytes,
                m_table as f64 * 1024.0 / file_bytes,
                mb(report),
                report / n as f64,
                mb(compact),
                compact / n as f64,
                shared.secs,
                mb(shared_size),
                shared_size / n as f64,
            );
        }
    }
    println!("\n({runs} runs each, medians; ratios against the fastest floor's median, and paired: each run against the serde_json floor run just before it)");
}
