//! The pack's views, read back the way their readers read them: pdftotext for the
//! PDF, a CSV parser for the CSV, headless Chromium for the HTML. Records come from
//! tests/common/synthetic.rs (any size, deterministic).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::cli::{bin, scratch, shown};
use jmlproof::evidence::record::Record;
use jmlproof::report::fmt::parse_latency;

/// Writes the record and renders it into `dir/out`; returns the pack folder.
fn render(dir: &Path, record: &Record, out: &str, extra: &[&str]) -> (PathBuf, Output) {
    let path = dir.join("run.json");
    std::fs::write(&path, serde_json::to_vec_pretty(record).unwrap()).unwrap();
    let o = bin().arg("render").arg(&path).args(["--out", out]).args(extra).current_dir(dir).output().unwrap();
    assert_ne!(o.status.code(), Some(2), "{}", shown(&o));
    (dir.join(out), o)
}

fn pdftotext(pdf: &Path) -> String {
    let o = Command::new("pdftotext")
        .arg("-layout")
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    assert!(o.status.success(), "{}", shown(&o));
    String::from_utf8(o.stdout).unwrap()
}

/// RFC 4180: quoted fields, doubled quotes, CRLF records.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\r', false) if chars.peek() == Some(&'\n') => {
                chars.next();
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (c, _) => field.push(c),
        }
    }
    rows
}

const PHASES: &[&str] = &["joiner", "mover", "leaver", "residual"];

