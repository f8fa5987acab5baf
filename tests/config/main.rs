//! Config validation: what an admin sees when the file is right, and when it is wrong. The
//! whole file's rules are here; each section's are in a module of its name.

#[path = "../common/mod.rs"]
mod common;

mod alerts;
mod github;
mod intervals;
mod mail;
mod mailbox;
mod reference;
mod review;
mod secret;
mod smtp;
mod store;
mod team;
mod webhook;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use patdesk::config::{Config, ConfigError, CredentialFiles, Security};
use tempfile::TempDir;

const PEM: &str =
    "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK\n-----END RSA PRIVATE KEY-----\n";

/// A folder standing in for $CREDENTIALS_DIRECTORY, holding the example config's credentials.
fn credentials() -> TempDir {
    let dir = TempDir::new().expect("temp dir");
    for (name, value) in [
        ("imap-password", "imap-secret-123\n"),
        ("smtp-password", "smtp-secret-456"),
        ("github-app.pem", PEM),
        ("signing-key", "c2lnbmluZy1rZXk="),
        (
            "slack-webhook",
            "https://hooks.slack.com/services/T0/B0/slack-secret-789",
        ),
    ] {
        std::fs::write(dir.path().join(name), value).expect("write credential");
    }
    dir
}

/// The example config with its optional Slack webhook switched on, written into `dir`: every
/// kind of secret it can name.
fn example_with_slack(dir: &Path) -> PathBuf {
    let example =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("patdesk.example.toml"))
            .expect("example");
    let off = "# slack_webhook = { credential = \"slack-webhook\" }";
    assert!(example.contains(off), "the example offers the webhook");
    let path = dir.join("patdesk.toml");
    std::fs::write(&path, example.replace(off, &off[2..])).expect("write");
    path
}

fn write_secret(dir: &Path, name: &str, value: &str, mode: u32) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, value).expect("write secret");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    path
}

/// Each member as (login, OS user).
/// The password a sign-in names, read.
fn password_of(sign_in: &patdesk::config::SignIn) -> String {
    let password = sign_in.password().expect("signs in with a password");
    password.read().expect("readable").expose().to_string()
}

fn members(team: &patdesk::config::TeamConfig) -> Vec<(&str, &str)> {
    team.members
        .iter()
        .map(|member| (member.login.as_str(), member.unix.as_str()))
        .collect()
}

/// `text` as /etc/patdesk/patdesk.toml, which must be valid.
fn valid(text: &str) -> Config {
    Config::from_toml(text, Path::new("/etc/patdesk/patdesk.toml"), None)
        .unwrap_or_else(|error| panic!("{error}"))
}

fn problems(result: Result<Config, ConfigError>) -> Vec<(String, String)> {
    match result {
        Err(ConfigError::Invalid { problems, .. }) => problems
            .into_iter()
            .map(|problem| (problem.key, problem.message))
            .collect(),
        other => panic!("expected validation problems, got {other:?}"),
    }
}

