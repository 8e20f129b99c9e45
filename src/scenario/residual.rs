//! Residual access after a leave: how long an AWS session can outlive the revoke, and
//! whether Entra revoked the sign-in sessions (refresh tokens) at or after T0.

use chrono::{DateTime, Duration, Utc};

use super::checks::{audit_time, ms, pass_or, std_to, verdict};
use super::runner::{Clients, Gathered, Live, Settings};
use crate::aws::types::iso_duration;
use crate::evidence::record::{Leg, Phase, Record, Stamp, Status};

/// Whether Entra revoked the sign-in sessions at or after T0. signInSessionsValidFromDateTime
/// has whole seconds, in Entra's clock: beyond the measured offset and a second either
/// way it decides; inside that, only the directory audit of the revocation (which has
/// sub-second times) can, and without one the answer is UNKNOWN.
fn sessions_revoked(
    g: &Gathered,
    id: &str,
    valid_from: Option<DateTime<Utc>>,
    t0: DateTime<Utc>,
    offset: Option<Duration>,
) -> (Status, String) {
    let o = offset.unwrap_or_else(Duration::zero);
    let Some(from) = valid_from.map(|v| v - o) else {
        return (Status::Unknown, "signInSessionsValidFromDateTime is not reported".into());
    };
    if from >= t0 + Duration::seconds(1) {
        return (Status::Pass, String::new());
    }
    let audited = audit_time(&g.audits, Some(id), |a, t| {
        a.activity_display_name == "Update StsRefreshTokenValidFrom Timestamp"
            && a.target_resources.iter().any(|r| r.id.as_deref() == Some(t))
    })
    .filter(|(st, _)| st.at - o >= t0 - Duration::seconds(1));
    if audited.is_some() {
        return (Status::Pass, String::new());
    }
    let shown = valid_from.map(|v| v.to_rfc3339()).unwrap_or_default();
    if from + Duration::seconds(2) <= t0 {
        (
            Status::Fail,
            format!(
                "signInSessionsValidFromDateTime {shown} is before T0: refresh tokens issued before the leave stay valid"
            ),
        )
    } else {
        let audits = match &g.unread.audits {
            Some(e) => format!("the directory audits could not be read ({e})"),
            None => "no directory audit entry dates a revocation after T0".into(),
        };
        (
            Status::Unknown,
            format!("signInSessionsValidFromDateTime {shown} is within its one-second resolution of T0, and {audits}"),
        )
    }
}

/// Residual access after the revoke: AWS sessions live on until the permission set's
/// session duration ends; Entra sign-in sessions unless they were revoked at or after T0.
#[allow(clippy::too_many_arguments)]
pub async fn residual(
    s: &Settings,
    c: &Clients<'_>,
    record: &mut Record,
    l: &Live,
    g: &Gathered,
    t0: Option<&Stamp>,
    offset: Option<Duration>,
    aws_ms: Option<i64>,
) {
    let sla = std_to(s.sla.residual);
    match c.aws.permission_set(if s.mover { &s.mover_permission_set_arn } else { &s.permission_set_arn }).await {
        Ok(ps) => match (aws_ms, ps.session_duration.as_deref().and_then(iso_duration)) {
            (Some(revoke), Some(session)) => {
                let worst = Duration::milliseconds(revoke) + std_to(session);
                let mut v = pass_or(
                    l,
                    Leg::Aws,
                    Phase::Residual,
                    "worst-case session end",
                    worst <= sla,
                    format!(
                        "revoke latency plus the permission set's {} sessions: {}",
                        ps.session_duration.clone().unwrap_or_default(),
                        crate::duration::format(worst.to_std().unwrap_or_default())
                    ),
                );
                v.latency_ms = Some(ms(worst));
                v.sla_ms = Some(ms(sla));
                record.verdicts.push(v);
            }
            _ => record.verdicts.push(verdict(
                l,
                Leg::Aws,
                Phase::Residual,
                "worst-case session end",
                Status::Unknown,
                "revoke latency or session duration unknown".into(),
            )),
        },
        Err(e) => record.verdicts.push(verdict(
            l,
            Leg::Aws,
            Phase::Residual,
            "worst-case session end",
            Status::Unknown,
            format!("could not read the permission set: {e}"),
        )),
    }
    let Some(t0) = t0 else {
        record.verdicts.push(verdict(
            l,
            Leg::Entra,
            Phase::Residual,
            "sign-in sessions revoked",
            Status::Unknown,
            "no T0".into(),
        ));
        return;
    };
    let Some(id) = &l.entra_id else { return };
    match c.graph.get_user(id).await {
        Ok(Some(u)) => {
            let (status, reason) = sessions_revoked(g, id, u.sign_in_sessions_valid_from_date_time, t0.at, offset);
            record.verdicts.push(verdict(l, Leg::Entra, Phase::Residual, "sign-in sessions revoked", status, reason));
        }
        // A deleted account has no sessions left to use.
        Ok(None) if l.revoked_as.get(&Leg::Entra).map(String::as_str) == Some("deleted") => record
            .verdicts
            .push(verdict(l, Leg::Entra, Phase::Residual, "sign-in sessions revoked", Status::Pass, String::new())),
        Ok(None) => record.verdicts.push(verdict(
            l,
            Leg::Entra,
            Phase::Residual,
            "sign-in sessions revoked",
            Status::Unknown,
            "the Entra account is not readable".into(),
        )),
        Err(e) => record.verdicts.push(verdict(
            l,
            Leg::Entra,
            Phase::Residual,
            "sign-in sessions revoked",
            Status::Unknown,
            format!("could not observe: {e}"),
        )),
    }
}
