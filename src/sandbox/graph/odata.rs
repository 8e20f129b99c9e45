//! The part of OData `$filter` that Graph accepts on users and directory audits:
//! `eq ne ge le gt lt`, `startswith()`, `endswith()`, `in (…)`, `not()`, `and`, `or`,
//! and lambda `any(t:t/id eq '…')`. Literals: 'quoted' (with '' for a quote),
//! true/false/null, numbers, and bare ISO 8601 timestamps.

use chrono::{DateTime, Utc};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Str(String),
    Bool(bool),
    Null,
    Num(f64),
    Time(DateTime<Utc>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Cmp { path: String, op: String, lit: Lit },
    Func { name: String, path: String, lit: Lit },
    In { path: String, lits: Vec<Lit> },
    Any { collection: String, var: String, inner: Box<Expr> },
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

struct P<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> P<'a> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn word(&mut self) -> String {
        self.ws();
        let start = self.i;
        while self.i < self.s.len() && (self.s[self.i].is_ascii_alphanumeric() || b"/_.:-+@".contains(&self.s[self.i]))
        {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }

    fn peek_kw(&mut self, kw: &str) -> bool {
        self.ws();
        let rest = &self.s[self.i..];
        rest.len() > kw.len()
            && rest[..kw.len()].eq_ignore_ascii_case(kw.as_bytes())
            && rest[kw.len()].is_ascii_whitespace()
    }

    fn lit(&mut self) -> Result<Lit, String> {
        self.ws();
        if self.eat(b'\'') {
            let mut out = Vec::new();
            loop {
                match self.s.get(self.i) {
                    None => return Err("unterminated string literal".into()),
                    Some(b'\'') if self.s.get(self.i + 1) == Some(&b'\'') => {
                        out.push(b'\'');
                        self.i += 2;
                    }
                    Some(b'\'') => {
                        self.i += 1;
                        break;
                    }
                    Some(&c) => {
                        out.push(c);
                        self.i += 1;
                    }
                }
            }
            return Ok(Lit::Str(String::from_utf8_lossy(&out).into_owned()));
        }
        let w = self.word();
        match w.as_str() {
            "true" => Ok(Lit::Bool(true)),
            "false" => Ok(Lit::Bool(false)),
            "null" => Ok(Lit::Null),
            _ => {
                if let Ok(t) = DateTime::parse_from_rfc3339(&w) {
                    Ok(Lit::Time(t.with_timezone(&Utc)))
                } else if let Ok(n) = w.parse::<f64>() {
                    Ok(Lit::Num(n))
                } else {
                    Err(format!("invalid literal '{w}'"))
                }
            }
        }
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.peek_kw("or") {
            self.i += 2;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while self.peek_kw("and") {
            self.i += 3;
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.eat(b'(') {
            let e = self.or()?;
            if !self.eat(b')') {
                return Err("missing ')'".into());
            }
            return Ok(e);
        }
        let w = self.word();
        if w.is_empty() {
            return Err("expected a property or function".into());
        }
        let lower = w.to_ascii_lowercase();
        if self.eat(b'(') {
            if lower == "not" {
                let e = self.or()?;
                if !self.eat(b')') {
                    return Err("missing ')'".into());
                }
                return Ok(Expr::Not(Box::new(e)));
            }
            if lower == "startswith" || lower == "endswith" {
                let path = self.word();
                if !self.eat(b',') {
                    return Err(format!("{w} takes two arguments"));
                }
                let lit = self.lit()?;
                if !self.eat(b')') {
                    return Err("missing ')'".into());
                }
                return Ok(Expr::Func { name: lower, path, lit });
            }
            return Err(format!("unsupported function '{w}'"));
        }
        self.ws();
        let op = self.word().to_ascii_lowercase();
        match op.as_str() {
            "eq" | "ne" | "ge" | "le" | "gt" | "lt" => Ok(Expr::Cmp { path: w, op, lit: self.lit()? }),
            "in" => {
                if !self.eat(b'(') {
                    return Err("'in' needs a list".into());
                }
                let mut lits = vec![self.lit()?];
                while self.eat(b',') {
                    lits.push(self.lit()?);
                }
                if !self.eat(b')') {
                    return Err("missing ')'".into());
                }
                Ok(Expr::In { path: w, lits })
            }
            "" => Err(format!("missing operator after '{w}'")),
            other => Err(format!("unsupported operator '{other}'")),
        }
    }
}

/// Parses `$filter`. Lambdas are rewritten first: `targetResources/any(t:t/id eq 'x')`.
pub fn parse(s: &str) -> Result<Expr, String> {
    parse_inner(s.trim())
}

fn parse_inner(s: &str) -> Result<Expr, String> {
    // Split off lambda expressions by hand: find "/any(" and its matching ')'.
    if let Some(at) = s.find("/any(") {
        let start = s[..at].rfind(|c: char| c.is_whitespace() || c == '(').map(|i| i + 1).unwrap_or(0);
        let collection = s[start..at].to_string();
        let open = at + 4;
        let mut depth = 0;
        let mut close = None;
        for (i, c) in s[open..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(open + i);
                        break;
                    }
                }
                _ => {}
            }
        }
        let close = close.ok_or("missing ')' in lambda")?;
        let body = &s[open + 1..close];
        let (var, inner) = body.split_once(':').ok_or("lambda needs 'var:expression'")?;
        let var = var.trim().to_string();
        let inner = parse_inner(inner)?;
        let any = Expr::Any { collection, var, inner: Box::new(inner) };
        let before = s[..start].trim_end();
        let after = s[close + 1..].trim_start();
        // Combine with what surrounds the lambda (only `and` chains are needed in practice).
        let mut e = any;
        if !before.is_empty() {
            let b = before
                .strip_suffix(" and")
                .or_else(|| before.strip_suffix(" AND"))
                .ok_or("only 'and' may join a lambda")?;
            e = Expr::And(Box::new(parse_inner(b)?), Box::new(e));
        }
        if !after.is_empty() {
            let a = after
                .strip_prefix("and ")
                .or_else(|| after.strip_prefix("AND "))
                .ok_or("only 'and' may join a lambda")?;
            e = Expr::And(Box::new(e), Box::new(parse_inner(a)?));
        }
        return Ok(e);
    }
    let mut p = P { s: s.as_bytes(), i: 0 };
    let e = p.or()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("unexpected text '{}'", &s[p.i..]));
    }
    Ok(e)
}

