//! Request records: inserting them, reading them back, and the changes engineers make, each
//! with its audit event in the same transaction.

mod from_github;
mod grant_end;
mod token_use;

pub use grant_end::EndingGrant;

use jiff::Timestamp;
use rusqlite::{Connection, Row, params, params_from_iter};
use serde::Serialize;
use serde_json::json;

use super::stored::Stored;
use super::{EventKind, StoreError, Tx, format_time, optional_time_at, parse_time, time_at};
use crate::request::{Permissions, PurposeSource, RepositorySelection, RequestState, TokenRequest};
use crate::review::{Finding, Review, Risk};

/// A request as the GitHub sync (or a test's builder) first records it.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub github_request_id: i64,
    pub token_id: Option<i64>,
    pub owner_email: Option<String>,
    pub request: TokenRequest,
    pub state: RequestState,
    pub review: Review,
}

/// A stored request with everything decided about it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct RequestRecord {
    pub id: i64,
    pub github_request_id: i64,
    pub token_id: Option<i64>,
    pub owner_email: Option<String>,
    #[serde(flatten)]
    pub request: TokenRequest,
    /// How the purpose was obtained.
    pub purpose_source: Option<Stored<PurposeSource>>,
    pub state: RequestState,
    pub risk: Risk,
    pub findings: Vec<Finding>,
    #[serde(with = "super::stored_time")]
    pub recorded_at: Timestamp,
    #[serde(with = "super::stored_time")]
    pub updated_at: Timestamp,
    pub decided_by: Option<String>,
    #[serde(with = "super::stored_time::option")]
    pub decided_at: Option<Timestamp>,
    pub decision_reason: Option<String>,
    pub revoked_by: Option<String>,
    #[serde(with = "super::stored_time::option")]
    pub revoked_at: Option<Timestamp>,
    pub revoke_reason: Option<String>,
    pub revoke_note: Option<String>,
    pub grant_id: Option<i64>,
    /// When GitHub last saw the approved token used, if ever (synced with the approved tokens).
    #[serde(default, with = "super::stored_time::option")]
    pub token_last_used_at: Option<Timestamp>,
    /// Since when the approved token counts as stale: unused for `review.stale_after_days`, or
    /// never used a week after approval. Cleared when it is used again.
    #[serde(default, with = "super::stored_time::option")]
    pub stale_since: Option<Timestamp>,
    /// An approval for a time (`approve --until`): when patdesk revokes it.
    #[serde(default, with = "super::stored_time::option")]
    pub grant_until: Option<Timestamp>,
}

impl RequestRecord {
    /// Which repositories the token would reach, in words.
    pub fn scope(&self) -> String {
        let request = &self.request;
        match request.repository_selection {
            RepositorySelection::All => format!("all repositories of {}", request.org),
            RepositorySelection::None => {
                "none (organisation or account permissions only)".to_string()
            }
            RepositorySelection::Subset if request.repositories.is_empty() => {
                "a selection (not yet fetched)".to_string()
            }
            RepositorySelection::Subset => request.repositories.join(", "),
        }
    }

    /// The purpose and where it came from; GitHub's reason, marked as not taken, when no
    /// purpose is known.
    pub fn purpose_and_source(&self) -> (Option<&str>, Option<&str>) {
        let request = &self.request;
        match (&request.purpose, &self.purpose_source) {
            (Some(purpose), Some(source)) => (
                Some(purpose.as_str()),
                Some(
                    source
                        .known()
                        .map_or(source.as_str(), |known| known.described()),
                ),
            ),
            (Some(purpose), None) => (Some(purpose.as_str()), None),
            (None, _) => match &request.github_reason {
                Some(reason) => (
                    Some(reason.as_str()),
                    Some("GitHub's reason, not taken as the purpose"),
                ),
                None => (None, None),
            },
        }
    }
}

