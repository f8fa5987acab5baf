//! A click in the team's channel, turned into a decision: the clicker is a team member only
//! by the Slack user ID the daemon's config maps, the request must be within
//! `slack.decide_up_to`, and the decision goes through [`crate::decide`] exactly as the CLI's
//! does, recorded under the member with `"authenticated_by": "slack_user_id"` and the Slack
//! user and workspace IDs. What is refused is said to the clicker alone (an ephemeral
//! message), naming no members.

use crate::config::{SlackConfig, TeamConfig};
use crate::decide::{self, DecideError};
use crate::lifecycle::{Action, Authentication, Member, SlackIdentity, transition};
use crate::review::ReviewPolicy;
use crate::store::{RequestRecord, Store, StoreError};
use crate::wake::Wake;

use super::api::WebApi;
use super::interaction::{self, Click, Clicker, Interaction, NotActed, ReasonFor, Reasoned};
use super::message;
use super::socket::{Delivered, Seen};

/// What the daemon's Slack task decides with.
pub struct SlackDesk {
    pub config: SlackConfig,
    pub team: TeamConfig,
    pub review: ReviewPolicy,
    pub api: WebApi,
    pub store: Store,
    /// Rung after a decision: the outbox, the GitHub pushes, the channel's messages.
    pub after_decision: Vec<Wake>,
    /// Clicks already taken, by `trigger_id`: Slack may deliver one click in two envelopes.
    clicks: Seen,
}

impl SlackDesk {
    pub fn new(
        config: SlackConfig,
        team: TeamConfig,
        review: ReviewPolicy,
        api: WebApi,
        store: Store,
        after_decision: Vec<Wake>,
    ) -> SlackDesk {
        SlackDesk {
            config,
            team,
            review,
            api,
            store,
            after_decision,
            clicks: Seen::default(),
        }
    }

    /// Acts on one acknowledged envelope.
    pub async fn handle(&mut self, delivered: Delivered) {
        if delivered.kind != "interactive" {
            tracing::debug!(kind = delivered.kind, "Slack envelope not acted on");
            return;
        }
        match interaction::read(&delivered.payload, &self.config) {
            Ok(Interaction::Click {
                who,
                click,
                request,
                trigger_id,
            }) => {
                if self.clicks.first_time(&trigger_id) {
                    self.click(&who, click, request, &trigger_id).await;
                }
            }
            Ok(Interaction::Reason {
                who,
                reason_for,
                reason,
            }) => self.reasoned(&who, reason_for, &reason).await,
            Err(NotActed::Unused(what)) => {
                tracing::debug!(what, "Slack interaction not used");
            }
            Err(refused @ (NotActed::Foreign { .. } | NotActed::Malformed(_))) => {
                tracing::warn!(
                    envelope = delivered.envelope_id,
                    "Slack payload refused: {refused}"
                );
            }
        }
    }

    async fn click(&mut self, who: &Clicker, click: Click, id: i64, trigger_id: &str) {
        let member = match self.member(who) {
            Ok(member) => member,
            Err(refusal) => return self.tell(who, &refusal).await,
        };
        let record = match self.record(id) {
            Ok(record) => record,
            Err(refusal) => return self.tell(who, &refusal).await,
        };
        let view = match click {
            Click::Show => message::full_modal(&record),
            Click::Deny => match self.may(&member, &record, Action::Deny) {
                Ok(()) => message::reason_modal(
                    &ReasonFor {
                        request: id,
                        decision: Reasoned::Deny,
                    },
                    &record,
                ),
                Err(refusal) => return self.tell(who, &refusal).await,
            },
            Click::Approve => {
                if let Err(refusal) = self.may(&member, &record, Action::Approve) {
                    return self.tell(who, &refusal).await;
                }
                if !decide::approval_needs_reason(&self.review, record.risk) {
                    return self.decide(&member, who, id, Reasoned::Approve, None).await;
                }
                message::reason_modal(
                    &ReasonFor {
                        request: id,
                        decision: Reasoned::Approve,
                    },
                    &record,
                )
            }
        };
        // Within the acknowledgement's 3 s: the trigger expires after that.
        if let Err(error) = self.api.open_view(trigger_id, &view).await {
            tracing::warn!(%error, request = id, "cannot open the Slack modal");
            self.tell(
                who,
                &format!("PAT-{id}: the form could not be opened ({error}); try again"),
            )
            .await;
        }
    }

    async fn reasoned(&mut self, who: &Clicker, reason_for: ReasonFor, reason: &str) {
        let member = match self.member(who) {
            Ok(member) => member,
            Err(refusal) => return self.tell(who, &refusal).await,
        };
        self.decide(
            &member,
            who,
            reason_for.request,
            reason_for.decision,
            Some(reason),
        )
        .await;
    }

