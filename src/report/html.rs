//! index.html: one self-contained page (inline CSS and SVG, no script, no fetch),
//! rendered by tera from templates embedded in the binary. A directory in config
//! (`[evidence] templates`) may hold an `index.html` or `style.css` replacing the
//! embedded one; the template gets `view` (the view model) and `charts`.

use std::path::Path;

use serde::Serialize;

use super::ReportError;
use super::charts::{self, Chart};
use super::view::View;
use crate::evidence::record::{Phase, Record};

pub const TEMPLATES: &[(&str, &str)] = &[
    ("index.html", include_str!("../../templates/index.html")),
    ("style.css", include_str!("../../templates/style.css")),
];

#[derive(Serialize)]
struct ChartHtml {
    title: String,
    svg: String,
}

#[derive(Serialize)]
struct Charts {
    timelines: Vec<ChartHtml>,
    distribution: Vec<ChartHtml>,
}

fn html(chart: Chart) -> ChartHtml {
    ChartHtml { svg: charts::svg(&chart), title: chart.title }
}

/// The templates in use: embedded, each replaced by a file of the same name in `dir`.
fn templates(dir: Option<&Path>) -> Result<Vec<(String, String)>, ReportError> {
    TEMPLATES
        .iter()
        .map(|(name, embedded)| {
            let Some(path) = dir.map(|d| d.join(name)).filter(|p| p.exists()) else {
                return Ok((name.to_string(), embedded.to_string()));
            };
            std::fs::read_to_string(&path)
                .map(|text| (name.to_string(), text))
                .map_err(|e| ReportError::Template(format!("{}: {e}", path.display())))
        })
        .collect()
}

/// Loads the templates (embedded, or the overrides in `dir`) and compiles them: run
/// before any tenant is touched, so a broken override stops the command up front.
pub fn load(dir: Option<&Path>) -> Result<tera::Tera, ReportError> {
    let mut tera = tera::Tera::default();
    tera.autoescape_on([".html"]);
    let shown = dir.map(|d| d.display().to_string()).unwrap_or_else(|| "embedded".into());
    // All at once: index.html includes style.css.
    tera.add_raw_templates(templates(dir)?)
        .map_err(|e| ReportError::Template(format!("({shown}): {}", one_line(&e))))?;
    Ok(tera)
}

pub fn render(record: &Record, view: &View, dir: Option<&Path>) -> Result<String, ReportError> {
    let tera = load(dir)?;
    let subjects: Vec<String> = record.subjects.iter().map(|s| s.key.clone()).collect();
    let charts = Charts {
        timelines: [Phase::Joiner, Phase::Mover, Phase::Leaver]
            .into_iter()
            .filter_map(|p| charts::timeline(record, p, &subjects, 900.0))
            .map(html)
            .collect(),
        distribution: charts::distribution(record, 900.0).into_iter().map(html).collect(),
    };
    let mut ctx = tera::Context::new();
    ctx.insert("view", view);
    ctx.insert("charts", &charts);
    tera.render("index.html", &ctx).map_err(|e| ReportError::Template(format!("index.html: {}", one_line(&e))))
}

fn one_line(e: &tera::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
