//! measurements.csv and events.csv: RFC 4180 (CRLF, quoted when needed), columns
//! documented in the README. Text cells that a spreadsheet would run as a formula
//! (starting with `=`, `+`, `-`, `@`, tab or CR) get a leading `'`: names and error
//! texts come from APIs and must stay data. Number cells stay numbers.

use super::view::View;

enum Cell<'a> {
    Text(&'a str),
    Num(Option<i64>),
    Count(usize),
}

fn text_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_string() };
    if s.contains([',', '"', '\r', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

fn line(out: &mut String, cells: &[Cell]) {
    let texts: Vec<String> = cells
        .iter()
        .map(|c| match c {
            Cell::Text(s) => text_cell(s),
            Cell::Num(n) => n.map(|n| n.to_string()).unwrap_or_default(),
            Cell::Count(n) => n.to_string(),
        })
        .collect();
    out.push_str(&texts.join(","));
    out.push_str("\r\n");
}

pub const MEASUREMENTS_COLUMNS: &[&str] = &[
    "run_id",
    "subject",
    "login",
    "phase",
    "leg",
    "check",
    "status",
    "latency_ms",
    "sla_ms",
    "time",
    "provenance",
    "time_detail",
    "reason",
];

pub const EVENTS_COLUMNS: &[&str] =
    &["run_id", "line", "time", "source", "kind", "outcome", "subject", "leg", "actor", "id", "sha256"];

/// One row per subject × leg × phase × check, in the record's order.
pub fn measurements(view: &View) -> String {
    let mut out = String::new();
    line(&mut out, &MEASUREMENTS_COLUMNS.iter().map(|c| Cell::Text(c)).collect::<Vec<_>>());
    for r in &view.checks {
        line(
            &mut out,
            &[
                Cell::Text(&view.run_id),
                Cell::Text(&r.subject),
                Cell::Text(&r.login),
                Cell::Text(&r.phase),
                Cell::Text(&r.leg),
                Cell::Text(&r.check),
                Cell::Text(&r.status),
                Cell::Num(r.latency_ms),
                Cell::Num(r.sla_ms),
                Cell::Text(&r.time),
                Cell::Text(&r.provenance),
                Cell::Text(&r.time_detail),
                Cell::Text(&r.reason),
            ],
        );
    }
    out
}

pub const FINDINGS_COLUMNS: &[&str] = &[
    "run_id",
    "class",
    "system",
    "account",
    "account_id",
    "state",
    "owner",
    "link",
    "since",
    "detail",
    "exception",
    "counts",
];

/// One row per reconcile finding.
pub fn findings(view: &View) -> String {
    let mut out = String::new();
    line(&mut out, &FINDINGS_COLUMNS.iter().map(|c| Cell::Text(c)).collect::<Vec<_>>());
    for f in &view.findings {
        line(
            &mut out,
            &[
                Cell::Text(&view.run_id),
                Cell::Text(&f.class),
                Cell::Text(&f.system),
                Cell::Text(&f.account),
                Cell::Text(&f.account_id),
                Cell::Text(&f.enabled),
                Cell::Text(&f.owner),
                Cell::Text(&f.link),
                Cell::Text(&f.since),
                Cell::Text(&f.detail),
                Cell::Text(&f.exception),
                Cell::Text(if f.counts { "yes" } else { "no" }),
            ],
        );
    }
    out
}

/// One row per source event; `line` is its line in raw/events.ndjson.
pub fn events(view: &View) -> String {
    let mut out = String::new();
    line(&mut out, &EVENTS_COLUMNS.iter().map(|c| Cell::Text(c)).collect::<Vec<_>>());
    for e in &view.events {
        line(
            &mut out,
            &[
                Cell::Text(&view.run_id),
                Cell::Count(e.line),
                Cell::Text(&e.time),
                Cell::Text(&e.source),
                Cell::Text(&e.kind),
                Cell::Text(&e.outcome),
                Cell::Text(&e.subject),
                Cell::Text(&e.leg),
                Cell::Text(&e.actor),
                Cell::Text(&e.id),
                Cell::Text(&e.sha256),
            ],
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutral_and_quotes_are_rfc4180() {
        assert_eq!(text_cell("=cmd()"), "'=cmd()");
        assert_eq!(text_cell("+1"), "'+1");
        assert_eq!(text_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(text_cell("-2+3,\"x\""), "\"'-2+3,\"\"x\"\"\"");
        assert_eq!(text_cell("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(text_cell("Zoë Ångström"), "Zoë Ångström");
    }
}
