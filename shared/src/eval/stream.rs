//! The `portcullis evaluate` JSON report, written as it is produced.
//!
//! [`write_report`] writes exactly what `serde_json::to_writer_pretty(&Report)` writes for the
//! whole report (keys, order, values, whitespace), without ever holding the report: the summary
//! comes first in the contract, so a first pass over the VMs keeps only their recommendations
//! (the rest of their reports is not built), and a second pass evaluates them again (the
//! model's cache makes that the cheaper pass) in units of consecutive VMs: each core takes the
//! next unit, evaluates and serialises it, and this thread writes the units in order while the
//! next are evaluated (a few units ahead at most).
//! [`Style::Compact`] writes the same keys and values with no whitespace.
//!
//! With [`Layout::rules_table`] every deciding rule is written once, in a top-level `rules`
//! table after `warnings`, and each exposure names its deciding rules by their index in it
//! (`decidingRuleRefs`) instead of repeating them (`decidingRules`). Indices follow the order
//! in which rules first decide something, VM by VM. Evaluating threads write a placeholder (a
//! NUL byte, which JSON text never holds raw, and the rule's number within the batch) and hash
//! the rule's content; the writer gives each rule its index (comparing, not hashing) and writes
//! the numbers. The table itself is rendered 8,192 rules at a time on every core.
use super::engine::{dedup_warnings, Model};
use super::keys::{FxHasher, FxMap};
use super::report::{
    DecidingRule, Exposure, InternetPath, IpConfigSummary, Level, Report, State, Status,
    VmRecommendations, VmReport,
};
use super::{Access, Protocol};
use crate::arm::view::Release;
use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::io::{self, Write};
use std::ops::Range;
use std::sync::Mutex;

/// VMs evaluated and serialised together, on one thread, into one buffer: a 128th of the VMs,
/// between 32 and 512. Large units share more (a verdict is written once per unit); small ones
/// keep the report in flight small beside a small inventory (up to `AHEAD` units and one per
/// core: 512 of `fleet`'s VMs are about 4.5 MB of pretty JSON, which at 10k VMs put the JSON's
/// peak memory at 3.2× the file).
fn unit_size(vms: usize) -> usize {
    (vms / 128).clamp(32, 512)
}

/// Units evaluated ahead of the one being written, at most: bounds the memory the report
/// takes in flight (a unit of `fleet`'s VMs is about 4.5 MB of pretty JSON).
#[cfg(all(feature = "parallel", not(target_arch = "wasm32")))]
const AHEAD: usize = 4;

/// A unit's JSON, and the deciding rules its placeholders number (`--rules-table`).
type Part = io::Result<(Vec<u8>, Vec<Hashed>)>;

/// Deciding rules of the `rules` table rendered together, on one thread, into one buffer.
const TABLE_UNIT: usize = 8192;

/// How the JSON is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// As `serde_json::to_writer_pretty`: two-space indents, one value a line (the contract's
    /// default output).
    Pretty,
    /// The same keys and values, no whitespace (`--compact`).
    Compact,
}

/// How the report is laid out: whitespace, and whether deciding rules are shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub style: Style,
    /// Deciding rules written once, in a top-level `rules` table, and referred to by index
    /// (`decidingRuleRefs`) from the exposures (`--rules-table`).
    pub rules_table: bool,
}

impl From<Style> for Layout {
    fn from(style: Style) -> Self {
        Layout {
            style,
            rules_table: false,
        }
    }
}

/// What the caller needs once the report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub vms: usize,
    pub any_unhealthy: bool,
}

/// serde_json's pretty layout (two-space indents), starting at a given depth, so that a value
/// nested in the report can be serialised on its own.
#[derive(Debug, Clone)]
pub struct Pretty {
    depth: usize,
    has_value: bool,
}

impl Pretty {
    pub fn at(depth: usize) -> Self {
        Self {
            depth,
            has_value: false,
        }
    }
}

