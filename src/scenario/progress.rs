//! What a run reports while it goes, on stderr: plain lines for people and logs, JSON
//! lines for machines (`--log-format json`), or nothing (`--quiet`). On a terminal the
//! plain form also draws one bar per phase and leg: subjects whose change was seen,
//! out of those watched. Never a secret: only run ids, subject keys, logins, phases
//! and legs.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Plain,
    Json,
}

#[derive(Debug)]
pub struct Progress {
    format: Option<LogFormat>,
    started: Instant,
    bars: Option<Bars>,
}

impl Progress {
    pub fn new(format: LogFormat, quiet: bool) -> Progress {
        let live = !quiet && format == LogFormat::Plain && std::io::stderr().is_terminal();
        let bars = live.then(|| Bars::new(ProgressDrawTarget::stderr()));
        Progress { format: (!quiet).then_some(format), started: Instant::now(), bars }
    }

    pub fn quiet() -> Progress {
        Progress { format: None, started: Instant::now(), bars: None }
    }

    /// One event: `what` in words, `fields` for the JSON form (and appended to the plain line).
    pub fn event(&self, what: &str, fields: Value) {
        let Some(format) = self.format else { return };
        if let Some(bars) = &self.bars {
            bars.event(what, &fields);
        }
        let t = self.started.elapsed().as_secs_f64();
        let line = match format {
            LogFormat::Json => {
                let mut v = json!({"elapsed_s": (t * 1000.0).round() / 1000.0, "event": what});
                if let (Value::Object(m), Value::Object(f)) = (&mut v, fields) {
                    m.extend(f);
                }
                v.to_string()
            }
            LogFormat::Plain => {
                let detail: Vec<String> = match fields {
                    Value::Object(f) => f
                        .into_iter()
                        .map(|(k, v)| {
                            format!("{k}={}", v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
                        })
                        .collect(),
                    _ => vec![],
                };
                format!("[{t:7.1}s] {what} {}", detail.join(" "))
            }
        };
        match &self.bars {
            // Printed above the bars, which are drawn again below it.
            Some(bars) => {
                let _ = bars.multi.println(line.trim_end());
            }
            None => {
                let _ = writeln!(std::io::stderr().lock(), "{}", line.trim_end());
            }
        }
    }
}

/// The live bars: one per (phase, leg) being watched.
#[derive(Debug)]
struct Bars {
    multi: MultiProgress,
    bars: Mutex<BTreeMap<(String, String), ProgressBar>>,
}

impl Bars {
    fn new(target: ProgressDrawTarget) -> Bars {
        Bars { multi: MultiProgress::with_draw_target(target), bars: Mutex::new(BTreeMap::new()) }
    }

    fn event(&self, what: &str, fields: &Value) {
        let text = |k: &str| fields.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        match what {
            "watching" => {
                Self::settle(&bars);
                let style =
                    ProgressStyle::with_template("{prefix:>13} [{bar:30}] {pos}/{len} seen  {elapsed} of {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> ");
                let subjects = fields.get("subjects").and_then(Value::as_u64).unwrap_or(0);
                let sla = fields.get("sla_s").and_then(Value::as_u64).unwrap_or(0);
                for leg in ["entra", "aws"] {
                    let bar = self.multi.add(ProgressBar::new(subjects));
                    bar.set_style(style.clone());
                    bar.set_prefix(format!("{} {leg}", text("phase")));
                    bar.set_message(format!("{sla}s SLA"));
                    bars.insert((text("phase"), leg.to_string()), bar);
                }
            }
            "changed" => {
                if let Some(bar) = bars.get(&(text("phase"), text("leg"))) {
                    bar.inc(1);
                }
            }
            "reading audit trails" | "teardown" => Self::settle(&bars),
            _ => {}
        }
    }

    /// Bars of a finished watch stay on screen: full ones finished, the others
    /// abandoned where they stopped (those subjects were not seen in time).
    fn settle(bars: &BTreeMap<(String, String), ProgressBar>) {
        for bar in bars.values().filter(|b| !b.is_finished()) {
            if bar.length().is_some_and(|len| bar.position() >= len) {
                bar.finish();
            } else {
                bar.abandon();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bars_count_changes_per_phase_and_leg_and_settle_when_the_watch_ends() {
        let bars = Bars::new(ProgressDrawTarget::hidden());
        bars.event("watching", &json!({"phase": "leaver", "sla_s": 20, "subjects": 3}));
        for (subject, leg) in [("s01", "entra"), ("s02", "entra"), ("s01", "aws")] {
            bars.event("changed", &json!({"subject": subject, "phase": "leaver", "leg": leg}));
        }
        // A change for a phase not being watched moves nothing.
        bars.event("changed", &json!({"subject": "s03", "phase": "mover", "leg": "aws"}));
        {
            let b = bars.bars.lock().unwrap();
            let at = |leg: &str| b[&("leaver".to_string(), leg.to_string())].position();
            assert_eq!((at("entra"), at("aws"), b.len()), (2, 1, 2));
            assert_eq!(b[&("leaver".to_string(), "aws".to_string())].length(), Some(3));
        }
        bars.event("changed", &json!({"subject": "s03", "phase": "leaver", "leg": "entra"}));
        bars.event("teardown", &json!({}));
        let b = bars.bars.lock().unwrap();
        assert!(b.values().all(ProgressBar::is_finished));
        assert_eq!(b[&("leaver".to_string(), "entra".to_string())].position(), 3);
    }
}
