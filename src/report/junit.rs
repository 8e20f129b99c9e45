//! junit.xml for CI systems: one test case per subject × leg × phase check. FAIL is a
//! `<failure>`, UNKNOWN an `<error>` (the check could not be decided): both fail a CI
//! job, since missing evidence is never a pass.

use std::fmt::Write;

/// XML 1.0 text: escaped, and without the control characters XML forbids (an API's
/// error text may carry one; a CI parser would reject the whole file).
fn escape(s: &str) -> String {
    let clean: String = s.chars().filter(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r')).collect();
    super::charts::escape(&clean)
}
use super::view::View;

pub fn render(view: &View) -> String {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        r#"<testsuites name="{}" tests="{}" failures="{}" errors="{}">"#,
        escape(&view.title),
        view.counts.total,
        view.counts.fail,
        view.counts.unknown
    );
    let _ = writeln!(
        s,
        r#"  <testsuite name="{}" tests="{}" failures="{}" errors="{}" timestamp="{}">"#,
        escape(&view.title),
        view.counts.total,
        view.counts.fail,
        view.counts.unknown,
        escape(&view.started)
    );
    for c in &view.checks {
        let time = c.latency_ms.map(|ms| format!(r#" time="{:.3}""#, ms.max(0) as f64 / 1000.0)).unwrap_or_default();
        let _ = write!(
            s,
            r#"    <testcase classname="{}.{}" name="{} {}"{time}>"#,
            c.phase,
            c.leg,
            escape(&c.subject),
            escape(&c.check)
        );
        let message = if c.reason.is_empty() { c.status.clone() } else { c.reason.clone() };
        match c.status.as_str() {
            "FAIL" => {
                let _ = write!(s, r#"<failure message="{}" type="FAIL"/>"#, escape(&message));
            }
            "UNKNOWN" => {
                let _ = write!(s, r#"<error message="{}" type="UNKNOWN"/>"#, escape(&message));
            }
            _ => {}
        }
        s.push_str("</testcase>\n");
    }
    s.push_str("  </testsuite>\n</testsuites>\n");
    s
}
