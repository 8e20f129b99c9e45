//! `--terminations FILE`: HR's list of terminated people, the other side of the
//! original audit finding. CSV (RFC 4180, UTF-8, a header row) with a
//! `termination_date` column (a UTC date or an RFC 3339 timestamp) and an
//! `employee_number` or `login` column (or both; a row needs one of them).

use std::path::Path;

use chrono::{DateTime, Utc};

use super::period::{End, parse_when};

#[derive(Debug, Clone, PartialEq)]
pub struct Termination {
    /// 1-based line in the file, for messages.
    pub line: usize,
    pub employee_number: Option<String>,
    pub login: Option<String>,
    /// The start of the termination day (or the exact time given).
    pub terminated: DateTime<Utc>,
}

impl Termination {
    /// How the row names the person, for the record.
    pub fn who(&self) -> String {
        match (&self.login, &self.employee_number) {
            (Some(l), _) => l.clone(),
            (None, Some(n)) => format!("employee {n}"),
            (None, None) => format!("line {}", self.line),
        }
    }
}

/// Splits RFC 4180 text into records of fields, each with the line it starts on.
fn records(text: &str) -> Result<Vec<(usize, Vec<String>)>, String> {
    let mut out = Vec::new();
    let (mut row, mut field, mut quoted, mut line, mut start) = (Vec::new(), String::new(), false, 1, 1);
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            ('"', false) => return Err(format!("line {line}: a quote inside an unquoted field")),
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\r', false) if chars.peek() == Some(&'\n') => {}
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                out.push((start, std::mem::take(&mut row)));
                line += 1;
                start = line;
                any = false;
            }
            ('\n', true) => {
                field.push('\n');
                line += 1;
            }
            (c, _) => field.push(c),
        }
    }
    if quoted {
        return Err(format!("line {start}: a quoted field is not closed"));
    }
    if any {
        row.push(field);
        out.push((start, row));
    }
    Ok(out)
}

pub fn parse(text: &str, name: &str) -> Result<Vec<Termination>, String> {
    let at = |line: usize, m: String| format!("{name}:{line}: {m}");
    let rows = records(text.strip_prefix('\u{feff}').unwrap_or(text)).map_err(|e| format!("{name}: {e}"))?;
    let mut rows = rows.into_iter().filter(|(_, r)| !(r.len() == 1 && r[0].trim().is_empty()));
    let Some((hline, header)) = rows.next() else { return Err(format!("{name}: empty; expected a header row")) };
    let col = |n: &str| header.iter().position(|h| h.trim().eq_ignore_ascii_case(n));
    let (number, login, date) = (col("employee_number"), col("login"), col("termination_date"));
    let Some(date) = date else {
        return Err(at(
            hline,
            "no termination_date column (expected termination_date and employee_number or login)".into(),
        ));
    };
    if number.is_none() && login.is_none() {
        return Err(at(hline, "no employee_number or login column".into()));
    }
    let mut out = Vec::new();
    for (line, r) in rows {
        if r.len() != header.len() {
            return Err(at(line, format!("{} fields, the header has {}", r.len(), header.len())));
        }
        let cell = |i: Option<usize>| i.map(|i| r[i].trim().to_string()).filter(|v| !v.is_empty());
        let (employee_number, login) = (cell(number), cell(login));
        if employee_number.is_none() && login.is_none() {
            return Err(at(line, "neither employee_number nor login".into()));
        }
        let text = r[date].trim();
        let terminated = parse_when(text, End::Since)
            .map_err(|_| at(line, format!("termination_date {text:?} is not a date (2026-07-01) or RFC 3339 time")))?;
        out.push(Termination { line, employee_number, login, terminated });
    }
    Ok(out)
}

pub fn load(path: &Path) -> Result<Vec<Termination>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.len() > 64 * 1024 * 1024 {
        return Err(format!("{}: over 64 MiB; not an HR termination list", path.display()));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&text, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_parse_and_errors_name_the_line() {
        let t = parse(
            "\u{feff}employee_number,login,termination_date\r\nE1,,2026-07-03\r\n,\"zoe@acme.example\",2026-08-01T17:00:00Z\r\n\r\n",
            "hr.csv",
        )
        .unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].line, t[0].employee_number.as_deref(), t[0].login.as_deref()), (2, Some("E1"), None));
        assert_eq!(t[1].who(), "zoe@acme.example");
        assert_eq!(t[1].terminated.to_rfc3339(), "2026-08-01T17:00:00+00:00");
        assert_eq!(
            parse("login,when\nx,y\n", "hr.csv").unwrap_err(),
            "hr.csv:1: no termination_date column (expected termination_date and employee_number or login)"
        );
        assert_eq!(
            parse("login,termination_date\nx,soon\n", "hr.csv").unwrap_err(),
            "hr.csv:2: termination_date \"soon\" is not a date (2026-07-01) or RFC 3339 time"
        );
        assert_eq!(parse("login,termination_date\nx\n", "hr.csv").unwrap_err(), "hr.csv:2: 1 fields, the header has 2");
        assert!(parse("login,termination_date\n\"x,2026-01-01\n", "hr.csv").unwrap_err().contains("not closed"));
    }
}
