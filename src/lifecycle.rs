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

/// Who wants to act, on whose request.
pub struct Actor<'a> {
    pub login: &'a str,
    pub team: &'a [String],
}

/// Refuses anyone outside the team: only its members act on the records.
pub fn team_member(actor: &Actor<'_>) -> Result<(), Refusal> {
    if actor
        .team
        .iter()
        .any(|member| member.eq_ignore_ascii_case(actor.login))
    {
        return Ok(());
    }
    Err(Refusal(format!(
        "{} is not a member of the team (team.members in the config: {})",
        actor.login,
        if actor.team.is_empty() {
            "empty".to_string()
        } else {
            actor.team.join(", ")
        }
    )))
}

/// The state `action` leads to, or why it is refused.
pub fn transition(
    action: Action,
    state: RequestState,
    actor: &Actor<'_>,
    owner_login: &str,
) -> Result<RequestState, Refusal> {
    team_member(actor)?;
    use RequestState::*;
    match action {
        Action::Note => Ok(state),
        Action::Approve if actor.login.eq_ignore_ascii_case(owner_login) => Err(Refusal(format!(
            "{} owns this token and may not approve it: another member of the team must",
            actor.login
        ))),
        Action::Approve => match state {
            InReview => Ok(Approved),
            New | AwaitingPurpose | NeedsContact => Err(Refusal(format!(
                "the request is {state}: its purpose is not known yet; record it with `patdesk purpose` first"
            ))),
            _ => Err(already(state)),
        },
        Action::Deny => match state {
            New | AwaitingPurpose | InReview | NeedsContact => Ok(Denied),
            _ => Err(already(state)),
        },
        Action::Revoke => match state {
            Approved => Ok(Revoked),
            _ => Err(Refusal(format!(
                "the request is {state}: only an approved token can be revoked"
            ))),
        },
        Action::RecordPurpose => match state {
            New | AwaitingPurpose | InReview | NeedsContact => Ok(InReview),
            _ => Err(already(state)),
        },
    }
}

fn already(state: RequestState) -> Refusal {
    Refusal(format!(
        "the request is already {state}: nothing left to decide"
    ))
}

/// Why a token was revoked (the runbook's three cases).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RevokeReason {
    Expired,
    NoLongerRequired,
    Compromised,
}

impl RevokeReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RevokeReason::Expired => "expired",
            RevokeReason::NoLongerRequired => "no-longer-required",
            RevokeReason::Compromised => "compromised",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team() -> Vec<String> {
        vec!["alice".to_string(), "Bob".to_string()]
    }

    fn act(
        action: Action,
        state: RequestState,
        login: &str,
        owner: &str,
    ) -> Result<RequestState, Refusal> {
        let team = team();
        transition(action, state, &Actor { login, team: &team }, owner)
    }

    #[test]
    fn approval_needs_a_known_purpose_and_another_person() {
        assert_eq!(
            act(Action::Approve, RequestState::InReview, "bob", "carol"),
            Ok(RequestState::Approved)
        );
        let own = act(Action::Approve, RequestState::InReview, "alice", "Alice").unwrap_err();
        assert!(own.0.contains("owns this token"), "{own}");
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
    fn only_team_members_act() {
        let stranger = act(Action::Note, RequestState::New, "mallory", "carol").unwrap_err();
        assert!(
            stranger.0.contains("not a member") && stranger.0.contains("alice, Bob"),
            "{stranger}"
        );
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
