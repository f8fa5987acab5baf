//! `patdesk man`: the man page the package installs as patdesk(1), which the unit's
//! `Documentation=` names. clap's sections (options, commands) plus what an admin looks for
//! in a man page and clap does not know: the exit codes, the files, the environment.

use clap::CommandFactory;

use super::{Cli, exit};

/// The exit codes, as `EXIT STATUS` lists them (docs/operations.md's table says the same).
const EXIT_STATUS: [(u8, &str); 9] = [
    (exit::OK, "done"),
    (
        exit::FAILURE,
        "the command could not do its work (an unreadable mail file, say); the message says why",
    ),
    (
        exit::USAGE,
        "the command line was wrong; the message says what is accepted",
    ),
    (
        exit::CONFIG,
        "the config file is missing, unreadable or invalid; the message names every key at fault",
    ),
    (exit::NOT_FOUND, "no request (or outbox mail) with that id"),
    (
        exit::REFUSED,
        "refused: the request's state does not allow it, the caller is not a team member, or the approver owns the token",
    ),
    (
        exit::AUDIT_BROKEN,
        "audit verify found the audit log broken",
    ),
    (
        exit::UNHEALTHY,
        "status: the daemon is not running, or intake or a sync has been failing too long",
    ),
    (
        exit::NO_DAEMON,
        "the daemon is not running, or its control socket cannot be reached (not in its group)",
    ),
];

const FILES: [(&str, &str); 5] = [
    (
        "/etc/patdesk/patdesk.toml",
        "the config (check it with patdesk check-config after every change)",
    ),
    (
        "/etc/patdesk/credentials/",
        "one root-only file per secret the config names as { credential = \"...\" }; the unit passes each to the service",
    ),
    (
        "/var/lib/patdesk/patdesk.db",
        "the one SQLite database: requests, mail, the outgoing queue and the audit log; only the service's user can read it",
    ),
    (
        "/run/patdesk/control.sock",
        "the daemon's control socket: every command but run goes through it, as the caller's OS account",
    ),
    (
        "/lib/systemd/system/patdesk.service",
        "the hardened unit: systemctl enable --now patdesk",
    ),
];

const ENVIRONMENT: [(&str, &str); 5] = [
    ("PATDESK_CONFIG", "the config file, instead of --config"),
    (
        "CREDENTIALS_DIRECTORY",
        "where { credential = \"...\" } secrets are read; systemd sets it for the service. Without it, check-config reads them where the installed unit's LoadCredential= lines say",
    ),
    (
        "PATDESK_LOG",
        "the log filter of patdesk run (default info)",
    ),
    (
        "PATDESK_LOG_FORMAT",
        "auto, text, json or journald, as --log-format",
    ),
    ("NO_COLOR", "no colour, even on a terminal"),
];

/// The whole page, in roff.
pub fn page() -> std::io::Result<String> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut page)?;
    let mut page = commands_in_this_page(&String::from_utf8_lossy(&page));
    section(
        &mut page,
        "EXIT STATUS",
        EXIT_STATUS.map(|(code, meaning)| (code.to_string(), meaning)),
    );
    section(
        &mut page,
        "FILES",
        FILES.map(|(path, what)| (path.to_string(), what)),
    );
    section(
        &mut page,
        "ENVIRONMENT",
        ENVIRONMENT.map(|(name, what)| (name.to_string(), what)),
    );
    page.push_str(".SH SEE ALSO\nsystemctl(1), journalctl(1), systemd.exec(5)\n");
    Ok(page)
}

/// clap_mangen names each command as a page of its own (`patdesk-list(1)`); the package ships
/// one page, so each is named as it is typed, with where its options are read.
fn commands_in_this_page(page: &str) -> String {
    let mut out = String::with_capacity(page.len());
    for line in page.lines() {
        match line
            .strip_prefix("patdesk\\-")
            .and_then(|rest| rest.strip_suffix("(1)"))
        {
            Some(command) => {
                out.push_str(&format!("\\fBpatdesk {command}\\fR\n"));
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
        if line == ".SH SUBCOMMANDS" {
            out.push_str(
                "Each command's options: \\fBpatdesk\\fR \\fICOMMAND\\fR \\fB\\-\\-help\\fR.\n",
            );
        }
    }
    out
}

/// A section of tagged paragraphs: each term in bold, its text below.
fn section<const N: usize>(page: &mut String, title: &str, entries: [(String, &str); N]) {
    page.push_str(&format!(".SH \"{title}\"\n"));
    for (term, text) in entries {
        page.push_str(&format!(
            ".TP\n\\fB{}\\fR\n{}\n",
            escape(&term),
            escape(text)
        ));
    }
}

/// Roff's special characters: a hyphen is `\-` (else it may print as a dash), a backslash
/// `\e`, and a line may not begin with a control character.
fn escape(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    match escaped.chars().next() {
        Some('.' | '\'') => format!("\\&{escaped}"),
        _ => escaped,
    }
}
