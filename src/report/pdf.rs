//! report.pdf: the HTML's content for people who file PDFs. A4 landscape, the
//! DejaVu Sans Condensed subset shipped in assets/fonts (names must come out exactly;
//! the builtin PDF fonts silently corrupt anything past Latin-1), tables that break
//! across pages with their header repeated, the charts drawn as vectors from the same
//! shapes as the HTML, and on every page a footer with the run id, the record's digest
//! and the page number. Nothing here reads a clock: the PDF dates are the record's.

use std::collections::BTreeSet;

use printpdf::{
    Color, FontId, Line, LineDashPattern, LinePoint, Mm, Op, PaintMode, ParsedFont, PdfDocument, PdfFont,
    PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt, Rect, Rgb as PdfRgb, TextItem,
};

use super::ReportError;
use super::charts::{self, Anchor, Chart, INK, Rgb, SLA, Shape};
use super::view::View;
use crate::evidence::record::{Phase, Record};

const REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSansCondensed.ttf");
const BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSansCondensed-Bold.ttf");

const PAGE_W: f32 = 841.89;
const PAGE_H: f32 = 595.28;
const MARGIN: f32 = 36.0;
const BOTTOM: f32 = PAGE_H - 40.0;
const MUTED: Rgb = Rgb(0x66, 0x66, 0x66);
const HEAD_FILL: Rgb = Rgb(0xee, 0xf1, 0xf5);
const ZEBRA: Rgb = Rgb(0xf4, 0xf7, 0xfb);
/// Lines of one table cell on a page (a row must fit on one page).
const MAX_CELL_LINES: usize = 40;
const PASS: Rgb = Rgb(0x2e, 0x7d, 0x32);
const UNKNOWN: Rgb = Rgb(0x8d, 0x6e, 0x00);

struct Face {
    parsed: ParsedFont,
    id: FontId,
}

/// The document being laid out, top-left coordinates in points.
struct Doc {
    regular: Face,
    bold: Face,
    pages: Vec<Vec<Op>>,
    ops: Vec<Op>,
    y: f32,
    /// Characters the font lacks, shown as U+FFFD and reported.
    missing: BTreeSet<char>,
}

fn color(c: Rgb) -> Color {
    Color::Rgb(PdfRgb { r: c.0 as f32 / 255.0, g: c.1 as f32 / 255.0, b: c.2 as f32 / 255.0, icc_profile: None })
}

fn status_color(status: &str) -> Rgb {
    match status.split(' ').next() {
        Some("PASS") => PASS,
        Some("FAIL") => SLA,
        _ => UNKNOWN,
    }
}

