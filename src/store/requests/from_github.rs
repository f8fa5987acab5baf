//! What the GitHub sync and the decision pushes change: records following GitHub, the state
//! of queued pushes, addresses and alerts. Each change with its audit event.

use rusqlite::params;
use serde::Serialize;
use serde_json::json;

use super::record_from_row;
use crate::request::{RequestState, TokenRequest};
use crate::review::Review;
use crate::store::RequestRecord;
use crate::store::{EventKind, StoreError, Tx};

impl crate::store::Store {
    /// Every record of an organisation.
    pub fn requests_of_org(&self, org: &str) -> Result<Vec<RequestRecord>, StoreError> {
        let mut statement = self.conn.prepare_cached(&format!(
            "SELECT {} FROM requests WHERE org = ?1 ORDER BY id",
            super::COLUMNS
        ))?;
        let mut rows = statement.query([org])?;
        let mut records = Vec::new();
        while let Some(row) = rows.next()? {
            records.push(record_from_row(row)?);
        }
        Ok(records)
    }
}

impl Tx<'_> {
    /// GitHub changed a pending request: the new facts, the new review, one event naming what
    /// changed.
    pub fn record_github_change(
        &self,
        id: i64,
        request: &TokenRequest,
        review: &Review,
        changes: &serde_json::Value,
    ) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE requests SET token_name = ?2, repository_selection = ?3, repositories = ?4,
                permissions = ?5, token_expires_at = ?6, github_reason = ?7, risk = ?8,
                findings = ?9, updated_at = ?10, requester = ?11, owner_login = ?12 WHERE id = ?1",
            params![
                id,
                request.token_name,
                request.repository_selection.as_str(),
                json(&request.repositories)?,
                json(&request.permissions)?,
                request.token_expires_at.map(crate::store::format_time),
                request.github_reason,
                review.risk.as_str(),
                json(&review.findings)?,
                self.now,
                request.requester.as_ref().map(json).transpose()?,
                request.owner_login,
            ],
        )?;
        self.append_event(
            "github",
            Some(id),
            EventKind::RequestChanged,
            &json!({ "changes": changes, "risk": review.risk }),
        )?;
        Ok(())
    }

    /// A state GitHub decided: withdrawn, approved elsewhere, expired.
    pub fn record_github_state(
        &self,
        id: i64,
        state: RequestState,
        kind: EventKind,
        detail: serde_json::Value,
    ) -> Result<(), StoreError> {
        let from = self.request(id)?.state;
        let decided = matches!(state, RequestState::Approved).then_some(self.now.as_str());
        self.tx.execute(
            "UPDATE requests SET state = ?2, decided_at = COALESCE(?3, decided_at), updated_at = ?4 WHERE id = ?1",
            params![id, state.as_str(), decided, self.now],
        )?;
        let mut detail = detail;
        detail["from"] = json!(from);
        detail["to"] = json!(state);
        self.append_event("github", Some(id), kind, &detail)?;
        Ok(())
    }

    /// The approved token's grant id, which revoking needs.
    pub fn record_grant(&self, id: i64, grant_id: i64) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE requests SET grant_id = ?2, updated_at = ?3 WHERE id = ?1 AND grant_id IS NOT ?2",
            params![id, grant_id, self.now],
        )?;
        Ok(())
    }

    /// Announces once that a token expires soon.
    pub fn record_expiry_warning(
        &self,
        id: i64,
        expires_at: &str,
        days_left: i64,
    ) -> Result<bool, StoreError> {
        let detail = json!({ "expires_at": expires_at, "days_left": days_left });
        self.mark_once(
            id,
            "expiry_warned_at",
            "github",
            EventKind::TokenExpiring,
            &detail,
        )
    }

    pub fn record_owner_email(
        &self,
        id: i64,
        by: &str,
        email: &str,
        source: &str,
    ) -> Result<(), StoreError> {
        let before = self.request(id)?.owner_email;
        self.tx.execute(
            "UPDATE requests SET owner_email = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, email, self.now],
        )?;
        self.append_event(
            by,
            Some(id),
            EventKind::AddressRecorded,
            &json!({ "email": email, "source": source, "previous": before }),
        )?;
        Ok(())
    }

    /// Moves a request to `state`, for the sync's own bookkeeping (a question queued, no
    /// address found).
    pub fn record_state(
        &self,
        id: i64,
        by: &str,
        state: RequestState,
        why: &str,
    ) -> Result<(), StoreError> {
        let from = self.request(id)?.state;
        if from == state {
            return Ok(());
        }
        self.tx.execute(
            "UPDATE requests SET state = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, state.as_str(), self.now],
        )?;
        self.append_event(
            by,
            Some(id),
            EventKind::StateChanged,
            &json!({ "from": from, "to": state, "why": why }),
        )?;
        Ok(())
    }
}

fn json(value: &impl Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}
