//! What an audit event records: the `events.kind` column as a type. Every writer names one
//! of these; a row written by a version of patdesk that knew a kind this one does not reads
//! as [`EventKind::Other`] and is shown as stored (the chain covers the stored text).

use std::fmt;

use rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventKind {
    // A request's record.
    RequestRecorded,
    RequestChanged,
    PurposeRecorded,
    AddressRecorded,
    Note,
    /// What the team's policy answered (in shadow mode: recorded and shown, a person decides).
    PolicyAnswered,
    /// A member accepted a request where the policy would have approved what people denied,
    /// so it no longer holds the policy back from enforcing.
    PolicyCaseAccepted,
    // Decisions by members.
    /// One member's approval of a request that needs more than one
    /// (`review.approvals_needed`): the request stays in review until enough have approved.
    ApprovalGiven,
    Approved,
    Denied,
    Revoked,
    OutsideTokenRevoked,
    // What GitHub or time decided.
    StateChanged,
    Reopened,
    ApprovedElsewhere,
    Withdrawn,
    TokenExpired,
    TokenExpiring,
    TokenStale,
    TokenUsedAgain,
    TokenLifetimeBreach,
    UsageNoticeQueued,
    /// The owner of a time-bound grant is told, a day ahead, when it ends.
    GrantEndNoticeQueued,
    // Mail in.
    MailRecorded,
    UnverifiedAnswerAccepted,
    TriageDismissed,
    MailReduced,
    // Mail out.
    RequesterNotTold,
    MailQueued,
    MailResendRequested,
    MailSent,
    MailFailed,
    MailUncertain,
    MailRetry,
    MailFoundInSent,
    MailNotInSent,
    // Decisions carried to GitHub.
    GithubPushQueued,
    GithubPushDone,
    GithubPushFailed,
    GithubPushRetry,
    Alert,
    /// A kind this version does not know, as stored.
    Other(String),
}

impl EventKind {
    /// Every kind this version writes.
    pub const KNOWN: [EventKind; 41] = [
        EventKind::RequestRecorded,
        EventKind::RequestChanged,
        EventKind::PurposeRecorded,
        EventKind::AddressRecorded,
        EventKind::Note,
        EventKind::PolicyAnswered,
        EventKind::PolicyCaseAccepted,
        EventKind::ApprovalGiven,
        EventKind::Approved,
        EventKind::Denied,
        EventKind::Revoked,
        EventKind::OutsideTokenRevoked,
        EventKind::StateChanged,
        EventKind::Reopened,
        EventKind::ApprovedElsewhere,
        EventKind::Withdrawn,
        EventKind::TokenExpired,
        EventKind::TokenExpiring,
        EventKind::TokenStale,
        EventKind::TokenUsedAgain,
        EventKind::TokenLifetimeBreach,
        EventKind::UsageNoticeQueued,
        EventKind::GrantEndNoticeQueued,
        EventKind::MailRecorded,
        EventKind::UnverifiedAnswerAccepted,
        EventKind::TriageDismissed,
        EventKind::MailReduced,
        EventKind::RequesterNotTold,
        EventKind::MailQueued,
        EventKind::MailResendRequested,
        EventKind::MailSent,
        EventKind::MailFailed,
        EventKind::MailUncertain,
        EventKind::MailRetry,
        EventKind::MailFoundInSent,
        EventKind::MailNotInSent,
        EventKind::GithubPushQueued,
        EventKind::GithubPushDone,
        EventKind::GithubPushFailed,
        EventKind::GithubPushRetry,
        EventKind::Alert,
    ];

    /// The decisions members take on tokens: the weekly report counts them, and each sends
    /// the audit head off the host at once.
    pub const DECISIONS: [EventKind; 4] = [
        EventKind::Approved,
        EventKind::Denied,
        EventKind::Revoked,
        EventKind::OutsideTokenRevoked,
    ];