/// A table column: title, width in points, right-aligned or not.
struct Col(&'static str, f32, bool);

impl Doc {
    fn face(&self, bold: bool) -> &Face {
        if bold { &self.bold } else { &self.regular }
    }

    /// The text as it will be drawn: control characters as spaces, characters the
    /// font lacks as U+FFFD (recorded, so the report can list them).
    fn printable(&mut self, s: &str, bold: bool) -> String {
        s.chars()
            .map(|c| {
                let c = if c.is_control() { ' ' } else { c };
                if self.face(bold).parsed.lookup_glyph_index(c as u32).is_some() {
                    c
                } else {
                    self.missing.insert(c);
                    '\u{FFFD}'
                }
            })
            .collect()
    }

    fn width(&self, s: &str, size: f32, bold: bool) -> f32 {
        let f = &self.face(bold).parsed;
        let units: f32 = s
            .chars()
            .filter_map(|c| f.lookup_glyph_index(c as u32))
            .map(|g| f.get_glyph_width(g).unwrap_or(0) as f32)
            .sum();
        units / f.units_per_em as f32 * size
    }

    /// Greedy word wrap; a word longer than the line is cut by characters.
    fn wrap(&mut self, s: &str, width: f32, size: f32, bold: bool) -> Vec<String> {
        let s = self.printable(s, bold);
        let mut lines = Vec::new();
        let mut current = String::new();
        for word in s.split(' ') {
            let candidate = if current.is_empty() { word.to_string() } else { format!("{current} {word}") };
            if self.width(&candidate, size, bold) <= width {
                current = candidate;
                continue;
            }
            if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
            }
            for c in word.chars() {
                current.push(c);
                if self.width(&current, size, bold) > width && current.chars().count() > 1 {
                    current.pop();
                    lines.push(std::mem::take(&mut current));
                    current.push(c);
                }
            }
        }
        if !current.is_empty() || lines.is_empty() {
            lines.push(current);
        }
        lines
    }

    /// One text section per string: `Td` is relative inside a section.
    fn text_at(&mut self, x: f32, baseline: f32, s: &str, size: f32, bold: bool, c: Rgb) {
        let s = self.printable(s, bold);
        let font = PdfFontHandle::External(self.face(bold).id.clone());
        self.ops.extend([
            Op::SaveGraphicsState,
            Op::SetFillColor { col: color(c) },
            Op::StartTextSection,
            Op::SetFont { font, size: Pt(size) },
            Op::SetTextCursor { pos: Point { x: Pt(x), y: Pt(PAGE_H - baseline) } },
            Op::ShowText { items: vec![TextItem::Text(s)] },
            Op::EndTextSection,
            Op::RestoreGraphicsState,
        ]);
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, fill: Rgb) {
        self.ops.extend([
            Op::SaveGraphicsState,
            Op::SetFillColor { col: color(fill) },
            Op::DrawRectangle {
                rectangle: Rect {
                    x: Pt(x),
                    y: Pt(PAGE_H - y - h),
                    width: Pt(w),
                    height: Pt(h),
                    mode: Some(PaintMode::Fill),
                    winding_order: None,
                },
            },
            Op::RestoreGraphicsState,
        ]);
    }

    fn line(&mut self, (x1, y1): (f32, f32), (x2, y2): (f32, f32), c: Rgb, width: f32, dashed: bool) {
        let dash = if dashed { LineDashPattern::new(0.0, &[3.0, 2.0]) } else { LineDashPattern::solid() };
        let p = |x: f32, y: f32| LinePoint { p: Point { x: Pt(x), y: Pt(PAGE_H - y) }, bezier: false };
        self.ops.extend([
            Op::SaveGraphicsState,
            Op::SetOutlineColor { col: color(c) },
            Op::SetOutlineThickness { pt: Pt(width) },
            Op::SetLineDashPattern { dash },
            Op::DrawLine { line: Line { points: vec![p(x1, y1), p(x2, y2)], is_closed: false } },
            Op::RestoreGraphicsState,
        ]);
    }

    fn new_page(&mut self) {
        self.pages.push(std::mem::take(&mut self.ops));
        self.y = MARGIN;
    }

    fn ensure(&mut self, height: f32) {
        if self.y + height > BOTTOM && self.y > MARGIN {
            self.new_page();
        }
    }

    fn heading(&mut self, s: &str) {
        self.heading_before(s, 60.0);
    }

    /// A heading kept on the same page as the `next` points that follow it.
    fn heading_before(&mut self, s: &str, next: f32) {
        self.ensure(30.0 + next);
        self.y += 8.0;
        self.text_at(MARGIN, self.y + 12.0, s, 13.0, true, INK);
        self.y += 16.0;
        self.line((MARGIN, self.y), (PAGE_W - MARGIN, self.y), Rgb(0xdd, 0xdd, 0xdd), 1.0, false);
        self.y += 6.0;
    }

    fn paragraph(&mut self, s: &str, size: f32, bold: bool, c: Rgb) {
        for l in self.wrap(s, PAGE_W - 2.0 * MARGIN, size, bold) {
            self.ensure(size * 1.4);
            self.text_at(MARGIN, self.y + size, &l, size, bold, c);
            self.y += size * 1.4;
        }
        self.y += 3.0;
    }

    fn header_row(&mut self, cols: &[Col], size: f32) {
        let h = size * 1.5 + 2.0;
        self.rect(MARGIN, self.y, cols.iter().map(|c| c.1).sum(), h, HEAD_FILL);
        let mut x = MARGIN;
        for c in cols {
            self.cell(x, c, c.0, size, true, INK);
            x += c.1;
        }
        self.y += h;
    }

    fn cell(&mut self, x: f32, col: &Col, s: &str, size: f32, bold: bool, c: Rgb) {
        let tx =
            if col.2 { x + col.1 - 3.0 - self.width(&self.printable_preview(s, bold), size, bold) } else { x + 3.0 };
        self.text_at(tx, self.y + size + 1.5, s, size, bold, c);
    }

    /// The text as drawn, without recording missing characters (for measuring).
    fn printable_preview(&self, s: &str, bold: bool) -> String {
        s.chars()
            .map(|c| {
                let c = if c.is_control() { ' ' } else { c };
                if self.face(bold).parsed.lookup_glyph_index(c as u32).is_some() { c } else { '\u{FFFD}' }
            })
            .collect()
    }

    /// A table that breaks across pages with its header repeated. `status_col` names
    /// the column whose PASS/FAIL/UNKNOWN is coloured.
    fn table(&mut self, cols: &[Col], rows: &[Vec<String>], status_col: Option<usize>) {
        let size = 7.0;
        let line_h = size * 1.3;
        self.ensure(40.0);
        self.header_row(cols, size);
        for (i, row) in rows.iter().enumerate() {
            let wrapped: Vec<Vec<String>> = cols
                .iter()
                .zip(row)
                .map(|(c, text)| {
                    let mut lines = self.wrap(text, c.1 - 6.0, size, false);
                    // A cell never runs off the page: what does not fit is named, not dropped.
                    if lines.len() > MAX_CELL_LINES {
                        lines.truncate(MAX_CELL_LINES - 1);
                        lines.push("… (the rest is in run.json)".into());
                    }
                    lines
                })
                .collect();
            let lines = wrapped.iter().map(Vec::len).max().unwrap_or(1);
            let h = lines as f32 * line_h + 2.0;
            if self.y + h > BOTTOM {
                self.new_page();
                self.header_row(cols, size);
            }
            if i % 2 == 1 {
                self.rect(MARGIN, self.y, cols.iter().map(|c| c.1).sum(), h, ZEBRA);
            }
            let mut x = MARGIN;
            let top = self.y;
            for (ci, (c, cell_lines)) in cols.iter().zip(&wrapped).enumerate() {
                let (bold, colour) = match status_col {
                    Some(s) if s == ci => (true, status_color(&row[ci])),
                    _ => (false, INK),
                };
                for (li, l) in cell_lines.iter().enumerate() {
                    self.y = top + li as f32 * line_h;
                    self.cell(x, c, l, size, bold, colour);
                }
                x += c.1;
            }
            self.y = top + h;
        }
        self.y += 6.0;
    }

    fn chart(&mut self, chart: &Chart) {
        self.ensure(chart.height + 16.0);
        self.text_at(MARGIN, self.y + 9.0, &chart.title, 9.0, true, INK);
        self.y += 14.0;
        let (x0, y0) = (MARGIN, self.y);
        for shape in &chart.shapes {
            match shape {
                Shape::Rect { x, y, w, h, fill } => self.rect(x0 + x, y0 + y, *w, *h, *fill),
                Shape::Line { x1, y1, x2, y2, color, width, dashed } => {
                    self.line((x0 + x1, y0 + y1), (x0 + x2, y0 + y2), *color, *width, *dashed)
                }
                Shape::Text { x, y, text, size, color, anchor } => {
                    let w = if *anchor == Anchor::End {
                        self.width(&self.printable_preview(text, false), *size, false)
                    } else {
                        0.0
                    };
                    self.text_at(x0 + x - w, y0 + y, text, *size, false, *color);
                }
            }
        }
        self.y += chart.height + 8.0;
    }
}