/// `patdesk list`'s filters; `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ListFilter {
    pub state: Option<RequestState>,
    pub org: Option<String>,
    pub owner: Option<String>,
    pub risk: Option<Risk>,
    /// Requested at or after.
    #[serde(with = "super::stored_time::option")]
    pub since: Option<Timestamp>,
    pub limit: Option<u32>,
    #[serde(default)]
    pub sort: SortBy,
    /// The other way round from the sort's own order.
    #[serde(default)]
    pub reverse: bool,
    /// Rows skipped before the first one shown (a page further on).
    #[serde(default)]
    pub offset: Option<u32>,
    /// Only approved tokens that are stale.
    #[serde(default)]
    pub stale: bool,
    /// Only approved tokens that never expire.
    #[serde(default)]
    pub no_expiry: bool,
    /// Sorted by id, the rows after this one in that order (the next page of a listing, read
    /// without counting past the rows before it as an offset does).
    #[serde(default)]
    pub after_id: Option<i64>,
}

/// What `patdesk list` sorts by; each in the order a person reads it first (newest, riskiest,
/// alphabetical), ties newest first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortBy {
    /// patdesk's id: newest first.
    #[default]
    Id,
    /// When the token was requested: newest first.
    Requested,
    /// Critical first.
    Risk,
    State,
    Owner,
    Org,
}

impl SortBy {
    pub const ALL: [SortBy; 6] = [
        SortBy::Id,
        SortBy::Requested,
        SortBy::Risk,
        SortBy::State,
        SortBy::Owner,
        SortBy::Org,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SortBy::Id => "id",
            SortBy::Requested => "requested",
            SortBy::Risk => "risk",
            SortBy::State => "state",
            SortBy::Owner => "owner",
            SortBy::Org => "org",
        }
    }

    pub fn named(name: &str) -> Option<SortBy> {
        SortBy::ALL.into_iter().find(|sort| sort.as_str() == name)
    }

    /// The ORDER BY term, and whether its own order is descending.
    fn order(self) -> (&'static str, bool) {
        match self {
            SortBy::Id => ("id", true),
            SortBy::Requested => ("requested_at", true),
            SortBy::Risk => (
                "CASE risk WHEN 'critical' THEN 3 WHEN 'high' THEN 2 WHEN 'medium' THEN 1 ELSE 0 END",
                true,
            ),
            SortBy::State => ("state", false),
            SortBy::Owner => ("owner_login COLLATE NOCASE", false),
            SortBy::Org => ("org", false),
        }
    }
}

/// One line of `patdesk list`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct RequestSummary {
    pub id: i64,
    pub org: String,
    pub token_name: Option<String>,
    pub owner_login: String,
    pub state: RequestState,
    pub risk: Risk,
    #[serde(with = "super::stored_time")]
    pub requested_at: Timestamp,
    /// In review and needing more than one approval, or with some: who has approved.
    #[serde(default)]
    pub approvals: Option<super::Approvals>,
    /// Approved for a time: when patdesk revokes it.
    #[serde(default, with = "super::stored_time::option")]
    pub grant_until: Option<Timestamp>,
}

/// `select` with the filter's conditions, in its order, and the values to bind.
fn filtered(select: &str, filter: &ListFilter) -> (String, Vec<String>) {
    let mut conditions = Vec::new();
    let mut values: Vec<String> = Vec::new();
    // `test` with `{}` where the value goes.
    let mut condition = |test: &str, value: String| {
        values.push(value);
        conditions.push(test.replace("{}", &format!("?{}", values.len())));
    };
    if let Some(state) = filter.state {
        condition("state = {}", state.as_str().to_string());
    }
    if let Some(org) = &filter.org {
        condition("org = {}", org.clone());
    }
    if let Some(owner) = &filter.owner {
        // GitHub's logins are case-insensitive: `--owner CAROL` finds carol's requests.
        condition("owner_login = {} COLLATE NOCASE", owner.clone());
    }
    if let Some(risk) = filter.risk {
        condition("risk = {}", risk.as_str().to_string());
    }
    if let Some(since) = filter.since {
        condition("requested_at >= {}", format_time(since));
    }
    if filter.stale {
        conditions.push("state = 'approved' AND stale_since IS NOT NULL".to_string());
    }
    if filter.no_expiry {
        conditions.push("state = 'approved' AND token_expires_at IS NULL".to_string());
    }
    if let Some(after) = filter.after_id.filter(|_| filter.sort == SortBy::Id) {
        // Newest first unless reversed: "after" is a lower id, or a higher one reversed.
        let test = if filter.reverse { ">" } else { "<" };
        conditions.push(format!("id {test} {after}"));
    }
    let mut sql = select.to_string();
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    let (term, descending) = filter.sort.order();
    let direction = |descending: bool| if descending { "DESC" } else { "ASC" };
    sql.push_str(&format!(
        " ORDER BY {term} {}, id {}",
        direction(descending != filter.reverse),
        direction(!filter.reverse)
    ));
    // SQLite takes OFFSET only after a LIMIT; -1 is none.
    match (filter.limit, filter.offset) {
        (Some(limit), Some(offset)) => sql.push_str(&format!(" LIMIT {limit} OFFSET {offset}")),
        (Some(limit), None) => sql.push_str(&format!(" LIMIT {limit}")),
        (None, Some(offset)) => sql.push_str(&format!(" LIMIT -1 OFFSET {offset}")),
        (None, None) => {}
    }
    (sql, values)
}