fn indent<W: ?Sized + Write>(w: &mut W, depth: usize) -> io::Result<()> {
    const SPACES: &[u8] = &[b' '; 64];
    let mut n = depth * 2;
    while n > 0 {
        let k = n.min(SPACES.len());
        w.write_all(&SPACES[..k])?;
        n -= k;
    }
    Ok(())
}

impl Formatter for Pretty {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(b"[")
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            w.write_all(b"\n")?;
            indent(w, self.depth)?;
        }
        w.write_all(b"]")
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        indent(w, self.depth)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(b"{")
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            w.write_all(b"\n")?;
            indent(w, self.depth)?;
        }
        w.write_all(b"}")
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        indent(w, self.depth)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// `,` then a new line and the indent of 64 levels at most, as one slice: most of the pretty
/// report's bytes are these (see [`line`]).
const LINE: [u8; 130] = {
    let mut a = [b' '; 130];
    a[0] = b',';
    a[1] = b'\n';
    a
};

/// A new line indented for `depth` (after a comma unless `first`), copied in one piece.
fn line(buf: &mut Vec<u8>, first: bool, depth: usize) {
    let from = usize::from(first);
    let end = 2 + depth * 2;
    if end <= LINE.len() {
        buf.extend_from_slice(&LINE[from..end]);
    } else {
        buf.extend_from_slice(&LINE[from..2]);
        // writing to a Vec cannot fail
        let _ = indent(buf, depth);
    }
}

/// Serialises `value` at `depth` (pretty) or compactly.
fn put<W: Write, T: Serialize + ?Sized>(
    w: &mut W,
    value: &T,
    style: Style,
    depth: usize,
) -> io::Result<()> {
    match style {
        Style::Pretty => value.serialize(&mut serde_json::Serializer::with_formatter(
            &mut *w,
            Pretty::at(depth),
        )),
        Style::Compact => value.serialize(&mut serde_json::Serializer::with_formatter(
            &mut *w,
            CompactFormatter,
        )),
    }
    .map_err(io::Error::other)
}

/// The report's top-level key `name` (after a value unless `first`).
fn key<W: Write>(w: &mut W, name: &str, first: bool, style: Style) -> io::Result<()> {
    let open = if first { "{" } else { "," };
    match style {
        Style::Pretty => write!(w, "{open}\n  \"{name}\": "),
        Style::Compact => write!(w, "{open}\"{name}\":"),
    }
}

/// Evaluates every VM of the model and writes the report to `w` (no trailing newline), as it
/// is produced. With the `parallel` feature the VMs of a batch are shared out between cores.
pub fn write_report<W: Write>(
    model: &Model<'_>,
    w: &mut W,
    layout: impl Into<Layout>,
) -> io::Result<Written> {
    write_report_releasing(model, w, layout, &|_| {})
}

/// Units written between two calls of a [`write_report_releasing`]'s `release`.
const RELEASE_EVERY: usize = 16;

