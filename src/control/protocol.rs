//! The control socket's protocol: one request line, one answer line, both JSON, each with
//! the protocol's version. A request names the command and its arguments and nothing about
//! the caller: the daemon learns that from the kernel.

use serde::{Deserialize, Serialize};

use crate::lifecycle::RevokeReason;
use crate::store::ChainHead;

/// Bumped when a request or an answer changes shape; a daemon answers only its own version.
pub const VERSION: u32 = 4;

/// The longest request line a daemon reads: a request is a command and its arguments (the
/// longest a purpose or a note an engineer writes), never a document.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// The most rows one read answers: a command asks again, after the last row it has, until a
/// page comes back short. The daemon never holds more of a table than this for a caller.
pub const PAGE_ROWS: u32 = 500;
/// The most summary lines (`list` without `--json`, a hundred bytes each) one read answers.
pub const SUMMARY_PAGE_ROWS: u32 = 5000;

/// The page of a `list`: whole records, or summary lines.
pub fn list_page_rows(full: bool) -> u32 {
    if full { PAGE_ROWS } else { SUMMARY_PAGE_ROWS }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub version: u32,
    #[serde(flatten)]
    pub body: T,
}

/// What an engineer asks the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Request {
    Approve {
        id: i64,
        reason: Option<String>,
        /// A time-bound grant: when patdesk revokes it.
        #[serde(default, with = "crate::store::stored_time::option")]
        until: Option<jiff::Timestamp>,
    },
    Deny {
        id: i64,
        reason: String,
    },
    Revoke {
        id: i64,
        reason: RevokeReason,
        note: Option<String>,
    },
    /// Revoke an approved token no request accounts for, by its grant.
    RevokeOutside {
        org: String,
        grant_id: i64,
        reason: RevokeReason,
        note: Option<String>,
    },
    Note {
        id: i64,
        text: String,
    },
    Purpose {
        id: i64,
        text: String,
    },
    Contact {
        id: i64,
        email: String,
        replace: bool,
    },
    /// Accept requests where the policy `policy` (`policy@<sha256>`) would have approved what
    /// people denied, so they no longer hold it back from enforcing.
    AcceptPolicyCases {
        policy: String,
        ids: Vec<i64>,
        reason: String,
    },
    /// Take an unverified answer waiting in triage as the requester's purpose.
    AcceptAnswer {
        mail: i64,
    },
    /// Take mail out of triage, changing nothing else, for a stated reason.
    DismissTriage {
        mail: i64,
        reason: String,
    },
    Resend {
        mail: i64,
    },
    /// Sync now (every org, or one) and carry queued decisions to GitHub.
    Sync {
        org: Option<String>,
    },
    // Reads, each answering at most `PAGE_ROWS` rows.
    /// Whole records with `full`, else one summary line each (the filter's limit at most a
    /// page; its offset pages further).
    List {
        filter: crate::store::ListFilter,
        full: bool,
    },
    /// The approved tokens no request accounts for, after the first `offset`.
    OutsideTokens {
        stale: bool,
        no_expiry: bool,
        offset: u32,
    },
    Show {
        id: i64,
    },
    /// The records sheet's requests after id `after`.
    Export {
        after: i64,
    },
    /// The revocations of tokens no request accounts for, after event `after`.
    OutsideRevocations {
        after: i64,
    },
    /// The mail waiting for a person, after mail `after`; with `all`, also the mail taken
    /// out of triage.
    Triage {
        after: i64,
        #[serde(default)]
        all: bool,
    },
    /// The mail not certainly sent, after outbox mail `after`.
    OutboxList {
        after: i64,
    },
    Status,
    AuditVerify {
        head: Option<ChainHead>,
    },
    AuditHead,
    /// The audit events after `seq`, oldest first, at most `limit` (and a page).
    EventsAfter {
        seq: i64,
        limit: u32,
    },
}

impl Request {
    /// The most rows this read answers at once: a shorter page is the last.
    pub fn page_rows(&self) -> u32 {
        match self {
            Request::List { full, .. } => list_page_rows(*full),
            _ => PAGE_ROWS,
        }
    }

    /// Whether the request changes a record: only team members may send those.
    pub fn writes(&self) -> bool {
        match self {
            Request::Approve { .. }
            | Request::Deny { .. }
            | Request::Revoke { .. }
            | Request::RevokeOutside { .. }
            | Request::Note { .. }
            | Request::Purpose { .. }
            | Request::Contact { .. }
            | Request::AcceptAnswer { .. }
            | Request::AcceptPolicyCases { .. }
            | Request::DismissTriage { .. }
            | Request::Resend { .. }
            | Request::Sync { .. } => true,
            Request::List { .. }
            | Request::OutsideTokens { .. }
            | Request::Show { .. }
            | Request::Export { .. }
            | Request::OutsideRevocations { .. }
            | Request::Triage { .. }
            | Request::OutboxList { .. }
            | Request::Status
            | Request::AuditVerify { .. }
            | Request::AuditHead
            | Request::EventsAfter { .. } => false,
        }
    }
}

/// The daemon's answer. A done answer is JSON text, encoded once by the daemon and decoded
/// once by the CLI into the type it expects (a records sheet is large).
#[derive(Debug, Clone)]
pub enum Reply {
    Done(Box<serde_json::value::RawValue>),
    Failed { error: ErrorKind, message: String },
}

/// The answer line as it travels.
#[derive(Debug, Serialize, Deserialize)]
pub struct AnswerLine {
    pub version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Box<serde_json::value::RawValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl From<Reply> for AnswerLine {
    fn from(reply: Reply) -> AnswerLine {
        match reply {
            Reply::Done(answer) => AnswerLine {
                version: VERSION,
                answer: Some(answer),
                error: None,
                message: None,
            },
            Reply::Failed { error, message } => AnswerLine {
                version: VERSION,
                answer: None,
                error: Some(error),
                message: Some(message),
            },
        }
    }
}

impl AnswerLine {
    /// The reply, or why this line is none.
    pub fn reply(self) -> Result<Reply, String> {
        if self.version != VERSION {
            return Err(format!(
                "the daemon speaks protocol version {}, this command {VERSION}: run the same patdesk version as the daemon",
                self.version
            ));
        }
        match (self.answer, self.error) {
            (Some(answer), None) => Ok(Reply::Done(answer)),
            (None, Some(error)) => Ok(Reply::Failed {
                error,
                message: self.message.unwrap_or_default(),
            }),
            _ => Err("an answer with neither a result nor an error".to_string()),
        }
    }
}

/// Why a request failed; the CLI turns each into its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The request itself was malformed (an empty reason, not an address).
    Invalid,
    /// No request or mail with that id.
    NotFound,
    /// The rules refused it, or the caller is not a team member.
    Refused,
    /// The daemon could not do it.
    Failure,
    /// The daemon speaks another version of the protocol.
    Version,
    /// The daemon cannot do this at all with its config (no [github], say).
    NotConfigured,
    /// `audit verify` found the log broken.
    AuditBroken,
    /// Too many connections open: the caller's account holds its share, or all are taken.
    Busy,
}
