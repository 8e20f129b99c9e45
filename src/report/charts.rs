//! Charts as plain shapes (rectangles, lines, text) in points from the top-left, so
//! the HTML draws them as inline SVG and the PDF as vector operations from one
//! description: the two cannot show different figures.

use std::collections::BTreeMap;

use super::fmt;
use super::view::{leg_text, percentile, phase_text};
use chrono::{DateTime, Duration, Utc};

use crate::evidence::record::{Leg, Phase, Record, Source, Status};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

pub const INK: Rgb = Rgb(0x22, 0x22, 0x22);
pub const GRID: Rgb = Rgb(0xcc, 0xcc, 0xcc);
pub const SLA: Rgb = Rgb(0xc6, 0x28, 0x28);
pub const BAND: Rgb = Rgb(0xe3, 0xec, 0xf7);

pub fn leg_color(leg: Leg) -> Rgb {
    match leg {
        Leg::Okta => Rgb(0x00, 0x5b, 0xbb),
        Leg::Entra => Rgb(0x2e, 0x7d, 0x32),
        Leg::Aws => Rgb(0xe6, 0x8a, 0x00),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Start,
    End,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        fill: Rgb,
    },
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        color: Rgb,
        width: f32,
        dashed: bool,
    },
    /// `y` is the text's baseline.
    Text {
        x: f32,
        y: f32,
        text: String,
        size: f32,
        color: Rgb,
        anchor: Anchor,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub title: String,
    pub width: f32,
    pub height: f32,
    pub shapes: Vec<Shape>,
}

/// Latencies beyond ten years are data errors, not something to scale a chart to
/// (and would overflow the axis arithmetic); the tables still show them.
const MAX_MS: i64 = 10 * 366 * 86_400_000;
const LABEL_W: f32 = 70.0;
const ROW_H: f32 = 12.0;
const TOP: f32 = 22.0;
const AXIS_H: f32 = 18.0;

/// A timed verdict placed on a chart.
struct Point {
    subject: String,
    leg: Leg,
    ms: i64,
}

/// Each subject's T0 per phase, recovered from its timed verdicts (time − latency).
fn t0s(record: &Record) -> BTreeMap<(String, Phase), DateTime<Utc>> {
    let mut out = BTreeMap::new();
    for v in &record.verdicts {
        let start = match (v.latency_ms, &v.time) {
            (Some(ms), Some(t)) => Duration::try_milliseconds(ms).and_then(|d| t.at.checked_sub_signed(d)),
            _ => None,
        };
        if let Some(start) = start {
            out.entry((v.subject.clone(), v.phase)).or_insert(start);
        }
    }
    out
}

fn timed(record: &Record, phase: Phase) -> (Vec<Point>, i64) {
    let mut sla = 0;
    let mut points: Vec<Point> = record
        .verdicts
        .iter()
        .filter(|v| v.phase == phase)
        .inspect(|v| sla = sla.max(v.sla_ms.unwrap_or(0)))
        .filter_map(|v| {
            v.latency_ms.filter(|ms| ms.abs() <= MAX_MS).map(|ms| Point { subject: v.subject.clone(), leg: v.leg, ms })
        })
        .collect();
    sla = sla.clamp(0, MAX_MS);
    // Okta's own events of the phase (its push and deactivate events per app), placed
    // from the same T0 and before the subject's next phase began.
    let t0 = t0s(record);
    // When each subject's next phase began, once (not per event).
    let mut next: BTreeMap<&str, DateTime<Utc>> = BTreeMap::new();
    for ((s, p), t) in &t0 {
        if *p > phase && *p != Phase::Residual {
            let e = next.entry(s.as_str()).or_insert(*t);
            *e = (*e).min(*t);
        }
    }
    for e in &record.events {
        let Some(subject) = e.subject.as_deref() else { continue };
        if e.source != Source::OktaSystemLog || !e.kind.starts_with("application.provision") {
            continue;
        }
        let Some(start) = t0.get(&(subject.to_string(), phase)) else { continue };
        if e.time < *start || next.get(subject).is_some_and(|n| e.time >= *n) {
            continue;
        }
        let ms = (e.time - *start).num_milliseconds();
        if ms > MAX_MS {
            continue;
        }
        points.push(Point { subject: subject.to_string(), leg: Leg::Okta, ms });
    }
    (points, sla)
}