#[test]
fn pdf_check_rows_equal_measurements_csv_for_500_subjects_with_header_and_footer_on_every_page() {
    let dir = scratch("pack-500");
    let record = common::synthetic::record(500, 11);
    let (pack, _) = render(&dir, &record, "pack", &["--formats", "pdf,csv"]);
    let text = pdftotext(&pack.join("report.pdf"));
    let csv = parse_csv(&std::fs::read_to_string(pack.join("measurements.csv")).unwrap());
    let header = &csv[0];
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let expected: Vec<(String, String, String, String, String, Option<i64>)> = csv[1..]
        .iter()
        .map(|r| {
            (
                r[col("subject")].clone(),
                r[col("phase")].clone(),
                r[col("leg")].clone(),
                r[col("check")].clone(),
                r[col("status")].clone(),
                r[col("latency_ms")].parse().ok(),
            )
        })
        .collect();
    assert_eq!(expected.len(), 500 * 11);

    let pages: Vec<&str> = text.split('\u{c}').filter(|p| !p.trim().is_empty()).collect();
    let mut rows = Vec::new();
    let mut table_pages = 0;
    for (i, page) in pages.iter().enumerate() {
        assert!(page.contains("jmlproof run 5e1f · record sha256"), "page {} has the run-id footer:\n{page}", i + 1);
        assert!(page.contains(&format!("page {} of {}", i + 1, pages.len())), "page {} numbered", i + 1);
        let mut page_rows = 0;
        for line in page.lines() {
            let cells: Vec<&str> = line.split("  ").map(str::trim).filter(|c| !c.is_empty()).collect();
            if cells.len() < 5
                || !cells[0].starts_with('s')
                || !PHASES.contains(&cells[1])
                || !["okta", "entra", "aws"].contains(&cells[2])
            {
                continue;
            }
            if !["PASS", "FAIL", "UNKNOWN"].contains(&cells[4]) {
                continue; // the phase × leg summary has counts there
            }
            let latency = cells.get(5).and_then(|c| parse_latency(c));
            rows.push((
                cells[0].to_string(),
                cells[1].to_string(),
                cells[2].to_string(),
                cells[3].to_string(),
                cells[4].to_string(),
                latency,
            ));
            page_rows += 1;
        }
        if page_rows > 0 {
            table_pages += 1;
            let head = page.lines().find(|l| l.contains("Subject") && l.contains("Check") && l.contains("Latency"));
            assert!(head.is_some(), "page {} has check rows but no table header:\n{page}", i + 1);
        }
    }
    assert!(table_pages > 20, "the table spans many pages ({table_pages})");
    assert_eq!(rows.len(), expected.len());
    for (i, (got, want)) in rows.iter().zip(&expected).enumerate() {
        assert_eq!(got, want, "row {i}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every `<td class="num">` that holds a latency.
fn html_latencies(html: &str) -> Vec<String> {
    html.split("<td class=\"num\">")
        .skip(1)
        .filter_map(|rest| rest.split('<').next())
        .filter(|cell| parse_latency(cell).is_some())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_pdf_has_every_login_the_names_exactly_every_html_latency_and_reports_missing_glyphs() {
    let dir = scratch("pack-unicode");
    let mut record = common::synthetic::record(24, 5);
    record.subjects[3].name = "李小龍 Bruce".into();
    let (pack, o) = render(&dir, &record, "pack", &[]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("U+674E") && stderr.contains("U+5C0F") && stderr.contains("U+9F8D"), "{stderr}");
    let text = pdftotext(&pack.join("report.pdf"));
    for s in &record.subjects {
        assert!(text.contains(&s.login), "{} in the PDF", s.login);
        if s.key != "s04" {
            assert!(text.contains(&s.name), "{} in the PDF", s.name);
        }
    }
    for name in ["Zoë Ångström", "Łukasz Żółć", "Νίκος Παπαδόπουλος", "Анна Каренина", "Dorotéa Dvořák"]
    {
        assert!(text.contains(name), "{name}");
    }
    // The missing glyphs are replaced visibly and listed; the record keeps the truth.
    assert!(text.contains("\u{FFFD}\u{FFFD}\u{FFFD} Bruce"), "replacement characters shown");
    assert!(text.contains("Characters the embedded font lacks") && text.contains("U+674E"));
    let html = std::fs::read_to_string(pack.join("index.html")).unwrap();
    assert!(html.contains("李小龍 Bruce"));
    let latencies = html_latencies(&html);
    assert!(latencies.len() > 100, "{}", latencies.len());
    for l in &latencies {
        assert!(text.contains(l.as_str()), "latency {l} from the HTML is in the PDF");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rendering_twice_gives_identical_bytes() {
    let dir = scratch("pack-twice");
    let key = dir.join("key");
    let o = bin().args(["keygen", "--path"]).arg(&key).output().unwrap();
    assert!(o.status.success(), "{}", shown(&o));
    let record = common::synthetic::record(30, 9);
    let key_ref = format!("file:{}", key.display());
    let args = ["--formats", "html,pdf,csv,json,junit", "--signing-key", key_ref.as_str()];
    let (a, _) = render(&dir, &record, "a", &args);
    let (b, _) = render(&dir, &record, "b", &args);
    let mut names: Vec<String> =
        std::fs::read_dir(&a).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    names.sort();
    assert!(names.contains(&"junit.xml".to_string()) && names.contains(&"SHA256SUMS.sig".to_string()), "{names:?}");
    for n in &names {
        assert_eq!(std::fs::read(a.join(n)).unwrap(), std::fs::read(b.join(n)).unwrap(), "{n} differs between renders");
    }
    // The re-rendered record is the record, byte for byte in meaning.
    let back: Record = serde_json::from_slice(&std::fs::read(a.join("run.json")).unwrap()).unwrap();
    assert_eq!(back, record);
    let junit = std::fs::read_to_string(a.join("junit.xml")).unwrap();
    assert_eq!(junit.matches("<testcase ").count(), 30 * 11);
    assert!(junit.contains("<failure ") && junit.contains("<error "), "FAIL and UNKNOWN both fail CI");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn untrusted_strings_are_inert_in_html_and_neutral_in_csv() {
    let dir = scratch("pack-hostile");
    let mut record = common::synthetic::record(3, 2);
    record.subjects[0].name = "<script>alert('x')</script>".into();
    record.subjects[1].login = "=cmd()".into();
    record.subjects[1].name = "@SUM(A1)".into();
    record.verdicts[0].reason = "\" onmouseover=\"alert(1)".into();
    record.verdicts[0].time.get_or_insert(jmlproof::evidence::record::Stamp {
        at: record.started,
        provenance: jmlproof::evidence::record::Provenance::Observed,
        detail: String::new(),
    });
    record.verdicts[0].time.as_mut().unwrap().detail = "\"><img src=x onerror=alert(1)>".into();
    record.notes.push("</li><script>alert(2)</script>".into());
    let (pack, _) = render(&dir, &record, "pack", &[]);
    let html = std::fs::read_to_string(pack.join("index.html")).unwrap();
    assert!(!html.contains("<script"), "no script element at all");
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(!html.contains("<img"), "attribute values cannot be broken out of");
    assert!(!html.contains("onmouseover=\"alert"), "quotes are escaped");
    let csv = parse_csv(&std::fs::read_to_string(pack.join("measurements.csv")).unwrap());
    let logins: Vec<&str> = csv.iter().map(|r| r[2].as_str()).collect();
    assert!(logins.contains(&"'=cmd()") && !logins.contains(&"=cmd()"), "{logins:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// What an API can hand back in a name: a bidi override, a NUL, 10,000 characters,
/// emoji, controls. Every view renders it without breaking its own format, and the
/// record keeps the text exactly.
#[test]
fn hostile_api_strings_render_safely_in_every_format() {
    let dir = scratch("pack-api-strings");
    let mut record = common::synthetic::record(4, 3);
    let long = "x".repeat(10_000);
    record.subjects[0].name = "Eve \u{202E}gpj.exe\u{202C} Mallory".into();
    record.subjects[1].name = "Nul\u{0}Byte \u{1b}[31mred\u{7}".into();
    record.subjects[2].name = long.clone();
    record.subjects[3].name = "Ana 👩\u{200d}💻🔥 Ré".into();
    record.verdicts[0].reason = "line one\r\nline two\u{0}\u{2028}".into();
    record.notes.push(format!("{long}\u{202E}"));
    let (pack, o) = render(&dir, &record, "pack", &["--formats", "html,pdf,csv,json,junit"]);
    assert!(o.status.code() == Some(0) || o.status.code() == Some(1), "{}", shown(&o));
    // JSON: the record comes back exactly.
    let back: Record = serde_json::from_slice(&std::fs::read(pack.join("run.json")).unwrap()).unwrap();
    assert_eq!(back, record);
    // HTML: no NUL, no escape, and no bidi override to reorder what follows; each is
    // shown as its code point.
    let html = std::fs::read_to_string(pack.join("index.html")).unwrap();
    for c in ['\u{0}', '\u{1b}', '\u{202E}'] {
        assert!(!html.contains(c), "{c:?} in the HTML");
    }
    assert!(html.contains("Eve [U+202E]gpj.exe[U+202C] Mallory") && html.contains("Nul[U+0000]Byte"));
    assert!(html.contains("Ana 👩\u{200d}💻🔥 Ré") && html.contains(&long));
    // JUnit XML must stay well-formed: XML 1.0 allows no NUL, ESC or BEL.
    let junit = std::fs::read_to_string(pack.join("junit.xml")).unwrap();
    for c in ['\u{0}', '\u{1b}', '\u{7}'] {
        assert!(!junit.contains(c), "{c:?} in junit.xml");
    }
    // CSV: one record per check still (the line breaks inside fields are quoted).
    let csv = parse_csv(&std::fs::read_to_string(pack.join("measurements.csv")).unwrap());
    assert!(csv.iter().skip(1).all(|r| r.len() == csv[0].len()), "ragged CSV");
    // PDF and CSV show the same, and the long name does not take the other text away.
    let text = pdftotext(&pack.join("report.pdf"));
    assert!(text.contains(&record.subjects[3].login) && text.contains("[U+202E]"));
    assert!(!text.contains('\u{202E}') && !text.contains('\u{0}'));
    assert!(csv.iter().any(|r| r.iter().any(|f| f.contains("line two[U+0000]"))), "the reason in the CSV");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn templates_can_be_overridden_and_a_broken_one_is_one_clear_line() {
    let dir = scratch("pack-templates");
    let record = common::synthetic::record(2, 4);
    let t = dir.join("templates");
    std::fs::create_dir_all(&t).unwrap();
    std::fs::write(
        t.join("index.html"),
        "<p>{{ view.title }}: {{ view.status }} ({{ view.checks | length }} checks)</p>\n",
    )
    .unwrap();
    let (pack, _) = render(&dir, &record, "custom", &["--templates", "templates"]);
    assert_eq!(
        std::fs::read_to_string(pack.join("index.html")).unwrap(),
        "<p>jmlproof run 5e1f: FAIL (22 checks)</p>\n"
    );
    std::fs::write(t.join("index.html"), "<p>{{ view.title </p>").unwrap();
    let path = dir.join("run.json");
    let o = bin()
        .arg("render")
        .arg(&path)
        .args(["--out", "broken", "--templates", "templates"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", shown(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("templates") && stderr.contains("index.html"), "{stderr}");
    assert!(!dir.join("broken").exists(), "nothing half-written");
    let _ = std::fs::remove_dir_all(&dir);
}

/// PNG width and height from the IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (w, h)
}

fn chromium(profile: &Path) -> Command {
    let mut c = Command::new("chromium");
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

#[test]
fn the_html_renders_in_headless_chromium_and_the_summary_screenshots() {
    let dir = scratch("pack-chromium");
    let record = common::synthetic::record(12, 8);
    let (pack, _) = render(&dir, &record, "pack", &["--formats", "html"]);
    let page = format!("file://{}", pack.join("index.html").display());
    let dom = chromium(&dir.join("profile-dom"))
        .args(["--enable-logging=stderr", "--v=0", "--dump-dom"])
        .arg(&page)
        .output()
        .expect("chromium is installed");
    assert!(dom.status.success(), "{}", shown(&dom));
    let stdout = String::from_utf8_lossy(&dom.stdout);
    assert!(stdout.contains("id=\"summary\"") && stdout.contains("<svg"), "the DOM has the summary and the charts");
    let stderr = String::from_utf8_lossy(&dom.stderr);
    let logged: Vec<&str> = stderr.lines().filter(|l| l.contains("CONSOLE") || l.contains("Uncaught")).collect();
    assert!(logged.is_empty(), "the page logged: {logged:?}");
    let shot = dir.join("summary.png");
    let o = chromium(&dir.join("profile-shot"))
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1280,900")
        .arg(&page)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", shown(&o));
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(png_size(&png), (1280, 900));
    // A blank page compresses to a few kilobytes; the summary's text and tables do not.
    assert!(png.len() > 30_000, "the summary screenshot has content ({} bytes)", png.len());
    let _ = std::fs::remove_dir_all(&dir);
}

mod common;

#[test]
fn one_process_renders_the_same_bytes_twice_and_a_failed_pack_still_keeps_the_record() {
    use jmlproof::config::Format;
    use jmlproof::pack::{self, Contents};
    let record = common::synthetic::record(5, 3);
    let formats = [Format::Html, Format::Pdf, Format::Csv, Format::Junit];
    let contents =
        Contents { raw: Vec::new(), formats: &formats, templates: None, signer: None, principal: "p".into() };
    let (a, _) = pack::build(&record, &contents).unwrap();
    let (b, _) = pack::build(&record, &contents).unwrap();
    assert_eq!(a.len(), b.len());
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "{name} differs within one process");
    }
    // A template that fails only on data: the pack fails, the bare record is kept.
    let dir = scratch("pack-bare");
    let t = dir.join("templates");
    std::fs::create_dir_all(&t).unwrap();
    std::fs::write(t.join("index.html"), "{% if view.subjects | length > 0 %}{{ view.no_such_thing }}{% endif %}")
        .unwrap();
    pack::preflight(&formats, Some(&t)).expect("an empty record renders");
    let failing = Contents { templates: Some(&t), ..contents };
    assert!(pack::write(&dir.join("pack"), &record, &failing).is_err());
    assert!(!dir.join("pack").exists(), "no half pack");
    let raw = vec![pack::RawFile::Mem("okta.ndjson".into(), b"{}\n".to_vec())];
    let bare = pack::write_bare(&dir.join("pack"), &record, &raw).unwrap();
    let sums = Command::new("sha256sum").args(["-c", "SHA256SUMS"]).current_dir(&bare.dir).output().unwrap();
    assert!(sums.status.success(), "{}", shown(&sums));
    let back: Record = serde_json::from_slice(&std::fs::read(bare.dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(back, record);
    let _ = std::fs::remove_dir_all(&dir);
}
