//! Carrying decisions to GitHub, once each.
//!
//! Each attempt is counted and committed before the call. If patdesk dies after GitHub took
//! the decision but before recording it, the next attempt sees an earlier attempt and first
//! checks whether GitHub already has it, so nothing is sent twice. A failure is recorded on
//! the request (or, for a token no request accounts for, in the audit log) and does not hold
//! up the others.
//!
//! A push goes out only when the audit log backs it: the chain verifies, and the event that
//! queued the push names the team member whose decision it carries (or root's break-glass).
//! Anything else (a row inserted by hand, a member since removed) is refused, never sent, and
//! raised as an alert.

use serde::Serialize;
use serde_json::json;

use crate::config::TeamConfig;
use crate::github::{GithubClient, GithubError, Ruling};
use crate::lifecycle::{Authentication, Member, PushAction};
use crate::store::{
    AlertKind, Push, PushOutcome, PushTarget, RequestRecord, Store, StoreError, Verification,
};

#[derive(Debug, Default, Clone, Serialize)]
pub struct PushReport {
    pub done: usize,
    pub failed: usize,
    pub retrying: usize,
    /// Not backed by a member's decision in the verified audit log: never sent.
    pub refused: usize,
}

impl std::fmt::Display for PushReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "decisions to GitHub: {} done, {} failed, {} to retry",
            self.done, self.failed, self.retrying
        )?;
        if self.refused > 0 {
            write!(
                f,
                ", {} refused (not backed by the audit log)",
                self.refused
            )?;
        }
        Ok(())
    }
}

/// Whose decisions may be carried to GitHub: the team's members, and the team's policy while
/// it enforces (`[policy] mode = "enforce"`), by its actor `policy@<sha256>`.
#[derive(Debug, Clone)]
pub struct Deciders {
    pub team: TeamConfig,
    pub policy: Option<String>,
}

impl Deciders {
    /// The deciders `config` names: its team, and its policy when it enforces (read from its
    /// file, as the daemon reads it).
    pub fn of(config: &crate::config::Config) -> Result<Deciders, crate::policy::PolicyError> {
        let policy = match &config.policy {
            Some(policy) if policy.mode == crate::config::PolicyMode::Enforce => {
                Some(crate::policy::Policy::load(&policy.file)?)
            }
            Some(_) | None => None,
        };
        Ok(Deciders::with(config, policy.as_ref()))
    }

    /// [`Deciders::of`] with the policy file already read (`loaded`, the daemon's).
    pub fn with(
        config: &crate::config::Config,
        loaded: Option<&crate::policy::Policy>,
    ) -> Deciders {
        let enforces = config
            .policy
            .as_ref()
            .is_some_and(|policy| policy.mode == crate::config::PolicyMode::Enforce);
        Deciders {
            team: config.team.clone(),
            policy: loaded
                .filter(|_| enforces)
                .map(crate::policy::Policy::actor),
        }
    }
}

impl From<&TeamConfig> for Deciders {
    fn from(team: &TeamConfig) -> Deciders {
        Deciders {
            team: team.clone(),
            policy: None,
        }
    }
}

impl From<&Deciders> for Deciders {
    fn from(deciders: &Deciders) -> Deciders {
        deciders.clone()
    }
}