/// A round axis end at or above `max`.
fn axis_end(max: i64) -> i64 {
    let steps = [1_000, 2_000, 5_000, 10_000, 20_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_800_000];
    let step = steps.iter().copied().find(|s| max <= s * 5).unwrap_or(3_600_000);
    ((max.max(1) + step - 1) / step) * step
}

fn axis(shapes: &mut Vec<Shape>, x0: f32, x1: f32, y: f32, end_ms: i64) {
    shapes.push(Shape::Line { x1: x0, y1: y, x2: x1, y2: y, color: INK, width: 0.6, dashed: false });
    for i in 0..=5 {
        let x = x0 + (x1 - x0) * i as f32 / 5.0;
        shapes.push(Shape::Line { x1: x, y1: y, x2: x, y2: y + 3.0, color: INK, width: 0.6, dashed: false });
        let label = fmt::sla(end_ms * i / 5);
        let anchor = if i == 5 { Anchor::End } else { Anchor::Start };
        shapes.push(Shape::Text { x, y: y + 11.0, text: label, size: 7.0, color: INK, anchor });
    }
}

fn legend(shapes: &mut Vec<Shape>, width: f32) {
    let mut x = width - 150.0;
    for leg in [Leg::Okta, Leg::Entra, Leg::Aws] {
        shapes.push(Shape::Rect { x, y: 4.0, w: 7.0, h: 7.0, fill: leg_color(leg) });
        shapes.push(Shape::Text {
            x: x + 10.0,
            y: 10.5,
            text: leg_text(leg).into(),
            size: 7.0,
            color: INK,
            anchor: Anchor::Start,
        });
        x += 42.0;
    }
}

/// Per-subject timelines of one phase: each timed check as a mark at its latency
/// from T0, and Okta's provisioning events of the phase, coloured by leg, with the
/// SLA as a red line. `rows` picks the subjects
/// (so a long run can be cut across PDF pages); None when the phase has no timing.
pub fn timeline(record: &Record, phase: Phase, rows: &[String], width: f32) -> Option<Chart> {
    let (points, sla) = timed(record, phase);
    if points.is_empty() || rows.is_empty() {
        return None;
    }
    let end = axis_end(points.iter().map(|p| p.ms).max().unwrap_or(0).max(sla));
    let plot = (LABEL_W, width - 10.0);
    let x_of = |ms: i64| plot.0 + (plot.1 - plot.0) * (ms.max(0) as f32 / end as f32);
    let height = TOP + rows.len() as f32 * ROW_H + AXIS_H;
    let mut shapes = Vec::new();
    legend(&mut shapes, width);
    let mut by_subject: BTreeMap<&str, Vec<&Point>> = BTreeMap::new();
    for p in &points {
        by_subject.entry(p.subject.as_str()).or_default().push(p);
    }
    // Every check of the phase counts, timed or not: an UNKNOWN without a mark is still
    // a subject that did not pass.
    let not_passed: std::collections::BTreeSet<&str> = record
        .verdicts
        .iter()
        .filter(|v| v.phase == phase && v.status != Status::Pass)
        .map(|v| v.subject.as_str())
        .collect();
    for (i, subject) in rows.iter().enumerate() {
        let y = TOP + i as f32 * ROW_H;
        if i % 2 == 0 {
            shapes.push(Shape::Rect { x: plot.0, y, w: plot.1 - plot.0, h: ROW_H, fill: BAND });
        }
        let marks = by_subject.get(subject.as_str()).map(Vec::as_slice).unwrap_or_default();
        let failed = not_passed.contains(subject.as_str());
        let color = if failed { SLA } else { INK };
        shapes.push(Shape::Text {
            x: LABEL_W - 6.0,
            y: y + 8.5,
            text: subject.clone(),
            size: 7.0,
            color,
            anchor: Anchor::End,
        });
        for p in marks.iter() {
            let x = x_of(p.ms);
            let lane = match p.leg {
                Leg::Okta => 1.5,
                Leg::Entra => 4.5,
                Leg::Aws => 7.5,
            };
            shapes.push(Shape::Rect { x: x - 1.5, y: y + lane, w: 3.0, h: 3.0, fill: leg_color(p.leg) });
        }
    }
    let bottom = TOP + rows.len() as f32 * ROW_H;
    if sla > 0 {
        let x = x_of(sla);
        shapes.push(Shape::Line { x1: x, y1: TOP - 4.0, x2: x, y2: bottom, color: SLA, width: 0.8, dashed: true });
        shapes.push(Shape::Text {
            x: x - 2.0,
            y: TOP - 6.0,
            text: format!("SLA {}", fmt::sla(sla)),
            size: 7.0,
            color: SLA,
            anchor: Anchor::End,
        });
    }
    axis(&mut shapes, plot.0, plot.1, bottom, end);
    Some(Chart { title: format!("{} timeline: time from T0 per subject", phase_text(phase)), width, height, shapes })
}