    /// [`EventKind::DECISIONS`] for a SQL `IN (…)`.
    pub fn decisions_sql() -> String {
        super::stored::sql_list(EventKind::DECISIONS.iter().map(EventKind::as_str))
    }

    /// The name stored in `events.kind`.
    pub fn as_str(&self) -> &str {
        match self {
            EventKind::RequestRecorded => "request_recorded",
            EventKind::RequestChanged => "request_changed",
            EventKind::PurposeRecorded => "purpose_recorded",
            EventKind::AddressRecorded => "address_recorded",
            EventKind::Note => "note",
            EventKind::PolicyAnswered => "policy_answered",
            EventKind::PolicyCaseAccepted => "policy_case_accepted",
            EventKind::ApprovalGiven => "approval_given",
            EventKind::Approved => "approved",
            EventKind::Denied => "denied",
            EventKind::Revoked => "revoked",
            EventKind::OutsideTokenRevoked => "outside_token_revoked",
            EventKind::StateChanged => "state_changed",
            EventKind::Reopened => "reopened",
            EventKind::ApprovedElsewhere => "approved_elsewhere",
            EventKind::Withdrawn => "withdrawn",
            EventKind::TokenExpired => "token_expired",
            EventKind::TokenExpiring => "token_expiring",
            EventKind::TokenStale => "token_stale",
            EventKind::TokenUsedAgain => "token_used_again",
            EventKind::TokenLifetimeBreach => "token_lifetime_breach",
            EventKind::UsageNoticeQueued => "usage_notice_queued",
            EventKind::GrantEndNoticeQueued => "grant_end_notice_queued",
            EventKind::MailRecorded => "mail_recorded",
            EventKind::UnverifiedAnswerAccepted => "unverified_answer_accepted",
            EventKind::TriageDismissed => "triage_dismissed",
            EventKind::MailReduced => "mail_reduced",
            EventKind::RequesterNotTold => "requester_not_told",
            EventKind::MailQueued => "mail_queued",
            EventKind::MailResendRequested => "mail_resend_requested",
            EventKind::MailSent => "mail_sent",
            EventKind::MailFailed => "mail_failed",
            EventKind::MailUncertain => "mail_uncertain",
            EventKind::MailRetry => "mail_retry",
            EventKind::MailFoundInSent => "mail_found_in_sent",
            EventKind::MailNotInSent => "mail_not_in_sent",
            EventKind::GithubPushQueued => "github_push_queued",
            EventKind::GithubPushDone => "github_push_done",
            EventKind::GithubPushFailed => "github_push_failed",
            EventKind::GithubPushRetry => "github_push_retry",
            EventKind::Alert => "alert",
            EventKind::Other(name) => name,
        }
    }

    /// The kind a stored name is; [`EventKind::Other`] when this version does not know it.
    pub fn named(name: &str) -> EventKind {
        EventKind::KNOWN
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .unwrap_or_else(|| EventKind::Other(name.to_string()))
    }
}

/// Against the name as stored and printed (`--json`, the audit log's text).
impl PartialEq<&str> for EventKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for EventKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for EventKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(EventKind::named(&name))
    }
}

impl ToSql for EventKind {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for EventKind {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        value.as_str().map(EventKind::named)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_kind_reads_back_as_itself() {
        for kind in EventKind::KNOWN {
            assert_eq!(EventKind::named(kind.as_str()), kind);
        }
    }

    #[test]
    fn a_kind_from_another_version_is_kept_as_stored() {
        let kind = EventKind::named("policy_decided");
        assert_eq!(kind, EventKind::Other("policy_decided".to_string()));
        assert_eq!(kind.as_str(), "policy_decided");
    }

    #[test]
    fn the_decisions_list_is_sql_ready() {
        assert_eq!(
            EventKind::decisions_sql(),
            "'approved', 'denied', 'revoked', 'outside_token_revoked'"
        );
    }
}