/// Why the audit log does not back `push`, or `None` when it does.
fn unbacked(
    store: &Store,
    push: &Push,
    chain: &Verification,
    deciders: &Deciders,
) -> Result<Option<String>, StoreError> {
    if let Some(broken) = &chain.first_break {
        return Ok(Some(format!(
            "the audit log is broken at event {} ({}): no decision is carried until it is repaired",
            broken.seq, broken.problem
        )));
    }
    let Some(backing) = store.push_backing(push)? else {
        return Ok(Some("no event in the audit log queued it".to_string()));
    };
    // The team's own timers only ever take access away: a grant's end revokes, a deadline
    // denies, needing no member's say beyond the config (or the approval that set the end).
    match (
        backing.decided_by.as_ref().map(|d| d.authenticated_by),
        push.action.known(),
    ) {
        (Some(Authentication::GrantEnd), Some(PushAction::Revoke))
        | (Some(Authentication::Deadline), Some(PushAction::Deny)) => return Ok(None),
        (Some(Authentication::GrantEnd), _) => {
            return Ok(Some(format!(
                "event {}: the end of a grant may only revoke it",
                backing.seq
            )));
        }
        (Some(Authentication::Deadline), _) => {
            return Ok(Some(format!(
                "event {}: a deadline may only deny",
                backing.seq
            )));
        }
        _ => {}
    }
    if let Some(why) = not_a_decider(backing.decided_by.as_ref(), deciders) {
        return Ok(Some(format!("event {}: {why}", backing.seq)));
    }
    // Each approval a decision completed is a decider's too, and each a different one's.
    let mut counted: Vec<&str> = backing
        .decided_by
        .iter()
        .map(|decider| decider.login.as_str())
        .collect();
    for earlier in &backing.with_approvals {
        if let Some(why) = not_a_decider(earlier.as_ref(), deciders) {
            return Ok(Some(format!("an approval it counted: {why}")));
        }
        let Some(earlier) = earlier else { continue };
        if counted
            .iter()
            .any(|login| login.eq_ignore_ascii_case(&earlier.login))
        {
            return Ok(Some(format!(
                "{} approved it twice: the approvals it needs are distinct members'",
                earlier.login
            )));
        }
        counted.push(&earlier.login);
    }
    Ok(None)
}

/// Why `member`, as an event names them, may not have a decision carried, or `None`.
fn not_a_decider(member: Option<&Member>, deciders: &Deciders) -> Option<String> {
    let Some(member) = member else {
        return Some("it names no team member".to_string());
    };
    match member.authenticated_by {
        Authentication::PeerCredentials | Authentication::SlackUserId
            if deciders.team.has_login(&member.login) =>
        {
            None
        }
        Authentication::PeerCredentials | Authentication::SlackUserId => Some(format!(
            "{} decided it but is not a team member in the config",
            member.login
        )),
        Authentication::BreakGlass => None,
        // The policy decides only while it is the one the config enforces.
        Authentication::Policy if deciders.policy.as_deref() == Some(member.login.as_str()) => None,
        Authentication::Policy => Some(format!(
            "{} is not the policy the config enforces",
            member.login
        )),
        Authentication::GrantEnd | Authentication::Deadline => Some(format!(
            "{} is one of patdesk's timers, which approve nothing",
            member.login
        )),
    }
}

/// Why a retried push sent nothing.
const ALREADY_DONE: &str = "GitHub already had it from an earlier attempt";

/// What became of one push.
enum Carried {
    Done(serde_json::Value),
    Failed(String),
    Retry(String),
}

pub async fn push_decisions(
    client: &GithubClient,
    store: &mut Store,
    deciders: impl Into<Deciders>,
) -> Result<PushReport, StoreError> {
    let deciders = deciders.into();
    let mut report = PushReport::default();
    let queued = store.queued_pushes()?;
    if queued.is_empty() {
        return Ok(report);
    }
    let chain = store.verify_chain(None)?;
    for push in queued {
        if let Some(why) = unbacked(store, &push, &chain, &deciders)? {
            store.write(|tx| {
                tx.record_push_outcome(
                    &push,
                    PushOutcome::Failed,
                    json!({ "error": format!("refused: {why}") }),
                )?;
                tx.raise_alert(
                    AlertKind::GithubPushRefused,
                    push.target.request_id(),
                    &format!(
                        "The {} of {} was not sent to GitHub: {why}",
                        push.action, push.target
                    ),
                )
            })?;
            tracing::warn!(push = push.id, target = %push.target, why, "a GitHub push refused");
            report.refused += 1;
            continue;
        }
        store.write(|tx| tx.record_push_attempt(push.id))?;
        let carried = match &push.target {
            PushTarget::Request(id) => carry(client, &store.request(*id)?, &push).await,
            PushTarget::OutsideGrant { org, grant_id } => {
                carry_outside_revocation(client, org, *grant_id, &push).await
            }
        };
        store.write(|tx| {
            match carried {
                Carried::Done(detail) => {
                    tx.record_push_outcome(&push, PushOutcome::Done, detail)?;
                    report.done += 1;
                }
                Carried::Failed(error) => {
                    tx.record_push_outcome(&push, PushOutcome::Failed, json!({ "error": error }))?;
                    tx.raise_alert(
                        AlertKind::GithubPushFailed,
                        push.target.request_id(),
                        &format!(
                            "The {} of {} could not be carried to GitHub: {error}",
                            push.action, push.target
                        ),
                    )?;
                    report.failed += 1;
                }
                Carried::Retry(error) => {
                    tx.record_push_outcome(&push, PushOutcome::Retry, json!({ "error": error }))?;
                    report.retrying += 1;
                }
            }
            Ok::<_, StoreError>(())
        })?;
    }
    Ok(report)
}

