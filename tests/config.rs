//! Config validation: what an admin sees when the file is right, and when it is wrong.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use patdesk::config::{Config, ConfigError, Security};
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
fn secrets_never_show_in_debug_output() {
    let creds = credentials();
    let example = example_with_slack(creds.path());
    let config = Config::load_with_credentials(&example, Some(creds.path())).expect("valid");
    config.check_secrets().expect("every secret is readable");
    let secrets: Vec<_> = config
        .secret_refs()
        .into_iter()
        .map(|secret| secret.read().expect("readable"))
        .collect();
    assert_eq!(secrets.len(), 5);
    let debug = format!("{config:?} {secrets:?}");
    for secret in [
        "imap-secret-123",
        "smtp-secret-456",
        "MIIBOgIBAAJBAK",
        "c2lnbmluZy1rZXk=",
        "slack-secret-789",
    ] {
        assert!(!debug.contains(secret), "{secret} leaked into {debug}");
    }
    assert!(debug.contains("imap-password"));
}

#[test]
fn secrets_are_read_when_needed_so_the_cli_works_without_credentials() {
    // An engineer's shell has no $CREDENTIALS_DIRECTORY: loading still works, reading does not.
    let dir = TempDir::new().expect("dir");
    let example = example_with_slack(dir.path());
    let config = Config::load_with_credentials(&example, None).expect("loads without secrets");
    assert_eq!(
        members(&config.team),
        vec![("alice-platform", "alice"), ("bob-ops", "bob")]
    );
    let found = problems(config.check_secrets().map(|()| config.clone()));
    let keys: Vec<&str> = found.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(
        keys,
        vec![
            "mailbox.password",
            "smtp.password",
            "github.private_key",
            "signing.key",
            "alerts.slack_webhook"
        ]
    );
    assert!(found[0].1.contains("CREDENTIALS_DIRECTORY"), "{found:?}");
}

#[test]
fn review_thresholds_come_from_the_config_and_are_checked() {
    let text = "[review]\nmax_expiry_days = 90\ncritical_when_write = [\"contents\"]\n";
    let config = Config::from_toml(text, Path::new("patdesk.toml"), None).expect("valid");
    assert_eq!(config.review.max_expiry_days, 90);
    assert_eq!(config.review.critical_when_write, vec!["contents"]);
    assert_eq!(
        config.review.min_purpose_chars, 20,
        "unset keys keep their defaults"
    );

    assert_eq!(
        (
            config.review.stale_after_days,
            config.review.stale_notice_days
        ),
        (90, 14)
    );
    let late = problems(Config::from_toml(
        "[review]\nstale_after_days = 30\nstale_notice_days = 30\n",
        Path::new("patdesk.toml"),
        None,
    ));
    assert_eq!(late.len(), 1, "{late:?}");
    assert_eq!(late[0].0, "review.stale_notice_days");
    assert!(
        late[0].1.contains("before the token counts as stale"),
        "{late:?}"
    );

    let text = "[review]\nmax_expiry_days = 0\nhigh_when_read = [\"Secret Stuff\"]\n";
    let found = problems(Config::from_toml(text, Path::new("patdesk.toml"), None));
    let keys: Vec<&str> = found.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(
        keys,
        vec!["review.max_expiry_days", "review.high_when_read"],
        "{found:?}"
    );
}

