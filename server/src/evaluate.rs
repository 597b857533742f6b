//! `portcullis evaluate INVENTORY.json [--format json|table] [--config FILE] [--fail-on-unhealthy]`
//!
//! Exit codes (a contract CI pipelines depend on): 0 evaluated; 3 with `--fail-on-unhealthy`
//! when some VM is unhealthy; 2 bad input, with one line naming the JSON path and the value.
use clap::{Args, ValueEnum};
use portcullis_shared::eval::report::{Report, State, Status};
use portcullis_shared::{evaluate, EvalConfig, InputError, Inventory};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Json,
    Table,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Inventory JSON file (ARM resources as ARM returns them), or `-` for stdin.
    pub inventory: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    pub format: Format,
    /// Settings file (TOML, or JSON if it ends in .json): managementPorts,
    /// openThresholdIpv4Prefix, openThresholdIpv6Prefix.
    #[arg(long)]
    pub config: Option<String>,
    /// Exit with code 3 when some VM is unhealthy.
    #[arg(long)]
    pub fail_on_unhealthy: bool,
}

pub fn run(args: EvaluateArgs) -> ExitCode {
    match run_inner(&args) {
        Ok(report) => {
            let out = std::io::stdout();
            let color = out.is_terminal() && std::env::var_os("NO_COLOR").is_none();
            let mut w = std::io::BufWriter::new(out.lock());
            let written = match args.format {
                Format::Json => serde_json::to_writer_pretty(&mut w, &report)
                    .map_err(std::io::Error::other)
                    .and_then(|_| writeln!(w)),
                Format::Table => write_table(&mut w, &report, color),
            };
            if let Err(e) = written.and_then(|_| w.flush()) {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    eprintln!("error: writing the report: {e}");
                    return ExitCode::from(1);
                }
            }
            if args.fail_on_unhealthy && report.any_unhealthy() {
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("{}", one_line(&e.to_string()));
            ExitCode::from(2)
        }
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn run_inner(args: &EvaluateArgs) -> Result<Report, InputError> {
    let cfg = match &args.config {
        Some(path) => load_config(path)?,
        None => EvalConfig::default(),
    };
    let inv = read_inventory(&args.inventory)?;
    evaluate(&inv, &cfg)
}

/// Reads the inventory in one streaming pass: a large file is never held in memory whole.
fn read_inventory(path: &str) -> Result<Inventory, InputError> {
    if path == "-" {
        return Inventory::from_reader(std::io::stdin().lock());
    }
    let file = std::fs::File::open(path)
        .map_err(|e| InputError::new(path, format!("cannot read the inventory: {e}")))?;
    Inventory::from_reader(std::io::BufReader::with_capacity(1 << 20, file))
}

/// Loads a settings file: TOML, or JSON when the name ends in `.json`.
pub fn load_config(path: &str) -> Result<EvalConfig, InputError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError::new(path, format!("cannot read the config file: {e}")))?;
    let cfg: EvalConfig = if path.ends_with(".json") {
        serde_json::from_str(&text).map_err(|e| InputError::new(path, e.to_string()))?
    } else {
        toml::from_str(&text).map_err(|e| InputError::new(path, one_line(&e.to_string())))?
    };
    cfg.validate()
        .map_err(|e| InputError::new(format!("{path}: {}", e.path), e.message))?;
    Ok(cfg)
}

// ---------------------------------------------------------------------------------------------
// table output
// ---------------------------------------------------------------------------------------------

struct Paint(bool);

impl Paint {
    fn status(&self, s: Status) -> String {
        let (txt, code) = match s {
            Status::Healthy => ("✔ healthy", "32"),
            Status::Unhealthy => ("✘ unhealthy", "31"),
            Status::NotApplicable => ("– n/a", "90"),
        };
        self.wrap(txt, code)
    }
    fn wrap(&self, txt: &str, code: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{txt}\x1b[0m")
        } else {
            txt.to_string()
        }
    }
}

