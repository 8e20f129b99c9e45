//! The scripted joiner/mover/leaver test: who the disposable subjects are, and the
//! crash-safe journal every mutation goes through (intent first, result after), so
//! an interrupted run can always be torn down.

pub mod checks;
pub mod cleanup;
pub mod cmd;
pub mod deprovision;
pub mod journal;
pub mod okta_changes;
pub mod plan;
pub mod progress;
pub mod residual;
pub mod runner;
pub mod safety;
pub mod stop;
pub mod summary;
pub mod watch;