#[test]
fn an_empty_file_is_valid_and_takes_the_defaults() {
    let config =
        Config::from_toml("", Path::new("/etc/patdesk/patdesk.toml"), None).expect("valid");
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

#[test]
fn plaintext_is_accepted_to_loopback() {
    let dir = TempDir::new().expect("temp dir");
    write_secret(dir.path(), "pw", "secret", 0o600);
    let text = r#"
        [mailbox]
        host = "127.0.0.1"
        port = 10143
        security = "plaintext"
        username = "team"
        password = { file = "pw" }
        address = "team@example.org"
    "#;
    let config = Config::from_toml(text, &dir.path().join("patdesk.toml"), None).expect("valid");
    let mailbox = config.mailbox.expect("mailbox");
    assert_eq!(mailbox.endpoint.security, Security::Plaintext);
    // Relative secret paths resolve beside the config file.
    assert_eq!(password_of(&mailbox.sign_in), "secret");
}

#[test]
fn an_inline_secret_is_refused_with_the_way_to_do_it() {
    let text = "[signing]\nkey = \"hunter2\"\n";
    let found = problems(Config::from_toml(text, Path::new("patdesk.toml"), None));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, "signing.key");
    assert!(
        found[0].1.contains("inline") && found[0].1.contains("credential"),
        "{found:?}"
    );
    assert!(
        !found[0].1.contains("hunter2"),
        "the message must not echo the secret"
    );
}

/// A secret readable by every user, or by the group: a group-readable signing key let the
/// group mint Message-IDs. And a secret must belong to root or to whoever reads it: its owner
/// can rewrite it.
#[test]
fn a_secret_file_is_its_owners_alone_and_root_or_the_readers() {
    let dir = TempDir::new().expect("temp dir");
    let text = "[signing]\nkey = { file = \"key\" }\n";
    for mode in [0o644, 0o640] {
        write_secret(dir.path(), "key", "s3cret", mode);
        let found = secret_problems(Config::from_toml(
            text,
            &dir.path().join("patdesk.toml"),
            None,
        ));
        assert_eq!(found[0].0, "signing.key");
        assert!(
            found[0].1.contains(&format!("mode {mode:04o}")) && found[0].1.contains("chmod 600"),
            "{found:?}"
        );
    }

    // bob's file, read by alice: refused with the chown to run, before it is read.
    let bob = common::users::os_user(common::users::BOB);
    let alice = common::users::os_user(common::users::ALICE);
    common::users::let_through(dir.path());
    std::fs::set_permissions(
        dir.path().join("key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .expect("chmod");
    std::os::unix::fs::chown(dir.path().join("key"), Some(bob.uid), None).expect("chown");
    let config = dir.path().join("patdesk.toml");
    std::fs::write(&config, text).expect("config");
    std::os::unix::fs::chown(&config, Some(alice.uid), None).expect("chown");
    let output = common::users::command_as(alice, common::users::patdesk_binary())
        .args(["check-config", "--config"])
        .arg(&config)
        .output()
        .expect("check-config runs");
    let said = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{said}");
    assert!(
        said.contains(&format!("belongs to uid {}", bob.uid)) && said.contains("chown"),
        "{said}"
    );
}

/// root reads through the socket and acts with --break-glass: as a member its decisions could
/// not be told from an admin's.
#[test]
fn root_cannot_be_a_member() {
    let text = "[team.members]\nalice = { unix = \"root\" }\nbob = { unix = \"patdesk-daemon\" }\n";
    let found = problems(Config::from_toml(text, Path::new("patdesk.toml"), None));
    assert_eq!(found[0].0, "team.members.alice", "{found:?}");
    assert!(found[0].1.contains("break-glass"), "{found:?}");
    assert_eq!(found[1].0, "team.members.bob", "{found:?}");
    assert!(
        found[1].1.contains("the service's own account"),
        "{found:?}"
    );
}

#[test]
fn a_credential_needs_the_credentials_directory() {
    let text = "[signing]\nkey = { credential = \"signing-key\" }\n";
    let found = secret_problems(Config::from_toml(text, Path::new("patdesk.toml"), None));
    assert!(found[0].1.contains("CREDENTIALS_DIRECTORY"), "{found:?}");

    let creds = credentials();
    let config =
        Config::from_toml(text, Path::new("patdesk.toml"), Some(creds.path())).expect("valid");
    assert_eq!(
        config
            .signing_key
            .expect("key")
            .read()
            .expect("readable")
            .expose(),
        "c2lnbmluZy1rZXk="
    );
}

#[test]
fn a_credential_name_cannot_leave_the_credentials_directory() {
    let creds = credentials();
    let text = "[signing]\nkey = { credential = \"../../etc/shadow\" }\n";
    let found = problems(Config::from_toml(
        text,
        Path::new("patdesk.toml"),
        Some(creds.path()),
    ));
    assert!(found[0].1.contains("plain file name"), "{found:?}");
}

#[test]
fn a_secret_names_exactly_one_source() {
    let text = "[signing]\nkey = { file = \"a\", credential = \"b\" }\n";
    let found = problems(Config::from_toml(text, Path::new("patdesk.toml"), None));
    assert!(found[0].1.contains("exactly one"), "{found:?}");
}

#[test]
fn a_github_key_that_is_not_pem_is_refused() {
    let dir = TempDir::new().expect("temp dir");
    write_secret(dir.path(), "app.pem", "not a key", 0o600);
    let text = r#"
        [github]
        app_id = 1
        private_key = { file = "app.pem" }
        [[github.orgs]]
        login = "acme"
        installation_id = 2
    "#;
    let found = secret_problems(Config::from_toml(
        text,
        &dir.path().join("patdesk.toml"),
        None,
    ));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].1.contains("PEM"), "{found:?}");
}