/// Problems found when the secrets of a valid config are read.
fn secret_problems(result: Result<Config, ConfigError>) -> Vec<(String, String)> {
    let config = result.expect("the config itself is valid");
    problems(config.check_secrets().map(|()| config.clone()))
}
#[test]
fn the_example_config_is_valid_with_its_credentials() {
    let creds = credentials();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("patdesk.example.toml");
    let config =
        Config::load_with_credentials(&example, Some(creds.path())).expect("example is valid");

    let mailbox = config.mailbox.expect("mailbox section");
    assert_eq!(mailbox.endpoint.security, Security::Tls);
    assert_eq!(mailbox.endpoint.port, 993);
    // The trailing newline of a credential file is not part of the secret.
    assert_eq!(password_of(&mailbox.sign_in), "imap-secret-123");
    assert_eq!(mailbox.processed_folder, "Processed");
    let github = config.github.expect("github section");
    assert_eq!(github.orgs.len(), 1);
    assert_eq!(github.orgs[0].login, "acme-corp");
    assert_eq!(config.mail.trusted_authserv_ids, vec!["mx.example.org"]);
    assert_eq!(
        members(&config.team),
        vec![("alice-platform", "alice"), ("bob-ops", "bob")]
    );
    // The example documents the defaults: they must be the real ones.
    assert_eq!(config.review, patdesk::review::ReviewPolicy::default());
    let smtp = config.smtp.expect("smtp section");
    assert_eq!(smtp.endpoint.port, 587);
    assert_eq!(
        password_of(&smtp.login.expect("login").sign_in),
        "smtp-secret-456"
    );
}
#[test]
fn an_empty_file_is_valid_and_takes_the_defaults() {
    let config = valid("");
    assert_eq!(config.store.path, Path::new("/var/lib/patdesk/patdesk.db"));
    assert_eq!(config.mail.max_message_bytes, 25 * 1024 * 1024);
    assert!(config.mailbox.is_none() && config.github.is_none());
}
#[test]
fn a_misspelt_key_is_named_with_the_accepted_ones() {
    let error = Config::from_toml(
        "[mail]\ntrusted_authserv_id = [\"mx\"]\n",
        Path::new("/etc/patdesk/patdesk.toml"),
        None,
    )
    .expect_err("unknown key");
    let message = error.to_string();
    assert!(message.contains("/etc/patdesk/patdesk.toml"), "{message}");
    assert!(message.contains("trusted_authserv_id"), "{message}");
    assert!(message.contains("trusted_authserv_ids"), "{message}");
    assert!(message.contains("line 2"), "{message}");

    // [mailbox] and [smtp] share their server keys: a misspelt key there is a problem of its
    // own, named with what is accepted, beside the others.
    let found = problems(Config::from_toml(
        "[mailbox]\nhots = \"imap.example.org\"\nusername = \"u\"\naddress = \"a@example.org\"\n\
         password = { file = \"p\" }\n[smtp]\nhost = \"smtp.example.org\"\nfrom = \"a@example.org\"\nfom = \"x\"\n",
        Path::new("patdesk.toml"),
        None,
    ));
    let keys: Vec<&str> = found.iter().map(|(key, _)| key.as_str()).collect();
    assert!(
        keys.contains(&"mailbox.hots") && keys.contains(&"mailbox.host"),
        "{found:?}"
    );
    assert!(keys.contains(&"smtp.fom"), "{found:?}");
    let hots = found
        .iter()
        .find(|(key, _)| key == "mailbox.hots")
        .expect("hots");
    assert!(
        hots.1.contains("accepted are") && hots.1.contains("host"),
        "{found:?}"
    );
}
#[test]
fn a_wrong_enum_value_lists_what_is_accepted() {
    let error = Config::from_toml(
        "[mailbox]\nsecurity = \"ssl\"\n",
        Path::new("patdesk.toml"),
        None,
    )
    .expect_err("bad enum");
    let message = error.to_string();
    assert!(
        message.contains("ssl") && message.contains("starttls"),
        "{message}"
    );
}
#[test]
fn every_problem_is_reported_at_once_with_its_key() {
    let text = r#"
        [mail]
        max_message_bytes = 10
        reminders = 5
        reminder_interval_hours = 1
        [mailbox]
        host = "imap.example.org"
        security = "plaintext"
        port = 0
        address = "not-an-address"
        [github]
        api_url = "ftp://example.org"
        [[github.orgs]]
        login = "-bad"
        installation_id = 1
        [team.members]
        ok-login = { unix = "ok" }
        "not a login" = { unix = "x" }
    "#;
    let found = problems(Config::from_toml(text, Path::new("patdesk.toml"), None));
    let keys: Vec<&str> = found.iter().map(|(key, _)| key.as_str()).collect();
    for key in [
        "mail.max_message_bytes",
        "mail.reminders",
        "mail.reminder_interval_hours",
        "mailbox.security",
        "mailbox.port",
        "mailbox.username",
        "mailbox.password",
        "mailbox.address",
        "github.app_id",
        "github.private_key",
        "github.api_url",
        "github.orgs[0].login",
        "team.members",
    ] {
        assert!(
            keys.contains(&key),
            "no problem reported for {key}: {found:?}"
        );
    }
    let plaintext = &found
        .iter()
        .find(|(key, _)| key == "mailbox.security")
        .expect("present")
        .1;
    assert!(plaintext.contains("loopback"), "{plaintext}");
}
/// Wrong types, wrong choices, misspelt keys and values the rules refuse, all in one file: one
/// run names each by its whole key and line, says what was given and what is accepted, and
/// guesses the key meant.
#[test]
fn mistakes_of_every_kind_are_reported_together_with_their_lines() {
    let text = "[mailbox]\nhost = \"imap.example.org\"\nport = \"x\"\nsecurity = \"tsl\"\n\
                fodler = \"INBOX\"\naddress = \"not-an-address\"\n\n[intervals]\noutbox_seconds = true\n";
    let error = Config::from_toml(text, Path::new("/etc/patdesk/patdesk.toml"), None)
        .expect_err("mistakes");
    let message = error.to_string();
    for expected in [
        "`mailbox.port` (line 3, column 8): expected a port 1–65535, got \"x\"",
        "`mailbox.security` (line 4, column 12): expected one of \"tls\", \"starttls\", \"plaintext\", got \"tsl\" (did you mean \"tls\"?)",
        "`mailbox.fodler` (line 5, column 1): is not a key of [mailbox] (did you mean `folder`?)",
        "`mailbox.address` (line 6, column 1):",
        "`mailbox.username` (line 1, column 2): is missing",
        "`intervals.outbox_seconds` (line 9, column 18): expected a number, got true",
    ] {
        assert!(message.contains(expected), "{expected}\n{message}");
    }
    // In the order of the file, and a key whose value is wrong is not also "missing".
    let lines: Vec<&str> = message.lines().skip(1).collect();
    assert!(lines[0].contains("mailbox.username"), "{message}");
    assert_eq!(message.matches("mailbox.port").count(), 1, "{message}");
}
#[test]
fn a_missing_file_says_which() {
    let error = Config::load(Path::new("/nonexistent/patdesk.toml")).expect_err("missing");
    assert!(matches!(error, ConfigError::Read { .. }));
    assert!(error.to_string().contains("/nonexistent/patdesk.toml"));
}
/// Paths that lead somewhere else than the admin meant: a template "folder" that is a file, a
/// people directory that is a folder or missing, relative paths taken from the config's own
/// folder whatever the working directory.
#[test]
fn template_and_directory_paths_must_be_what_they_claim() {
    let dir = tempfile::TempDir::new().expect("dir");
    std::fs::write(dir.path().join("people.csv"), "login,email\n").expect("csv");
    std::fs::create_dir(dir.path().join("templates")).expect("templates");
    let config_path = dir.path().join("patdesk.toml");
    let good = Config::from_toml(
        "[mail]\ntemplates_dir = \"templates\"\n[people]\ndirectory = \"people.csv\"\n",
        &config_path,
        None,
    )
    .expect("valid");
    assert_eq!(good.templates_dir, Some(dir.path().join("templates")));
    assert_eq!(good.people_directory, Some(dir.path().join("people.csv")));

    let found = problems(Config::from_toml(
        "[mail]\ntemplates_dir = \"people.csv\"\n[people]\ndirectory = \"templates/../templates\"\n",
        &config_path,
        None,
    ));
    let keys: Vec<&str> = found.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(
        keys,
        ["mail.templates_dir", "people.directory"],
        "{found:?}"
    );
    assert!(found[0].1.contains("not a folder"), "{found:?}");
    assert!(found[1].1.contains("not a file"), "{found:?}");

    let missing = problems(Config::from_toml(
        "[people]\ndirectory = \"/nonexistent/people.csv\"\n",
        &config_path,
        None,
    ));
    assert!(
        missing[0].1.contains("/nonexistent/people.csv"),
        "{missing:?}"
    );
}
// Rules across sections are the config's too, so `check-config` refuses what `run` would.