fn pairs(rows: &[super::view::Pair]) -> Vec<Vec<String>> {
    rows.iter().map(|p| vec![p.key.clone(), p.value.clone()]).collect()
}

pub struct Pdf {
    pub bytes: Vec<u8>,
    /// Characters the embedded font lacks (shown as U+FFFD in the PDF).
    pub missing: Vec<char>,
}

pub fn render(record: &Record, view: &View) -> Result<Pdf, ReportError> {
    let mut warnings = Vec::new();
    let parse = |bytes: &[u8], warnings: &mut Vec<_>| {
        ParsedFont::from_bytes(bytes, 0, warnings)
            .ok_or_else(|| ReportError::Pdf("the embedded font does not parse".into()))
    };
    let (regular, bold) = (parse(REGULAR, &mut warnings)?, parse(BOLD, &mut warnings)?);
    let mut pdf = PdfDocument::new(&view.title);
    let created = printpdf::OffsetDateTime::from_unix_timestamp(record.started.timestamp())
        .map_err(|e| ReportError::Pdf(format!("the record's start time: {e}")))?;
    let info = &mut pdf.metadata.info;
    info.creation_date = created;
    info.modification_date = created;
    info.metadata_date = created;
    info.creator = view.tool.clone();
    info.producer = view.tool.clone();
    info.identifier = view.run_id.clone();
    info.subject = format!("record sha256 {}", view.record_sha256);
    // Fixed resource names: printpdf's own come from a process-wide counter, and the
    // same record must give the same bytes however many PDFs a process writes.
    let (rid, bid) = (FontId("F1".into()), FontId("F2".into()));
    pdf.resources.fonts.map.insert(rid.clone(), PdfFont::new(regular.clone()));
    pdf.resources.fonts.map.insert(bid.clone(), PdfFont::new(bold.clone()));
    let mut doc = Doc {
        regular: Face { parsed: regular, id: rid },
        bold: Face { parsed: bold, id: bid },
        pages: Vec::new(),
        ops: Vec::new(),
        y: MARGIN,
        missing: BTreeSet::new(),
    };
    body(&mut doc, record, view);
    doc.pages.push(std::mem::take(&mut doc.ops));
    if !doc.missing.is_empty() {
        // A last section, so the reader of the PDF learns what the boxes stand for.
        doc.y = MARGIN;
        doc.heading("Characters the embedded font lacks");
        let list: Vec<String> = doc.missing.iter().map(|c| format!("U+{:04X}", *c as u32)).collect();
        let text =
            format!("Shown as \u{FFFD} in this PDF; run.json and index.html have the exact text: {}", list.join(", "));
        doc.paragraph(&text, 8.0, false, INK);
        doc.pages.push(std::mem::take(&mut doc.ops));
    }
    let total = doc.pages.len();
    let pages: Vec<Vec<Op>> = std::mem::take(&mut doc.pages);
    let mut out = Vec::with_capacity(total);
    for (i, ops) in pages.into_iter().enumerate() {
        doc.ops = ops;
        let footer = format!(
            "{} · record sha256 {} · page {} of {}",
            view.title,
            &view.record_sha256[..view.record_sha256.len().min(16)],
            i + 1,
            total
        );
        doc.text_at(MARGIN, PAGE_H - 20.0, &footer, 7.0, false, MUTED);
        out.push(PdfPage::new(Mm::from(Pt(PAGE_W)), Mm::from(Pt(PAGE_H)), std::mem::take(&mut doc.ops)));
    }
    let mut save_warnings = Vec::new();
    let mut bytes = pdf.with_pages(out).save(&PdfSaveOptions::default(), &mut save_warnings);
    stable_id(&mut bytes, &view.record_sha256);
    Ok(Pdf { bytes, missing: doc.missing.into_iter().collect() })
}

