//! Secrets: where each comes from, who may read it, and that it never shows.

use super::*;

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

/// The credentials of `credentials()`, made their owner's alone, and a unit that loads them
/// from there by `LoadCredential=` (leaving out `loaded_not`), as the package installs one.
fn unit_loading(creds: &Path, loaded_not: &str) -> PathBuf {
    let mut unit = String::from("[Service]\n# LoadCredential=commented:/nowhere\n");
    for entry in std::fs::read_dir(creds).expect("credentials") {
        let path = entry.expect("entry").path();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        if name != loaded_not && name != "patdesk.toml" {
            unit.push_str(&format!("LoadCredential={name}:{}\n", path.display()));
        }
    }
    let unit_path = creds.join("patdesk.service");
    std::fs::write(&unit_path, unit).expect("write unit");
    unit_path
}

/// `check-config` by hand on the installed host: no $CREDENTIALS_DIRECTORY, so each secret is
/// read where the unit loads it from.
#[test]
fn credentials_are_read_where_the_unit_loads_them_without_credentials_directory() {
    let creds = credentials();
    let example = example_with_slack(creds.path());
    let unit = unit_loading(creds.path(), "");
    let config =
        Config::load_with(&example, CredentialFiles::from_units(&[unit.as_path()])).expect("valid");
    config
        .check_secrets()
        .expect("every secret is read from the unit's files");
}

#[test]
fn a_credential_the_unit_does_not_load_is_named_with_the_line_to_add() {
    let creds = credentials();
    let example = example_with_slack(creds.path());
    let unit = unit_loading(creds.path(), "signing-key");
    let found = secret_problems(Config::load_with(
        &example,
        CredentialFiles::from_units(&[unit.as_path()]),
    ));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "signing.key");
    assert!(
        found[0].1.contains("LoadCredential=signing-key:")
            && found[0].1.contains(&unit.display().to_string()),
        "{found:?}"
    );
}

/// The unit names the originals, which must be their owner's alone as any secret file.
#[test]
fn a_credential_the_unit_loads_from_a_shared_file_is_refused() {
    let creds = credentials();
    let example = example_with_slack(creds.path());
    let unit = unit_loading(creds.path(), "");
    std::fs::set_permissions(
        creds.path().join("signing-key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    let found = secret_problems(Config::load_with(
        &example,
        CredentialFiles::from_units(&[unit.as_path()]),
    ));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "signing.key");
}
