//! The `portcullis evaluate` JSON report, written as it is produced.
//!
//! [`write_report`] writes exactly what `serde_json::to_writer_pretty(&Report)` writes for the
//! whole report (keys, order, values, whitespace), without ever holding the report: the summary
//! comes first in the contract, so a first pass over the VMs keeps only their recommendations,
//! and a second pass evaluates them again (the model's cache makes that the cheaper pass) in
//! batches, each VM serialised on the thread that evaluated it and written in order.
//! [`Style::Compact`] writes the same keys and values with no whitespace.
use super::engine::{dedup_warnings, Model};
use super::report::{Report, Status, VmRecommendations, VmReport};
use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter};
use std::io::{self, Write};

/// VMs evaluated and serialised per batch: bounds the memory the report takes in flight.
const BATCH: usize = 2048;

/// How the JSON is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// As `serde_json::to_writer_pretty`: two-space indents, one value a line (the contract's
    /// default output).
    Pretty,
    /// The same keys and values, no whitespace (`--compact`).
    Compact,
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
pub fn write_report<W: Write>(model: &Model<'_>, w: &mut W, style: Style) -> io::Result<Written> {
    let (todo, mut warnings) = model.vm_order();

    // first pass: every VM's recommendations (for the summary, which comes first)
    let mut recs: Vec<(Status, VmRecommendations)> = Vec::with_capacity(todo.len());
    for (r, warn) in model.map_vm_chunks(&todo, |_, reports, warnings| {
        let r: Vec<_> = reports
            .iter()
            .map(|v| (v.status, v.recommendations))
            .collect();
        (r, warnings)
    }) {
        recs.extend(r);
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

    // second pass: the VMs, a batch at a time, serialised where they are evaluated
    let mut first = true;
    for batch in todo.chunks(BATCH) {
        let parts = model.map_vm_chunks(batch, |start, reports, _| {
            let mut buf = Vec::with_capacity(reports.len() * 2048);
            let r: io::Result<()> = reports
                .iter()
                .enumerate()
                .try_for_each(|(k, v)| vm_item(&mut buf, v, style, first && start + k == 0));
            r.map(|()| buf)
        });
        for part in parts {
            let part = part?;
            w.write_all(&part)?;
        }
        first = false;
    }
    match (style, todo.is_empty()) {
        (Style::Pretty, false) => w.write_all(b"\n  ]")?,
        _ => w.write_all(b"]")?,
    }
    key(w, "warnings", false, style)?;
    put(w, &warnings, style, 1)?;
    w.write_all(if style == Style::Pretty { b"\n}" } else { b"}" })?;
    Ok(Written {
        vms: todo.len(),
        any_unhealthy,
    })
}

/// One element of `vms` (a separator first unless it is the first element).
fn vm_item(buf: &mut Vec<u8>, v: &VmReport, style: Style, first: bool) -> io::Result<()> {
    match (style, first) {
        (Style::Pretty, true) => buf.extend_from_slice(b"\n    "),
        (Style::Pretty, false) => buf.extend_from_slice(b",\n    "),
        (Style::Compact, true) => {}
        (Style::Compact, false) => buf.push(b','),
    }
    put(buf, v, style, 2)
}
