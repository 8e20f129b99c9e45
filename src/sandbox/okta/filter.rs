//! Okta's SCIM-style filter expressions, as `search=` and the System Log's `filter=`
//! take them: `profile.login eq "a@b.c"`, `eventType sw "user."`, `and`/`or`,
//! parentheses, `pr`. Attribute paths are dotted; a path into an array (`target.id`)
//! matches when any element matches.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Cmp { path: Vec<String>, op: Op, value: Value },
    Present(Vec<String>),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Eq,
    Ne,
    Sw,
    Co,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Open,
    Close,
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut it = s.chars().peekable();
    while let Some(&c) = it.peek() {
        match c {
            c if c.is_whitespace() => {
                it.next();
            }
            '(' => {
                it.next();
                out.push(Tok::Open);
            }
            ')' => {
                it.next();
                out.push(Tok::Close);
            }
            '"' => {
                it.next();
                let mut v = String::new();
                loop {
                    match it.next() {
                        Some('\\') => v.extend(it.next()),
                        Some('"') => break,
                        Some(c) => v.push(c),
                        None => return Err("unterminated string".into()),
                    }
                }
                out.push(Tok::Str(v));
            }
            _ => {
                let mut w = String::new();
                while let Some(&c) = it.peek() {
                    if c.is_whitespace() || c == '(' || c == ')' || c == '"' {
                        break;
                    }
                    w.push(c);
                    it.next();
                }
                out.push(Tok::Word(w));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }

    fn or(&mut self) -> Result<Filter, String> {
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.pos += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, String> {
        let mut left = self.factor()?;
        while self.peek_word("and") {
            self.pos += 1;
            left = Filter::And(Box::new(left), Box::new(self.factor()?));
        }
        Ok(left)
    }

    fn factor(&mut self) -> Result<Filter, String> {
        match self.toks.get(self.pos).cloned() {
            Some(Tok::Open) => {
                self.pos += 1;
                let f = self.or()?;
                if self.toks.get(self.pos) != Some(&Tok::Close) {
                    return Err("missing ')'".into());
                }
                self.pos += 1;
                Ok(f)
            }
            Some(Tok::Word(attr)) => {
                self.pos += 1;
                let path: Vec<String> = attr.split('.').map(str::to_string).collect();
                if path.iter().any(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')) {
                    return Err(format!("invalid attribute {attr:?}"));
                }
                let op = match self.toks.get(self.pos) {
                    Some(Tok::Word(op)) => op.to_ascii_lowercase(),
                    _ => return Err(format!("missing operator after {attr:?}")),
                };
                self.pos += 1;
                let op = match op.as_str() {
                    "pr" => return Ok(Filter::Present(path)),
                    "eq" => Op::Eq,
                    "ne" => Op::Ne,
                    "sw" => Op::Sw,
                    "co" => Op::Co,
                    "ew" => Op::Ew,
                    "gt" => Op::Gt,
                    "ge" => Op::Ge,
                    "lt" => Op::Lt,
                    "le" => Op::Le,
                    other => return Err(format!("unknown operator {other:?}")),
                };
                let value = match self.toks.get(self.pos).cloned() {
                    Some(Tok::Str(s)) => Value::String(s),
                    Some(Tok::Word(w)) if w == "true" || w == "false" => Value::Bool(w == "true"),
                    Some(Tok::Word(w)) if w == "null" => Value::Null,
                    Some(Tok::Word(w)) => {
                        w.parse::<f64>().map(|n| serde_json::json!(n)).map_err(|_| format!("invalid value {w:?}"))?
                    }
                    _ => return Err(format!("missing value after {attr:?}")),
                };
                self.pos += 1;
                Ok(Filter::Cmp { path, op, value })
            }
            _ => Err("expected an attribute".into()),
        }
    }
}

pub fn parse(s: &str) -> Result<Filter, String> {
    let mut p = Parser { toks: lex(s)?, pos: 0 };
    let f = p.or()?;
    if p.pos != p.toks.len() {
        return Err("unexpected text after the expression".into());
    }
    Ok(f)
}

fn lookup<'a>(v: &'a Value, path: &[String], out: &mut Vec<&'a Value>) {
    match (v, path.split_first()) {
        (Value::Array(items), _) => items.iter().for_each(|i| lookup(i, path, out)),
        (_, None) => out.push(v),
        (Value::Object(m), Some((head, rest))) => {
            if let Some(child) = m.get(head) {
                lookup(child, rest, out);
            }
        }
        _ => {}
    }
}

fn cmp(have: &Value, op: Op, want: &Value) -> bool {
    match (have, want) {
        (Value::String(h), Value::String(w)) => {
            let (h, w) = (h.to_lowercase(), w.to_lowercase());
            match op {
                Op::Eq => h == w,
                Op::Ne => h != w,
                Op::Sw => h.starts_with(&w),
                Op::Co => h.contains(&w),
                Op::Ew => h.ends_with(&w),
                Op::Gt => h > w,
                Op::Ge => h >= w,
                Op::Lt => h < w,
                Op::Le => h <= w,
            }
        }
        _ => match op {
            Op::Eq => have == want,
            Op::Ne => have != want,
            _ => false,
        },
    }
}

impl Filter {
    pub fn matches(&self, v: &Value) -> bool {
        match self {
            Filter::And(a, b) => a.matches(v) && b.matches(v),
            Filter::Or(a, b) => a.matches(v) || b.matches(v),
            Filter::Present(path) => {
                let mut found = Vec::new();
                lookup(v, path, &mut found);
                found.iter().any(|x| !x.is_null())
            }
            Filter::Cmp { path, op, value } => {
                let mut found = Vec::new();
                lookup(v, path, &mut found);
                if found.is_empty() {
                    return *op == Op::Ne;
                }
                found.iter().any(|h| cmp(h, *op, value))
            }
        }
    }

    /// Every attribute path the filter names (for "unsupported field" checks).
    pub fn paths(&self) -> Vec<String> {
        match self {
            Filter::And(a, b) | Filter::Or(a, b) => [a.paths(), b.paths()].concat(),
            Filter::Present(p) | Filter::Cmp { path: p, .. } => vec![p.join(".")],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn matches_nested_and_arrays() {
        let ev = json!({"eventType": "user.lifecycle.deactivate", "target": [{"id": "00u1", "type": "User"}], "outcome": {"result": "SUCCESS"}});
        assert!(parse(r#"eventType eq "user.lifecycle.deactivate" and target.id eq "00u1""#).unwrap().matches(&ev));
        assert!(
            parse(r#"(eventType sw "user." or eventType sw "group.") and outcome.result eq "SUCCESS""#)
                .unwrap()
                .matches(&ev)
        );
        assert!(!parse(r#"target.id eq "00u2""#).unwrap().matches(&ev));
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse(r#"eventType eq"#).is_err());
        assert!(parse(r#"eventType zz "x""#).is_err());
        assert!(parse(r#"(eventType eq "x""#).is_err());
        assert!(parse(r#"a eq "x" junk"#).is_err());
    }
}
