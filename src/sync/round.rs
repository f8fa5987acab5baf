//! One round of the GitHub side: each org asked for read from GitHub, then every queued
//! decision carried. The daemon runs rounds on its timer and on `patdesk sync`; root runs one
//! in its own process with `sync --break-glass`. Both print the same answer.

use super::{Deciders, PushReport, SyncOptions, SyncReport, push_decisions, sync_org};
use crate::github::GithubClient;
use crate::store::Store;

/// What one round did: each org's sync, and the pushes.
pub struct Round {
    /// Each org asked for, in order, with its report or why it failed.
    pub synced: Vec<(String, Result<SyncReport, String>)>,
    pub pushed: Result<PushReport, String>,
}

impl Round {
    pub fn reports(&self) -> impl Iterator<Item = &SyncReport> {
        self.synced
            .iter()
            .filter_map(|(_, outcome)| outcome.as_ref().ok())
    }

    /// What failed, each naming the org (or "decisions").
    pub fn errors(&self) -> Vec<String> {
        let orgs = self
            .synced
            .iter()
            .filter_map(|(org, outcome)| outcome.as_ref().err().map(|e| format!("{org}: {e}")));
        let pushes = self
            .pushed
            .as_ref()
            .err()
            .map(|e| format!("decisions: {e}"));
        orgs.chain(pushes).collect()
    }

    /// The round as `patdesk sync` prints it: the reports (`--json`), and their lines.
    pub fn answer(&self) -> serde_json::Value {
        let mut lines: Vec<String> = self.reports().map(ToString::to_string).collect();
        lines.extend(self.pushed.iter().map(ToString::to_string));
        serde_json::json!({
            "orgs": self.reports().collect::<Vec<_>>(),
            "pushes": self.pushed.as_ref().ok(),
            "errors": self.errors(),
            "lines": lines,
        })
    }
}

/// Syncs each of `orgs`, then carries the queued decisions.
pub async fn round(
    client: &GithubClient,
    store: &mut Store,
    orgs: impl IntoIterator<Item = &str>,
    options: &SyncOptions,
    deciders: &Deciders,
) -> Round {
    let mut synced = Vec::new();
    for org in orgs {
        let outcome = sync_org(client, store, org, options).await;
        synced.push((org.to_string(), outcome.map_err(|error| error.to_string())));
    }
    let pushed = push_decisions(client, store, deciders)
        .await
        .map_err(|error| error.to_string());
    Round { synced, pushed }
}
