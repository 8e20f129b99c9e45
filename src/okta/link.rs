//! RFC 8288 `Link` headers, as Okta pages with them: one header per relation in
//! recorded traffic, but several comma-joined links in one header are legal too.
//! The URLs are opaque and followed exactly as given.

/// The target of the first link whose `rel` includes `rel`, across all the values.
pub fn find<'a>(values: impl IntoIterator<Item = &'a str>, rel: &str) -> Option<String> {
    values
        .into_iter()
        .flat_map(parse)
        .find(|(_, rels)| rels.iter().any(|r| r.eq_ignore_ascii_case(rel)))
        .map(|(url, _)| url)
}

/// Every `<url>; rel="…"` in one header value, with its relations.
pub fn parse(value: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else { break };
        let url = rest[open + 1..open + close].trim().to_string();
        rest = &rest[open + close + 1..];
        // Parameters run to the next comma that is not inside quotes.
        let mut end = rest.len();
        let mut quoted = false;
        for (i, c) in rest.char_indices() {
            match c {
                '"' => quoted = !quoted,
                ',' if !quoted => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        let params = &rest[..end];
        rest = &rest[end..];
        let mut rels = Vec::new();
        for p in params.split(';') {
            if let Some((k, v)) = p.split_once('=')
                && k.trim().eq_ignore_ascii_case("rel")
            {
                rels.extend(v.trim().trim_matches('"').split_whitespace().map(str::to_string));
            }
        }
        out.push((url, rels));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_header_per_relation_as_okta_sends() {
        let values = [
            "<https://acme.okta.com/api/v1/logs?since=2026-03-02T00%3A00%3A00.000Z&limit=100>; rel=\"self\"",
            "<https://acme.okta.com/api/v1/logs?limit=100&after=1774028710593_1>; rel=\"next\"",
        ];
        assert_eq!(
            find(values, "next").as_deref(),
            Some("https://acme.okta.com/api/v1/logs?limit=100&after=1774028710593_1")
        );
        assert!(find(values[..1].iter().copied(), "next").is_none());
    }

    #[test]
    fn comma_joined_unquoted_and_multiple_rels() {
        let v = r#"<https://a/x?q=1,2>; rel=self, <https://a/y>; title="a, b"; rel="next last""#;
        let links = parse(v);
        assert_eq!(links.len(), 2);
        assert_eq!(links[0].0, "https://a/x?q=1,2");
        assert_eq!(find([v], "last").as_deref(), Some("https://a/y"));
        assert!(parse("garbage").is_empty());
        assert!(parse("<unterminated").is_empty());
    }
}
