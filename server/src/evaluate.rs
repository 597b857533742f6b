//! `portcullis evaluate INVENTORY.json [--format json|table] [--config FILE] [--fail-on-unhealthy]`
//!
//! Exit codes (a contract CI pipelines depend on): 0 evaluated; 3 with `--fail-on-unhealthy`
//! when some VM is unhealthy; 2 bad input, with one line naming the JSON path and the value.
use clap::{Args, ValueEnum};
use portcullis_shared::eval::engine::dedup_warnings;
use portcullis_shared::eval::report::{ControlScore, RecommendationSummary, Report, State, Status};
use portcullis_shared::eval::stream::{write_report_releasing, Layout, Style};
use portcullis_shared::eval::{Model, VmBrief};
use portcullis_shared::{EvalConfig, InputError, Inventory};
use std::fmt::Write as _;
use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;

#[cfg(target_os = "linux")]
mod mapped;
#[cfg(target_os = "linux")]
use mapped::Mapped;

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
    /// With `--format json`: the same keys and values with no whitespace (about half the size;
    /// what pipelines should read).
    #[arg(long)]
    pub compact: bool,
    /// With `--format json`: each deciding rule written once, in a top-level `rules` table,
    /// and named by its index there (`decidingRuleRefs`) instead of repeated in every exposure
    /// (`decidingRules`).
    #[arg(long)]
    pub rules_table: bool,
    /// Settings file (TOML, or JSON if it ends in .json): managementPorts,
    /// openThresholdIpv4Prefix, openThresholdIpv6Prefix.
    #[arg(long)]
    pub config: Option<String>,
    /// Exit with code 3 when some VM is unhealthy.
    #[arg(long)]
    pub fail_on_unhealthy: bool,
    /// Print how long each phase took (read, parse, model, report) to standard error.
    #[arg(long)]
    pub timings: bool,
}

pub fn run(args: EvaluateArgs) -> ExitCode {
    if args.format == Format::Table && (args.compact || args.rules_table) {
        let flag = if args.compact {
            "--compact"
        } else {
            "--rules-table"
        };
        eprintln!("error: {flag} applies to --format json only (got --format table)");
        return ExitCode::from(2);
    }
    let mut clock = Clock::new(args.timings);
    let cfg = match &args.config {
        Some(path) => load_config(path),
        None => Ok(EvalConfig::default()),
    };
    // the whole file in one buffer: the parse borrows its strings instead of copying them
    let bytes = cfg.and_then(|cfg| Ok((cfg, read_inventory(&args.inventory)?)));
    let (cfg, bytes) = match bytes {
        Ok(b) => b,
        Err(e) => return bad_input(&e),
    };
    clock.lap("read");
    let mut owned = None;
    // a mapped file's pages are let go as the parse and the model's build are done with them
    let release = |r: std::ops::Range<usize>| bytes.release(r);
    let view = Inventory::parse_view_releasing(&bytes, &mut owned, &release);
    bytes.let_go();
    clock.lap("parse");
    let model = match view.and_then(|view| Model::from_view_releasing(view, &cfg, &release)) {
        Ok(m) => m,
        Err(e) => return bad_input(&e),
    };
    if model.vm_count() == 0 {
        match no_vm_keys(&bytes) {
            Err(e) => return bad_input(&e),
            Ok(Some(warning)) => model.add_warning(warning),
            Ok(None) => {}
        }
    }
    bytes.let_go();
    clock.lap("model");
    let out = std::io::stdout();
    let color = out.is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut w = std::io::BufWriter::with_capacity(1 << 20, DropBehind::new(out.lock()));
    let written = match args.format {
        Format::Json => {
            let style = if args.compact {
                Style::Compact
            } else {
                Style::Pretty
            };
            let layout = Layout {
                style,
                rules_table: args.rules_table,
            };
            write_report_releasing(&model, &mut w, layout, &release)
                .and_then(|r| writeln!(w).map(|()| r.any_unhealthy))
        }
        Format::Table => write_table(&mut w, &model, color),
    };
    let written = written.and_then(|u| w.flush().map(|()| u));
    clock.lap("report");
    clock.total();
    // the process ends here: the model and the buffer are left to the OS, not freed one by one
    std::mem::forget(model);
    std::mem::forget(owned);
    std::mem::forget(bytes);
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("error: writing the report: {e}");
            ExitCode::from(1)
        }
        Ok(true) if args.fail_on_unhealthy => ExitCode::from(3),
        _ => ExitCode::SUCCESS,
    }
}