fn pad(s: &str, visible: usize, width: usize) -> String {
    format!("{s}{}", " ".repeat(width.saturating_sub(visible)))
}

fn write_table(w: &mut impl Write, r: &Report, color: bool) -> std::io::Result<()> {
    let p = Paint(color);
    let c = &r.control;
    if c.applicable {
        writeln!(
            w,
            "{}: {:.2} of {} points ({:.2}%)  healthy {}  unhealthy {}  not applicable {}",
            c.name,
            c.current_score,
            c.max_score,
            c.percentage,
            c.healthy,
            c.unhealthy,
            c.not_applicable
        )?;
    } else {
        writeln!(
            w,
            "{}: not applicable (no VM is healthy or unhealthy)",
            c.name
        )?;
    }
    for rec in &r.recommendations {
        writeln!(
            w,
            "  {:<34} healthy {:>5}  unhealthy {:>5}  n/a {:>5}",
            rec.key.as_str(),
            rec.healthy,
            rec.unhealthy,
            rec.not_applicable
        )?;
    }
    writeln!(w)?;
    let headers = [
        "VM",
        "RESOURCE GROUP",
        "STATUS",
        "NSG",
        "PORTS CLOSED",
        "JIT",
        "PUBLIC IP",
        "EXPOSED PORTS",
    ];
    let rows: Vec<[(String, usize); 8]> = r
        .vms
        .iter()
        .map(|v| {
            let st = |s: Status| {
                let vis = p.status(s);
                let len = Paint(false).status(s).chars().count();
                (vis, len)
            };
            let exposed: Vec<String> = v
                .exposures
                .iter()
                .filter(|e| matches!(e.state, State::Open | State::Restricted))
                .map(|e| {
                    // the reachable paths, else "(not reachable)"
                    let via: Vec<String> = e
                        .paths
                        .iter()
                        .filter(|p| p.reachable)
                        .map(|p| format!("via {} {}", p.kind.short(), p.frontend))
                        .collect();
                    format!(
                        "{}/{} {}{}",
                        e.port,
                        e.protocol,
                        e.state.as_str(),
                        if via.is_empty() {
                            " (not reachable)".to_string()
                        } else {
                            format!(" {}", via.join(", "))
                        }
                    )
                })
                .collect();
            let exposed_plain = if exposed.is_empty() {
                "-".to_string()
            } else {
                exposed.join(", ")
            };
            let exposed_len = exposed_plain.chars().count();
            let exposed_vis = if v.exposures.iter().any(|e| e.state == State::Open) {
                p.wrap(&exposed_plain, "31")
            } else {
                exposed_plain
            };
            let ips = if v.public_ips.is_empty() {
                "-".to_string()
            } else {
                v.public_ips.join(",")
            };
            let plain = |s: &str| (s.to_string(), s.chars().count());
            [
                plain(&v.name),
                plain(&v.resource_group),
                st(v.status),
                st(v.recommendations.internet_facing_vms_protected_by_nsg),
                st(v.recommendations.management_ports_closed),
                st(v.recommendations.management_ports_jit_protected),
                (ips.clone(), ips.chars().count()),
                (exposed_vis, exposed_len),
            ]
        })
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (i, (_, len)) in row.iter().enumerate() {
            widths[i] = widths[i].max(*len);
        }
    }
    let header: Vec<String> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| pad(h, h.len(), widths[i]))
        .collect();
    writeln!(w, "{}", header.join("  ").trim_end())?;
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, (s, len))| pad(s, *len, widths[i]))
            .collect();
        writeln!(w, "{}", cells.join("  ").trim_end())?;
    }
    if !r.warnings.is_empty() {
        writeln!(w)?;
        writeln!(w, "{} warning(s):", r.warnings.len())?;
        for warn in &r.warnings {
            writeln!(w, "  - {warn}")?;
        }
    }
    Ok(())
}
