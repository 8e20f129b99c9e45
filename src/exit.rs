//! The one place where outcomes become process exit codes (shared/DESIGN.md, "Exit codes").

/// What a command ended with. Commands return this; `main` only maps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything checked held.
    Pass,
    /// Some check failed or could not be decided (FAIL or UNKNOWN); evidence was still written.
    Findings,
    /// Interrupted by Ctrl-C or SIGTERM, after teardown.
    Interrupted,
}

/// The tool could not run: bad config, auth, unreachable system, unsafe tenant.
pub const COULD_NOT_RUN: i32 = 2;

pub fn code(outcome: Outcome) -> i32 {
    match outcome {
        Outcome::Pass => 0,
        Outcome::Findings => 1,
        Outcome::Interrupted => 130,
    }
}

/// What a pack's record means for the exit code: for `run`, every check PASS (and at
/// least one); for `attest`, every check PASS; for `reconcile`, no lingering, orphan or duplicate account
/// outside a live exception (drift alone is a warning).
pub fn of_record(r: &crate::evidence::record::Record) -> Outcome {
    let holds = match r.kind.as_str() {
        "reconcile" => !r.findings.iter().any(|f| f.blocks()),
        // A covered period with no leaver is a clean attestation (a gap in coverage is
        // an UNKNOWN verdict of its own).
        "attest" => r.verdicts.iter().all(|v| v.status == crate::evidence::record::Status::Pass),
        _ => r.all_pass(),
    };
    if holds { Outcome::Pass } else { Outcome::Findings }
}