async fn carry(client: &GithubClient, record: &RequestRecord, push: &Push) -> Carried {
    let org = &record.request.org;
    let Some(action) = push.action.known() else {
        return Carried::Failed(format!("unknown action {:?}", push.action.as_str()));
    };
    if push.attempts > 0 {
        match already_done(client, record, action).await {
            Ok(true) => {
                return Carried::Done(json!({ "note": ALREADY_DONE }));
            }
            Ok(false) => {}
            Err(error) => return classify(error),
        }
    }
    let decide = |ruling| async move {
        client
            .decide(
                org,
                record.github_request_id,
                ruling,
                push.reason.as_deref(),
            )
            .await
            .map(|trimmed| json!({ "reason_trimmed": trimmed }))
    };
    let result = match action {
        PushAction::Approve => decide(Ruling::Approve).await,
        PushAction::Deny => decide(Ruling::Deny).await,
        PushAction::Revoke => match grant_id(client, record).await {
            Ok(Some(grant_id)) => client
                .revoke(org, grant_id)
                .await
                .map(|()| json!({ "grant_id": grant_id })),
            Ok(None) => {
                return Carried::Failed(
                    "no approved token on GitHub matches this request".to_string(),
                );
            }
            Err(error) => Err(error),
        },
    };
    match result {
        Ok(detail) => Carried::Done(detail),
        Err(GithubError::NotFound { .. }) if action != PushAction::Revoke => Carried::Failed(
            "the request is no longer pending on GitHub (decided or withdrawn there)".to_string(),
        ),
        Err(error) => classify(error),
    }
}

/// Revokes a token no request accounts for, by its grant. After an earlier attempt, GitHub's
/// listing says whether that one went through.
async fn carry_outside_revocation(
    client: &GithubClient,
    org: &str,
    grant_id: i64,
    push: &Push,
) -> Carried {
    if push.attempts > 0 {
        match client.grants(org).await {
            Ok(grants) if !grants.iter().any(|grant| grant.id == grant_id) => {
                return Carried::Done(json!({ "note": ALREADY_DONE }));
            }
            Ok(_) => {}
            Err(error) => return classify(error),
        }
    }
    match client.revoke(org, grant_id).await {
        Ok(()) => Carried::Done(json!({ "grant_id": grant_id })),
        Err(GithubError::NotFound { .. }) => Carried::Failed(
            "GitHub has no such grant (revoked there, or the token expired)".to_string(),
        ),
        Err(error) => classify(error),
    }
}

fn classify(error: GithubError) -> Carried {
    if error.is_transient() {
        Carried::Retry(error.to_string())
    } else {
        Carried::Failed(error.to_string())
    }
}

/// Whether GitHub already reflects the decision.
async fn already_done(
    client: &GithubClient,
    record: &RequestRecord,
    action: PushAction,
) -> Result<bool, GithubError> {
    match action {
        // Read from the listing filtered to the token: the whole one can shift while read.
        PushAction::Approve | PushAction::Deny => {
            Ok(!super::gone::is_pending(client, record).await?)
        }
        PushAction::Revoke => Ok(grant_id(client, record).await?.is_none()),
    }
}

/// The grant to revoke: recorded by the sync, or found among the approved tokens.
async fn grant_id(
    client: &GithubClient,
    record: &RequestRecord,
) -> Result<Option<i64>, GithubError> {
    let grants = client.grants(&record.request.org).await?;
    Ok(grants
        .iter()
        .find(|grant| {
            Some(grant.id) == record.grant_id
                || (record.token_id.is_some() && grant.token.id == record.token_id)
        })
        .map(|grant| grant.id))
}
