//! A request's life: which decisions are allowed from which state, and who may make them.
//! Pure rules; the commands record what these allow.

use crate::request::RequestState;

/// What an engineer can do to a request from the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Approve,
    Deny,
    Revoke,
    /// Record a purpose given another way (Slack, a call).
    RecordPurpose,
    Note,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Approve => "approve",
            Action::Deny => "deny",
            Action::Revoke => "revoke",
            Action::RecordPurpose => "record a purpose for",
            Action::Note => "note",
        }
    }
}

/// Why an action was refused, in words for the engineer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(pub String);

/// A team member as the daemon authenticated them: the GitHub login from the daemon's own
/// config, and the OS account the kernel said was calling. Every event of a change they make
/// records all of it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Member {
    /// The GitHub login, spelt as the config spells it.
    pub login: String,
    pub os_user: String,
    pub uid: u32,
    pub authenticated_by: Authentication,
    /// Who Slack said clicked, when the decision was taken in Slack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<SlackIdentity>,
}

/// A Slack user as a payload from the team's Slack app names them: the IDs the daemon checked
/// against its config, never a display name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SlackIdentity {
    pub user_id: String,
    pub team_id: String,
}

/// How the daemon knows who is calling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Authentication {
    /// The uid the kernel reports for the control socket's peer (`SO_PEERCRED`), mapped to a
    /// member by the daemon's config.
    PeerCredentials,
    /// root, with the daemon stopped, writing the database directly. Recorded as root, never
    /// as a member.
    BreakGlass,
    /// A click in the team's Slack channel, by the Slack user ID the daemon's config maps to
    /// the member, in a payload from the configured app and workspace over the app's own
    /// Socket Mode connection. It proves what Slack says, no more: Slack's sign-in, not the
    /// member's OS account.
    SlackUserId,
    /// The end of a time-bound grant (`approve --until`): patdesk revokes the token at the
    /// time the approving member set, in their name. Nobody is calling: the daemon acts on a
    /// decision already in the trail, and such a change is only ever a revocation.
    GrantEnd,
    /// The team's deadline (`review.deny_after_hours`): a request nobody decided in that
    /// time is denied, with that reason. Such a change is only ever a denial.
    Deadline,
    /// The team's policy (`[policy] mode = "enforce"`), as `policy@<sha256 of the file>`: the
    /// daemon put the request to it and acts on its answer, above the floor it cannot lower.
    Policy,
}

impl Member {
    /// The actor of break-glass changes: plainly not a team member's login.
    pub const BREAK_GLASS_ACTOR: &str = "break-glass:root";

    /// The actor of denials by the team's deadline: plainly not a member's login (a GitHub
    /// login has no colon).
    pub const DEADLINE_ACTOR: &str = "patdesk:deadline";

    pub fn deadline() -> Member {
        Member {
            login: Member::DEADLINE_ACTOR.to_string(),
            os_user: "patdesk".to_string(),
            uid: crate::control::peer::effective_uid(),
            authenticated_by: Authentication::Deadline,
            slack: None,
        }
    }

    pub fn break_glass() -> Member {
        Member {
            login: Member::BREAK_GLASS_ACTOR.to_string(),
            os_user: "root".to_string(),
            uid: 0,
            authenticated_by: Authentication::BreakGlass,
            slack: None,
        }
    }
}

/// The state `action` leads to, or why it is refused.
/// `member` is already authenticated: who may act at all is the daemon's config's business.
pub fn transition(
    action: Action,
    state: RequestState,
    member: &Member,
    owner_login: &str,
) -> Result<RequestState, Refusal> {
    use RequestState::*;
    match action {
        Action::Note => Ok(state),
        // GitHub logins are case-insensitive: `Carol` is carol.
        Action::Approve if member.login.eq_ignore_ascii_case(owner_login) => Err(Refusal(format!(
            "{} owns this token and may not approve it: another member of the team must",
            member.login
        ))),
        Action::Approve => match state {
            InReview => Ok(Approved),
            New | AwaitingPurpose | NeedsContact => Err(Refusal(format!(
                "the request is {state}: its purpose is not known yet; record it with `patdesk purpose` first"
            ))),
            Approved | Denied | Revoked | Expired | Withdrawn => Err(already(state)),
        },
        Action::Deny => match state {
            New | AwaitingPurpose | InReview | NeedsContact => Ok(Denied),
            Approved | Denied | Revoked | Expired | Withdrawn => Err(already(state)),
        },
        Action::Revoke => match state {
            Approved => Ok(Revoked),
            New | AwaitingPurpose | InReview | NeedsContact | Denied | Revoked | Expired
            | Withdrawn => Err(Refusal(format!(
                "the request is {state}: only an approved token can be revoked"
            ))),
        },
        Action::RecordPurpose => match state {
            New | AwaitingPurpose | InReview | NeedsContact => Ok(InReview),
            Approved | Denied | Revoked | Expired | Withdrawn => Err(already(state)),
        },
    }
}