/// A member's decision on an open request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approved,
    Denied,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct EventRecord {
    pub seq: i64,
    #[serde(with = "super::stored_time")]
    pub at: Timestamp,
    pub actor: String,
    pub request_id: Option<i64>,
    pub kind: EventKind,
    pub detail: serde_json::Value,
    pub hash: String,
}

/// One line of the records sheet: a request and the newest event that backs it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ExportRow {
    #[serde(flatten)]
    pub record: RequestRecord,
    pub event_seq: Option<i64>,
    pub event_hash: Option<String>,
}

pub(super) const COLUMNS: &str =
    "id, github_request_id, token_id, owner_email, org, token_name, owner_login,
    repository_selection, repositories, permissions, token_expires_at, requested_at,
    github_reason, purpose, purpose_source, state, risk, findings, recorded_at, updated_at,
    decided_by, decided_at, decision_reason, revoked_by, revoked_at, revoke_reason, revoke_note,
    grant_id, requester, token_last_used_at, stale_since, grant_until";

fn corrupt(what: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {error}"))
}

fn to_json(value: &impl Serialize, what: &str) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| corrupt(what, e))
}

fn json_column<T: serde::de::DeserializeOwned>(
    row: &Row,
    index: usize,
    what: &str,
) -> Result<T, StoreError> {
    let text: String = row.get(index)?;
    serde_json::from_str(&text).map_err(|e| corrupt(what, e))
}

fn risk_column(row: &Row, index: usize) -> Result<Risk, StoreError> {
    let risk: String = row.get(index)?;
    risk.parse().map_err(|e| corrupt("risk", e))
}

pub(super) fn record_from_row(row: &Row) -> Result<RequestRecord, StoreError> {
    let selection: String = row.get(7)?;
    let state: String = row.get(15)?;
    let risk: String = row.get(16)?;
    let expires: Option<String> = row.get(10)?;
    let requested: String = row.get(11)?;
    let permissions: Permissions = json_column(row, 9, "permissions")?;
    Ok(RequestRecord {
        id: row.get(0)?,
        github_request_id: row.get(1)?,
        token_id: row.get(2)?,
        owner_email: row.get(3)?,
        request: TokenRequest {
            org: row.get(4)?,
            token_name: row.get(5)?,
            owner_login: row.get(6)?,
            repository_selection: selection
                .parse::<RepositorySelection>()
                .map_err(|e| corrupt("repository selection", e))?,
            repositories: json_column(row, 8, "repositories")?,
            permissions,
            token_expires_at: expires.as_deref().map(parse_time).transpose()?,
            requested_at: parse_time(&requested)?,
            github_reason: row.get(12)?,
            purpose: row.get(13)?,
            requester: match row.get::<_, Option<String>>(28)? {
                Some(text) => {
                    Some(serde_json::from_str(&text).map_err(|e| corrupt("requester", e))?)
                }
                None => None,
            },
        },
        purpose_source: row.get(14)?,
        state: state.parse().map_err(|e| corrupt("state", e))?,
        risk: risk.parse().map_err(|e| corrupt("risk", e))?,
        findings: json_column(row, 17, "findings")?,
        recorded_at: time_at(row, 18)?,
        updated_at: time_at(row, 19)?,
        decided_by: row.get(20)?,
        decided_at: optional_time_at(row, 21)?,
        decision_reason: row.get(22)?,
        revoked_by: row.get(23)?,
        revoked_at: optional_time_at(row, 24)?,
        revoke_reason: row.get(25)?,
        revoke_note: row.get(26)?,
        grant_id: row.get(27)?,
        token_last_used_at: optional_time_at(row, 29)?,
        stale_since: optional_time_at(row, 30)?,
        grant_until: optional_time_at(row, 31)?,
    })
}

