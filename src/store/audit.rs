//! What the audit log vouches for beyond its own hashes: that every request's state and every
//! GitHub push agree with the events, and which member's decision backs a push.
//!
//! The chain proves the events were not changed; these checks prove the tables the daemon acts
//! on were not changed behind the events' back (a state set by hand, a push row inserted by
//! hand).

use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};

use super::{ChainHead, EventKind, Push, PushTarget, Store, StoreError, Verification};
use crate::lifecycle::{Member, PushAction};

/// `patdesk audit verify`: the chain, and the tables against it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audit {
    #[serde(flatten)]
    pub chain: Verification,
    /// Rows whose content no event accounts for; empty when everything agrees.
    pub mismatches: Vec<Mismatch>,
}

impl Audit {
    pub fn intact(&self) -> bool {
        self.chain.first_break.is_none() && self.mismatches.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mismatch {
    pub request: Option<i64>,
    pub push: Option<i64>,
    pub problem: String,
}

/// The event that queued a push, and who decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushBacking {
    pub seq: i64,
    /// The member the decision's transaction was made for; `None` when the event names none.
    pub decided_by: Option<Member>,
    /// For an approval that completed others (`review.approvals_needed`): the members whose
    /// approvals it counted, as the decision's event names them.
    pub with_approvals: Vec<Option<Member>>,
}

impl Store {
    pub fn audit(&self, expected: Option<&ChainHead>) -> Result<Audit, StoreError> {
        let chain = self.verify_chain(expected)?;
        let mut mismatches = self.states_without_events()?;
        mismatches.extend(self.pushes_without_events()?);
        Ok(Audit { chain, mismatches })
    }

    /// Requests whose state is not the one their newest state-changing event set. Every such
    /// event carries `from` and `to` (the first, `request_recorded`, carries `state`).
    fn states_without_events(&self) -> Result<Vec<Mismatch>, StoreError> {
        let mut statement = self.conn.prepare(
            "SELECT r.id, r.state, (
                 SELECT CASE WHEN e.kind = ?1
                             THEN json_extract(e.detail, '$.state')
                             ELSE json_extract(e.detail, '$.to') END
                 FROM events e
                 WHERE e.request_id = r.id
                   AND (e.kind = ?1 OR json_type(e.detail, '$.from') IS NOT NULL)
                 ORDER BY e.seq DESC LIMIT 1)
             FROM requests r ORDER BY r.id",
        )?;
        let rows = statement.query_map([EventKind::RequestRecorded], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, Option<String>>(2)?,
            ))
        })?;
        let mut mismatches = Vec::new();
        for row in rows {
            let (id, state, evented) = row?;
            if evented.as_deref() != Some(state.as_str()) {
                mismatches.push(Mismatch {
                    request: Some(id),
                    push: None,
                    problem: format!(
                        "PAT-{id} is {state}, but its events say {}",
                        evented.as_deref().unwrap_or("nothing")
                    ),
                });
            }
        }
        Ok(mismatches)
    }

    /// Pushes no `github_push_queued` event of the same target and action accounts for.
    fn pushes_without_events(&self) -> Result<Vec<Mismatch>, StoreError> {
        let mut statement = self.conn.prepare(
            "SELECT p.id, p.request_id, p.grant_org, p.grant_id, p.action FROM github_pushes p
             WHERE NOT EXISTS (
                 SELECT 1 FROM events e
                 WHERE e.request_id IS p.request_id AND e.kind = ?1
                   AND json_extract(e.detail, '$.push') = p.id
                   AND json_extract(e.detail, '$.action') = p.action
                   AND json_extract(e.detail, '$.grant_org') IS p.grant_org
                   AND json_extract(e.detail, '$.grant_id') IS p.grant_id)
             ORDER BY p.id",
        )?;
        let mut rows = statement.query([EventKind::GithubPushQueued])?;
        let mut mismatches = Vec::new();
        while let Some(row) = rows.next()? {
            let push: i64 = row.get(0)?;
            let target = PushTarget::from_columns(row.get(1)?, row.get(2)?, row.get(3)?)?;
            let action: String = row.get(4)?;
            mismatches.push(Mismatch {
                request: target.request_id(),
                push: Some(push),
                problem: format!("GitHub push {push} ({action} {target}) was queued by no event"),
            });
        }
        Ok(mismatches)
    }

    /// The event that queued `push`, if there is one.
    pub fn push_backing(&self, push: &Push) -> Result<Option<PushBacking>, StoreError> {
        let (org, grant_id) = push.target.grant();
        let row: Option<(i64, Option<String>)> = self
            .conn
            .query_row(
                "SELECT seq, json_extract(detail, '$.decided_by') FROM events
                 WHERE request_id IS ?1 AND kind = ?6
                   AND json_extract(detail, '$.push') = ?2
                   AND json_extract(detail, '$.action') = ?3
                   AND json_extract(detail, '$.grant_org') IS ?4
                   AND json_extract(detail, '$.grant_id') IS ?5
                 ORDER BY seq LIMIT 1",
                rusqlite::params![
                    push.target.request_id(),
                    push.id,
                    push.action,
                    org,
                    grant_id,
                    EventKind::GithubPushQueued
                ],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        let Some((seq, decided_by)) = row else {
            return Ok(None);
        };
        // The decision the push carries is the request's last before the push's own event.
        let with: Option<String> = self
            .conn
            .query_row(
                "SELECT json_extract(detail, '$.with_approvals') FROM events
                 WHERE request_id IS ?1 AND seq < ?2 AND kind = ?3
                 ORDER BY seq DESC LIMIT 1",
                rusqlite::params![push.target.request_id(), seq, EventKind::Approved],
                |row| row.get(0),
            )
            .optional()?
            .flatten();
        let with_approvals = match (push.action.known(), with) {
            (Some(PushAction::Approve), Some(json)) => {
                let given: Vec<serde_json::Value> = serde_json::from_str(&json)
                    .map_err(|e| StoreError::Corrupt(format!("with_approvals: {e}")))?;
                given
                    .into_iter()
                    .map(|given| serde_json::from_value(given["member"].clone()).ok())
                    .collect()
            }
            _ => Vec::new(),
        };
        Ok(Some(PushBacking {
            seq,
            decided_by: decided_by.and_then(|json| serde_json::from_str(&json).ok()),
            with_approvals,
        }))
    }
}
