//! The views of a record: HTML, PDF, CSV and JUnit. Renderers read only the record
//! (and how the pack is signed); nothing here calls an API or reads a clock, so the
//! same record always renders to the same bytes.

pub mod charts;
pub mod csv;
pub mod fmt;
pub mod html;
pub mod junit;
pub mod neutral;
pub mod pdf;
pub mod view;

use std::path::Path;

use crate::config::Format;
use crate::evidence::record::Record;
use view::{Signing, View};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("template {0}")]
    Template(String),
    #[error("PDF: {0}")]
    Pdf(String),
}

/// The rendered files of a pack (besides run.json and raw/), by file name.
pub struct Rendered {
    pub files: Vec<(String, Vec<u8>)>,
    /// Things a reader should be told (a character the PDF font lacks, …).
    pub warnings: Vec<String>,
}

/// What to render and with which templates.
pub struct Options<'a> {
    pub formats: &'a [Format],
    pub templates: Option<&'a Path>,
    pub signing: Signing,
    pub raw_events: bool,
}

pub fn render(record: &Record, record_sha256: &str, o: &Options) -> Result<Rendered, ReportError> {
    // The views show text that would act (a bidi override, a NUL) as `[U+XXXX]`.
    let shown = neutral::record(record);
    let record = shown.as_ref();
    let view = View::new(record, o.signing.clone(), record_sha256.to_string(), o.raw_events);
    let mut files = Vec::new();
    let mut warnings = Vec::new();
    let wants = |f: Format| o.formats.contains(&f);
    if wants(Format::Html) {
        files.push(("index.html".to_string(), html::render(record, &view, o.templates)?.into_bytes()));
    }
    if wants(Format::Pdf) {
        let pdf = pdf::render(record, &view)?;
        if !pdf.missing.is_empty() {
            let list: Vec<String> = pdf.missing.iter().map(|c| format!("U+{:04X}", *c as u32)).collect();
            warnings.push(format!(
                "report.pdf: the embedded font lacks {}; shown as \u{FFFD} (run.json and index.html have the exact text)",
                list.join(", ")
            ));
        }
        files.push(("report.pdf".to_string(), pdf.bytes));
    }
    if wants(Format::Csv) {
        files.push(("measurements.csv".to_string(), csv::measurements(&view).into_bytes()));
        files.push(("events.csv".to_string(), csv::events(&view).into_bytes()));
        if !view.findings.is_empty() {
            files.push(("findings.csv".to_string(), csv::findings(&view).into_bytes()));
        }
    }
    if wants(Format::Junit) {
        files.push(("junit.xml".to_string(), junit::render(&view).into_bytes()));
    }
    Ok(Rendered { files, warnings })
}
