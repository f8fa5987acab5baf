//! The team's channel kept in step with the records: a message for each request that is
//! ready for a decision (reviewed, its purpose known), updated with its outcome wherever the
//! decision was taken (Slack, the CLI, GitHub's own pages).

use crate::config::SlackConfig;
use crate::store::{SlackDue, Store, StoreError};

use super::api::{SlackError, WebApi};
use super::message;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Slack(#[from] SlackError),
}

/// Posts and updates what is due; how many messages were touched.
pub async fn publish_due(
    store: &mut Store,
    api: &WebApi,
    config: &SlackConfig,
) -> Result<usize, PublishError> {
    let due = store.slack_due(&config.channel)?;
    let mut touched = 0;
    for item in due {
        match item {
            SlackDue::Post { request_id } => {
                let record = store.request(request_id)?;
                let (text, blocks) = message::request_message(&record, config.decide_up_to);
                // Marked first: a crash between the post and its record posts again on the
                // next start rather than never.
                store.slack_posting(request_id, &config.channel)?;
                let ts = api.post_message(&config.channel, &text, &blocks).await?;
                store.slack_shown(request_id, &config.channel, &ts, record.state)?;
            }
            SlackDue::Update {
                request_id,
                channel,
                ts,
            } => {
                let record = store.request(request_id)?;
                let (text, blocks) = message::request_message(&record, config.decide_up_to);
                api.update_message(&channel, &ts, &text, &blocks).await?;
                store.slack_shown(request_id, &channel, &ts, record.state)?;
            }
        }
        touched += 1;
    }
    Ok(touched)
}