fn get<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('/').fold(v, |cur, seg| cur.get(seg).unwrap_or(&Value::Null))
}

fn compare(have: &Value, op: &str, lit: &Lit) -> bool {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (have, lit) {
        (Value::String(h), Lit::Time(t)) => DateTime::parse_from_rfc3339(h).ok().map(|h| h.with_timezone(&Utc).cmp(t)),
        (Value::String(h), Lit::Str(w)) => Some(h.to_lowercase().cmp(&w.to_lowercase())),
        (Value::Bool(h), Lit::Bool(w)) => Some(h.cmp(w)),
        (Value::Number(h), Lit::Num(w)) => h.as_f64().and_then(|h| h.partial_cmp(w)),
        (Value::Null, Lit::Null) => Some(Ordering::Equal),
        _ => None,
    };
    match (op, ord) {
        ("eq", Some(o)) => o == Ordering::Equal,
        ("ne", Some(o)) => o != Ordering::Equal,
        ("ne", None) => true,
        ("ge", Some(o)) => o != Ordering::Less,
        ("le", Some(o)) => o != Ordering::Greater,
        ("gt", Some(o)) => o == Ordering::Greater,
        ("lt", Some(o)) => o == Ordering::Less,
        _ => false,
    }
}

impl Expr {
    pub fn eval(&self, v: &Value) -> bool {
        match self {
            Expr::And(a, b) => a.eval(v) && b.eval(v),
            Expr::Or(a, b) => a.eval(v) || b.eval(v),
            Expr::Not(e) => !e.eval(v),
            Expr::Cmp { path, op, lit } => compare(get(v, path), op, lit),
            Expr::In { path, lits } => lits.iter().any(|l| compare(get(v, path), "eq", l)),
            Expr::Func { name, path, lit } => match (get(v, path), lit) {
                (Value::String(h), Lit::Str(w)) => {
                    let (h, w) = (h.to_lowercase(), w.to_lowercase());
                    if name == "startswith" { h.starts_with(&w) } else { h.ends_with(&w) }
                }
                _ => false,
            },
            Expr::Any { collection, var, inner } => match get(v, collection) {
                Value::Array(items) => items.iter().any(|item| {
                    let mut scope = serde_json::Map::new();
                    scope.insert(var.clone(), item.clone());
                    inner.eval(&Value::Object(scope))
                }),
                _ => false,
            },
        }
    }

    /// Each leaf as (property path, operator), with lambda paths written `collection/any/prop`.
    pub fn leaves(&self) -> Vec<(String, String)> {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => [a.leaves(), b.leaves()].concat(),
            Expr::Not(e) => e.leaves().into_iter().map(|(p, o)| (p, format!("not {o}"))).collect(),
            Expr::Cmp { path, op, .. } => vec![(path.clone(), op.clone())],
            Expr::In { path, .. } => vec![(path.clone(), "in".into())],
            Expr::Func { name, path, .. } => vec![(path.clone(), name.clone())],
            Expr::Any { collection, var, inner } => inner
                .leaves()
                .into_iter()
                .map(|(p, o)| (format!("{collection}/any/{}", p.strip_prefix(&format!("{var}/")).unwrap_or(&p)), o))
                .collect(),
        }
    }

    pub fn has_or(&self) -> bool {
        match self {
            Expr::Or(..) => true,
            Expr::And(a, b) => a.has_or() || b.has_or(),
            Expr::Not(e) => e.has_or(),
            Expr::Any { inner, .. } => inner.has_or(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn audit_filter_with_lambda() {
        let e = parse("activityDateTime ge 2025-03-10T00:00:00Z and targetResources/any(t:t/id eq '6b1f')").unwrap();
        let row = json!({"activityDateTime": "2025-06-30T17:05:02.2207714Z", "targetResources": [{"id": "6B1F"}]});
        assert!(e.eval(&row));
        assert_eq!(
            e.leaves(),
            vec![("activityDateTime".into(), "ge".into()), ("targetResources/any/id".into(), "eq".into())]
        );
    }

    #[test]
    fn user_filters() {
        let u = json!({"userPrincipalName": "O'Brien@contoso.com", "accountEnabled": false});
        assert!(parse("userPrincipalName eq 'o''brien@contoso.com'").unwrap().eval(&u));
        assert!(parse("startswith(userPrincipalName,'o''b')").unwrap().eval(&u));
        assert!(parse("accountEnabled eq false").unwrap().eval(&u));
        assert!(parse("userPrincipalName in ('x', 'o''brien@contoso.com')").unwrap().eval(&u));
        assert!(parse("not(accountEnabled eq true)").unwrap().eval(&u));
    }

    #[test]
    fn rejects() {
        assert!(parse("userPrincipalName eq").is_err());
        assert!(parse("contains(userPrincipalName,'x')").is_err());
        assert!(parse("userPrincipalName eq 'x").is_err());
    }
}
