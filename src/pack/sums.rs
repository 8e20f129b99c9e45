//! SHA256SUMS in the format `sha256sum -c` reads: `<hex>  <path>` per line, paths
//! relative to the pack with `/`, sorted, so the same files always give the same bytes.

use sha2::{Digest, Sha256};

pub fn hex_sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Copies `from` into `to`, returning the SHA-256 of what was copied: a file is
/// hashed as it is written, never held whole.
pub fn hash_reader(mut from: impl std::io::Read, mut to: impl std::io::Write) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        to.write_all(&buf[..n])?;
    }
    to.flush()?;
    Ok(hex::encode(hasher.finalize()))
}

pub fn render<'a>(files: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> String {
    render_hashed(files.into_iter().map(|(p, b)| (p.to_string(), hex_sha256(b))))
}

/// SHA256SUMS from (path, hex hash) pairs.
pub fn render_hashed(files: impl IntoIterator<Item = (String, String)>) -> String {
    let mut lines: Vec<(String, String)> = files.into_iter().collect();
    lines.sort();
    lines.iter().map(|(p, h)| format!("{h}  {p}\n")).collect()
}

/// A path a pack may name: relative, no `..`, no empty or `.` parts, no backslash
/// or newline (sha256sum would escape it, and we never write one).
pub fn safe_path(p: &str) -> bool {
    !p.is_empty()
        && !p.starts_with('/')
        && !p.contains(['\\', '\n', '\r', '\0'])
        && p.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
}

/// Parses SHA256SUMS: `(line number, hash, path)`, or the first line that is not one.
pub fn parse(text: &str) -> Result<Vec<(usize, String, String)>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let bad = || format!("SHA256SUMS line {n}: not \"<sha256>  <path>\"");
        let (hash, rest) = line.split_once(' ').ok_or_else(bad)?;
        // Text mode ("  path") or binary mode (" *path"), as sha256sum writes them.
        let path = rest.strip_prefix(' ').or_else(|| rest.strip_prefix('*')).ok_or_else(bad)?;
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        if !safe_path(path) {
            return Err(format!("SHA256SUMS line {n}: path {path:?} points outside the pack"));
        }
        out.push((n, hash.to_ascii_lowercase(), path.to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_are_sorted_and_parse_back() {
        let files = [("run.json".to_string(), b"{}".to_vec()), ("raw/a.ndjson".to_string(), b"x".to_vec())];
        let text = render(files.iter().map(|(p, b)| (p.as_str(), b.as_slice())));
        assert!(text.starts_with(&format!("{}  raw/a.ndjson\n", hex_sha256(b"x"))));
        let parsed = parse(&text).unwrap();
        assert_eq!(parsed[1].2, "run.json");
        assert!(parse("abc  x\n").is_err());
        assert!(parse(&format!("{}  ../etc/passwd\n", hex_sha256(b""))).unwrap_err().contains("outside"));
        assert!(parse(&format!("{} *bin\n", hex_sha256(b""))).is_ok());
    }
}
