//! The mails patdesk sends, each with what its template needs. The outbox keeps a mail as its
//! kind (which is its template's name) and its payload as JSON; both are written and read
//! back here, and nowhere else.
//!
//! Payloads are read leniently (a missing field takes its default), so mail queued by an older
//! patdesk, with fewer fields, is still sent.

use serde::{Deserialize, Serialize};

/// A mail to send, by kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "payload", rename_all = "snake_case")]
pub enum Outgoing {
    /// To the requester: what will the token be used for?
    Question(TokenQuestion),
    /// The question again, unanswered.
    Reminder(TokenQuestion),
    /// To the requester: thank you, this is the purpose recorded.
    Acknowledgement(Acknowledgement),
    /// To the requester: the decisions an engineer made.
    Approval(DecisionMail),
    Denial(DecisionMail),
    Revocation(DecisionMail),
    /// To the requester: the approved token has gone unused, and will soon count as stale.
    UsageNotice(UsageNotice),
    /// To the requester: their time-bound grant ends soon, and patdesk revokes it then.
    GrantEnding(GrantEnding),
    /// To the team's alert address.
    Alert(AlertMail),
}

/// The kind of an outgoing mail: the outbox's `kind` column and the template's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutgoingKind {
    Question,
    Reminder,
    Acknowledgement,
    Approval,
    Denial,
    Revocation,
    UsageNotice,
    GrantEnding,
    Alert,
}

impl OutgoingKind {
    pub const ALL: [OutgoingKind; 9] = [
        OutgoingKind::Question,
        OutgoingKind::Reminder,
        OutgoingKind::Acknowledgement,
        OutgoingKind::Approval,
        OutgoingKind::Denial,
        OutgoingKind::Revocation,
        OutgoingKind::UsageNotice,
        OutgoingKind::GrantEnding,
        OutgoingKind::Alert,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutgoingKind::Question => "question",
            OutgoingKind::Reminder => "reminder",
            OutgoingKind::Acknowledgement => "acknowledgement",
            OutgoingKind::Approval => "approval",
            OutgoingKind::Denial => "denial",
            OutgoingKind::Revocation => "revocation",
            OutgoingKind::UsageNotice => "usage_notice",
            OutgoingKind::GrantEnding => "grant_ending",
            OutgoingKind::Alert => "alert",
        }
    }
}

