//! What a run reports while it goes, on stderr: plain lines for people and logs, JSON
//! lines for machines (`--log-format json`), or nothing (`--quiet`). Never a secret:
//! only run ids, subject keys, logins, phases and legs.

use std::io::Write;
use std::time::Instant;

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
}

impl Progress {
    pub fn new(format: LogFormat, quiet: bool) -> Progress {
        Progress { format: (!quiet).then_some(format), started: Instant::now() }
    }

    pub fn quiet() -> Progress {
        Progress { format: None, started: Instant::now() }
    }

    /// One event: `what` in words, `fields` for the JSON form (and appended to the plain line).
    pub fn event(&self, what: &str, fields: Value) {
        let Some(format) = self.format else { return };
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
        let _ = writeln!(std::io::stderr().lock(), "{}", line.trim_end());
    }
}