/// The GitHub API and the Slack webhook carry secrets: HTTPS, or plain HTTP to this machine.
#[test]
fn http_endpoints_are_https_or_on_this_machine() {
    let dir = TempDir::new().expect("temp dir");
    let github = |api_url: &str| {
        format!(
            "[github]\napp_id = 1\nprivate_key = {{ file = \"app.pem\" }}\napi_url = \"{api_url}\"\n\
             [[github.orgs]]\nlogin = \"acme\"\ninstallation_id = 2\n"
        )
    };
    let found = problems(Config::from_toml(
        &github("http://api.evil.example"),
        &dir.path().join("patdesk.toml"),
        None,
    ));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "github.api_url");
    assert!(
        found[0]
            .1
            .contains("plain http is only allowed to this machine"),
        "{found:?}"
    );
    assert!(
        Config::from_toml(
            &github("http://127.0.0.1:9000"),
            &dir.path().join("patdesk.toml"),
            None
        )
        .is_ok()
    );

    let webhook = "[alerts]\nslack_webhook = { file = \"slack\" }\n";
    write_secret(
        dir.path(),
        "slack",
        "http://hooks.evil.example/services/x\n",
        0o600,
    );
    let found = secret_problems(Config::from_toml(
        webhook,
        &dir.path().join("patdesk.toml"),
        None,
    ));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "alerts.slack_webhook");
    assert!(
        found[0].1.contains("plain http") && !found[0].1.contains("evil.example"),
        "the problem, not the secret URL: {found:?}"
    );
    write_secret(
        dir.path(),
        "slack",
        "https://hooks.slack.com/services/T/B/x\n",
        0o600,
    );
    let config = Config::from_toml(webhook, &dir.path().join("patdesk.toml"), None).expect("valid");
    assert!(config.check_secrets().is_ok());
}

#[test]
fn a_missing_file_says_which() {
    let error = Config::load(Path::new("/nonexistent/patdesk.toml")).expect_err("missing");
    assert!(matches!(error, ConfigError::Read { .. }));
    assert!(error.to_string().contains("/nonexistent/patdesk.toml"));
}

#[test]
fn reminders_can_be_fewer_or_further_apart_but_never_more_pressing() {
    let config = Config::from_toml(
        "[mail]\nreminders = 1\nreminder_interval_hours = 72\n",
        Path::new("patdesk.toml"),
        None,
    )
    .expect("valid");
    assert_eq!(config.reminders.max, 1);
    assert_eq!(
        config.reminders.interval,
        jiff::SignedDuration::from_hours(72)
    );
    let defaults = Config::from_toml("", Path::new("patdesk.toml"), None).expect("valid");
    assert_eq!(
        (defaults.reminders.max, defaults.reminders.interval),
        (2, jiff::SignedDuration::from_hours(48))
    );
}

