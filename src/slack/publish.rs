//! The team's channel kept in step with the records: a message for each request that is
//! ready for a decision (reviewed, its purpose known), updated with its outcome wherever the
//! decision was taken (Slack, the CLI, GitHub's own pages).

use crate::config::{PerRisk, SlackConfig};
use crate::store::{Approvals, RequestRecord, SlackDue, Store, StoreError, slack_view};

use super::api::{SlackError, WebApi};
use super::message;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Slack(#[from] SlackError),
}

/// Request `id` as its message shows it: the record, its approvals, and the view to keep.
fn viewed(
    store: &Store,
    id: i64,
    approvals_needed: &PerRisk,
) -> Result<(RequestRecord, Option<Approvals>, String), StoreError> {
    let record = store.request(id)?;
    let approvals = match record.state {
        crate::request::RequestState::InReview => {
            Approvals::of(store, id, approvals_needed.of(record.risk))?
        }
        _ => None,
    };
    let view = slack_view(
        record.state,
        approvals.as_ref().map_or(0, |a| a.given.len()),
    );
    Ok((record, approvals, view))
}

/// Posts and updates what is due; how many messages were touched. `approvals_needed`:
/// `review.approvals_needed`, for a message to say who is still needed.
pub async fn publish_due(
    store: &mut Store,
    api: &WebApi,
    config: &SlackConfig,
    approvals_needed: &PerRisk,
) -> Result<usize, PublishError> {
    let due = store.slack_due(&config.channel)?;
    let mut touched = 0;
    for item in due {
        match item {
            SlackDue::Post { request_id } => {
                let (record, approvals, view) = viewed(store, request_id, approvals_needed)?;
                let (text, blocks) =
                    message::request_message(&record, approvals.as_ref(), config.decide_up_to);
                // Marked first: a crash between the post and its record posts again on the
                // next start rather than never.
                store.slack_posting(request_id, &config.channel)?;
                let ts = api.post_message(&config.channel, &text, &blocks).await?;
                store.slack_shown(request_id, &config.channel, &ts, &view)?;
            }
            SlackDue::Update {
                request_id,
                channel,
                ts,
            } => {
                let (record, approvals, view) = viewed(store, request_id, approvals_needed)?;
                let (text, blocks) =
                    message::request_message(&record, approvals.as_ref(), config.decide_up_to);
                api.update_message(&channel, &ts, &text, &blocks).await?;
                store.slack_shown(request_id, &channel, &ts, &view)?;
            }
        }
        touched += 1;
    }
    Ok(touched)
}