/// [`write_report`], calling `release(0..usize::MAX)` every [`RELEASE_EVERY`] units written:
/// the VMs written are read no more, and those ahead are read again (see
/// [`crate::arm::view::Release`]).
pub fn write_report_releasing<W: Write>(
    model: &Model<'_>,
    w: &mut W,
    layout: impl Into<Layout>,
    release: Release<'_>,
) -> io::Result<Written> {
    let layout = layout.into();
    let style = layout.style;
    let (todo, mut warnings) = model.vm_order();

    // first pass: every VM's recommendations (for the summary, which comes first)
    let mut recs: Vec<(Status, VmRecommendations)> = Vec::with_capacity(todo.len());
    for (r, warn) in model.map_vm_recommendations(&todo, |recs, warnings| (recs, warnings)) {
        recs.extend(r.into_iter().map(|r| (r.control_status(), r)));
        warnings.extend(warn);
    }
    dedup_warnings(&mut warnings);
    let (control, recommendations) = Report::summary(recs.iter().copied());
    let any_unhealthy = recs.iter().any(|(s, _)| *s == Status::Unhealthy);
    drop(recs);

    key(w, "control", true, style)?;
    put(w, &control, style, 1)?;
    key(w, "recommendations", false, style)?;
    put(w, &recommendations, style, 1)?;
    key(w, "vms", false, style)?;
    w.write_all(b"[")?;

    // second pass: the VMs, a unit at a time, each unit evaluated and serialised on one
    // thread into a buffer that is reused (so its pages are not faulted in again)
    let pool: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
    let render = |u: usize, unit: &&[u32]| -> Part {
        let mut buf = lock(&pool).pop().unwrap_or_default();
        let mut renders = Renders {
            table: layout.rules_table,
            ..Renders::default()
        };
        let reports = model.evaluate_in_order(unit);
        let r: io::Result<()> = reports
            .iter()
            .enumerate()
            .try_for_each(|(k, v)| vm_item(&mut buf, v, style, u == 0 && k == 0, &mut renders));
        r.map(|()| (buf, renders.local))
    };
    let mut table = RulesTable::default();
    let mut units_written = 0;
    let mut consume = |part: Part| -> io::Result<()> {
        units_written += 1;
        if units_written % RELEASE_EVERY == 0 {
            release(0..usize::MAX);
        }
        let (mut part, local) = part?;
        if layout.rules_table {
            table.write(w, &part, local)?;
        } else {
            w.write_all(&part)?;
        }
        part.clear();
        lock(&pool).push(part);
        Ok(())
    };
    let units: Vec<&[u32]> = todo.chunks(unit_size(todo.len())).collect();
    in_order(&units, &render, &mut consume)?;
    match (style, todo.is_empty()) {
        (Style::Pretty, false) => w.write_all(b"\n  ]")?,
        _ => w.write_all(b"]")?,
    }
    key(w, "warnings", false, style)?;
    put(w, &warnings, style, 1)?;
    if layout.rules_table {
        key(w, "rules", false, style)?;
        write_rules(w, &table.rules, style)?;
    }
    w.write_all(if style == Style::Pretty { b"\n}" } else { b"}" })?;
    Ok(Written {
        vms: todo.len(),
        any_unhealthy,
    })
}

/// What `put(w, rules, style, 1)` writes for the `rules` table, rendered a unit of rules at a
/// time on every core (a table of one NSG per VM holds hundreds of thousands of rules).
fn write_rules<W: Write>(w: &mut W, rules: &[DecidingRule], style: Style) -> io::Result<()> {
    let render = |u: usize, unit: &&[DecidingRule]| -> io::Result<Vec<u8>> {
        let mut buf = Vec::with_capacity(unit.len() * 256);
        for (k, r) in unit.iter().enumerate() {
            separator(&mut buf, style, u == 0 && k == 0, 2);
            deciding_rule(&mut buf, r, style, 2)?;
        }
        Ok(buf)
    };
    w.write_all(b"[")?;
    let mut consume = |part: io::Result<Vec<u8>>| w.write_all(&part?);
    let units: Vec<&[DecidingRule]> = rules.chunks(TABLE_UNIT).collect();
    in_order(&units, &render, &mut consume)?;
    let mut end = Vec::new();
    close_array(&mut end, style, rules.is_empty(), 1);
    w.write_all(&end)
}

/// Renders `units` one after the other and hands each to `consume` (without the `parallel`
/// feature, and on wasm32).
#[cfg(not(all(feature = "parallel", not(target_arch = "wasm32"))))]
fn in_order<U, P>(
    units: &[U],
    render: &impl Fn(usize, &U) -> P,
    consume: &mut impl FnMut(P) -> io::Result<()>,
) -> io::Result<()> {
    for (u, unit) in units.iter().enumerate() {
        consume(render(u, unit))?;
    }
    Ok(())
}