#[test]
fn send_limits_come_from_the_config_within_bounds() {
    let config = Config::from_toml(
        "[mail]\nper_recipient_per_hour = 1\nper_recipient_per_day = 4\nbreaker_mails = 200\n",
        Path::new("patdesk.toml"),
        None,
    )
    .expect("valid");
    assert_eq!(
        config.send_limits,
        patdesk::config::SendLimits {
            per_recipient_per_hour: 1,
            per_recipient_per_day: 4,
            breaker_mails: 200,
        }
    );
    let defaults = Config::from_toml("", Path::new("patdesk.toml"), None).expect("valid");
    assert_eq!(
        defaults.send_limits,
        patdesk::config::SendLimits {
            per_recipient_per_hour: 3,
            per_recipient_per_day: 10,
            breaker_mails: 30,
        }
    );

    let found = problems(Config::from_toml(
        "[mail]\nper_recipient_per_hour = 0\nper_recipient_per_day = 5000\nbreaker_mails = 0\n",
        Path::new("patdesk.toml"),
        None,
    ));
    for (key, accepted) in [
        ("mail.per_recipient_per_hour", "accepted is 1 to 100"),
        ("mail.per_recipient_per_day", "accepted is 1 to 1000"),
        ("mail.breaker_mails", "accepted is 1 to 100000"),
    ] {
        assert!(
            found
                .iter()
                .any(|(found, message)| found == key && message.contains(accepted)),
            "{key}: {found:?}"
        );
    }
    let found = problems(Config::from_toml(
        "[mail]\nper_recipient_per_hour = 12\nper_recipient_per_day = 5\n",
        Path::new("patdesk.toml"),
        None,
    ));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "mail.per_recipient_per_hour");
    assert!(
        found[0]
            .1
            .contains("more than mail.per_recipient_per_day (5)")
    );
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

#[test]
fn members_are_mapped_to_os_accounts_once_each() {
    let text = r#"
        [team.members]
        alice = { unix = "alice" }
        ALICE = { unix = "alice2" }
        bob = { unix = "alice2" }
        carol = {}
        [control]
        group = "not a group"
    "#;
    let found = problems(Config::from_toml(text, Path::new("patdesk.toml"), None));
    let text_of = |key: &str| {
        found
            .iter()
            .filter(|(found, _)| found == key)
            .map(|(_, message)| message.clone())
            .collect::<Vec<_>>()
            .join("; ")
    };
    // BTreeMap order: ALICE first, then alice is its twin by case.
    assert!(
        text_of("team.members.alice").contains("ignore case"),
        "{found:?}"
    );
    assert!(
        text_of("team.members.bob").contains("one OS account is one member"),
        "{found:?}"
    );
    assert!(
        text_of("team.members.carol").contains("unix ="),
        "{found:?}"
    );
    assert!(text_of("control.group").contains("group name"), "{found:?}");

    let old = "[team]\nmembers = [\"alice\"]\n";
    let error = Config::from_toml(old, Path::new("patdesk.toml"), None)
        .expect_err("the list form is refused")
        .to_string();
    assert!(
        error.contains("team.members") && error.contains("unix ="),
        "{error}"
    );
}

#[test]
fn replies_can_be_made_stricter_never_looser() {
    for (choice, trust) in patdesk::mail::ReplyTrust::CHOICES {
        let text = format!("[mail]\naccept_replies = \"{choice}\"\n");
        let config = Config::from_toml(&text, Path::new("patdesk.toml"), None).expect("valid");
        assert_eq!(config.mail.replies, *trust);
    }
    let loose = "[mail]\naccept_replies = \"anyone\"\n";
    let found = problems(Config::from_toml(loose, Path::new("patdesk.toml"), None));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].1.contains("signed-or-verified"), "{found:?}");
}

