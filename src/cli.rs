//! Command-line definitions. Only commands that are built are listed: a command
//! that does not exist yet is absent, not a stub.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "jmlproof",
    version,
    about = "Joiner/mover/leaver evidence for Okta → Entra ID and AWS IAM Identity Center"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scripted joiner, mover and leaver test on disposable users; writes a signed evidence pack.
    Run(crate::scenario::cmd::RunArgs),
    /// Every real leaver of a period, per leg, from the audit trails and current state; writes a signed pack.
    Attest(crate::attest::cmd::AttestArgs),
    /// Downstream accounts with no active Okta owner: lingering, orphan, duplicate, drift; writes a signed pack.
    Reconcile(crate::reconcile::cmd::ReconcileArgs),
    /// Append the audit trails since the last collect to the signed, hash-chained ledger (run daily).
    Collect(crate::ledger::cmd::CollectArgs),
    /// Check a pack (or a ledger, with --ledger): every hash, every missing, extra or modified file, and the signature.
    Verify(crate::pack::cmd::VerifyArgs),
    /// Re-render a pack from its record (run.json); the same record gives the same bytes.
    Render(crate::pack::cmd::RenderArgs),
    /// Create an Ed25519 signing key for packs.
    Keygen(crate::pack::cmd::KeygenArgs),
    /// Finish the teardown of crashed or interrupted runs from their journals.
    Cleanup(crate::scenario::cleanup::CleanupArgs),
    /// Serve the embedded emulated tenant (Okta + Microsoft Graph + AWS) on loopback.
    Sandbox(SandboxArgs),
    /// Write a commented starter jmlproof.toml.
    Init(InitArgs),
    /// Load and validate a config file; resolve nothing, print a one-line summary.
    CheckConfig(CheckConfigArgs),
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Seed data: `empty` (tests) or `studio` (the acquisition story).
    #[arg(long, default_value = "empty")]
    pub seed_data: String,
    /// Seed for every generated id and jitter, so runs are reproducible.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Faults file (TOML with [okta], [entra], [aws] tables).
    #[arg(long)]
    pub faults: Option<PathBuf>,
    /// First port: okta, graph, login, aws and admin listen on PORT..PORT+4. Default: ports the OS picks.
    #[arg(long)]
    pub port: Option<u16>,
    /// Sandbox clock speed: 1 is real time; 60 makes a minute of tenant time pass in a second.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Studio only: how many current employees (default about 600; benchmarks use 100000).
    #[arg(long)]
    pub people: Option<usize>,
    /// Studio only: pad the Okta System Log with sign-in events until it holds this
    /// many events in all (benchmarks use 1000000).
    #[arg(long)]
    pub log_events: Option<usize>,
    /// Write a jmlproof.toml pointing at this sandbox.
    #[arg(long)]
    pub write_config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write the config.
    #[arg(long, default_value = "jmlproof.toml")]
    pub path: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct CheckConfigArgs {
    /// The config file.
    #[arg(long, default_value = "jmlproof.toml")]
    pub config: PathBuf,
}