/// What the writer and the evaluating threads share.
#[cfg(all(feature = "parallel", not(target_arch = "wasm32")))]
struct Flow<P> {
    /// Units evaluated and not yet written, by number.
    ready: std::collections::BTreeMap<usize, P>,
    /// Units written (the next to write).
    written: usize,
    /// The writer failed, or a thread panicked: everyone stops.
    stop: bool,
}

#[cfg(all(feature = "parallel", not(target_arch = "wasm32")))]
impl<P> Default for Flow<P> {
    fn default() -> Self {
        Flow {
            ready: Default::default(),
            written: 0,
            stop: false,
        }
    }
}

/// Renders `units` on every core but one's share (each thread takes the next unit) and hands
/// them to `consume` in order on this thread, which writes one while the next are evaluated:
/// the evaluating threads never wait for a write, only for the writer to be no more than
/// [`AHEAD`] units behind.
#[cfg(all(feature = "parallel", not(target_arch = "wasm32")))]
fn in_order<U: Sync, P: Send>(
    units: &[U],
    render: &(impl Fn(usize, &U) -> P + Sync),
    consume: &mut impl FnMut(P) -> io::Result<()>,
) -> io::Result<()> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Condvar;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8)
        .min(units.len());
    let flow = Mutex::new(Flow::default());
    let changed = Condvar::new();
    let next = AtomicUsize::new(0);
    /// Stops everyone when a thread ends by a panic.
    struct OnPanic<'f, P>(&'f Mutex<Flow<P>>, &'f Condvar);
    impl<P> Drop for OnPanic<'_, P> {
        fn drop(&mut self) {
            if std::thread::panicking() {
                lock(self.0).stop = true;
                self.1.notify_all();
            }
        }
    }
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let _guard = OnPanic(&flow, &changed);
                loop {
                    let u = next.fetch_add(1, Ordering::Relaxed);
                    if u >= units.len() {
                        return;
                    }
                    {
                        let mut f = lock(&flow);
                        while u >= f.written + AHEAD && !f.stop {
                            f = changed.wait(f).unwrap_or_else(|e| e.into_inner());
                        }
                        if f.stop {
                            return;
                        }
                    }
                    let part = render(u, &units[u]);
                    lock(&flow).ready.insert(u, part);
                    changed.notify_all();
                }
            });
        }
        let _guard = OnPanic(&flow, &changed);
        for u in 0..units.len() {
            let part = {
                let mut f = lock(&flow);
                loop {
                    if let Some(p) = f.ready.remove(&u) {
                        f.written = u + 1;
                        break p;
                    }
                    if f.stop {
                        return Err(io::Error::other("an evaluating thread stopped"));
                    }
                    f = changed.wait(f).unwrap_or_else(|e| e.into_inner());
                }
            };
            changed.notify_all();
            if let Err(e) = consume(part) {
                lock(&flow).stop = true;
                changed.notify_all();
                return Err(e);
            }
        }
        Ok(())
    })
}