/// Rules across sections are the config's too, so `check-config` refuses what `run` would.
#[test]
fn sending_needs_a_signing_key_and_alert_mail_needs_smtp() {
    let text = "[smtp]\nhost = \"smtp.example.org\"\nfrom = \"ops@example.org\"\n[alerts]\nemail = \"alerts@example.org\"\n";
    let found = problems(Config::from_toml(text, Path::new("patdesk.toml"), None));
    let keys: Vec<&str> = found.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(keys, vec!["signing.key"], "{found:?}");
    assert!(found[0].1.contains("[smtp] is set"), "{found:?}");

    let text = "[alerts]\nemail = \"alerts@example.org\"\n";
    let found = problems(Config::from_toml(text, Path::new("patdesk.toml"), None));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "alerts.email");
    assert!(found[0].1.contains("[smtp] is not"), "{found:?}");

    // An [smtp] with a mistake of its own is named for that mistake, not as missing.
    let text = "[smtp]\nfrom = \"ops@example.org\"\n[signing]\nkey = { file = \"k\" }\n[alerts]\nemail = \"alerts@example.org\"\n";
    let found = problems(Config::from_toml(text, Path::new("patdesk.toml"), None));
    let keys: Vec<&str> = found.iter().map(|(key, _)| key.as_str()).collect();
    assert!(keys.contains(&"smtp.host"), "{found:?}");
    assert!(!keys.contains(&"alerts.email"), "{found:?}");
}

#[test]
fn a_provider_preset_fills_servers_and_sent_folder_and_the_admin_still_wins() {
    let dir = credentials();
    write_secret(dir.path(), "key", "signing", 0o600);
    write_secret(dir.path(), "secret", "client secret", 0o600);
    let text = "[mailbox]\nprovider = \"microsoft365\"\nusername = \"pat@contoso.com\"\nsign_in = \"oauth2\"\n\
                address = \"pat@contoso.com\"\n\
                [smtp]\nusername = \"pat@contoso.com\"\nsign_in = \"oauth2\"\nfrom = \"PAT desk <pat@contoso.com>\"\n\
                [signing]\nkey = { file = \"key\" }\n\
                [oauth2]\nflow = \"microsoft\"\ntenant_id = \"contoso.onmicrosoft.com\"\nclient_id = \"00000000-0000-0000-0000-000000000001\"\n\
                client_secret = { file = \"secret\" }\n";
    let config = Config::from_toml(text, &dir.path().join("patdesk.toml"), None).expect("valid");
    let mailbox = config.mailbox.as_ref().expect("mailbox");
    assert_eq!(mailbox.endpoint.host, "outlook.office365.com");
    assert_eq!(mailbox.endpoint.port, 993);
    assert_eq!(mailbox.endpoint.security, Security::Tls);
    assert_eq!(mailbox.sent_folder, "Sent Items");
    assert_eq!(mailbox.sent_copy, patdesk::config::SentCopy::Server);
    let smtp = config.smtp.as_ref().expect("smtp");
    assert_eq!(
        (
            smtp.endpoint.host.as_str(),
            smtp.endpoint.port,
            smtp.endpoint.security
        ),
        ("smtp.office365.com", 587, Security::StartTls)
    );
    let oauth2 = config.oauth2.as_ref().expect("oauth2");
    assert_eq!(
        oauth2.token_url,
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
    );
    assert_eq!(
        oauth2.scope.as_deref(),
        Some(patdesk::config::MICROSOFT_SCOPE)
    );
    let filled: Vec<&str> = config.filled.iter().map(|f| f.key.as_str()).collect();
    assert!(
        filled.contains(&"mailbox.host")
            && filled.contains(&"smtp.port")
            && filled.contains(&"mailbox.sent_folder"),
        "{filled:?}"
    );
    // Only the oauth2 secret is read: no password is named.
    assert_eq!(
        config.secret_refs().len(),
        2,
        "signing key and client secret"
    );

    // Gmail's folder, and a key the admin wrote is kept and not listed as filled.
    let text = text
        .replace("microsoft365", "gmail")
        .replace("[smtp]\n", "[smtp]\nport = 587\nsecurity = \"starttls\"\n");
    let config = Config::from_toml(&text, &dir.path().join("patdesk.toml"), None).expect("valid");
    assert_eq!(
        config.mailbox.as_ref().expect("mailbox").sent_folder,
        "[Gmail]/Sent Mail"
    );
    let smtp = config.smtp.as_ref().expect("smtp");
    assert_eq!(
        (smtp.endpoint.host.as_str(), smtp.endpoint.port),
        ("smtp.gmail.com", 587)
    );
    assert!(!config.filled.iter().any(|f| f.key == "smtp.port"));
}