/// The token a question or reminder asks about.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenQuestion {
    pub request: i64,
    pub org: String,
    pub token_name: Option<String>,
    pub owner: String,
    /// `all`, `subset` or `none`.
    pub repository_selection: String,
    pub repositories: Vec<String>,
    /// The permissions in one line (`repository: issues=read; organization: …`).
    pub permissions: String,
    /// RFC 3339; `None` for a token that never expires.
    pub expires_at: Option<String>,
    /// The request's page on GitHub.
    pub review_url: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Acknowledgement {
    pub request: i64,
    pub org: String,
    pub token_name: Option<String>,
    pub owner: String,
    /// The purpose as recorded, quoted back: had somebody else answered, the requester sees it.
    pub purpose: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DecisionMail {
    pub request: i64,
    pub org: String,
    pub token_name: Option<String>,
    pub owner: String,
    /// The member's login.
    pub by: String,
    pub reason: Option<String>,
    /// For a denial: what would meet the policy.
    pub steps: Vec<String>,
    /// For an approval for a time: when it ends (RFC 3339).
    pub until: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UsageNotice {
    pub request: i64,
    pub org: String,
    pub token_name: Option<String>,
    pub owner: String,
    /// RFC 3339, as GitHub reported it; `None` for a token never used.
    pub last_used_at: Option<String>,
    /// Days until the token counts as stale.
    pub stale_in_days: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GrantEnding {
    pub request: i64,
    pub org: String,
    pub token_name: Option<String>,
    pub owner: String,
    /// When patdesk revokes the grant (RFC 3339).
    pub until: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AlertMail {
    pub request: Option<i64>,
    /// The subject: what happened, in a few words.
    pub summary: String,
    pub message: String,
}

impl Outgoing {
    pub fn kind(&self) -> OutgoingKind {
        match self {
            Outgoing::Question(_) => OutgoingKind::Question,
            Outgoing::Reminder(_) => OutgoingKind::Reminder,
            Outgoing::Acknowledgement(_) => OutgoingKind::Acknowledgement,
            Outgoing::Approval(_) => OutgoingKind::Approval,
            Outgoing::Denial(_) => OutgoingKind::Denial,
            Outgoing::Revocation(_) => OutgoingKind::Revocation,
            Outgoing::UsageNotice(_) => OutgoingKind::UsageNotice,
            Outgoing::GrantEnding(_) => OutgoingKind::GrantEnding,
            Outgoing::Alert(_) => OutgoingKind::Alert,
        }
    }

    /// The payload as the outbox stores it.
    pub fn payload(&self) -> serde_json::Value {
        // Adjacently tagged: the payload is the `payload` half. Plain data cannot fail to encode.
        match serde_json::to_value(self) {
            Ok(mut both) => both["payload"].take(),
            Err(_) => serde_json::Value::Null,
        }
    }

    /// A mail as the outbox stored it.
    pub fn from_stored(kind: &str, payload: &serde_json::Value) -> Result<Outgoing, String> {
        serde_json::from_value(serde_json::json!({ "kind": kind, "payload": payload }))
            .map_err(|error| format!("the queued {kind} mail cannot be read: {error}"))
    }

    /// The request the mail is about, if any.
    pub fn request(&self) -> Option<i64> {
        match self {
            Outgoing::Question(question) | Outgoing::Reminder(question) => Some(question.request),
            Outgoing::Acknowledgement(acknowledgement) => Some(acknowledgement.request),
            Outgoing::Approval(decision)
            | Outgoing::Denial(decision)
            | Outgoing::Revocation(decision) => Some(decision.request),
            Outgoing::UsageNotice(notice) => Some(notice.request),
            Outgoing::GrantEnding(ending) => Some(ending.request),
            Outgoing::Alert(alert) => alert.request,
        }
    }

    /// An answer to the requester's own mail (RFC 3834 `auto-replied`), or a mail patdesk
    /// starts (`auto-generated`).
    pub fn auto_submitted(&self) -> &'static str {
        match self {
            Outgoing::Acknowledgement(_) => "auto-replied",
            Outgoing::Question(_)
            | Outgoing::Reminder(_)
            | Outgoing::Approval(_)
            | Outgoing::Denial(_)
            | Outgoing::Revocation(_)
            | Outgoing::UsageNotice(_)
            | Outgoing::GrantEnding(_)
            | Outgoing::Alert(_) => "auto-generated",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mail_comes_back_as_it_was_stored() {
        let mails = [
            Outgoing::Question(TokenQuestion {
                request: 3,
                org: "acme-corp".into(),
                repositories: vec!["acme-corp/api".into()],
                ..TokenQuestion::default()
            }),
            Outgoing::Denial(DecisionMail {
                request: 4,
                steps: vec!["ask for read only".into()],
                ..DecisionMail::default()
            }),
            Outgoing::Alert(AlertMail {
                request: None,
                summary: "mail intake stalled".into(),
                message: "imap has been failing".into(),
            }),
        ];
        for mail in mails {
            let stored = Outgoing::from_stored(mail.kind().as_str(), &mail.payload());
            assert_eq!(stored, Ok(mail));
        }
    }

    #[test]
    fn an_older_payload_with_fewer_fields_still_reads() {
        let mail = Outgoing::from_stored(
            "question",
            &serde_json::json!({ "request": 9, "org": "acme-corp", "owner": "bob" }),
        )
        .expect("lenient");
        assert_eq!(mail.request(), Some(9));
        assert!(Outgoing::from_stored("postcard", &serde_json::json!({})).is_err());
    }
}