pub(super) fn request(conn: &Connection, id: i64) -> Result<Option<RequestRecord>, StoreError> {
    let mut statement =
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM requests WHERE id = ?1"))?;
    let mut rows = statement.query([id])?;
    rows.next()?.map(record_from_row).transpose()
}

fn event_from_row(row: &Row) -> Result<EventRecord, StoreError> {
    let detail: String = row.get(5)?;
    Ok(EventRecord {
        seq: row.get(0)?,
        at: time_at(row, 1)?,
        actor: row.get(2)?,
        request_id: row.get(3)?,
        kind: row.get(4)?,
        detail: serde_json::from_str(&detail).map_err(|e| corrupt("event detail", e))?,
        hash: row.get(6)?,
    })
}

impl super::Store {
    pub fn request(&self, id: i64) -> Result<RequestRecord, StoreError> {
        request(&self.conn, id)?.ok_or(StoreError::NoSuchRequest(id))
    }

    /// Newest first.
    pub fn list(&self, filter: &ListFilter) -> Result<Vec<RequestRecord>, StoreError> {
        let (sql, values) = filtered(&format!("SELECT {COLUMNS} FROM requests"), filter);
        let mut statement = self.conn.prepare(&sql)?;
        let mut rows = statement.query(params_from_iter(values.iter()))?;
        let mut records = Vec::new();
        while let Some(row) = rows.next()? {
            records.push(record_from_row(row)?);
        }
        Ok(records)
    }

    /// The same requests as [`Store::list`], without the parts a table does not show: fast
    /// even when a filter matches tens of thousands.
    /// `approvals_needed`, by risk, says which requests in review need more than one.
    pub fn list_summaries(
        &self,
        filter: &ListFilter,
        approvals_needed: &crate::config::PerRisk,
    ) -> Result<Vec<RequestSummary>, StoreError> {
        // Only a request in review has approvals standing (see `approvals`).
        let (sql, values) = filtered(
            &format!(
                "SELECT id, org, token_name, owner_login, state, risk, requested_at, grant_until,
                    CASE WHEN state = 'in_review' THEN
                        (SELECT json_group_array(e.actor) FROM events e WHERE {})
                    END
                 FROM requests",
                super::approvals::standing_for("requests")
            ),
            filter,
        );
        let mut statement = self.conn.prepare(&sql)?;
        let summaries = statement.query_and_then(params_from_iter(values.iter()), |row| {
            let state: String = row.get(4)?;
            let risk: Risk = risk_column(row, 5)?;
            let approvals = match row.get::<_, Option<String>>(8)? {
                Some(given) => {
                    let given: Vec<String> =
                        serde_json::from_str(&given).map_err(|e| corrupt("approvals", e))?;
                    let needed = approvals_needed.of(risk);
                    (needed > 1 || !given.is_empty()).then_some(super::Approvals { given, needed })
                }
                None => None,
            };
            Ok::<_, StoreError>(RequestSummary {
                id: row.get(0)?,
                org: row.get(1)?,
                token_name: row.get(2)?,
                owner_login: row.get(3)?,
                state: state.parse().map_err(|e| corrupt("state", e))?,
                risk,
                requested_at: time_at(row, 6)?,
                grant_until: optional_time_at(row, 7)?,
                approvals,
            })
        })?;
        summaries.collect()
    }