#[test]
fn oauth2_sign_in_is_checked_with_the_rest() {
    let dir = credentials();
    write_secret(dir.path(), "secret", "s", 0o600);
    let mailbox = "[mailbox]\nhost = \"imap.example.org\"\nusername = \"pat\"\naddress = \"pat@example.org\"\n";
    let check = |text: String| -> Vec<(String, String)> {
        problems(Config::from_toml(
            &text,
            &dir.path().join("patdesk.toml"),
            None,
        ))
    };
    // oauth2 without [oauth2].
    let found = check(format!("{mailbox}sign_in = \"oauth2\"\n"));
    assert_eq!(found[0].0, "mailbox.sign_in", "{found:?}");
    // A password as well as oauth2.
    let found = check(format!(
        "{mailbox}sign_in = \"oauth2\"\npassword = {{ file = \"secret\" }}\n[oauth2]\nflow = \"refresh_token\"\n\
         client_id = \"c\"\nrefresh_token = {{ file = \"secret\" }}\ntoken_url = \"https://login.example.org/token\"\n"
    ));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "mailbox.password");
    // Microsoft: a secret or a certificate, not both; no flow at all; plain http elsewhere.
    let found = check(format!(
        "{mailbox}sign_in = \"oauth2\"\n[oauth2]\nflow = \"microsoft\"\ntenant_id = \"t\"\nclient_id = \"c\"\n\
         client_secret = {{ file = \"secret\" }}\ncertificate = \"cert.pem\"\ncertificate_key = {{ file = \"secret\" }}\n\
         token_url = \"http://login.example.org/token\"\n"
    ));
    let keys: Vec<&str> = found.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(
        keys,
        vec!["oauth2.client_secret", "oauth2.token_url"],
        "{found:?}"
    );
    let found = check(format!(
        "{mailbox}sign_in = \"oauth2\"\n[oauth2]\nclient_id = \"c\"\n"
    ));
    assert_eq!(found[0].0, "oauth2.flow", "{found:?}");
    assert!(found[0].1.contains("\"microsoft\""), "{found:?}");
    // Google needs the mailbox it acts as; a service account key is checked when read.
    write_secret(dir.path(), "not-a-key", "{}", 0o600);
    let text = format!(
        "{mailbox}sign_in = \"oauth2\"\n[oauth2]\nflow = \"google\"\nservice_account_key = {{ file = \"not-a-key\" }}\n"
    );
    let found = secret_problems(Config::from_toml(
        &text,
        &dir.path().join("patdesk.toml"),
        None,
    ));
    assert_eq!(found[0].0, "oauth2.service_account_key", "{found:?}");
    assert!(found[0].1.contains("service account key"), "{found:?}");
}