/// Latency distribution per phase and leg: every measurement as a tick, the p50–p95
/// band as a box, the SLA as a red line; each row on its own scale (SLAs differ).
pub fn distribution(record: &Record, width: f32) -> Option<Chart> {
    let mut groups: BTreeMap<(Phase, Leg), (Vec<i64>, i64)> = BTreeMap::new();
    for v in &record.verdicts {
        if let Some(ms) = v.latency_ms.filter(|ms| ms.abs() <= MAX_MS) {
            let g = groups.entry((v.phase, v.leg)).or_default();
            g.0.push(ms);
            g.1 = g.1.max(v.sla_ms.unwrap_or(0).clamp(0, MAX_MS));
        }
    }
    if groups.is_empty() {
        return None;
    }
    let row = 26.0;
    let plot = (LABEL_W + 20.0, width - 150.0);
    let height = TOP + groups.len() as f32 * row + 6.0;
    let mut shapes = Vec::new();
    legend(&mut shapes, width);
    for (i, ((phase, leg), (mut values, sla))) in groups.into_iter().enumerate() {
        values.sort_unstable();
        let y = TOP + i as f32 * row;
        let end = axis_end(values.last().copied().unwrap_or(0).max(sla));
        let x_of = |ms: i64| plot.0 + (plot.1 - plot.0) * (ms.max(0) as f32 / end as f32);
        shapes.push(Shape::Text {
            x: plot.0 - 6.0,
            y: y + 11.0,
            text: format!("{} {}", phase_text(phase), leg_text(leg)),
            size: 7.5,
            color: INK,
            anchor: Anchor::End,
        });
        shapes.push(Shape::Line {
            x1: plot.0,
            y1: y + 16.0,
            x2: plot.1,
            y2: y + 16.0,
            color: GRID,
            width: 0.5,
            dashed: false,
        });
        let (p50, p95) = (percentile(&values, 50.0).unwrap_or(0), percentile(&values, 95.0).unwrap_or(0));
        shapes.push(Shape::Rect { x: x_of(p50), y: y + 4.0, w: (x_of(p95) - x_of(p50)).max(1.0), h: 12.0, fill: BAND });
        for ms in &values {
            let x = x_of(*ms);
            shapes.push(Shape::Line {
                x1: x,
                y1: y + 5.0,
                x2: x,
                y2: y + 15.0,
                color: leg_color(leg),
                width: 0.8,
                dashed: false,
            });
        }
        if sla > 0 {
            let x = x_of(sla);
            shapes.push(Shape::Line { x1: x, y1: y + 2.0, x2: x, y2: y + 18.0, color: SLA, width: 0.8, dashed: true });
        }
        shapes.push(Shape::Text {
            x: plot.0,
            y: y + 24.0,
            text: "0".into(),
            size: 6.0,
            color: INK,
            anchor: Anchor::Start,
        });
        shapes.push(Shape::Text {
            x: plot.1,
            y: y + 24.0,
            text: fmt::sla(end),
            size: 6.0,
            color: INK,
            anchor: Anchor::End,
        });
        shapes.push(Shape::Text {
            x: plot.1 + 8.0,
            y: y + 13.0,
            text: format!("p50 {} · p95 {} · n {}", fmt::latency(p50), fmt::latency(p95), values.len()),
            size: 7.0,
            color: INK,
            anchor: Anchor::Start,
        });
    }
    Some(Chart { title: "Latency distribution per phase and leg (SLA in red)".into(), width, height, shapes })
}