    /// A request's audit events, oldest first.
    /// The newest `limit` events of a request, oldest first, and how many it has in all.
    pub fn newest_events_for(
        &self,
        request_id: i64,
        limit: u32,
    ) -> Result<(Vec<EventRecord>, u64), StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT seq, at, actor, request_id, kind, detail, hash FROM events
             WHERE seq IN (SELECT seq FROM events WHERE request_id = ?1 ORDER BY seq DESC LIMIT ?2)
             ORDER BY seq",
        )?;
        let mut rows = statement.query(rusqlite::params![request_id, limit])?;
        let mut events = Vec::new();
        while let Some(row) = rows.next()? {
            events.push(event_from_row(row)?);
        }
        let all: u64 = self.conn.query_row(
            "SELECT COUNT(*) FROM events WHERE request_id = ?1",
            [request_id],
            |row| row.get(0),
        )?;
        Ok((events, all))
    }

    pub fn events_for(&self, request_id: i64) -> Result<Vec<EventRecord>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT seq, at, actor, request_id, kind, detail, hash FROM events
             WHERE request_id = ?1 ORDER BY seq",
        )?;
        let mut rows = statement.query([request_id])?;
        let mut events = Vec::new();
        while let Some(row) = rows.next()? {
            events.push(event_from_row(row)?);
        }
        Ok(events)
    }

    /// The events after `seq`, oldest first, at most `limit`: what `patdesk watch` follows.
    pub fn events_after(&self, seq: i64, limit: u32) -> Result<Vec<EventRecord>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT seq, at, actor, request_id, kind, detail, hash FROM events
             WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let mut rows = statement.query(rusqlite::params![seq, limit])?;
        let mut events = Vec::new();
        while let Some(row) = rows.next()? {
            events.push(event_from_row(row)?);
        }
        Ok(events)
    }

    /// The requests of `page` (by id) with the newest event that backs each, oldest first.
    pub fn export(&self, page: super::Page) -> Result<Vec<ExportRow>, StoreError> {
        let mut statement = self.conn.prepare(&format!(
            "SELECT {COLUMNS},
                (SELECT seq FROM events WHERE request_id = requests.id ORDER BY seq DESC LIMIT 1),
                (SELECT hash FROM events WHERE request_id = requests.id ORDER BY seq DESC LIMIT 1)
             FROM requests WHERE id > ?1 ORDER BY id LIMIT ?2"
        ))?;
        let mut rows = statement.query(rusqlite::params![page.after, page.limit])?;
        let mut export = Vec::new();
        // The event's columns come after the record's, however many those are.
        let event_seq = COLUMNS.split(',').count();
        while let Some(row) = rows.next()? {
            export.push(ExportRow {
                record: record_from_row(row)?,
                event_seq: row.get(event_seq)?,
                event_hash: row.get(event_seq + 1)?,
            });
        }
        Ok(export)
    }
}