#[test]
fn retention_backups_and_the_head_come_from_the_config() {
    let day = std::time::Duration::from_secs(24 * 60 * 60);
    let defaults =
        Config::from_toml("", Path::new("/etc/patdesk/patdesk.toml"), None).expect("valid");
    assert_eq!(defaults.store.keep_raw, Some(day * 365));
    assert_eq!(defaults.store.backups, None);
    assert_eq!(
        defaults.alerts.send_head,
        patdesk::config::SendHead::DailyAndDecisions
    );

    let config = Config::from_toml(
        "[store]\nkeep_raw_days = 0\nbackup_dir = \"backups\"\nbackups_kept = 3\n[alerts]\nsend_head = \"daily\"\n",
        Path::new("/etc/patdesk/patdesk.toml"),
        None,
    )
    .expect("valid");
    assert_eq!(config.store.keep_raw, None, "0 keeps mail whole forever");
    assert_eq!(
        config.store.backups,
        Some(patdesk::config::ScheduledBackups {
            dir: Path::new("/etc/patdesk/backups").to_path_buf(),
            keep: 3,
        }),
        "a relative directory is beside the config"
    );
    assert_eq!(config.alerts.send_head, patdesk::config::SendHead::Daily);

    let unknown = Config::from_toml(
        "[alerts]\nsend_head = \"hourly\"\n",
        Path::new("patdesk.toml"),
        None,
    )
    .expect_err("an unknown send_head is refused")
    .to_string();
    assert!(
        unknown.contains("send_head") && unknown.contains("`daily_and_decisions`"),
        "the choices are named: {unknown}"
    );
    let found_again = problems(Config::from_toml(
        "[store]\nkeep_raw_days = 40000\nbackups_kept = 3\n",
        Path::new("patdesk.toml"),
        None,
    ));
    assert!(
        found_again
            .iter()
            .any(|(key, message)| key == "store.keep_raw_days"
                && message.contains("accepted is 0 to 36500")),
        "{found_again:?}"
    );
    assert!(
        found_again
            .iter()
            .any(|(key, message)| key == "store.backups_kept"
                && message.contains("store.backup_dir")),
        "{found_again:?}"
    );
}

#[test]
fn public_profile_addresses_are_allowed_on_the_team_domain_unless_the_config_says_otherwise() {
    let creds = credentials();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("patdesk.example.toml");
    let config = Config::load_with_credentials(&example, Some(creds.path())).expect("valid");
    assert_eq!(
        config.people_allowed_domains,
        ["example.org"],
        "mailbox.address's domain by default"
    );
    let none = Config::from_toml("", Path::new("patdesk.toml"), None).expect("valid");
    assert!(
        none.people_allowed_domains.is_empty(),
        "no mailbox, no domain"
    );
    let given = Config::from_toml(
        "[people]\nallowed_domains = [\"Corp.Example\", \".partner.example\"]\n",
        Path::new("patdesk.toml"),
        None,
    )
    .expect("valid");
    assert_eq!(
        given.people_allowed_domains,
        ["corp.example", "partner.example"]
    );
    let found = problems(Config::from_toml(
        "[people]\nallowed_domains = [\"carol@corp.example\", \"localhost\"]\n",
        Path::new("patdesk.toml"),
        None,
    ));
    assert_eq!(
        found
            .iter()
            .filter(|(key, _)| key == "people.allowed_domains")
            .count(),
        2,
        "{found:?}"
    );
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

#[test]
fn githubs_webhook_is_off_unless_configured_and_its_keys_are_checked() {
    let github = "[github]\napp_id = 1\nprivate_key = { credential = \"github-app.pem\" }\n";
    let orgs = "[[github.orgs]]\nlogin = \"acme-corp\"\ninstallation_id = 2\n";
    let config = Config::from_toml(&format!("{github}{orgs}"), Path::new("patdesk.toml"), None)
        .expect("valid");
    assert!(
        config.github.expect("github").webhook.is_none(),
        "off by default"
    );

    let on = format!(
        "{github}[github.webhook]\nlisten = \"127.0.0.1:8787\"\nsecret = {{ credential = \"github-webhook-secret\" }}\n{orgs}"
    );
    let config = Config::from_toml(&on, Path::new("patdesk.toml"), None).expect("valid");
    let webhook = config
        .github
        .as_ref()
        .and_then(|github| github.webhook.clone())
        .expect("on");
    assert_eq!(webhook.listen.to_string(), "127.0.0.1:8787");
    assert_eq!(webhook.max_body_bytes, 1024 * 1024);
    assert!(
        config
            .secret_refs()
            .iter()
            .any(|secret| secret.key() == "github.webhook.secret"),
        "check-config reads the webhook secret too"
    );

    let wrong = format!(
        "{github}[github.webhook]\nlisten = \"localhost\"\nsecret = \"written inline\"\nmax_body_bytes = 10\n{orgs}"
    );
    let found = problems(Config::from_toml(&wrong, Path::new("patdesk.toml"), None));
    let keys: Vec<&str> = found.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(
        keys,
        vec![
            "github.webhook.listen",
            "github.webhook.secret",
            "github.webhook.max_body_bytes"
        ],
        "{found:?}"
    );
    let unknown = format!("{github}[github.webhook]\nlisten = \"127.0.0.1:1\"\nsekret = 1\n{orgs}");
    let error =
        Config::from_toml(&unknown, Path::new("patdesk.toml"), None).expect_err("unknown key");
    assert!(error.to_string().contains("sekret"), "{error}");
}

#[test]
fn the_weekly_report_goes_out_on_a_named_day_and_hour_or_not_at_all() {
    use jiff::civil::Weekday;
    use patdesk::config::ReportTime;
    let load = |text: &str| Config::from_toml(text, Path::new("patdesk.toml"), None);
    let time = |text: &str| load(text).expect("valid").alerts.weekly_report;
    assert_eq!(
        time(""),
        Some(ReportTime {
            day: Weekday::Monday,
            hour: 8
        }),
        "Mondays from 08:00 UTC by default"
    );
    assert_eq!(
        time("[alerts]\nweekly_report = \"Friday\"\nweekly_report_hour = 15\n"),
        Some(ReportTime {
            day: Weekday::Friday,
            hour: 15
        })
    );
    assert_eq!(time("[alerts]\nweekly_report = \"off\"\n"), None);
    let found = problems(load("[alerts]\nweekly_report = \"fortnightly\"\n"));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "alerts.weekly_report");
    let found = problems(load("[alerts]\nweekly_report_hour = 24\n"));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "alerts.weekly_report_hour");
    assert!(found[0].1.contains("0 to 23"), "{found:?}");
}