/// The trailer's `/ID` pair is random in printpdf; it becomes the record's digest
/// (same length, so no offset moves), which makes the bytes a function of the record.
fn stable_id(bytes: &mut [u8], record_sha256: &str) {
    let Some(at) = bytes.windows(4).rposition(|w| w == b"/ID[") else { return };
    let seed: Vec<u8> = record_sha256.bytes().chain(std::iter::repeat(b'0')).take(64).collect();
    let mut pos = at + 4;
    for half in seed.chunks(32) {
        let Some(open) = bytes[pos..].iter().position(|b| *b == b'(').map(|i| pos + i) else { return };
        let Some(close) = bytes[open..].iter().position(|b| *b == b')').map(|i| open + i) else { return };
        if close - open - 1 == 32 {
            bytes[open + 1..close].copy_from_slice(half);
        }
        pos = close + 1;
    }
}

fn body(doc: &mut Doc, record: &Record, view: &View) {
    // Cover: the verdict first.
    doc.text_at(MARGIN, doc.y + 20.0, &view.title, 20.0, true, INK);
    doc.y += 30.0;
    let meta = format!(
        "{} by {} · started {} · finished {} · {} · record schema {}",
        view.kind, view.operator, view.started, view.finished, view.tool, view.schema_version
    );
    doc.paragraph(&meta, 8.5, false, MUTED);
    if !view.signing.signed {
        let banner = "UNSIGNED PACK: no signing key was available when this pack was written. SHA256SUMS shows whether files changed since then, but nothing shows who wrote them.";
        doc.rect(MARGIN, doc.y, PAGE_W - 2.0 * MARGIN, 30.0, Rgb(0xfd, 0xec, 0xea));
        doc.y += 4.0;
        doc.paragraph(banner, 9.0, true, SLA);
        doc.y += 6.0;
    }
    doc.y += 6.0;
    if !view.period.is_empty() {
        doc.paragraph(&format!("Period: {}", view.period), 9.0, true, INK);
        for c in &view.coverage {
            doc.paragraph(&format!("{}: {}", c.key, c.value), 8.0, false, INK);
        }
    }
    if !view.sample.is_empty() {
        doc.paragraph(&format!("Sample: {}", view.sample), 8.0, false, INK);
    }
    for c in &view.finding_counts {
        doc.paragraph(
            &format!("{} · {}: {} that count, {} accepted", c.class, c.system, c.findings, c.excepted),
            9.0,
            false,
            INK,
        );
    }
    let status_w = doc.width(&view.status, 24.0, true) + 24.0;
    doc.rect(MARGIN, doc.y, status_w, 34.0, status_color(&view.status));
    doc.text_at(MARGIN + 12.0, doc.y + 25.0, &view.status, 24.0, true, Rgb(0xff, 0xff, 0xff));
    let counts = format!(
        "{} checks: {} PASS, {} FAIL, {} UNKNOWN · {} subjects",
        view.counts.total,
        view.counts.pass,
        view.counts.fail,
        view.counts.unknown,
        view.subjects.len()
    );
    doc.text_at(MARGIN + status_w + 16.0, doc.y + 21.0, &counts, 11.0, false, INK);
    doc.y += 46.0;
    let top = doc.y;
    doc.table(&[Col("Tested against", 110.0, false), Col("", 250.0, false)], &pairs(&view.targets), None);
    let after_targets = doc.y;
    doc.y = top;
    // The SLA table beside the targets.
    let sla_x = MARGIN + 400.0;
    let size = 7.0;
    doc.rect(sla_x, doc.y, 260.0, size * 1.5 + 2.0, HEAD_FILL);
    doc.text_at(sla_x + 3.0, doc.y + size + 1.5, "SLA", size, true, INK);
    doc.y += size * 1.5 + 2.0;
    for p in &view.sla {
        doc.text_at(sla_x + 3.0, doc.y + size + 1.5, &p.key, size, false, INK);
        doc.text_at(sla_x + 150.0, doc.y + size + 1.5, &p.value, size, false, INK);
        doc.y += size * 1.3 + 2.0;
    }
    doc.y = doc.y.max(after_targets) + 6.0;
    let legs: Vec<Vec<String>> = view
        .legs
        .iter()
        .map(|l| {
            vec![
                l.phase.clone(),
                l.leg.clone(),
                l.status.clone(),
                l.pass.to_string(),
                l.fail.to_string(),
                l.unknown.to_string(),
                l.timed.to_string(),
                l.p50.clone(),
                l.p95.clone(),
                l.max.clone(),
                l.sla.clone(),
            ]
        })
        .collect();
    doc.table(
        &[
            Col("Phase", 70.0, false),
            Col("Leg", 60.0, false),
            Col("Status", 70.0, false),
            Col("PASS", 50.0, true),
            Col("FAIL", 50.0, true),
            Col("UNKNOWN", 55.0, true),
            Col("Timed", 50.0, true),
            Col("p50", 75.0, true),
            Col("p95", 75.0, true),
            Col("Max", 85.0, true),
            Col("SLA", 60.0, true),
        ],
        &legs,
        Some(2),
    );

    doc.heading("Subjects");
    let subjects: Vec<Vec<String>> = view
        .subjects
        .iter()
        .map(|s| {
            vec![
                s.key.clone(),
                s.login.clone(),
                s.name.clone(),
                s.okta_id.clone(),
                s.entra_id.clone(),
                s.aws_id.clone(),
                if s.sampled { format!("{} · sample", s.status) } else { s.status.clone() },
            ]
        })
        .collect();
    doc.table(
        &[
            Col("Subject", 45.0, false),
            Col("Login", 170.0, false),
            Col("Name", 120.0, false),
            Col("Okta id", 95.0, false),
            Col("Entra id", 150.0, false),
            Col("AWS id", 150.0, false),
            Col("Status", 50.0, false),
        ],
        &subjects,
        Some(6),
    );
    if !view.excluded.is_empty() {
        doc.heading("Deactivations set apart (not counted as leavers)");
        let rows: Vec<Vec<String>> = view
            .excluded
            .iter()
            .map(|e| vec![e.login.clone(), e.okta_id.clone(), e.deactivated.clone(), e.why.clone()])
            .collect();
        doc.table(
            &[
                Col("Login", 170.0, false),
                Col("Okta id", 100.0, false),
                Col("Deactivated", 110.0, false),
                Col("Why", 390.0, false),
            ],
            &rows,
            None,
        );
    }

    if !view.findings.is_empty() {
        doc.heading("Findings");
        let rows: Vec<Vec<String>> = view
            .findings
            .iter()
            .map(|f| {
                vec![
                    f.class.clone(),
                    f.system.clone(),
                    format!("{} {}", f.account, f.account_id),
                    f.enabled.clone(),
                    format!("{} {}", f.owner, f.link),
                    f.since.clone(),
                    f.detail.clone(),
                    f.exception.clone(),
                ]
            })
            .collect();
        doc.table(
            &[
                Col("Class", 70.0, false),
                Col("System", 38.0, false),
                Col("Account", 150.0, false),
                Col("State", 42.0, false),
                Col("Okta owner, link", 120.0, false),
                Col("Since", 95.0, false),
                Col("Detail", 150.0, false),
                Col("Exception", 105.0, false),
            ],
            &rows,
            None,
        );
    }
    doc.heading("Timelines");
    doc.paragraph(
        "Each mark is a timed check or an Okta provisioning event (push, deactivate) of the subject, placed at its time from the phase's T0 (the Okta System Log event that starts the phase): blue Okta, green Entra, orange AWS. The dashed red line is the SLA. Subjects in red have a check that did not pass.",
        8.0,
        false,
        INK,
    );
    let keys: Vec<String> = record.subjects.iter().map(|s| s.key.clone()).collect();
    let per_chunk = 36;
    for phase in [Phase::Joiner, Phase::Mover, Phase::Leaver] {
        for rows in keys.chunks(per_chunk) {
            if let Some(c) = charts::timeline(record, phase, rows, PAGE_W - 2.0 * MARGIN) {
                doc.chart(&c);
            }
        }
    }
    if let Some(c) = charts::distribution(record, PAGE_W - 2.0 * MARGIN) {
        doc.heading_before("Latency distribution", c.height + 16.0);
        doc.chart(&c);
    }

    doc.heading("Checks");
    doc.paragraph(
        "Provenance: source (the system's own audit clock), observed (the first poll that saw the change), requested (our clock). Missing evidence is UNKNOWN, never PASS.",
        8.0,
        false,
        INK,
    );
    let checks: Vec<Vec<String>> = view
        .checks
        .iter()
        .map(|c| {
            vec![
                c.subject.clone(),
                c.phase.clone(),
                c.leg.clone(),
                c.check.clone(),
                c.status.clone(),
                c.latency.clone(),
                c.sla.clone(),
                c.time.clone(),
                c.provenance.clone(),
                c.reason.clone(),
            ]
        })
        .collect();
    doc.table(
        &[
            Col("Subject", 42.0, false),
            Col("Phase", 42.0, false),
            Col("Leg", 32.0, false),
            Col("Check", 190.0, false),
            Col("Status", 48.0, false),
            Col("Latency", 62.0, true),
            Col("SLA", 36.0, true),
            Col("Time", 104.0, false),
            Col("Provenance", 52.0, false),
            Col("Reason", 161.0, false),
        ],
        &checks,
        Some(4),
    );

    doc.heading("Events used");
    let raw = if view.raw_events {
        "Line is the event's line in raw/events.ndjson; the SHA-256 is of that line without its newline."
    } else {
        "This pack has no raw/events.ndjson: the hashes cannot be checked against bodies here."
    };
    doc.paragraph(raw, 8.0, false, INK);
    let events: Vec<Vec<String>> = view
        .events
        .iter()
        .map(|e| {
            vec![
                e.line.to_string(),
                e.time.clone(),
                e.source.clone(),
                e.kind.clone(),
                e.outcome.clone(),
                e.subject.clone(),
                e.actor.clone(),
                e.id.clone(),
                e.sha256.clone(),
            ]
        })
        .collect();
    doc.table(
        &[
            Col("Line", 30.0, true),
            Col("Time", 95.0, false),
            Col("Source", 78.0, false),
            Col("Event", 120.0, false),
            Col("Outcome", 42.0, false),
            Col("Subject", 38.0, false),
            Col("Actor", 92.0, false),
            Col("Id", 90.0, false),
            // A full SHA-256 takes two lines here; it is never cut.
            Col("SHA-256", 185.0, false),
        ],
        &events,
        None,
    );

    doc.heading("API footprint");
    let footprint: Vec<Vec<String>> = view
        .footprint
        .iter()
        .map(|f| {
            vec![
                f.system.clone(),
                f.endpoint.clone(),
                f.calls.to_string(),
                f.retries.to_string(),
                f.throttled.to_string(),
                f.errors.to_string(),
                f.waited.clone(),
            ]
        })
        .collect();
    doc.table(
        &[
            Col("System", 60.0, false),
            Col("Endpoint", 380.0, false),
            Col("Calls", 55.0, true),
            Col("Retries", 55.0, true),
            Col("Throttled", 55.0, true),
            Col("Errors", 55.0, true),
            Col("Waited", 70.0, true),
        ],
        &footprint,
        None,
    );
    if !view.clock_offsets.is_empty() {
        doc.table(
            &[Col("Clock offset", 110.0, false), Col("vendor Date minus ours", 150.0, false)],
            &pairs(&view.clock_offsets),
            None,
        );
    }
    if !view.notes.is_empty() {
        doc.heading("Notes");
        for n in &view.notes {
            doc.paragraph(&format!("• {n}"), 8.0, false, INK);
        }
    }

    doc.heading("How to verify this pack");
    doc.paragraph(
        "In the pack's folder, with stock tools: the first command checks that no file changed, the second that SHA256SUMS was signed by the key in the allowed signers file. Use an allowed signers file you obtained yourself: the copy inside the pack proves nothing on its own.",
        8.0,
        false,
        INK,
    );
    doc.paragraph("sha256sum -c SHA256SUMS", 8.0, true, INK);
    let cmd = format!(
        "ssh-keygen -Y verify -f /path/to/trusted/allowed_signers -I {} -n jmlproof -s SHA256SUMS.sig < SHA256SUMS",
        view.signing.principal
    );
    doc.paragraph(&cmd, 8.0, true, INK);
    let who = if view.signing.signed {
        format!(
            "Signed by {} with the Ed25519 key {}. Compare this fingerprint with the one you were given out of band.",
            view.signing.principal, view.signing.fingerprint
        )
    } else {
        "This pack is not signed.".to_string()
    };
    doc.paragraph(&who, 8.0, false, INK);
    doc.paragraph(&format!("Record (run.json) SHA-256: {}", view.record_sha256), 8.0, false, INK);
}