impl Tx<'_> {
    /// Reads a request inside the transaction, so what is decided from it cannot change
    /// before the decision is written.
    pub fn request(&self, id: i64) -> Result<RequestRecord, StoreError> {
        request(&self.tx, id)?.ok_or(StoreError::NoSuchRequest(id))
    }

    pub fn insert_request(&self, actor: &str, new: &NewRequest) -> Result<i64, StoreError> {
        let request = &new.request;
        self.tx.execute(
            "INSERT INTO requests (org, github_request_id, token_id, token_name, owner_login,
                owner_email, repository_selection, repositories, permissions, token_expires_at,
                github_reason, purpose, purpose_source, state, risk, findings, requested_at,
                recorded_at, updated_at, requester)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?18, ?19)",
            params![
                request.org,
                new.github_request_id,
                new.token_id,
                request.token_name,
                request.owner_login,
                new.owner_email,
                request.repository_selection.as_str(),
                to_json(&request.repositories, "repositories")?,
                to_json(&request.permissions, "permissions")?,
                request.token_expires_at.map(format_time),
                request.github_reason,
                request.purpose,
                request
                    .github_reason
                    .as_ref()
                    .map(|_| Stored::from(PurposeSource::GithubReason)),
                new.state.as_str(),
                new.review.risk.as_str(),
                to_json(&new.review.findings, "findings")?,
                format_time(request.requested_at),
                self.now,
                request.requester.as_ref().map(|requester| to_json(requester, "requester")).transpose()?,
            ],
        )?;
        let id = self.tx.last_insert_rowid();
        self.append_event(
            actor,
            Some(id),
            EventKind::RequestRecorded,
            &json!({
                "org": request.org,
                "github_request_id": new.github_request_id,
                "token_name": request.token_name,
                "owner": request.owner_login,
                "state": new.state,
                "risk": new.review.risk,
            }),
        )?;
        Ok(id)
    }

    /// Approval or denial.
    /// A member's decision; `with` are the other members' approvals it completes (a request
    /// that needs more than one), named in its event; `until`, for an approval for a time,
    /// when it ends.
    pub fn record_decision(
        &self,
        id: i64,
        by: &str,
        decision: Decision,
        reason: Option<&str>,
        with: &[super::GivenApproval],
        until: Option<Timestamp>,
    ) -> Result<(), StoreError> {
        let from = self.request(id)?.state;
        let (state, kind) = match decision {
            Decision::Approved => (RequestState::Approved, EventKind::Approved),
            Decision::Denied => (RequestState::Denied, EventKind::Denied),
        };
        self.tx.execute(
            "UPDATE requests SET state = ?2, decided_by = ?3, decided_at = ?4, decision_reason = ?5,
                updated_at = ?4, grant_until = ?6 WHERE id = ?1",
            params![id, state.as_str(), by, self.now, reason, until.map(format_time)],
        )?;
        let mut detail = json!({ "from": from, "to": state, "reason": reason });
        if !with.is_empty() {
            detail["with_approvals"] = json!(with);
        }
        if let Some(until) = until {
            detail["until"] = json!(format_time(until));
        }
        self.append_event(by, Some(id), kind, &detail)?;
        Ok(())
    }

    pub fn record_revocation(
        &self,
        id: i64,
        by: &str,
        reason: &str,
        note: Option<&str>,
    ) -> Result<(), StoreError> {
        let from = self.request(id)?.state;
        self.tx.execute(
            "UPDATE requests SET state = 'revoked', revoked_by = ?2, revoked_at = ?3,
                revoke_reason = ?4, revoke_note = ?5, updated_at = ?3 WHERE id = ?1",
            params![id, by, self.now, reason, note],
        )?;
        self.append_event(
            by,
            Some(id),
            EventKind::Revoked,
            &json!({ "from": from, "to": RequestState::Revoked, "reason": reason, "note": note }),
        )?;
        Ok(())
    }

    /// A purpose obtained (from a reply, or given to an engineer another way), with the
    /// review it leads to.
    pub fn record_purpose(
        &self,
        id: i64,
        by: &str,
        purpose: &str,
        source: PurposeSource,
        review: &Review,
        state: RequestState,
    ) -> Result<(), StoreError> {
        let before = self.request(id)?;
        self.tx.execute(
            "UPDATE requests SET purpose = ?2, purpose_source = ?3, risk = ?4, findings = ?5,
                state = ?6, updated_at = ?7 WHERE id = ?1",
            params![
                id,
                purpose,
                Stored::from(source),
                review.risk.as_str(),
                to_json(&review.findings, "findings")?,
                state.as_str(),
                self.now
            ],
        )?;
        self.append_event(
            by,
            Some(id),
            EventKind::PurposeRecorded,
            &json!({
                "purpose": purpose,
                "source": source.as_str(),
                "previous_purpose": before.request.purpose,
                "from": before.state,
                "to": state,
                "risk": review.risk,
                "previous_risk": before.risk,
            }),
        )?;
        Ok(())
    }

    pub fn add_note(&self, id: i64, by: &str, text: &str) -> Result<(), StoreError> {
        // The request must exist; the note changes nothing but the log.
        self.request(id)?;
        self.append_event(by, Some(id), EventKind::Note, &json!({ "text": text }))?;
        Ok(())
    }
}