#[test]
fn the_daemons_intervals_default_to_production_and_can_be_set_short() {
    use std::time::Duration;
    let load = |text: &str| Config::from_toml(text, Path::new("patdesk.toml"), None);
    let defaults = load("").expect("valid").intervals;
    assert_eq!(defaults, patdesk::config::Intervals::default());
    assert_eq!(defaults.outbox, Duration::from_secs(30));
    assert_eq!(defaults.look_for_commits, Duration::from_secs(2));
    assert_eq!(defaults.alerts, Duration::from_secs(5));
    assert_eq!(defaults.status, Duration::from_secs(30));
    assert_eq!(defaults.upkeep, Duration::from_secs(3600));
    let short = load(
        "[intervals]\noutbox_seconds = 0.5\nlook_for_commits_seconds = 0.2\n\
         alerts_seconds = 0.25\nstatus_seconds = 1\nupkeep_seconds = 2\n",
    )
    .expect("valid")
    .intervals;
    assert_eq!(short.outbox, Duration::from_millis(500));
    assert_eq!(short.look_for_commits, Duration::from_millis(200));
    assert_eq!(short.alerts, Duration::from_millis(250));
    assert_eq!(short.status, Duration::from_secs(1));
    assert_eq!(short.upkeep, Duration::from_secs(2));
    let found = problems(load(
        "[intervals]\noutbox_seconds = 0\nalerts_seconds = 100000\n",
    ));
    let keys: Vec<&str> = found.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(
        keys,
        ["intervals.outbox_seconds", "intervals.alerts_seconds"],
        "{found:?}"
    );
    // The sync period is the GitHub section's, not an interval here: the key is refused.
    let error = load("[intervals]\nsync_seconds = 1\n").expect_err("unknown key");
    assert!(error.to_string().contains("sync_seconds"), "{error}");
}