/// One element of `vms` (a separator first unless it is the first element): what
/// `put(buf, v, style, 2)` writes, field by field, so that the exposures can come from `renders`.
fn vm_item(
    buf: &mut Vec<u8>,
    v: &VmReport,
    style: Style,
    first: bool,
    renders: &mut Renders,
) -> io::Result<()> {
    match (style, first) {
        (Style::Pretty, true) => buf.extend_from_slice(b"\n    "),
        (Style::Pretty, false) => buf.extend_from_slice(b",\n    "),
        (Style::Compact, true) => {}
        (Style::Compact, false) => buf.push(b','),
    }
    // the same fields, in the same order, with the same omissions as `VmReport`'s Serialize
    let mut o = Object::open(buf, style, VM_DEPTH);
    o.str_field("id", &v.id)?;
    o.str_field("name", &v.name)?;
    o.str_field("subscriptionId", &v.subscription_id)?;
    o.str_field("resourceGroup", &v.resource_group)?;
    if let Some(location) = &v.location {
        o.str_field("location", location)?;
    }
    if let Some(os_type) = &v.os_type {
        o.str_field("osType", os_type)?;
    }
    o.str_field("status", v.status.as_str())?;
    o.field("recommendations", &v.recommendations)?;
    o.strings_field("publicIps", &v.public_ips)?;
    o.key("exposures");
    let buf = &mut *o.buf;
    buf.push(b'[');
    for (k, e) in v.exposures.iter().enumerate() {
        separator(buf, style, k == 0, EXPOSURE_DEPTH);
        renders.exposure(buf, e, style)?;
    }
    close_array(buf, style, v.exposures.is_empty(), EXPOSURE_DEPTH - 1);
    o.key("ipConfigurations");
    let buf = &mut *o.buf;
    buf.push(b'[');
    for (k, c) in v.ip_configurations.iter().enumerate() {
        separator(buf, style, k == 0, VM_DEPTH + 2);
        ip_configuration(buf, c, style, VM_DEPTH + 2)?;
    }
    close_array(buf, style, v.ip_configurations.is_empty(), VM_DEPTH + 1);
    if let Some(jit) = &v.jit_policy {
        o.str_field("jitPolicy", jit)?;
    }
    o.close()
}

