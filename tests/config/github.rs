//! [github]: the App key and HTTPS endpoints.

use super::*;

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