/// For an inventory that yields no VM, the top-level keys it holds that Portcullis does not
/// read (an ARM list response's `value`, a misspelt key), which are likely why: an error when
/// it holds none that Portcullis reads (so such a file cannot pass a pipeline as "no VM
/// unhealthy"), a warning beside the keys it does read.
fn no_vm_keys(bytes: &[u8]) -> Result<Option<String>, InputError> {
    let (known, unknown) = portcullis_shared::arm::view::top_level_keys(bytes);
    if unknown.is_empty() {
        return Ok(None);
    }
    let mut quoted: Vec<String> = unknown
        .iter()
        .take(5)
        .map(|k| serde_json::Value::from(k.as_str()).to_string())
        .collect();
    if unknown.len() > 5 {
        quoted.push(format!("and {} more", unknown.len() - 5));
    }
    let (keys, are) = match unknown.len() {
        1 => ("key", "is not one"),
        _ => ("keys", "are not ones"),
    };
    let what = format!(
        "the inventory's top-level {keys} {} {are} Portcullis reads ({}); a list response's \
         \"value\" goes under its resource type's key",
        quoted.join(", "),
        portcullis_shared::arm::view::INVENTORY_KEYS.join(", ")
    );
    if known == 0 {
        return Err(InputError::new("", format!("no virtual machines: {what}")));
    }
    Ok(Some(format!("no virtual machines: {what}")))
}

/// `--timings`: each phase's wall time, to standard error.
struct Clock {
    on: bool,
    start: std::time::Instant,
    last: std::time::Instant,
}

impl Clock {
    fn new(on: bool) -> Self {
        let now = std::time::Instant::now();
        Self {
            on,
            start: now,
            last: now,
        }
    }

    fn lap(&mut self, phase: &str) {
        if self.on {
            let now = std::time::Instant::now();
            eprintln!("{phase:>7} {:8.3} s", (now - self.last).as_secs_f64());
            self.last = now;
        }
    }

    fn total(&self) {
        if self.on {
            eprintln!("  total {:8.3} s", self.start.elapsed().as_secs_f64());
        }
    }
}

fn bad_input(e: &InputError) -> ExitCode {
    eprintln!("{}", one_line(&e.to_string()));
    ExitCode::from(2)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Reads the whole inventory (a file, or `-` for stdin) into one buffer.
fn read_inventory(path: &str) -> Result<Input, InputError> {
    let read = if path == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .map(|_| Input::Read(bytes))
    } else {
        std::fs::File::open(path).and_then(|file| {
            // a file system that cannot map the file is read from instead
            #[cfg(target_os = "linux")]
            if file.metadata()?.len() >= TWO_READS {
                if let Ok(Some(m)) = Mapped::of(&file) {
                    return Ok(Input::Mapped(m));
                }
            }
            read_file(file).map(Input::Read)
        })
    };
    read.map_err(|e| InputError::new(path, format!("cannot read the inventory: {e}")))
}

/// The inventory's bytes: read into memory, or (a regular file of [`TWO_READS`] bytes or more,
/// on Linux) mapped, so that the pages the model's build is done with can be let go.
enum Input {
    Read(Vec<u8>),
    #[cfg(target_os = "linux")]
    Mapped(Mapped),
}

impl std::ops::Deref for Input {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Input::Read(b) => b,
            #[cfg(target_os = "linux")]
            Input::Mapped(m) => m.bytes(),
        }
    }
}

impl Input {
    /// Lets go of the mapped file's pages (see [`Mapped::release`]); nothing for a buffer.
    fn let_go(&self) {
        self.release(0..usize::MAX);
    }

    /// Lets go of the mapped file's pages within these addresses; nothing for a buffer.
    fn release(&self, range: std::ops::Range<usize>) {
        #[cfg(target_os = "linux")]
        if let Input::Mapped(m) = self {
            m.release(range);
        }
        #[cfg(not(target_os = "linux"))]
        let _ = range;
    }
}

/// Files from this size up are read in two halves at once.
const TWO_READS: u64 = 8 << 20;

