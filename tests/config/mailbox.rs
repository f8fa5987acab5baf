//! [mailbox]: servers, presets and sign-in.

use super::*;

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
