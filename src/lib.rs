//! jmlproof: audit evidence for identity lifecycle (joiner, mover, leaver)
//! from Okta to Microsoft Entra ID and AWS IAM Identity Center.
//!
//! Data flows one way: sources → evidence record → verdicts → renderers → pack.
//! The record (`evidence`) is the contract; `report` renders its views and `pack`
//! writes, signs and verifies the folder an auditor receives.

pub mod api;
pub mod attest;
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
pub mod ledger;
pub mod okta;
pub mod pack;
pub mod raw;
pub mod reconcile;
pub mod report;
pub mod sandbox;
pub mod scenario;
pub mod secret;
pub mod signals;