/// The whole file. Most of a large read's time is the copy out of the page cache into fresh
/// pages, so a large file is read in two halves at once (on Unix), each half's pages faulted
/// in and filled by its own core; what the file gained meanwhile is read after.
fn read_file(mut file: std::fs::File) -> std::io::Result<Vec<u8>> {
    let len = file.metadata()?.len();
    #[cfg(unix)]
    if len >= TWO_READS {
        use std::io::{Seek, SeekFrom};
        use std::os::unix::fs::FileExt;
        let mut bytes = vec![0u8; usize::try_from(len).map_err(std::io::Error::other)?];
        let half = bytes.len() / 2;
        let (head, tail) = bytes.split_at_mut(half);
        let at = head.len() as u64;
        std::thread::scope(|scope| {
            let second = scope.spawn(|| file.read_exact_at(tail, at));
            let first = file.read_exact_at(head, 0);
            second.join().expect("reading thread").and(first)
        })?;
        file.seek(SeekFrom::Start(len))?;
        file.read_to_end(&mut bytes)?;
        return Ok(bytes);
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// A settings file's text: UTF-8, with a byte order mark (as Windows PowerShell 5 writes)
/// skipped; UTF-16 or UTF-32 text is refused with what to do.
fn config_text(bytes: &[u8]) -> Result<&str, String> {
    if bytes.starts_with(&[0xFF, 0xFE])
        || bytes.starts_with(&[0xFE, 0xFF])
        || bytes.starts_with(&[0, 0, 0xFE, 0xFF])
    {
        return Err(
            "the config file is UTF-16 or UTF-32 text (as Windows PowerShell 5 writes \
                    with `>`): save it as UTF-8 (`Out-File -Encoding utf8`)"
                .to_owned(),
        );
    }
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| format!("the config file is not UTF-8 text: {e}"))
}

/// Loads a settings file: TOML, or JSON when the name ends in `.json`.
pub fn load_config(path: &str) -> Result<EvalConfig, InputError> {
    let bytes = std::fs::read(path)
        .map_err(|e| InputError::new(path, format!("cannot read the config file: {e}")))?;
    let text = config_text(&bytes).map_err(|m| InputError::new(path, m))?;
    let cfg: EvalConfig = if path.ends_with(".json") {
        serde_json::from_str(text).map_err(|e| InputError::new(path, e.to_string()))?
    } else {
        toml::from_str(text).map_err(|e| InputError::new(path, one_line(&e.to_string())))?
    };
    cfg.validate()
        .map_err(|e| InputError::new(format!("{path}: {}", e.path), e.message))?;
    Ok(cfg)
}

// ---------------------------------------------------------------------------------------------
// table output
// ---------------------------------------------------------------------------------------------

/// A status as the table shows it, and its colour.
fn status_text(s: Status) -> (&'static str, &'static str) {
    match s {
        Status::Healthy => ("✔ healthy", "32"),
        Status::Unhealthy => ("✘ unhealthy", "31"),
        Status::NotApplicable => ("– n/a", "90"),
    }
}

fn pad(s: &str, visible: usize, width: usize) -> String {
    format!("{s}{}", " ".repeat(width.saturating_sub(visible)))
}

/// Rows of the table in one string: per cell, where it ends in `text` and how many
/// characters it shows (colour codes aside). A row's eight cells are consecutive.
#[derive(Default)]
struct Rows {
    text: String,
    cells: Vec<(usize, usize)>,
}

impl Rows {
    /// Appends a cell written by `write`, in colour `code` when given.
    fn cell(&mut self, code: Option<&str>, write: impl FnOnce(&mut String)) {
        if let Some(code) = code {
            self.text.push_str("\x1b[");
            self.text.push_str(code);
            self.text.push('m');
        }
        let start = self.text.len();
        write(&mut self.text);
        let visible = self.text[start..].chars().count();
        if code.is_some() {
            self.text.push_str("\x1b[0m");
        }
        self.cells.push((self.text.len(), visible));
    }

    fn status(&mut self, s: Status, color: bool) {
        let (txt, code) = status_text(s);
        self.cell(color.then_some(code), |t| t.push_str(txt));
    }

    /// Appends a VM's row: name, resource group, status, the three recommendations, public
    /// addresses, and the open or restricted ports with the paths that reach them.
    fn push(&mut self, v: &VmBrief<'_>, color: bool) {
        self.cell(None, |t| t.push_str(v.name));
        self.cell(None, |t| t.push_str(v.resource_group));
        self.status(v.status(), color);
        let r = &v.recommendations;
        self.status(r.internet_facing_vms_protected_by_nsg, color);
        self.status(r.management_ports_closed, color);
        self.status(r.management_ports_jit_protected, color);
        self.cell(None, |t| {
            if v.public_ips.is_empty() {
                t.push('-');
            }
            for (k, ip) in v.public_ips.iter().enumerate() {
                if k > 0 {
                    t.push(',');
                }
                t.push_str(ip);
            }
        });
        let open = v.exposed.iter().any(|e| e.state == State::Open);
        self.cell((color && open).then_some("31"), |t| {
            if v.exposed.is_empty() {
                t.push('-');
            }
            for (k, e) in v.exposed.iter().enumerate() {
                if k > 0 {
                    t.push_str(", ");
                }
                let _ = write!(t, "{}/{} {}", e.port, e.protocol, e.state.as_str());
                if e.reachable_via.is_empty() {
                    t.push_str(" (not reachable)");
                }
                for (j, (kind, frontend)) in e.reachable_via.iter().enumerate() {
                    let sep = if j == 0 { " " } else { ", " };
                    let _ = write!(t, "{sep}via {} {frontend}", kind.short());
                }
            }
        });
    }

    /// Each row's cells as (text, visible length).
    fn iter(&self) -> impl Iterator<Item = impl Iterator<Item = (&str, usize)>> {
        self.cells.chunks(8).enumerate().map(move |(r, row)| {
            let mut start = if r == 0 { 0 } else { self.cells[r * 8 - 1].0 };
            row.iter().map(move |&(end, visible)| {
                let cell = &self.text[start..end];
                start = end;
                (cell, visible)
            })
        })
    }
}

/// Evaluates every VM into its table row (on every core with the engine's `parallel`
/// feature: each core writes the rows of its own consecutive VMs) and writes the table;
/// returns whether some VM is unhealthy. Only what the table shows is evaluated
/// ([`Model::fold_vm_briefs`]): no reason, source list or deciding rule is built.
fn write_table(w: &mut impl Write, model: &Model<'_>, color: bool) -> std::io::Result<bool> {
    let (todo, mut warnings) = model.vm_order();
    let chunks = model.fold_vm_briefs(
        &todo,
        || (Rows::default(), Vec::new()),
        |(rows, recs), v| {
            recs.push((v.status(), v.recommendations));
            rows.push(&v, color);
        },
    );
    let mut parts = Vec::with_capacity(chunks.len());
    let mut recs = Vec::with_capacity(todo.len());
    for ((rows, chunk_recs), chunk_warnings) in chunks {
        parts.push(rows);
        recs.extend(chunk_recs);
        warnings.extend(chunk_warnings);
    }
    dedup_warnings(&mut warnings);
    let (control, recommendations) = Report::summary(recs.iter().copied());
    let any_unhealthy = recs.iter().any(|(s, _)| *s == Status::Unhealthy);
    print_table(w, &control, &recommendations, &parts, &warnings)?;
    Ok(any_unhealthy)
}

fn print_table(
    w: &mut impl Write,
    c: &ControlScore,
    recommendations: &[RecommendationSummary],
    parts: &[Rows],
    warnings: &[String],
) -> std::io::Result<()> {
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
    for rec in recommendations {
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
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    let rows = || parts.iter().flat_map(Rows::iter);
    for row in rows() {
        for (i, (_, len)) in row.enumerate() {
            widths[i] = widths[i].max(len);
        }
    }
    let header: Vec<String> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| pad(h, h.len(), widths[i]))
        .collect();
    writeln!(w, "{}", header.join("  ").trim_end())?;
    let mut line = String::new();
    for row in rows() {
        line.clear();
        for (i, (s, len)) in row.enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(s);
            line.extend(std::iter::repeat_n(' ', widths[i].saturating_sub(len)));
        }
        writeln!(w, "{}", line.trim_end())?;
    }
    if !warnings.is_empty() {
        writeln!(w)?;
        writeln!(w, "{} warning(s):", warnings.len())?;
        for warn in warnings {
            writeln!(w, "  - {warn}")?;
        }
    }
    Ok(())
}

