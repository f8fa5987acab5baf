//! `patdesk status`: how the running service is doing, from the database it shares with the
//! daemon, so it works while the daemon runs. Exits 7 when the daemon is not running or when
//! intake or a GitHub sync has been failing longer than `alerts.stalled_after_minutes`: a
//! health check can run it.

use jiff::Timestamp;
use serde::Serialize;

use super::{Context, Failure, exit};
use crate::store::{ChainHead, Counts, PartHealth};

#[derive(Debug, Serialize)]
struct Status {
    /// The pid of the daemon running on this database.
    daemon: Option<String>,
    parts: Vec<PartHealth>,
    counts: Counts,
    breaker: Breaker,
    audit_head: Option<ChainHead>,
    /// Why the service counts as unhealthy; empty when it is not.
    problems: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Breaker {
    sent_in_window: usize,
    limit: usize,
    window_minutes: i64,
    paused: bool,
}

pub fn run(context: &Context) -> Result<(), Failure> {
    let store = &context.store;
    let limits = crate::smtp::RateLimits::from(context.config.send_limits);
    let (sent_in_window, paused) = limits.breaker(store)?;
    let mut status = Status {
        daemon: crate::daemon::running_daemon(&context.config.store.path),
        parts: store.health()?,
        counts: store.counts()?,
        breaker: Breaker {
            sent_in_window,
            limit: limits.breaker_count,
            window_minutes: limits.breaker_window.as_mins(),
            paused,
        },
        audit_head: store.chain_head()?,
        problems: Vec::new(),
    };
    status.problems = problems(&status, context.config.alerts.stalled_after);
    if context.json {
        println!(
            "{}",
            serde_json::to_string(&status).map_err(|e| Failure::runtime(e.into()))?
        );
    } else {
        print!("{}", readable(&status));
    }
    if status.problems.is_empty() {
        Ok(())
    } else {
        Err(Failure {
            code: exit::UNHEALTHY,
            error: anyhow::anyhow!("unhealthy: {}", status.problems.join("; ")),
        })
    }
}

/// The parts whose failure makes the service unhealthy: intake and the syncs.
fn watched(part: &str) -> bool {
    part == "imap" || part.starts_with("github:")
}

fn problems(status: &Status, stalled_after: std::time::Duration) -> Vec<String> {
    let mut problems = Vec::new();
    if status.daemon.is_none() {
        problems.push("the daemon is not running".to_string());
    }
    let now = Timestamp::now();
    for part in status.parts.iter().filter(|part| watched(&part.part)) {
        let Some(since) = &part.failing_since else {
            continue;
        };
        let failing_for = since
            .parse::<Timestamp>()
            .map(|at| now.duration_since(at).unsigned_abs())
            .unwrap_or_default();
        if failing_for >= stalled_after {
            problems.push(format!(
                "{} failing since {since}: {}",
                part.part,
                part.last_error.as_deref().unwrap_or("no error recorded")
            ));
        }
    }
    problems
}

fn readable(status: &Status) -> String {
    let mut out = String::new();
    let width = status
        .parts
        .iter()
        .map(|part| part.part.len())
        .max()
        .unwrap_or(0)
        .max("audit head".len())
        + 2;
    let mut line = |label: &str, text: String| out.push_str(&format!("{label:<width$}{text}\n"));
    line(
        "daemon",
        match &status.daemon {
            Some(pid) => format!("running (pid {pid})"),
            None => "not running".to_string(),
        },
    );
    if status.parts.is_empty() {
        line("health", "nothing recorded yet".to_string());
    }
    for part in &status.parts {
        let text = match (&part.failing_since, &part.ok_at) {
            (Some(since), _) => format!(
                "FAILING since {since}: {}",
                part.last_error.as_deref().unwrap_or("-")
            ),
            (None, Some(at)) => format!("ok, last at {at}"),
            (None, None) => "-".to_string(),
        };
        line(&part.part, text);
    }
    let per_state = |counts: &[(String, i64)]| {
        if counts.is_empty() {
            "none".to_string()
        } else {
            counts
                .iter()
                .map(|(state, count)| format!("{state} {count}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    line("requests", per_state(&status.counts.requests));
    line("outbox", per_state(&status.counts.outbox));
    line("triage", format!("{} mail(s)", status.counts.triage));
    line(
        "alerts",
        format!("{} not yet delivered", status.counts.undelivered_alerts),
    );
    line(
        "breaker",
        format!(
            "{} ({} of {} mails in the last {} minutes)",
            if status.breaker.paused {
                "PAUSED"
            } else {
                "closed"
            },
            status.breaker.sent_in_window,
            status.breaker.limit,
            status.breaker.window_minutes
        ),
    );
    line(
        "audit head",
        status
            .audit_head
            .as_ref()
            .map_or_else(|| "empty".to_string(), ToString::to_string),
    );
    out
}
