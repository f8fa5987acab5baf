//! `patdesk status`: how the running service is doing, as the daemon reports it (or, with
//! --break-glass, as the database says while the daemon is down). Exits 7 when the daemon is not running or when
//! intake or a GitHub sync has been failing longer than `alerts.stalled_after_minutes`: a
//! health check can run it.

use super::{Context, Failure, exit, say};
use crate::control::admission::ControlCounts;
use crate::control::client::ClientError;
use crate::control::protocol::Request;
use crate::control::reads::{Breaker, ConfigInUse, FileSinceLoaded, Status};
use crate::store::{Counts, DatabaseSize, WebhookCounts, WebhookRefusal, format_time};

pub fn run(context: &Context) -> Result<(), Failure> {
    let status = match context.ask_for::<Status>(Request::Status) {
        Ok(status) => status,
        // A health check: the daemon not running is the answer, not a failure to answer.
        Err(failure) if failure.code == exit::NO_DAEMON && !context.break_glass => {
            let status = not_running(&failure);
            if context.json {
                out!("{}", serde_json::to_string(&status).unwrap_or_default());
            } else {
                out!("daemon      not running");
            }
            return Err(Failure {
                code: exit::UNHEALTHY,
                error: anyhow::anyhow!("unhealthy: {}", status.problems.join("; ")),
            });
        }
        Err(failure) => return Err(failure),
    };
    if context.json {
        out!(
            "{}",
            serde_json::to_string(&status).map_err(|e| Failure::runtime(e.into()))?
        );
    } else {
        say(&readable(&status));
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

/// What status says when nothing answers on the socket.
fn not_running(failure: &Failure) -> Status {
    let why = failure
        .error
        .downcast_ref::<ClientError>()
        .map_or_else(|| failure.error.to_string(), ToString::to_string);
    Status {
        daemon: None,
        parts: Vec::new(),
        counts: Counts::default(),
        breaker: Breaker {
            sent_in_window: 0,
            limit: 0,
            window_minutes: 0,
            paused: false,
        },
        audit_head: None,
        database: DatabaseSize::default(),
        webhook: WebhookCounts::default(),
        control: ControlCounts::default(),
        config: None,
        // The client's words already say the daemon is not running, and what to do.
        problems: vec![why],
    }
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
    if let Some(config) = &status.config {
        line("config", config_line(config));
    }
    if status.parts.is_empty() {
        line("health", "nothing recorded yet".to_string());
    }
    for part in &status.parts {
        let text = match (&part.failing_since, &part.ok_at) {
            // A server's words, on one line: a line break in them must not print a part.
            (Some(since), _) => format!(
                "FAILING since {}: {}",
                format_time(*since),
                crate::shown::line(part.last_error.as_deref().unwrap_or("-"))
            ),
            (None, Some(at)) => format!("ok, last at {}", format_time(*at)),
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
    if status.daemon.is_some() {
        let size = &status.database;
        line(
            "database",
            format!(
                "{} ({} free); {} mail(s) whole, {} reduced to headers",
                megabytes(size.bytes),
                megabytes(size.free_bytes),
                size.whole_mails,
                size.reduced_mails
            ),
        );
    }
    if status.daemon.is_some() {
        line("control", control_line(&status.control));
    }
    if let Some(text) = webhook_line(&status.webhook) {
        line("webhook", text);
    }
    line(
        "audit head",
        status
            .audit_head
            .as_ref()
            .map_or_else(|| "empty".to_string(), ToString::to_string),
    );
    out
}

/// The config the daemon runs on; said plainly when the file no longer is what it runs on,
/// or its last reload was refused.
fn config_line(config: &ConfigInUse) -> String {
    let mut text = format!(
        "{}, loaded at {}",
        config.path.display(),
        format_time(config.loaded.at)
    );
    match config.file {
        FileSinceLoaded::Same => {}
        FileSinceLoaded::Changed => text.push_str(
            "; the file has CHANGED since: `patdesk check-config`, then `systemctl reload patdesk`, applies it",
        ),
        FileSinceLoaded::Unreadable => {
            text.push_str("; the daemon can no longer read the file: it runs on what it loaded");
        }
    }
    if let Some(refused) = &config.loaded.refused_reload {
        text.push_str(&format!(
            "\n  the reload at {} was REFUSED, the config loaded before kept:",
            format_time(refused.at)
        ));
        for why in refused.error.lines() {
            text.push_str("\n    ");
            text.push_str(why);
        }
    }
    text
}

/// The control socket: connections open, and those turned away by why.
fn control_line(control: &ControlCounts) -> String {
    let open = format!("{} connection(s) open", control.open);
    if control.refused() == 0 {
        return format!("{open}; none refused");
    }
    let refused = [
        ("too many open", control.busy),
        ("not a member", control.not_member),
        ("too slow", control.slow),
        ("too large", control.too_large),
    ]
    .iter()
    .filter(|(_, count)| *count > 0)
    .map(|(why, count)| format!("{why} {count}"))
    .collect::<Vec<_>>()
    .join(", ");
    format!("{open}; refused: {refused}")
}

/// GitHub's webhook, once anything reached it: deliveries taken (and how many of them were
/// events patdesk does not use), redeliveries answered again, and those refused by why.
fn webhook_line(webhook: &WebhookCounts) -> Option<String> {
    if webhook.taken == 0 && webhook.refused.is_empty() {
        return None;
    }
    let mut text = match &webhook.last_taken_at {
        Some(at) => format!(
            "{} deliveries taken (last at {})",
            webhook.taken,
            format_time(*at)
        ),
        None => format!("{} deliveries taken", webhook.taken),
    };
    if webhook.not_used > 0 {
        text.push_str(&format!(
            ", {} of events patdesk does not use",
            webhook.not_used
        ));
    }
    let (redelivered, refused): (Vec<_>, Vec<_>) = webhook
        .refused
        .iter()
        .partition(|count| count.reason == WebhookRefusal::Replayed);
    for count in redelivered {
        text.push_str(&format!(
            "; {} redelivered (answered, not acted on again)",
            count.count
        ));
    }
    if refused.is_empty() {
        return Some(format!("{text}; none refused"));
    }
    let refused = refused
        .iter()
        .map(|refusal| format!("{} {}", refusal.reason.as_str(), refusal.count))
        .collect::<Vec<_>>()
        .join(", ");
    Some(format!("{text}; refused: {refused}"))
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}
