//! [github.webhook]: off unless configured.

use super::*;

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