/// Inline SVG for the HTML: every text escaped here, since the template inserts it raw.
pub fn svg(chart: &Chart) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{t}">"#,
        w = chart.width,
        h = chart.height,
        t = escape(&chart.title)
    );
    for shape in &chart.shapes {
        match shape {
            Shape::Rect { x, y, w, h, fill } => {
                let _ =
                    write!(s, r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{}"/>"#, fill.hex());
            }
            Shape::Line { x1, y1, x2, y2, color, width, dashed } => {
                let dash = if *dashed { r#" stroke-dasharray="3 2""# } else { "" };
                let _ = write!(
                    s,
                    r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{}" stroke-width="{width}"{dash}/>"#,
                    color.hex()
                );
            }
            Shape::Text { x, y, text, size, color, anchor } => {
                let a = if *anchor == Anchor::End { "end" } else { "start" };
                let _ = write!(
                    s,
                    r#"<text x="{x:.1}" y="{y:.1}" font-size="{size}" fill="{}" text-anchor="{a}">{}</text>"#,
                    color.hex(),
                    escape(text)
                );
            }
        }
    }
    s.push_str("</svg>");
    s
}

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_ends_are_round_and_cover_the_maximum() {
        assert_eq!(axis_end(4_372), 5_000);
        assert_eq!(axis_end(20_000), 20_000);
        assert_eq!(axis_end(21_000), 25_000);
        assert!(axis_end(86_400_000) >= 86_400_000);
    }

    #[test]
    fn timelines_place_okta_events_from_the_phase_t0_and_not_from_the_next_phase() {
        use crate::evidence::record::{Provenance, SourceEvent, Stamp, Verdict};
        let t0 = DateTime::parse_from_rfc3339("2026-11-02T09:00:00Z").unwrap().to_utc();
        let mut r = Record::new("run", "x", "y", t0);
        let verdict = |phase, at_s: i64, ms| Verdict {
            subject: "s01".into(),
            leg: Leg::Entra,
            phase,
            check: "revoked".into(),
            status: Status::Pass,
            latency_ms: Some(ms),
            sla_ms: Some(20_000),
            time: Some(Stamp {
                at: t0 + Duration::seconds(at_s),
                provenance: Provenance::Source,
                detail: String::new(),
            }),
            reason: String::new(),
        };
        // Joiner T0 = t0; mover T0 = t0 + 10 s.
        r.verdicts.push(verdict(Phase::Joiner, 4, 4_000));
        r.verdicts.push(verdict(Phase::Mover, 13, 3_000));
        let event = |s: i64| SourceEvent {
            source: Source::OktaSystemLog,
            id: format!("e{s}"),
            time: t0 + Duration::seconds(s),
            kind: "application.provision.user.push".into(),
            outcome: Some("SUCCESS".into()),
            subject: Some("s01".into()),
            leg: None,
            actor: None,
            sha256: String::new(),
        };
        r.events.push(event(2));
        r.events.push(event(11));
        let okta_marks = |c: &Chart| {
            c.shapes.iter().filter(|s| matches!(s, Shape::Rect { fill, .. } if *fill == leg_color(Leg::Okta))).count()
                - 1
        };
        let joiner = timeline(&r, Phase::Joiner, &["s01".into()], 500.0).unwrap();
        assert_eq!(okta_marks(&joiner), 1, "the event at 2 s; the one at 11 s is the mover's");
        let mover = timeline(&r, Phase::Mover, &["s01".into()], 500.0).unwrap();
        assert_eq!(okta_marks(&mover), 1, "the event at 11 s, 1 s after the mover's T0");
    }

    #[test]
    fn svg_text_is_escaped() {
        let c = Chart {
            title: "<b>".into(),
            width: 10.0,
            height: 10.0,
            shapes: vec![Shape::Text {
                x: 0.0,
                y: 0.0,
                text: "<script>alert(1)</script>".into(),
                size: 7.0,
                color: INK,
                anchor: Anchor::Start,
            }],
        };
        let s = svg(&c);
        assert!(!s.contains("<script>") && !s.contains("<b>"), "{s}");
    }
}
