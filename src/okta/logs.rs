//! The System Log as a stream of pages that follows `Link rel="next"` exactly as
//! given. A bounded query (since and until) ends when a page has no `next`. A
//! polling query (ASCENDING, no until) never runs out of `next` links: the caller
//! stops on an empty page and comes back later with the same pager.

use chrono::{DateTime, SecondsFormat, Utc};

use super::OktaClient;
use super::types::LogEvent;
use crate::api::ApiError;

#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    pub since: Option<DateTime<Utc>>,
    /// Absent: a polling query.
    pub until: Option<DateTime<Utc>>,
    /// SCIM filter, e.g. `eventType eq "user.lifecycle.deactivate" and target.id eq "00u…"`.
    pub filter: Option<String>,
    /// 1–1000; Okta's default is 100.
    pub limit: Option<u32>,
    pub descending: bool,
}

impl LogQuery {
    /// A bounded query over [since, until].
    pub fn bounded(since: DateTime<Utc>, until: DateTime<Utc>) -> LogQuery {
        LogQuery { since: Some(since), until: Some(until), limit: Some(1000), ..LogQuery::default() }
    }

    /// A polling query from `since` on.
    pub fn polling(since: DateTime<Utc>) -> LogQuery {
        LogQuery { since: Some(since), limit: Some(1000), ..LogQuery::default() }
    }

    pub fn filter(mut self, f: impl Into<String>) -> LogQuery {
        self.filter = Some(f.into());
        self
    }

    pub fn is_polling(&self) -> bool {
        self.until.is_none() && !self.descending
    }

    fn params(&self) -> Vec<(&'static str, String)> {
        let t = |d: &DateTime<Utc>| d.to_rfc3339_opts(SecondsFormat::Millis, true);
        let mut p = Vec::new();
        if let Some(s) = &self.since {
            p.push(("since", t(s)));
        }
        if let Some(u) = &self.until {
            p.push(("until", t(u)));
        }
        if let Some(f) = &self.filter {
            p.push(("filter", f.clone()));
        }
        if let Some(l) = self.limit {
            p.push(("limit", l.to_string()));
        }
        p.push(("sortOrder", if self.descending { "DESCENDING" } else { "ASCENDING" }.into()));
        p
    }
}

/// Pages of one System Log query.
pub struct LogPager<'c> {
    client: &'c OktaClient,
    next: Option<reqwest::Url>,
    polling: bool,
    seen: crate::api::Seen,
}

impl<'c> LogPager<'c> {
    pub(super) fn new(client: &'c OktaClient, query: &LogQuery) -> Result<LogPager<'c>, ApiError> {
        let mut url = client.url("/api/v1/logs")?;
        url.query_pairs_mut().extend_pairs(query.params());
        Ok(LogPager { client, next: Some(url), polling: query.is_polling(), seen: crate::api::Seen::default() })
    }

    /// The next page, or `None` when a bounded query is done. A polling query always
    /// has a next page; an empty one means "nothing new yet".
    pub async fn next_page(&mut self) -> Result<Option<Vec<LogEvent>>, ApiError> {
        let Some(url) = self.next.clone() else { return Ok(None) };
        let (values, next) = self.client.page(url.clone(), "/api/v1/logs").await?;
        // A polling cursor repeats itself after an empty page ("nothing new yet"); after
        // a page of events it must move on, as a bounded query's must always.
        let next = if self.polling && values.is_empty() {
            next
        } else {
            self.seen.follow(crate::http::System::Okta, "GET /api/v1/logs", &url, next)?
        };
        self.next = match next {
            Some(n) => Some(n),
            // Okta always gives a polling query a next link; without one the cursor is
            // lost, and re-reading the same page would loop and duplicate events.
            None if self.polling => {
                return Err(ApiError::Malformed {
                    system: crate::http::System::Okta,
                    endpoint: "GET /api/v1/logs".into(),
                    detail: "a polling page came without a next link".into(),
                });
            }
            None => None,
        };
        let mut events = Vec::with_capacity(values.len());
        for v in values {
            events.push(LogEvent::from_value(v).map_err(|e| ApiError::Malformed {
                system: crate::http::System::Okta,
                endpoint: "GET /api/v1/logs".into(),
                detail: format!("a System Log event does not parse: {e}"),
            })?);
        }
        Ok(Some(events))
    }

    /// Every event of a bounded query, or of a polling query up to its first empty page.
    pub async fn collect(mut self) -> Result<Vec<LogEvent>, ApiError> {
        let mut all = Vec::new();
        while let Some(page) = self.next_page().await? {
            if page.is_empty() && self.polling {
                break;
            }
            all.extend(page);
        }
        Ok(all)
    }
}
