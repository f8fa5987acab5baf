//! Requests ready for a decision, and since when: the clock of `review.decide_within_hours`.

use jiff::Timestamp;
use rusqlite::params;

use super::{AlertKind, Store, StoreError, Stored, time_at};
use crate::request::RequestState;
use crate::review::Risk;

/// A request in review, its risk, since when it has been ready, and which deadline alerts it
/// has had since then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub id: i64,
    pub risk: Risk,
    pub since: Timestamp,
    pub reminded: bool,
    pub escalated: bool,
}

impl Store {
    /// Every request in review, oldest wait first.
    pub fn waiting_for_decision(&self) -> Result<Vec<Waiting>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT r.id, r.risk, r.in_review_since,
                EXISTS (SELECT 1 FROM alerts a WHERE a.request_id = r.id AND a.kind = ?2
                        AND a.created_at >= r.in_review_since),
                EXISTS (SELECT 1 FROM alerts a WHERE a.request_id = r.id AND a.kind = ?3
                        AND a.created_at >= r.in_review_since)
             FROM requests r
             WHERE r.state = ?1 AND r.in_review_since IS NOT NULL
             ORDER BY r.in_review_since",
        )?;
        let rows = statement.query_map(
            params![
                RequestState::InReview.as_str(),
                Stored::from(AlertKind::DecisionDue),
                Stored::from(AlertKind::DecisionOverdue)
            ],
            |row| {
                let risk: String = row.get(1)?;
                Ok(Waiting {
                    id: row.get(0)?,
                    // A risk this version does not know waits as the riskiest.
                    risk: risk.parse().unwrap_or(Risk::Critical),
                    since: time_at(row, 2)?,
                    reminded: row.get(3)?,
                    escalated: row.get(4)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl Store {
    /// For each risk, the hours each request decided at or after `since` waited, from ready
    /// for a decision (`in_review_since`) to decided; requests that never had that clock (in
    /// review before it existed) are left out.
    pub fn decision_times(&self, since: &str) -> Result<Vec<(Risk, Vec<f64>)>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT risk, decided_at, in_review_since FROM requests
             WHERE decided_at >= ?1 AND decided_by IS NOT NULL AND in_review_since IS NOT NULL",
        )?;
        let rows = statement.query_map([since], |row| {
            let risk: String = row.get(0)?;
            Ok((risk, time_at(row, 1)?, time_at(row, 2)?))
        })?;
        let mut by_risk: Vec<(Risk, Vec<f64>)> = Risk::ALL
            .iter()
            .rev()
            .map(|risk| (*risk, Vec::new()))
            .collect();
        for row in rows {
            let (risk, decided, ready) = row?;
            let risk: Risk = risk.parse().unwrap_or(Risk::Critical);
            let hours = decided.duration_since(ready).as_secs_f64() / 3600.0;
            if let Some((_, times)) = by_risk.iter_mut().find(|(known, _)| *known == risk) {
                times.push(hours.max(0.0));
            }
        }
        by_risk.retain(|(_, times)| !times.is_empty());
        Ok(by_risk)
    }
}
