//! `patdesk check-config`: validates the config and reads every secret, showing none.

use std::path::Path;

use super::Failure;
use crate::config::{Config, Endpoint, Security};
use crate::mail::compose::Templates;

pub fn run(path: &Path) -> Result<(), Failure> {
    let config = Config::load(path)?;
    config.check_secrets()?;
    Templates::load(config.templates_dir.as_deref())
        .and_then(|templates| templates.check())
        .map_err(|error| Failure {
            code: super::exit::CONFIG,
            error: anyhow::anyhow!("{}: mail templates: {error}", config.source.display()),
        })?;
    print!("{}", report(&config));
    Ok(())
}

fn report(config: &Config) -> String {
    let mut lines: Vec<(&str, String)> = Vec::new();
    lines.push(("store", config.store.path.display().to_string()));
    let ids = &config.mail.trusted_authserv_ids;
    lines.push((
        "mail",
        format!(
            "trusted authserv-ids: {}; bodies parsed up to {} bytes",
            if ids.is_empty() {
                "none (every mail is unverified)".to_string()
            } else {
                ids.join(", ")
            },
            config.mail.max_message_bytes
        ),
    ));
    let mut missing = Vec::new();
    match &config.mailbox {
        Some(mailbox) => lines.push((
            "mailbox",
            format!(
                "{} as {} ({}), {} → {}, quarantine {}; password from {}",
                endpoint(&mailbox.endpoint),
                mailbox.username,
                mailbox.address,
                mailbox.folder,
                mailbox.processed_folder,
                mailbox.quarantine_folder,
                mailbox.password.origin()
            ),
        )),
        None => missing.push("mailbox"),
    }
    match &config.smtp {
        Some(smtp) => lines.push((
            "smtp",
            format!(
                "{} from {}; {}",
                endpoint(&smtp.endpoint),
                smtp.from,
                match &smtp.login {
                    Some((user, password)) =>
                        format!("login {user}, password from {}", password.origin()),
                    None => "no login".to_string(),
                }
            ),
        )),
        None => missing.push("smtp"),
    }
    match &config.github {
        Some(github) => lines.push((
            "github",
            format!(
                "App {} at {}, key from {}; orgs: {}",
                github.app_id,
                github.api_url,
                github.private_key.origin(),
                github
                    .orgs
                    .iter()
                    .map(|org| format!("{} (installation {})", org.login, org.installation_id))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
        None => missing.push("github"),
    }
    if config.team.members.is_empty() {
        missing.push("team.members");
    } else {
        let members: Vec<String> = config
            .team
            .members
            .iter()
            .map(|member| format!("{} (OS user {})", member.login, member.unix))
            .collect();
        lines.push(("team", members.join(", ")));
    }
    lines.push((
        "control",
        format!(
            "socket {}, mode 0660, group {}",
            config.control.socket.display(),
            config
                .control
                .group
                .as_deref()
                .unwrap_or("(the daemon's own)")
        ),
    ));
    lines.push((
        "templates",
        match &config.templates_dir {
            Some(dir) => format!(
                "{} (patdesk's own where it has none); each renders",
                dir.display()
            ),
            None => "patdesk's own; each renders".to_string(),
        },
    ));
    match &config.signing_key {
        Some(key) => lines.push(("signing", format!("key from {}", key.origin()))),
        None => missing.push("signing"),
    }

    let width = lines
        .iter()
        .map(|(label, _)| label.len())
        .max()
        .unwrap_or(0);
    let mut out = format!(
        "{} is valid; every secret it names was read.\n",
        config.source.display()
    );
    for (label, value) in lines {
        out.push_str(&format!("  {label:width$}  {value}\n"));
    }
    if !missing.is_empty() {
        out.push_str(&format!("not configured: {}\n", missing.join(", ")));
    }
    for warning in host_warnings(config) {
        out.push_str(&format!("warning: {warning}\n"));
    }
    out
}

/// What the config names that this host does not have: members whose OS account does not
/// exist cannot use the control socket, and a missing group stops the daemon.
fn host_warnings(config: &Config) -> Vec<String> {
    let mut warnings: Vec<String> = config
        .team
        .members
        .iter()
        .filter(|member| crate::control::peer::user_id(&member.unix).is_none())
        .map(|member| {
            format!(
                "team.members.{}: the OS user {:?} does not exist on this host, so {} cannot decide (useradd {}, or fix the name)",
                member.login, member.unix, member.login, member.unix
            )
        })
        .collect();
    if let Some(group) = &config.control.group
        && crate::control::peer::group_id(group).is_none()
    {
        warnings.push(format!(
            "control.group: the group {group:?} does not exist on this host; the daemon will refuse to start (groupadd {group})"
        ));
    }
    warnings
}

fn endpoint(endpoint: &Endpoint) -> String {
    let security = match endpoint.security {
        Security::Tls => "TLS",
        Security::StartTls => "STARTTLS",
        Security::Plaintext => "plaintext",
    };
    let ca = endpoint
        .ca_file
        .as_ref()
        .map(|ca| format!(", extra CA {}", ca.display()))
        .unwrap_or_default();
    format!("{}:{} ({security}{ca})", endpoint.host, endpoint.port)
}
