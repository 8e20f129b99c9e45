//! The evidence record and the verdicts drawn from it. The record is the contract:
//! versioned, serializable, complete enough that every rendered view (HTML, PDF,
//! CSV) is computed from it alone. Verdicts never pass what the evidence does not
//! show: missing evidence is UNKNOWN, never PASS.

pub mod record;
pub mod verdict;