    async fn decide(
        &mut self,
        member: &Member,
        who: &Clicker,
        id: i64,
        decision: Reasoned,
        reason: Option<&str>,
    ) {
        let cap = self.config.decide_up_to;
        let decided = match decision {
            Reasoned::Approve => {
                decide::approve_up_to(&mut self.store, member, id, reason, None, &self.review, cap)
            }
            Reasoned::Deny => {
                decide::deny_up_to(&mut self.store, member, id, reason.unwrap_or(""), cap)
            }
        };
        match decided {
            Ok(decided) => {
                tracing::info!(
                    request = id,
                    by = decided.by,
                    slack_user = who.user_id,
                    state = %decided.state,
                    "decided in Slack"
                );
                for wake in &self.after_decision {
                    wake.wake();
                }
                if let Some(approvals) = decided.approvals.filter(|a| a.missing() > 0) {
                    let text = format!(
                        "Your approval of PAT-{id} is recorded ({} of {}). It needs {} more \
                         member(s) to approve before GitHub and the requester are told.",
                        approvals.given.len(),
                        approvals.needed,
                        approvals.missing()
                    );
                    self.tell(who, &text).await;
                }
            }
            Err(error) => {
                self.tell(
                    who,
                    &format!("PAT-{id} was not decided: {}", refusal_text(&error)),
                )
                .await;
            }
        }
    }

    /// The member the clicker is, by their Slack user ID alone.
    fn member(&self, who: &Clicker) -> Result<Member, String> {
        let not_member = || {
            format!(
                "You are not a patdesk member: your Slack user ({}) is not mapped to one in the daemon's config. Ask the team's admins.",
                who.user_id
            )
        };
        let mapped = self
            .team
            .by_slack_user(&who.user_id)
            .ok_or_else(not_member)?;
        let uid = crate::control::peer::user_id(&mapped.unix).ok_or_else(|| {
            tracing::warn!(
                member = mapped.login,
                unix = mapped.unix,
                "a Slack click by a member whose OS account does not exist on this host: refused"
            );
            not_member()
        })?;
        Ok(Member {
            login: mapped.login.clone(),
            os_user: mapped.unix.clone(),
            uid,
            authenticated_by: Authentication::SlackUserId,
            slack: Some(SlackIdentity {
                user_id: who.user_id.clone(),
                team_id: who.team_id.clone(),
            }),
        })
    }

    fn record(&self, id: i64) -> Result<RequestRecord, String> {
        self.store.request(id).map_err(|error| match error {
            StoreError::NoSuchRequest(_) => format!("PAT-{id} is not a request patdesk knows"),
            other => {
                tracing::error!(error = %other, request = id, "cannot read a request for Slack");
                format!("PAT-{id} cannot be read just now; try again")
            }
        })
    }

    /// Whether `member` may take `action` on `record` from Slack, or what to tell them.
    fn may(&self, member: &Member, record: &RequestRecord, action: Action) -> Result<(), String> {
        let cap = self.config.decide_up_to;
        if record.risk > cap {
            return Err(format!(
                "PAT-{id} is {} risk; Slack decides up to {} risk (slack.decide_up_to). Decide it with the CLI: patdesk {} {id}",
                record.risk.as_str(),
                cap.as_str(),
                action.as_str(),
                id = record.id,
            ));
        }
        transition(action, record.state, member, &record.request.owner_login)
            .map(drop)
            .map_err(|refusal| format!("PAT-{}: {refusal}", record.id))
    }

    /// A message only the clicker sees, in the channel; the journal has it too.
    async fn tell(&mut self, who: &Clicker, text: &str) {
        tracing::info!(
            slack_user = who.user_id,
            "Slack click not acted on: {}",
            crate::shown::quoted(text, 200)
        );
        let text = crate::shown::slack(text);
        if let Err(error) = self
            .api
            .post_ephemeral(&self.config.channel, &who.user_id, &text)
            .await
        {
            tracing::warn!(%error, "cannot tell a Slack user why their click was refused");
        }
    }
}

fn refusal_text(error: &DecideError) -> String {
    match error {
        DecideError::Refused(refusal) => refusal.to_string(),
        DecideError::Invalid(problem) => problem.clone(),
        DecideError::Store(StoreError::NoSuchRequest(id)) => {
            format!("PAT-{id} is not a request patdesk knows")
        }
        DecideError::Store(other) => {
            tracing::error!(error = %other, "a Slack decision failed in the store");
            "the records could not be written just now; try again".to_string()
        }
    }
}
