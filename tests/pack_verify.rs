//! The signed pack from a sandbox run, checked the way an auditor checks it: with
//! `jmlproof verify` and with stock tools (`sha256sum -c`, a listing diff, and
//! `ssh-keygen -Y verify` against an allowed_signers file kept outside the pack).
//! Flipping a byte in any file, deleting one or adding one makes both fail.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::cli::{bin, scratch, shown};

/// A key made by the tool itself, and the auditor's allowed_signers, outside the pack.
fn keygen(dir: &Path) -> (PathBuf, PathBuf) {
    let key = dir.join("signing_key");
    let o = bin().args(["keygen", "--path"]).arg(&key).args(["--comment", "audit@acme.example"]).output().unwrap();
    assert!(o.status.success(), "{}", shown(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let line = stdout.lines().last().unwrap();
    assert!(line.starts_with("audit@acme.example namespaces=\"jmlproof\" ssh-ed25519 "), "{stdout}");
    let trusted = dir.join("trusted_signers");
    std::fs::write(&trusted, format!("{line}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    }
    (key, trusted)
}

/// `jmlproof render run.json --out pack`, signed with `key`, in `dir` (the synthetic
/// records have findings, so exit 1).
fn render_signed(dir: &Path, key: &Path) {
    let o = bin()
        .args(["render", "run.json", "--out", "pack", "--signing-key"])
        .arg(format!("file:{}", key.display()))
        .current_dir(dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", shown(&o));
}

fn jml_verify(pack: &Path, trusted: &Path) -> Output {
    bin()
        .arg("verify")
        .arg(pack)
        .arg("--allowed-signers")
        .arg(trusted)
        .args(["--identity", "audit@acme.example"])
        .output()
        .unwrap()
}

/// The stock-tool check VERIFY.md gives: hashes, the listing, the signature.
fn stock_verify(pack: &Path, trusted: &Path) -> bool {
    let sums = Command::new("sha256sum").args(["-c", "--quiet", "SHA256SUMS"]).current_dir(pack).output().unwrap();
    let listing = Command::new("bash")
        .arg("-c")
        .arg("find . -type f ! -name SHA256SUMS ! -name SHA256SUMS.sig | sed 's|^\\./||' | sort | diff - <(cut -c67- SHA256SUMS | sort)")
        .current_dir(pack)
        .output()
        .unwrap();
    let sums_file = std::fs::File::open(pack.join("SHA256SUMS"));
    let sig = match sums_file {
        Ok(f) => Command::new("ssh-keygen")
            .args(["-Y", "verify", "-f"])
            .arg(trusted)
            .args(["-I", "audit@acme.example", "-n", "jmlproof", "-s", "SHA256SUMS.sig"])
            .current_dir(pack)
            .stdin(f)
            .output()
            .unwrap()
            .status
            .success(),
        Err(_) => false,
    };
    sums.status.success() && listing.status.success() && sig
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn files(dir: &Path, prefix: &str, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = format!("{prefix}{}", e.file_name().to_string_lossy());
        if e.file_type().unwrap().is_dir() {
            files(&e.path(), &format!("{name}/"), out);
        } else {
            out.push(name);
        }
    }
    out.sort();
}

#[test]
fn a_sandbox_pack_verifies_and_any_change_breaks_both_checks() {
    let dir = scratch("pack-verify");
    let (key, trusted) = keygen(&dir);
    let o = bin()
        .args(["run", "--sandbox", "--quiet", "--out", "evidence", "--signing-key"])
        .arg(format!("file:{}", key.display()))
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", shown(&o));
    let packs: Vec<PathBuf> = std::fs::read_dir(dir.join("evidence")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(packs.len(), 1, "one pack, no temporary folder: {packs:?}");
    let pack = &packs[0];
    let mut names = Vec::new();
    files(pack, "", &mut names);
    for expected in [
        "SHA256SUMS",
        "SHA256SUMS.sig",
        "VERIFY.md",
        "allowed_signers",
        "events.csv",
        "index.html",
        "measurements.csv",
        "raw/events.ndjson",
        "raw/okta.ndjson",
        "raw/graph.ndjson",
        "raw/aws.ndjson",
        "report.pdf",
        "run.json",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} in {names:?}");
    }
    // No credential reached the pack: the sandbox's secrets are fixed strings.
    let everything: Vec<u8> = names.iter().flat_map(|n| std::fs::read(pack.join(n)).unwrap()).collect();
    let text = String::from_utf8_lossy(&everything);
    for secret in ["SSWS ", "client_secret=", "Authorization", "BEGIN OPENSSH PRIVATE KEY"] {
        assert!(!text.contains(secret), "{secret} in the pack");
    }

    let ok = jml_verify(pack, &trusted);
    assert_eq!(ok.status.code(), Some(0), "{}", shown(&ok));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("verify: OK"), "{}", shown(&ok));
    assert!(stock_verify(pack, &trusted), "stock tools accept the pack as written");
    let md = std::fs::read_to_string(pack.join("VERIFY.md")).unwrap();
    let fp = String::from_utf8_lossy(&ok.stdout).split("key ").last().unwrap().trim().to_string();
    assert!(md.contains(&fp) && md.contains("proves nothing"), "VERIFY.md names the fingerprint {fp}: {md}");

    // Every way of changing the pack.
    type Change = Box<dyn Fn(&Path)>;
    let mut cases: Vec<(String, Change)> = Vec::new();
    for n in &names {
        let n1 = n.clone();
        cases.push((
            format!("flip a byte of {n}"),
            Box::new(move |p: &Path| {
                let f = p.join(&n1);
                let mut b = std::fs::read(&f).unwrap();
                let i = b.len() / 2;
                b[i] ^= 0x01;
                std::fs::write(&f, b).unwrap();
            }),
        ));
        let n2 = n.clone();
        cases.push((format!("delete {n}"), Box::new(move |p: &Path| std::fs::remove_file(p.join(&n2)).unwrap())));
    }
    #[cfg(unix)]
    cases.push((
        "run.json replaced by a symlink to the same bytes".into(),
        Box::new(|p: &Path| {
            std::fs::rename(p.join("run.json"), p.join("../same.json")).unwrap();
            std::os::unix::fs::symlink(p.join("../same.json"), p.join("run.json")).unwrap();
        }),
    ));
    cases.push(("add a file".into(), Box::new(|p: &Path| std::fs::write(p.join("extra.txt"), "x").unwrap())));
    cases.push((
        "add a raw file".into(),
        Box::new(|p: &Path| std::fs::write(p.join("raw/more.ndjson"), "{}\n").unwrap()),
    ));
    for (i, (what, change)) in cases.iter().enumerate() {
        let copy = dir.join(format!("case{i}"));
        copy_dir(pack, &copy);
        change(&copy);
        let o = jml_verify(&copy, &trusted);
        assert_ne!(o.status.code(), Some(0), "jmlproof verify after {what}: {}", shown(&o));
        assert!(!stock_verify(&copy, &trusted), "stock tools after {what}");
        let _ = std::fs::remove_dir_all(&copy);
    }

    // A different trusted key: the pack's own signer is not the auditor's.
    let other = dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    let (_, other_trusted) = keygen(&other);
    let o = jml_verify(pack, &other_trusted);
    assert_eq!(o.status.code(), Some(1), "{}", shown(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("is not in"), "{}", shown(&o));
    assert!(!stock_verify(pack, &other_trusted));
    // The pack's own allowed_signers: accepted, with a warning.
    let o = bin().arg("verify").arg(pack).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", shown(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("trusting the pack's own allowed_signers"), "{}", shown(&o));
    // Unreadable input is exit 2.
    let o = bin().arg("verify").arg(dir.join("no-such-pack")).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", shown(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_a_key_the_pack_is_unsigned_and_says_so() {
    let dir = scratch("pack-unsigned");
    let record = dir.join("run.json");
    std::fs::write(&record, serde_json::to_vec(&common::synthetic::record(3, 7)).unwrap()).unwrap();
    let o = bin().arg("render").arg(&record).args(["--out", "pack"]).current_dir(&dir).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "the synthetic record has findings: {}", shown(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("UNSIGNED"), "{}", shown(&o));
    let pack = dir.join("pack");
    assert!(!pack.join("SHA256SUMS.sig").exists() && !pack.join("allowed_signers").exists());
    let html = std::fs::read_to_string(pack.join("index.html")).unwrap();
    assert!(html.contains("UNSIGNED PACK"));
    assert!(std::fs::read_to_string(pack.join("VERIFY.md")).unwrap().contains("This pack is not signed"));
    let pdf = Command::new("pdftotext").arg(pack.join("report.pdf")).arg("-").output().unwrap();
    assert!(String::from_utf8_lossy(&pdf.stdout).contains("UNSIGNED PACK"));
    let o = bin().arg("verify").arg(&pack).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", shown(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("unsigned: SHA256SUMS.sig is missing"), "{}", shown(&o));
    let sums = Command::new("sha256sum").args(["-c", "SHA256SUMS"]).current_dir(&pack).output().unwrap();
    assert!(sums.status.success(), "the hashes of an unsigned pack still hold");
    // Rendering over an existing folder is refused, and leaves it as it was.
    let o = bin().arg("render").arg(&record).args(["--out", "pack"]).current_dir(&dir).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", shown(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("already exists"), "{}", shown(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn keys_from_ssh_keygen_with_a_passphrase_and_from_ssh_agent_sign_packs_ssh_keygen_accepts() {
    let dir = scratch("pack-keys");
    let record = dir.join("run.json");
    std::fs::write(&record, serde_json::to_vec(&common::synthetic::record(2, 3)).unwrap()).unwrap();
    let key = dir.join("id_ed25519");
    let o = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "correct horse", "-C", "audit@acme.example", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", shown(&o));
    let public = std::fs::read_to_string(dir.join("id_ed25519.pub")).unwrap();
    let trusted = dir.join("trusted");
    let parts: Vec<&str> = public.split_whitespace().collect();
    std::fs::write(&trusted, format!("audit@acme.example {} {}\n", parts[0], parts[1])).unwrap();

    // Passphrase missing, then wrong: one clear line, exit 2, no pack.
    let key_ref = format!("file:{}", key.display());
    let o = bin()
        .arg("render")
        .arg(&record)
        .args(["--out", "p0", "--signing-key", &key_ref])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", shown(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("passphrase-protected"), "{}", shown(&o));
    let o = bin()
        .arg("render")
        .arg(&record)
        .args(["--out", "p0", "--signing-key", &key_ref, "--signing-passphrase", "env:JMLPROOF_TEST_PASS"])
        .env("JMLPROOF_TEST_PASS", "wrong")
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", shown(&o));
    assert!(!String::from_utf8_lossy(&o.stderr).contains("wrong"), "the passphrase is never echoed");
    assert!(!dir.join("p0").exists());

    let o = bin()
        .arg("render")
        .arg(&record)
        .args(["--out", "p1", "--signing-key", &key_ref, "--signing-passphrase", "env:JMLPROOF_TEST_PASS"])
        .env("JMLPROOF_TEST_PASS", "correct horse")
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", shown(&o));
    assert!(stock_verify(&dir.join("p1"), &trusted));
    assert_eq!(jml_verify(&dir.join("p1"), &trusted).status.code(), Some(0));

    // The same key held by ssh-agent, never read by jmlproof.
    let sock = dir.join("agent.sock");
    let agent =
        Command::new("ssh-agent").arg("-D").arg("-a").arg(&sock).stdout(std::process::Stdio::null()).spawn().unwrap();
    let mut agent = KillOnDrop(agent);
    for _ in 0..200 {
        if sock.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let plain = dir.join("plain_key");
    std::fs::copy(&key, &plain).unwrap();
    let o = Command::new("ssh-keygen")
        .args(["-q", "-p", "-P", "correct horse", "-N", "", "-f"])
        .arg(&plain)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", shown(&o));
    let o = Command::new("ssh-add").arg(&plain).env("SSH_AUTH_SOCK", &sock).output().unwrap();
    assert!(o.status.success(), "{}", shown(&o));
    let o = Command::new(env!("CARGO_BIN_EXE_jmlproof"))
        .arg("render")
        .arg(&record)
        .args(["--out", "p2", "--signer", "audit@acme.example"])
        .env("SSH_AUTH_SOCK", &sock)
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", shown(&o));
    assert!(!String::from_utf8_lossy(&o.stderr).contains("UNSIGNED"), "{}", shown(&o));
    assert!(stock_verify(&dir.join("p2"), &trusted));
    // Ed25519 is deterministic: the agent's signature equals the key file's.
    assert_eq!(
        std::fs::read(dir.join("p1/SHA256SUMS.sig")).unwrap(),
        std::fs::read(dir.join("p2/SHA256SUMS.sig")).unwrap()
    );
    // A public key as --signing-key: the agent must hold it.
    let o = Command::new(env!("CARGO_BIN_EXE_jmlproof"))
        .arg("render")
        .arg(&record)
        .args(["--out", "p3", "--signer", "audit@acme.example", "--signing-key"])
        .arg(format!("file:{}.pub", key.display()))
        .env("SSH_AUTH_SOCK", &sock)
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", shown(&o));
    assert!(stock_verify(&dir.join("p3"), &trusted));
    let _ = agent.0.kill();
    let _ = std::fs::remove_dir_all(&dir);
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

mod common;

#[test]
fn verify_checks_each_event_body_against_the_record() {
    let dir = scratch("pack-events");
    let (key, trusted) = keygen(&dir);
    let mut record = common::synthetic::record(2, 6);
    let mut lines = String::new();
    for (i, e) in record.events.iter_mut().enumerate() {
        let body = format!("{{\"uuid\":\"{}\",\"published\":\"{}\"}}", e.id, e.time.to_rfc3339());
        e.sha256 = jmlproof::pack::sums::hex_sha256(body.as_bytes());
        // The second body is not the one the record hashed.
        lines.push_str(if i == 1 { "{\"uuid\":\"forged\"}" } else { &body });
        lines.push('\n');
    }
    std::fs::create_dir_all(dir.join("raw")).unwrap();
    std::fs::write(dir.join("raw/events.ndjson"), lines).unwrap();
    std::fs::write(dir.join("run.json"), serde_json::to_vec(&record).unwrap()).unwrap();
    render_signed(&dir, &key);
    assert!(stock_verify(&dir.join("pack"), &trusted), "hashes and signature hold: the pack was signed so");
    let o = jml_verify(&dir.join("pack"), &trusted);
    assert_eq!(o.status.code(), Some(1), "{}", shown(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("raw/events.ndjson line 2: not the body of event"), "{stdout}");
    assert_eq!(stdout.matches("raw/events.ndjson line").count(), 1, "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn verify_refuses_the_wrong_signer_namespace_or_validity_and_escapes_hostile_names() {
    let dir = scratch("pack-trust");
    let (key, trusted) = keygen(&dir);
    std::fs::write(dir.join("run.json"), serde_json::to_vec(&common::synthetic::record(2, 1)).unwrap()).unwrap();
    render_signed(&dir, &key);
    let pack = dir.join("pack");
    assert_eq!(jml_verify(&pack, &trusted).status.code(), Some(0));
    let line = std::fs::read_to_string(&trusted).unwrap();
    let key_part = line.split("namespaces=\"jmlproof\" ").nth(1).unwrap().trim().to_string();
    let check = |signers: &str, identity: &str, expect: &str| {
        let f = dir.join("signers");
        std::fs::write(&f, signers).unwrap();
        let o = bin()
            .arg("verify")
            .arg(&pack)
            .arg("--allowed-signers")
            .arg(&f)
            .args(["--identity", identity])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{signers} / {identity}: {}", shown(&o));
        assert!(String::from_utf8_lossy(&o.stdout).contains(expect), "{expect}: {}", shown(&o));
        // ssh-keygen agrees.
        let stock = Command::new("ssh-keygen")
            .args(["-Y", "verify", "-f"])
            .arg(&f)
            .args(["-I", identity, "-n", "jmlproof", "-s", "SHA256SUMS.sig"])
            .current_dir(&pack)
            .stdin(std::fs::File::open(pack.join("SHA256SUMS")).unwrap())
            .output()
            .unwrap();
        assert!(!stock.status.success(), "ssh-keygen also refuses {signers} / {identity}");
    };
    check(&line, "someone@else.example", "is not in");
    check(
        &format!("audit@acme.example valid-before=\"20200101\" {key_part}\n"),
        "audit@acme.example",
        "do not allow namespace",
    );
    check(
        &format!("audit@acme.example namespaces=\"git\" {key_part}\n"),
        "audit@acme.example",
        "do not allow namespace",
    );
    check(
        &format!("audit@acme.example namespaces=\"!jmlproof,*\" {key_part}\n"),
        "audit@acme.example",
        "do not allow namespace",
    );
    // A signature by the right key in another namespace.
    let copy = dir.join("git-sig");
    copy_dir(&pack, &copy);
    std::fs::remove_file(copy.join("SHA256SUMS.sig")).unwrap();
    let o = Command::new("ssh-keygen")
        .args(["-Y", "sign", "-f"])
        .arg(&key)
        .args(["-n", "git", "SHA256SUMS"])
        .current_dir(&copy)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", shown(&o));
    let o = jml_verify(&copy, &trusted);
    assert_eq!(o.status.code(), Some(1), "{}", shown(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("signature: namespace \"git\""), "{}", shown(&o));
    // A file whose name would print a fake last line is shown escaped.
    std::fs::write(pack.join("x\nverify: OK: 99 files"), "").unwrap();
    let o = jml_verify(&pack, &trusted);
    assert_eq!(o.status.code(), Some(1), "{}", shown(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.lines().all(|l| !l.starts_with("verify: OK")), "{stdout}");
    assert!(stdout.contains("extra: \"x\\nverify: OK: 99 files\""), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Packs made by someone hostile: SHA256SUMS naming files outside the pack (which
/// must never be read), and a signature cut short. Each is refused with its reason,
/// exit 1, and nothing outside the pack is touched.
#[test]
fn hostile_packs_are_refused_without_reading_outside_them() {
    let dir = scratch("pack-hostile");
    let (key, trusted) = keygen(&dir);
    std::fs::write(dir.join("run.json"), serde_json::to_vec(&common::synthetic::record(2, 1)).unwrap()).unwrap();
    render_signed(&dir, &key);
    let good = dir.join("pack");
    // A file beside the pack that a traversal would reach, with the hash it has.
    std::fs::write(dir.join("secret.txt"), "beside the pack").unwrap();
    let outside = format!("{}  ../secret.txt\n", jmlproof::pack::sums::hex_sha256(b"beside the pack"));
    type Change<'a> = &'a dyn Fn(&Path);
    let cases: [(&str, Change, &str); 4] = [
        (
            "traversal",
            &|p| {
                let sums = std::fs::read_to_string(p.join("SHA256SUMS")).unwrap();
                std::fs::write(p.join("SHA256SUMS"), format!("{outside}{sums}")).unwrap();
            },
            "points outside the pack",
        ),
        (
            "absolute",
            &|p| {
                let sums = std::fs::read_to_string(p.join("SHA256SUMS")).unwrap();
                let line = format!("{}  /etc/passwd\n", jmlproof::pack::sums::hex_sha256(b""));
                std::fs::write(p.join("SHA256SUMS"), format!("{sums}{line}")).unwrap();
            },
            "points outside the pack",
        ),
        (
            "truncated",
            &|p| {
                let sig = std::fs::read_to_string(p.join("SHA256SUMS.sig")).unwrap();
                std::fs::write(p.join("SHA256SUMS.sig"), &sig[..sig.len() / 2]).unwrap();
            },
            "is not an SSH signature",
        ),
        (
            "not a signature",
            &|p| std::fs::write(p.join("SHA256SUMS.sig"), "-----BEGIN SSH SIGNATURE-----\n\0\0\n").unwrap(),
            "is not an SSH signature",
        ),
    ];
    for (name, change, expect) in cases {
        let copy = dir.join(name.replace(' ', "-"));
        copy_dir(&good, &copy);
        change(&copy);
        let o = jml_verify(&copy, &trusted);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", shown(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains(expect), "{name}: {expect}: {}", shown(&o));
        assert!(!out.contains("beside the pack") && !out.contains("root:"), "{name}: nothing outside is shown");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