/// A JSON string, as serde_json writes it: bytes that need no escape (no control character,
/// quote or backslash; the check is one branch-free pass) are copied as they are.
fn string(buf: &mut Vec<u8>, s: &str, style: Style, depth: usize) -> io::Result<()> {
    let plain = !s.bytes().fold(false, |bad, b| {
        bad | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if plain {
        buf.reserve(s.len() + 2);
        buf.push(b'"');
        buf.extend_from_slice(s.as_bytes());
        buf.push(b'"');
        Ok(())
    } else {
        put(buf, s, style, depth)
    }
}

/// What `put(buf, c, style, depth)` writes for an ip configuration's summary.
fn ip_configuration(
    buf: &mut Vec<u8>,
    c: &IpConfigSummary,
    style: Style,
    depth: usize,
) -> io::Result<()> {
    // the same fields, in the same order, with the same omissions as its Serialize
    let mut o = Object::open(buf, style, depth);
    o.str_field("id", &c.id)?;
    if let Some(ip) = &c.private_ip {
        o.str_field("privateIp", ip)?;
    }
    if let Some(ip) = &c.public_ip {
        o.str_field("publicIp", ip)?;
    }
    o.bool_field("hasPublicIp", c.has_public_ip);
    if let Some(nsg) = &c.subnet_nsg {
        o.str_field("subnetNsg", nsg)?;
    }
    if let Some(nsg) = &c.nic_nsg {
        o.str_field("nicNsg", nsg)?;
    }
    o.close()
}

/// What `put(buf, r, style, depth)` writes for a deciding rule.
fn deciding_rule(
    buf: &mut Vec<u8>,
    r: &DecidingRule,
    style: Style,
    depth: usize,
) -> io::Result<()> {
    let mut o = Object::open(buf, style, depth);
    o.str_field("nsg", &r.nsg)?;
    o.str_field("rule", &r.rule)?;
    o.u32_field("priority", r.priority);
    o.str_field("access", r.access.as_str())?;
    o.str_field("level", r.level.as_str())?;
    o.bool_field("default", r.default);
    o.close()
}

/// What `put(buf, p, style, depth)` writes for a path from the Internet (its `PathWire`).
/// `scratch` holds each text made for the path (endpoints, reason) in turn.
fn internet_path(
    buf: &mut Vec<u8>,
    p: &InternetPath,
    style: Style,
    depth: usize,
    scratch: &mut String,
) -> io::Result<()> {
    let mut o = Object::open(buf, style, depth);
    o.str_field("kind", p.kind.as_str())?;
    o.str_field("via", &p.via)?;
    scratch.clear();
    p.frontend.write_to(scratch);
    o.str_field("frontend", scratch)?;
    scratch.clear();
    p.target.write_to(scratch);
    o.str_field("target", scratch)?;
    o.strings_field("allowedPublicSources", &p.allowed_public_sources)?;
    o.str_field("state", p.state.as_str())?;
    o.bool_field("reachable", p.reachable);
    scratch.clear();
    p.write_reason(scratch);
    o.str_field("reason", scratch)?;
    o.close()
}

/// Before an element of an array at `depth` (its elements' `Pretty::at`).
fn separator(buf: &mut Vec<u8>, style: Style, first: bool, depth: usize) {
    match style {
        Style::Pretty => line(buf, first, depth),
        Style::Compact if !first => buf.push(b','),
        Style::Compact => {}
    }
}

/// The end of an array whose elements were written at `depth + 1`.
fn close_array(buf: &mut Vec<u8>, style: Style, empty: bool, depth: usize) {
    if style == Style::Pretty && !empty {
        line(buf, true, depth);
    }
    buf.push(b']');
}

/// The depth a VM of `vms` is serialised at (`Pretty::at`).
const VM_DEPTH: usize = 2;

/// An object written key by key, as serde_json writes a struct at `depth`.
struct Object<'b> {
    buf: &'b mut Vec<u8>,
    style: Style,
    depth: usize,
    first: bool,
}

impl<'b> Object<'b> {
    fn open(buf: &'b mut Vec<u8>, style: Style, depth: usize) -> Self {
        buf.push(b'{');
        Self {
            buf,
            style,
            depth,
            first: true,
        }
    }

    fn key(&mut self, name: &str) {
        match self.style {
            Style::Pretty => line(self.buf, self.first, self.depth + 1),
            Style::Compact if !self.first => self.buf.push(b','),
            Style::Compact => {}
        }
        self.first = false;
        self.buf.push(b'"');
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.extend_from_slice(match self.style {
            Style::Pretty => b"\": ",
            Style::Compact => b"\":",
        });
    }

    fn field<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> io::Result<()> {
        self.key(name);
        put(self.buf, value, self.style, self.depth + 1)
    }

    /// A string field: copied as it is when nothing in it needs escaping.
    fn str_field(&mut self, name: &str, value: &str) -> io::Result<()> {
        self.key(name);
        string(self.buf, value, self.style, self.depth + 1)
    }

    fn bool_field(&mut self, name: &str, value: bool) {
        self.key(name);
        self.buf
            .extend_from_slice(if value { b"true" } else { b"false" });
    }

    fn u32_field(&mut self, name: &str, value: u32) {
        self.key(name);
        // writing to a Vec cannot fail
        let _ = write!(self.buf, "{value}");
    }

    /// An array of strings, as serde_json writes a `Vec<String>` at `depth + 1`.
    fn strings_field(&mut self, name: &str, items: &[String]) -> io::Result<()> {
        self.key(name);
        let depth = self.depth + 1;
        self.buf.push(b'[');
        for (k, item) in items.iter().enumerate() {
            separator(self.buf, self.style, k == 0, depth + 1);
            string(self.buf, item, self.style, depth + 1)?;
        }
        close_array(self.buf, self.style, items.is_empty(), depth);
        Ok(())
    }

    fn close(self) -> io::Result<()> {
        if self.style == Style::Pretty && !self.first {
            line(self.buf, true, self.depth);
        }
        self.buf.push(b'}');
        Ok(())
    }
}

/// What makes an exposure's JSON when it has no paths and no managed access: its small values,
/// and its shared parts by address (VMs with the same verdict share them).
#[derive(PartialEq, Eq, Hash)]
struct ExposureKey {
    port: u16,
    protocol: Protocol,
    state: State,
    reachable: bool,
    jit_protected: bool,
    sources: *const String,
    rules: *const DecidingRule,
    reason: *const u8,
}

/// Exposures already written to this buffer, by [`ExposureKey`]: a repeated verdict is copied,
/// not serialised again. The addresses are those of reports alive while the buffer is filled
/// (one `Renders` per chunk of reports), so an address is never reused for other content.
#[derive(Default)]
struct Renders {
    at: FxMap<ExposureKey, Range<usize>>,
    rules: FxMap<RuleKey, Range<usize>>,
    /// Deciding rules go to the rules table: exposures hold placeholders, numbered in `local`.
    table: bool,
    /// With `table`, the deciding rules of this buffer, by their placeholder's number (the
    /// `Arc`s held keep the addresses in `numbers` from being reused), hashed here so that
    /// the writer, which numbers them one after the other, only compares.
    local: Vec<Hashed>,
    numbers: FxMap<RuleKey, u32>,
    /// The text of a path's endpoints and reason, made here before it is written.
    scratch: String,
}

/// The byte that starts a placeholder for a deciding rule's index (followed by the rule's
/// number in its buffer, four bytes little-endian). JSON text never holds it raw: strings
/// escape it.
const PLACEHOLDER: u8 = 0;

/// The deciding rules written so far (`--rules-table`), each once, in the order they first
/// decided something.
#[derive(Default)]
struct RulesTable {
    rules: Vec<DecidingRule>,
    /// Rules with equal content share an index.
    index: HashMap<Hashed, u32, BuildHasherDefault<Prehashed>>,
}

/// A deciding rule and the hash of its content.
#[derive(PartialEq, Eq)]
struct Hashed {
    hash: u64,
    rule: DecidingRule,
}

impl Hashed {
    fn new(rule: DecidingRule) -> Self {
        let mut h = FxHasher::default();
        rule.hash(&mut h);
        Hashed {
            hash: h.finish(),
            rule,
        }
    }
}

impl Hash for Hashed {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// The hasher of [`RulesTable::index`]: its keys carry their hash.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn write(&mut self, bytes: &[u8]) {
        // never called: `Hashed` writes its hash alone; kept total all the same
        let mut h = FxHasher::default();
        h.write_u64(self.0);
        h.write(bytes);
        self.0 = h.finish();
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl RulesTable {
    /// Writes a buffer whose placeholders number the rules of `local`: each placeholder
    /// becomes the rule's index in the table (a rule not seen before is added).
    fn write<W: Write>(&mut self, w: &mut W, part: &[u8], local: Vec<Hashed>) -> io::Result<()> {
        let indices: Vec<u32> = local
            .into_iter()
            .map(|h| {
                let next = self.rules.len() as u32;
                *self.index.entry(h).or_insert_with_key(|h| {
                    self.rules.push(h.rule.clone());
                    next
                })
            })
            .collect();
        let mut rest = part;
        let mut digits = itoa::Buffer::new();
        while let Some(at) = memchr::memchr(PLACEHOLDER, rest) {
            w.write_all(&rest[..at])?;
            let n = u32::from_le_bytes(rest[at + 1..at + 5].try_into().expect("four bytes"));
            w.write_all(digits.format(indices[n as usize]).as_bytes())?;
            rest = &rest[at + 5..];
        }
        w.write_all(rest)
    }
}

/// What makes a deciding rule's JSON: its NSG and name by address (the compiled NSG's, shared
/// by every verdict that names the rule) and its small values.
#[derive(PartialEq, Eq, Hash)]
struct RuleKey {
    nsg: *const u8,
    rule: *const u8,
    priority: u32,
    access: Access,
    level: Level,
    default: bool,
}

impl RuleKey {
    fn of(r: &DecidingRule) -> Self {
        RuleKey {
            nsg: r.nsg.as_ptr(),
            rule: r.rule.as_ptr(),
            priority: r.priority,
            access: r.access,
            level: r.level,
            default: r.default,
        }
    }
}

/// The depth an exposure is serialised at (`Pretty::at`), inside a VM's `exposures`.
const EXPOSURE_DEPTH: usize = VM_DEPTH + 2;

impl Renders {
    /// What `put(buf, e, style, EXPOSURE_DEPTH)` writes, field by field, so that deciding rules
    /// already written to this buffer are copied.
    fn write_exposure(&mut self, buf: &mut Vec<u8>, e: &Exposure, style: Style) -> io::Result<()> {
        // the same fields, in the same order, with the same omissions as `Exposure`'s Serialize
        let mut o = Object::open(buf, style, EXPOSURE_DEPTH);
        o.u32_field("port", u32::from(e.port));
        o.str_field("protocol", e.protocol.as_str())?;
        o.str_field("state", e.state.as_str())?;
        o.bool_field("reachable", e.reachable);
        o.strings_field("allowedPublicSources", &e.allowed_public_sources)?;
        if self.table {
            o.key("decidingRuleRefs");
            let buf = &mut *o.buf;
            buf.push(b'[');
            for (k, r) in e.deciding_rules.iter().enumerate() {
                separator(buf, style, k == 0, EXPOSURE_DEPTH + 2);
                let next = self.local.len() as u32;
                let n = *self.numbers.entry(RuleKey::of(r)).or_insert_with(|| {
                    self.local.push(Hashed::new(r.clone()));
                    next
                });
                buf.push(PLACEHOLDER);
                buf.extend_from_slice(&n.to_le_bytes());
            }
            close_array(buf, style, e.deciding_rules.is_empty(), EXPOSURE_DEPTH + 1);
            return self.exposure_rest(o, e);
        }
        o.key("decidingRules");
        let buf = &mut *o.buf;
        buf.push(b'[');
        for (k, r) in e.deciding_rules.iter().enumerate() {
            separator(buf, style, k == 0, EXPOSURE_DEPTH + 2);
            let key = RuleKey::of(r);
            if let Some(at) = self.rules.get(&key) {
                buf.extend_from_within(at.clone());
            } else {
                let start = buf.len();
                deciding_rule(buf, r, style, EXPOSURE_DEPTH + 2)?;
                self.rules.insert(key, start..buf.len());
            }
        }
        close_array(buf, style, e.deciding_rules.is_empty(), EXPOSURE_DEPTH + 1);
        self.exposure_rest(o, e)
    }

    /// The exposure's fields after its deciding rules, and its end.
    fn exposure_rest(&mut self, mut o: Object<'_>, e: &Exposure) -> io::Result<()> {
        o.bool_field("jitProtected", e.jit_protected);
        o.str_field("reason", &e.reason)?;
        o.key("paths");
        let buf = &mut *o.buf;
        buf.push(b'[');
        for (k, p) in e.paths.iter().enumerate() {
            separator(buf, o.style, k == 0, EXPOSURE_DEPTH + 2);
            internet_path(buf, p, o.style, EXPOSURE_DEPTH + 2, &mut self.scratch)?;
        }
        close_array(buf, o.style, e.paths.is_empty(), EXPOSURE_DEPTH + 1);
        if let Some(m) = &e.managed_access {
            o.field("managedAccess", &**m)?;
        }
        o.close()
    }

    fn exposure(&mut self, buf: &mut Vec<u8>, e: &Exposure, style: Style) -> io::Result<()> {
        if !e.paths.is_empty() || e.managed_access.is_some() {
            return self.write_exposure(buf, e, style);
        }
        let key = ExposureKey {
            port: e.port,
            protocol: e.protocol,
            state: e.state,
            reachable: e.reachable,
            jit_protected: e.jit_protected,
            sources: e.allowed_public_sources.as_ptr(),
            rules: e.deciding_rules.as_ptr(),
            reason: e.reason.as_ptr(),
        };
        if let Some(r) = self.at.get(&key) {
            buf.extend_from_within(r.clone());
            return Ok(());
        }
        let start = buf.len();
        self.write_exposure(buf, e, style)?;
        self.at.insert(key, start..buf.len());
        Ok(())
    }
}

/// Locks a mutex; a panic elsewhere cannot leave a pool of empty buffers inconsistent.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
