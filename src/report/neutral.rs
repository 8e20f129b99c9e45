//! What the views show of text that came from an API: characters that would act
//! rather than read are made visible. A bidi override or isolate (U+202A–E,
//! U+2066–9) could reorder what follows it on the page, so that a name or a reason
//! reads as something else; C0 and C1 controls (a NUL, an ESC) are not text at all.
//! Each becomes `[U+XXXX]`. run.json keeps the exact text; only the views change.

use std::borrow::Cow;

use serde_json::Value;

use crate::evidence::record::Record;

fn acts(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        || (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// The text with every acting character shown as `[U+XXXX]`.
pub fn text(s: &str) -> Cow<'_, str> {
    if !s.chars().any(acts) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if acts(c) {
            out.push_str(&format!("[U+{:04X}]", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn walk(v: &mut Value) -> bool {
    match v {
        Value::String(s) => match text(s) {
            Cow::Owned(shown) => {
                *s = shown;
                true
            }
            Cow::Borrowed(_) => false,
        },
        Value::Array(items) => items.iter_mut().fold(false, |changed, x| walk(x) | changed),
        Value::Object(m) => m.values_mut().fold(false, |changed, x| walk(x) | changed),
        _ => false,
    }
}

/// The record as the views show it: unchanged (borrowed) unless some text acts.
pub fn record(r: &Record) -> Cow<'_, Record> {
    let Ok(mut v) = serde_json::to_value(r) else { return Cow::Borrowed(r) };
    if !walk(&mut v) {
        return Cow::Borrowed(r);
    }
    serde_json::from_value(v).map(Cow::Owned).unwrap_or(Cow::Borrowed(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_and_controls_show_and_the_rest_stays() {
        assert_eq!(text("Eve \u{202E}gpj.exe\u{202C}"), "Eve [U+202E]gpj.exe[U+202C]");
        assert_eq!(text("a\u{0}b\u{1b}[31m"), "a[U+0000]b[U+001B][31m");
        // Emoji sequences (ZWJ), accents and line breaks are text.
        let kept = "Ana 👩\u{200d}💻 Ré\r\n\tx";
        assert!(matches!(text(kept), Cow::Borrowed(_)));
    }
}