/// The report's writer: when standard output is a regular file, the pages already written are
/// handed back to the kernel as the report grows (`posix_fadvise(DONTNEED)`, which also starts
/// their write-back), so that a report of hundreds of MB recycles a few MB of page cache instead
/// of filling fresh pages, which is most of the system time of a large report on some hosts.
/// Elsewhere (a pipe, a terminal, another OS) it only passes the bytes through.
struct DropBehind<W: Write> {
    inner: W,
    #[cfg(target_os = "linux")]
    file: Option<std::os::fd::OwnedFd>,
    written: u64,
    advised: u64,
}

/// How far behind the end of the report pages are let go, and how often.
const DROP_STEP: u64 = 16 << 20;

impl<W: Write> DropBehind<W> {
    fn new(inner: W) -> Self {
        #[cfg(target_os = "linux")]
        let file = {
            use std::os::fd::AsFd;
            let out = std::io::stdout();
            let fd = out.as_fd();
            rustix::fs::fstat(fd)
                .ok()
                .filter(|st| rustix::fs::FileType::from_raw_mode(st.st_mode).is_file())
                .and_then(|_| fd.try_clone_to_owned().ok())
        };
        Self {
            inner,
            #[cfg(target_os = "linux")]
            file,
            written: 0,
            advised: 0,
        }
    }
}

impl<W: Write> Write for DropBehind<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        #[cfg(target_os = "linux")]
        if let Some(file) = &self.file {
            if self.written >= self.advised + 2 * DROP_STEP {
                // everything but the last step: pages advised once are being written back and
                // are dropped when advised again, a step later
                let end = self.written - DROP_STEP;
                let len = std::num::NonZeroU64::new(end);
                let _ = rustix::fs::fadvise(file, 0, len, rustix::fs::Advice::DontNeed);
                self.advised = end;
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