#[test]
fn sending_needs_a_signing_key() {
    let text = "[smtp]\nhost = \"smtp.example.org\"\nfrom = \"ops@example.org\"\n[alerts]\nemail = \"alerts@example.org\"\n";
    let found = problems(Config::from_toml(text, Path::new("patdesk.toml"), None));
    let keys: Vec<&str> = found.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(keys, vec!["signing.key"], "{found:?}");
    assert!(found[0].1.contains("[smtp] is set"), "{found:?}");
}

#[test]
fn alert_mail_needs_smtp() {
    let text = "[alerts]\nemail = \"alerts@example.org\"\n";
    let found = problems(Config::from_toml(text, Path::new("patdesk.toml"), None));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "alerts.email");
    assert!(found[0].1.contains("[smtp] is not"), "{found:?}");
}

/// An [smtp] with a mistake of its own is named for that mistake, not as missing.
#[test]
fn a_broken_smtp_section_is_named_for_its_mistake_not_as_missing() {
    let text = "[smtp]\nfrom = \"ops@example.org\"\n[signing]\nkey = { file = \"k\" }\n[alerts]\nemail = \"alerts@example.org\"\n";
    let found = problems(Config::from_toml(text, Path::new("patdesk.toml"), None));
    let keys: Vec<&str> = found.iter().map(|(key, _)| key.as_str()).collect();
    assert!(keys.contains(&"smtp.host"), "{found:?}");
    assert!(!keys.contains(&"alerts.email"), "{found:?}");
}

/// The credentials the example config names are the ones the unit loads: an install that
/// copies both as they are starts.
#[test]
fn the_example_config_and_the_unit_name_the_same_credentials() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |path: &str| std::fs::read_to_string(root.join(path)).expect("read");
    let named = |text: &str, before: &str, after: char| -> std::collections::BTreeSet<String> {
        text.lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .filter_map(|line| line.split_once(before))
            .filter_map(|(_, rest)| rest.split(after).next().map(str::to_string))
            .collect()
    };
    let config = named(&read("patdesk.example.toml"), "credential = \"", '"');
    let unit = named(&read("systemd/patdesk.service"), "LoadCredential=", ':');
    assert_eq!(
        config, unit,
        "patdesk.example.toml against systemd/patdesk.service"
    );
    assert!(config.contains("github-app.pem"), "{config:?}");
}
