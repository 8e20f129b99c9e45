//! jmlproof: audit evidence for identity lifecycle (joiner, mover, leaver)
//! from Okta to Microsoft Entra ID and AWS IAM Identity Center.
//!
//! Data flows one way: sources → evidence record → verdicts → renderers → pack.
//! This crate currently holds the foundation: configuration and secret references,
//! the shared HTTP policy, and the embedded sandbox tenant.

pub mod api;
pub mod aws;
pub mod cli;
pub mod config;
pub mod duration;
pub mod entra;
pub mod evidence;
pub mod exit;
pub mod http;
pub mod init;
pub mod jwt;
pub mod okta;
pub mod pack;
pub mod raw;
pub mod report;
pub mod sandbox;
pub mod scenario;
pub mod secret;
pub mod signals;