fn already(state: RequestState) -> Refusal {
    Refusal(format!(
        "the request is already {state}: nothing left to decide"
    ))
}

/// Why a token was revoked (the runbook's three cases).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RevokeReason {
    Expired,
    NoLongerRequired,
    Compromised,
}

impl RevokeReason {
    pub const ALL: [RevokeReason; 3] = [
        RevokeReason::Expired,
        RevokeReason::NoLongerRequired,
        RevokeReason::Compromised,
    ];

    /// The reason `as_str` names.
    pub fn named(name: &str) -> Option<RevokeReason> {
        RevokeReason::ALL
            .into_iter()
            .find(|reason| reason.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RevokeReason::Expired => "expired",
            RevokeReason::NoLongerRequired => "no-longer-required",
            RevokeReason::Compromised => "compromised",
        }
    }
}

/// What a decision asks GitHub to do; the push task carries it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushAction {
    Approve,
    Deny,
    Revoke,
}

impl PushAction {
    pub const ALL: [PushAction; 3] = [PushAction::Approve, PushAction::Deny, PushAction::Revoke];

    /// As the push queue and the audit log name it.
    pub fn as_str(self) -> &'static str {
        match self {
            PushAction::Approve => "approve",
            PushAction::Deny => "deny",
            PushAction::Revoke => "revoke",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn act(
        action: Action,
        state: RequestState,
        login: &str,
        owner: &str,
    ) -> Result<RequestState, Refusal> {
        let member = Member {
            login: login.to_string(),
            os_user: login.to_lowercase(),
            uid: 1000,
            authenticated_by: Authentication::PeerCredentials,
            slack: None,
        };
        transition(action, state, &member, owner)
    }

    #[test]
    fn approval_needs_a_known_purpose_and_another_person() {
        assert_eq!(
            act(Action::Approve, RequestState::InReview, "bob", "carol"),
            Ok(RequestState::Approved)
        );
        for (login, owner) in [("alice", "Alice"), ("ALICE", "alice"), ("Alice", "aLiCe")] {
            let own = act(Action::Approve, RequestState::InReview, login, owner).unwrap_err();
            assert!(own.0.contains("owns this token"), "{own}");
        }
        let early = act(
            Action::Approve,
            RequestState::AwaitingPurpose,
            "bob",
            "carol",
        )
        .unwrap_err();
        assert!(early.0.contains("patdesk purpose"), "{early}");
    }

    #[test]
    fn decided_requests_stay_decided() {
        for state in [
            RequestState::Approved,
            RequestState::Denied,
            RequestState::Withdrawn,
        ] {
            assert!(act(Action::Deny, state, "bob", "carol").is_err());
            assert!(act(Action::RecordPurpose, state, "bob", "carol").is_err());
        }
        assert_eq!(
            act(Action::Revoke, RequestState::Approved, "bob", "carol"),
            Ok(RequestState::Revoked)
        );
        assert!(act(Action::Revoke, RequestState::InReview, "bob", "carol").is_err());
        assert_eq!(
            act(Action::Note, RequestState::Denied, "bob", "carol"),
            Ok(RequestState::Denied)
        );
    }

    #[test]
    fn a_purpose_moves_an_open_request_into_review() {
        for state in [
            RequestState::New,
            RequestState::AwaitingPurpose,
            RequestState::NeedsContact,
        ] {
            assert_eq!(
                act(Action::RecordPurpose, state, "alice", "carol"),
                Ok(RequestState::InReview)
            );
        }
    }
}
