//! Signing in with OAuth 2: each grant asks the token endpoint as its provider documents
//! (against the OAuth stand-in), tokens are kept and renewed, a refusing endpoint is asked
//! again only after a wait, and the real Dovecot and Postfix take the tokens over IMAP
//! (XOAUTH2/OAUTHBEARER) and SMTP (XOAUTH2).

mod common;

use std::path::Path;
use std::time::Duration;

use common::desk::{Desk, DeskSetup, wait_for};
use common::mailserver::{self, IMAPS_PORT, TestFolder, ca_file, create, team_session};
use common::oauth::{self, key_file, refuse, register, revoke_tokens, secret_file, seen, unique};
use jiff::SignedDuration;
use patdesk::clock::{Clock, ManualClock};
use patdesk::config::{Config, GOOGLE_SCOPE, MICROSOFT_SCOPE};
use patdesk::imap::MailboxAccess;
use patdesk::oauth::{Credential, OauthError, TokenSource};
use serde_json::json;

/// A config whose mailbox signs in with `oauth2_section` (the body of `[oauth2]`).
fn config_with(dir: &Path, user: &str, oauth2_section: &str) -> Config {
    let text = format!(
        "[store]\npath = \"patdesk.db\"\n\
         [mailbox]\nhost = \"localhost\"\nport = {IMAPS_PORT}\nsecurity = \"tls\"\nca_file = \"{}\"\n\
         username = \"{user}\"\nsign_in = \"oauth2\"\naddress = \"{user}@example.org\"\n\
         [oauth2]\n{oauth2_section}",
        ca_file().display()
    );
    let path = dir.join("patdesk.toml");
    std::fs::write(&path, &text).expect("config");
    Config::load(&path).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// The body of an `[oauth2]` for `client`, a Microsoft app of the stand-in's proving itself by
/// the secret in the file `client-secret`.
fn microsoft_section(client: &str) -> String {
    format!(
        "flow = \"microsoft\"\ntenant_id = \"contoso\"\nclient_id = \"{client}\"\n\
         client_secret = {{ file = \"client-secret\" }}\ntoken_url = \"{}/contoso/oauth2/v2.0/token\"\n",
        oauth::url()
    )
}

/// Part `name` of `patdesk status --json`, once it is failing.
fn failing_part(desk: &Desk, name: &str) -> Option<serde_json::Value> {
    wait_for(30, || {
        let output = desk.patdesk(&["status", "--json"]);
        let status: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
        status["parts"]
            .as_array()?
            .iter()
            .find(|part| part["part"] == name && part["failing_since"].is_string())
            .cloned()
    })
}

fn tokens(config: &Config) -> TokenSource {
    tokens_on(config, Clock::system())
}

/// A token source on `clock`, which the test moves instead of waiting.
fn tokens_on(config: &Config, clock: Clock) -> TokenSource {
    TokenSource::new(
        config.oauth2.as_ref().expect("[oauth2]"),
        Duration::from_secs(10),
        clock,
    )
    .expect("token source")
}

/// A clock that starts at the real time (the stand-in checks assertions against its own) and
/// moves only when the test moves it.
fn a_clock_to_move() -> ManualClock {
    ManualClock::starting_at(Clock::system().now())
}

/// A Microsoft app-only client with a secret, at the stand-in, for `user`.
fn microsoft_client(dir: &Path, user: &str, lifetime: u64) -> (String, Config) {
    let client_id = register(json!({
        "client_id": unique("ms"),
        "username": user,
        "secret": "the-client-secret",
        "scope": MICROSOFT_SCOPE,
        "lifetime_seconds": lifetime,
    }));
    secret_file(dir, "client-secret", "the-client-secret\n");
    let config = config_with(dir, user, &microsoft_section(&client_id));
    (client_id, config)
}

#[test]
fn each_grant_asks_the_token_endpoint_as_its_provider_documents() {
    let runtime = common::runtime();
    let dir = tempfile::tempdir().expect("dir");

    // Microsoft, client secret: client_credentials with the .default scope.
    let (secret_client, config) = microsoft_client(dir.path(), "team", 3600);
    let source = tokens(&config);
    let first = runtime.block_on(source.token()).expect("a token");
    // Kept while it is good: the endpoint is not asked again.
    let again = runtime.block_on(source.token()).expect("the kept token");
    assert_eq!(first, again);
    assert_eq!(seen(&secret_client)["issued"], 1);
    assert_eq!(
        seen(&secret_client)["grants"],
        json!(["client_credentials"])
    );

    // Microsoft, certificate: a client assertion signed with the key, naming the certificate
    // by its SHA-256 thumbprint; the stand-in checks signature, audience and thumbprint.
    let certificate_client = register(json!({
        "client_id": unique("ms-cert"),
        "username": "team",
        "public_key_pem": key_file("app-key.pub.pem"),
        "certificate_pem": key_file("app-cert.pem"),
        "scope": MICROSOFT_SCOPE,
    }));
    secret_file(dir.path(), "app-key.pem", &key_file("app-key.pem"));
    std::fs::copy(
        oauth::keys_dir().join("app-cert.pem"),
        dir.path().join("app-cert.pem"),
    )
    .expect("certificate");
    let config = config_with(
        dir.path(),
        "team",
        &format!(
            "flow = \"microsoft\"\ntenant_id = \"contoso\"\nclient_id = \"{certificate_client}\"\n\
             certificate = \"app-cert.pem\"\ncertificate_key = {{ file = \"app-key.pem\" }}\n\
             token_url = \"{}/contoso/oauth2/v2.0/token\"\n",
            oauth::url()
        ),
    );
    runtime
        .block_on(tokens(&config).token())
        .expect("a token by certificate");
    assert_eq!(seen(&certificate_client)["issued"], 1);

    // Google: the JWT-bearer grant, the service account acting as the mailbox, with the
    // mail scope; `expires_in` as a string is read too.
    let account = register(json!({
        "client_id": "patdesk@patdesk-test.iam.gserviceaccount.com",
        "username": "team",
        "public_key_pem": key_file("sa-key.pub.pem"),
        "scope": GOOGLE_SCOPE,
        "expires_in_as_string": true,
    }));
    secret_file(
        dir.path(),
        "service-account.json",
        &key_file("service-account.json"),
    );
    let config = config_with(
        dir.path(),
        "team",
        &format!(
            "flow = \"google\"\nservice_account_key = {{ file = \"service-account.json\" }}\n\
             token_url = \"{}/token\"\n",
            oauth::url()
        ),
    );
    runtime
        .block_on(tokens(&config).token())
        .expect("a token for the service account");
    assert_eq!(
        seen(&account)["grants"],
        json!(["urn:ietf:params:oauth:grant-type:jwt-bearer"])
    );
    // The service account may act for the team mailbox only.
    let config = config_with(
        dir.path(),
        "carol",
        &format!(
            "flow = \"google\"\nservice_account_key = {{ file = \"service-account.json\" }}\n\
             token_url = \"{}/token\"\n",
            oauth::url()
        ),
    );
    let refused = runtime.block_on(tokens(&config).token());
    assert!(
        matches!(&refused, Err(OauthError::Refused { error, .. }) if error == "unauthorized_client"),
        "{refused:?}"
    );

    // Refresh token, rotated at each use: the newest one is sent next time (the old one is
    // refused by then).
    let refreshing = register(json!({
        "client_id": unique("refresh"),
        "username": "team",
        "secret": "public-client-secret",
        "refresh_token": "first-refresh-token",
        "rotate_refresh_token": true,
    }));
    secret_file(dir.path(), "refresh-token", "first-refresh-token");
    secret_file(dir.path(), "refresh-secret", "public-client-secret");
    let config = config_with(
        dir.path(),
        "team",
        &format!(
            "flow = \"refresh_token\"\nclient_id = \"{refreshing}\"\n\
             client_secret = {{ file = \"refresh-secret\" }}\nrefresh_token = {{ file = \"refresh-token\" }}\n\
             token_url = \"{}/common/oauth2/v2.0/token\"\n\
             scope = \"https://outlook.office.com/IMAP.AccessAsUser.All offline_access\"\n",
            oauth::url()
        ),
    );
    let source = tokens(&config);
    for _ in 0..3 {
        runtime
            .block_on(source.renewed())
            .expect("renewed with the newest refresh token");
    }
    assert_eq!(seen(&refreshing)["issued"], 3);
}

#[test]
fn a_refusing_token_endpoint_is_asked_again_only_after_a_wait() {
    let runtime = common::runtime();
    let dir = tempfile::tempdir().expect("dir");
    let (client, config) = microsoft_client(dir.path(), "team", 3600);
    refuse(
        &client,
        Some((
            "invalid_client",
            "AADSTS7000222: The provided client secret keys are expired.",
        )),
    );
    let hand = a_clock_to_move();
    let source = tokens_on(&config, hand.clock());
    let error = runtime.block_on(source.token()).expect_err("refused");
    let message = error.to_string();
    assert!(
        message.contains("invalid_client") && message.contains("AADSTS7000222"),
        "{message}"
    );
    assert!(
        !message.contains("the-client-secret"),
        "the secret leaks: {message}"
    );
    // Asked again at once (a reconnect loop would), the endpoint is left alone.
    for _ in 0..20 {
        let waiting = runtime.block_on(source.token()).expect_err("still waiting");
        assert!(matches!(waiting, OauthError::Waiting { .. }), "{waiting:?}");
    }
    assert_eq!(seen(&client)["requests"], 1);
    // Served again: not before the first wait (5 s and up to a quarter more) is over, then
    // the next try succeeds.
    refuse(&client, None);
    hand.advance(SignedDuration::from_millis(4_900));
    let waiting = runtime.block_on(source.token()).expect_err("still waiting");
    assert!(matches!(waiting, OauthError::Waiting { .. }), "{waiting:?}");
    assert_eq!(seen(&client)["requests"], 1);
    hand.advance(SignedDuration::from_millis(1_600));
    runtime
        .block_on(source.token())
        .expect("a token after the wait");
    assert_eq!(seen(&client)["requests"], 2);
}

#[test]
fn dovecot_takes_the_token_over_imap_and_a_revoked_one_is_renewed_once() {
    mailserver::require();
    let runtime = common::runtime();
    let dir = tempfile::tempdir().expect("dir");
    let (client, config) = microsoft_client(dir.path(), "team", 3600);
    let source = tokens(&config);
    let mailbox = config.mailbox.clone().expect("mailbox");
    let access = MailboxAccess::new(mailbox, Credential::Oauth2(source.clone()));
    runtime.block_on(async {
        let mut session = access.open_session().await.expect("signed in with a token");
        session.select("INBOX").await.expect("select");
        let _ = session.logout().await;
    });
    assert!(
        seen(&client)["introspected"].as_u64() >= Some(1),
        "Dovecot asked about the token"
    );

    // The provider revokes the token before its time: Dovecot refuses it, patdesk gets a new
    // one and signs in.
    revoke_tokens(&client);
    runtime.block_on(async {
        let mut session = access
            .open_session()
            .await
            .expect("signed in after renewing");
        let _ = session.logout().await;
    });
    assert_eq!(seen(&client)["issued"], 2);

    // A token the provider never issued is refused: the login fails, naming the user.
    let forged = patdesk::config::Secret::new("standin-forged");
    let bad = patdesk::imap::connect(
        &access.mailbox.endpoint,
        patdesk::imap::Login::Bearer {
            username: "team",
            token: &forged,
        },
        Duration::from_secs(20),
    );
    let error = runtime
        .block_on(bad)
        .expect_err("a forged token is refused");
    assert!(
        error.to_string().contains("refused the login for team"),
        "{error}"
    );
}

#[test]
fn mail_is_sent_and_read_with_oauth2_tokens_only() {
    mailserver::require();
    let runtime = common::runtime();
    let folder = TestFolder::new("oauth2-watch");
    runtime.block_on(async { create(&mut team_session().await, &folder.name).await });
    let client = register(json!({
        "client_id": unique("watch"),
        "username": "team",
        "secret": "the-client-secret",
        "scope": MICROSOFT_SCOPE,
    }));
    let path = oauth_config_file(&folder, &client);
    let config = Config::load(&path).expect("config");
    config.check_secrets().expect("secrets");
    let source = tokens(&config);

    // Sending: Postfix's submission port, signed in by Dovecot's SASL with the token.
    let smtp = config.smtp.as_ref().expect("smtp");
    let sender = patdesk::smtp::Sender::new(
        smtp,
        Some(Credential::Oauth2(source.clone())),
        patdesk::config::Secret::new("the-client-secret"),
        patdesk::mail::compose::Templates::load(None).expect("templates"),
        "team@example.org",
    )
    .expect("sender");
    let mut store =
        patdesk::store::Store::open(&folder.db(), &patdesk::clock::Clock::system()).expect("store");
    let recipient = format!("team+{}@example.org", folder.name);
    store
        .write(|tx| {
            tx.enqueue_mail(
                &recipient,
                &patdesk::mail::Outgoing::Alert(patdesk::mail::AlertMail {
                    request: None,
                    summary: "signed in with OAuth 2".to_string(),
                    message: "a test alert".to_string(),
                }),
                "oauth2-alert",
            )
        })
        .expect("queue");
    let postfix_log =
        || std::fs::read_to_string(mailserver::mail_dir().join("postfix.log")).unwrap_or_default();
    let logged_before = postfix_log().len();
    let report = runtime
        .block_on(sender.send_queued(&mut store))
        .expect("send");
    assert_eq!(report.sent, 1, "{report:?}");
    let logged = wait_for(10, || {
        let log = postfix_log();
        log.get(logged_before..)
            .filter(|new| new.contains("sasl_method=XOAUTH2, sasl_username=team"))
            .map(str::to_string)
    });
    assert!(
        logged.is_some(),
        "Postfix took the mail after an XOAUTH2 login"
    );

    // Reading: the alert arrives in the watched folder and is taken in over an OAuth session.
    let mut watch = folder.intake_from(&path, patdesk::mail::MailPolicy::default());
    assert!(matches!(watch.imap.credential, Credential::Oauth2(_)));
    let taken = wait_for(20, || {
        runtime.block_on(async {
            let mut session = watch.imap.open_session().await.ok()?;
            let report = watch.catch_up(&mut session).await.ok()?;
            let _ = session.logout().await;
            (report.ingested + report.recognised > 0).then_some(report)
        })
    });
    assert!(
        taken.is_some(),
        "the mail was taken in over an OAuth 2 session"
    );
}

/// `folder`'s config with the mailbox and SMTP (Postfix's submission port) signing in with
/// tokens of `client`'s, and no password anywhere.
fn oauth_config_file(folder: &TestFolder, client: &str) -> std::path::PathBuf {
    let path = folder.config_file(&format!(
        "[oauth2]\nflow = \"microsoft\"\ntenant_id = \"contoso\"\nclient_id = \"{client}\"\n\
         client_secret = {{ file = \"client-secret\" }}\ntoken_url = \"{}/contoso/oauth2/v2.0/token\"\n\
         [signing]\nkey = {{ file = \"client-secret\" }}\n\
         [smtp]\nhost = \"localhost\"\nport = {}\nsecurity = \"starttls\"\nca_file = \"{}\"\n\
         username = \"team\"\nsign_in = \"oauth2\"\nfrom = \"Platform team <team@example.org>\"\n",
        oauth::url(),
        submission_port(),
        ca_file().display()
    ));
    let text = std::fs::read_to_string(&path).expect("config");
    let text = text.replace(
        "password = { file = \"imap-password\" }",
        "sign_in = \"oauth2\"",
    );
    std::fs::write(&path, text).expect("config");
    secret_file(
        path.parent().expect("dir"),
        "client-secret",
        "the-client-secret",
    );
    path
}

#[test]
fn check_config_connect_signs_in_everywhere_and_names_the_step_that_failed() {
    mailserver::require();
    let folder = TestFolder::new("oauth2-connect");
    let client = register(json!({
        "client_id": unique("connect"),
        "username": "team",
        "secret": "the-client-secret",
        "scope": MICROSOFT_SCOPE,
    }));
    let path = oauth_config_file(&folder, &client);
    let check = |path: &Path| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_patdesk"))
            .args(["check-config", "--connect", "--config"])
            .arg(path)
            .output()
            .expect("run check-config");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).to_string(),
            String::from_utf8_lossy(&output.stderr).to_string(),
        )
    };
    let (code, out, err) = check(&path);
    assert_eq!(code, Some(0), "{out}{err}");
    for step in [
        "ok: getting an OAuth 2 token from",
        "ok: signing in to IMAP localhost:10993",
        "ok: signing in to SMTP localhost:",
    ] {
        assert!(out.contains(step), "{step}: {out}");
    }
    assert!(out.contains("OAuth 2 token from [oauth2]"), "{out}");

    // The mailbox refuses: the IMAP step is named, after the token.
    let text = std::fs::read_to_string(&path).expect("config");
    std::fs::write(
        &path,
        text.replace(
            "username = \"team\"\nsign_in",
            "username = \"carol\"\nsign_in",
        ),
    )
    .expect("config");
    let (code, out, err) = check(&path);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(out.contains("ok: getting an OAuth 2 token"), "{out}");
    assert!(
        err.contains("signing in to IMAP") && err.contains("failed"),
        "{err}"
    );

    // The token endpoint refuses: that step is named, and nothing after it is tried.
    refuse(
        &client,
        Some((
            "invalid_client",
            "AADSTS7000215: Invalid client secret provided.",
        )),
    );
    let (code, out, err) = check(&path);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        err.contains("getting an OAuth 2 token from") && err.contains("invalid_client"),
        "{err}"
    );
    assert!(!out.contains("ok: signing in"), "{out}");
}

fn submission_port() -> u16 {
    std::env::var("PATDESK_SUBMISSION_PORT")
        .ok()
        .and_then(|port| port.parse().ok())
        .unwrap_or(10587)
}

#[test]
fn a_refusing_token_endpoint_shows_in_status_raises_one_alert_and_intake_resumes() {
    let client = register(json!({
        "client_id": unique("daemon"),
        "username": "team",
        "secret": "the-client-secret",
        "scope": MICROSOFT_SCOPE,
        "refuse": { "error": "invalid_client", "description": "AADSTS7000215: Invalid client secret provided." },
    }));
    let desk = Desk::new(
        TestFolder::new("oauth-status"),
        DeskSetup {
            extra: format!(
                "[oauth2]\nflow = \"microsoft\"\ntenant_id = \"contoso\"\nclient_id = \"{client}\"\n\
                 client_secret = {{ file = \"client-secret\" }}\ntoken_url = \"{}/contoso/oauth2/v2.0/token\"\n\
                 [alerts]\nstalled_after_minutes = 5\n",
                oauth::url()
            ),
            ..DeskSetup::default()
        },
    );
    desk.write_secret("client-secret", "the-client-secret");
    let text = std::fs::read_to_string(&desk.config).expect("config");
    std::fs::write(
        &desk.config,
        text.replace(
            "password = { file = \"imap-password\" }",
            "sign_in = \"oauth2\"",
        ),
    )
    .expect("config");

    let _daemon = desk.start_daemon();
    let failing = failing_part(&desk, "oauth2")
        .unwrap_or_else(|| panic!("the refused token was not recorded\n{}", desk.log()));
    let error = failing["last_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("invalid_client") && error.contains("AADSTS7000215"),
        "{failing}"
    );
    let readable = String::from_utf8_lossy(&desk.patdesk(&["status"]).stdout).to_string();
    assert!(readable.contains("oauth2"), "{readable}");
    // One clear line in the log, naming the endpoint's refusal.
    let log = desk.log();
    let lines: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("invalid_client"))
        .collect();
    assert!(
        lines
            .first()
            .is_some_and(|line| line.contains("no OAuth 2 token to sign in with")),
        "{log}"
    );

    // Failing for longer than alerts.stalled_after_minutes: one alert, however long it lasts.
    let twenty_minutes_ago =
        (patdesk::clock::Clock::system().now() - jiff::SignedDuration::from_mins(20)).to_string();
    let alerts = "SELECT COUNT(*) FROM alerts WHERE kind = 'sign_in_stalled'";
    desk.store()
        .connection()
        .execute(
            "UPDATE health SET failing_since = ?1 WHERE part = 'oauth2'",
            [&twenty_minutes_ago],
        )
        .expect("backdate");
    wait_for(20, || {
        (common::count(&desk.folder.db(), alerts) == 1).then_some(())
    })
    .unwrap_or_else(|| panic!("no sign-in alert\n{}", desk.log()));
    desk.wait_for_alert_rounds(4);
    assert_eq!(
        common::count(&desk.folder.db(), alerts),
        1,
        "one alert only"
    );
    // Past the threshold the health check fails.
    let status = desk.patdesk(&["status"]);
    assert_eq!(
        status.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );

    // Never a tight loop: a handful of requests in these seconds, not hundreds.
    let requests = seen(&client)["requests"].as_u64().unwrap_or_default();
    assert!((1..=8).contains(&requests), "{requests} token requests");

    // The secret is fixed: intake signs in again by itself.
    refuse(&client, None);
    wait_for(90, || {
        let output = desk.patdesk(&["status", "--json"]);
        let status: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
        let ok = |name: &str| {
            status["parts"].as_array().is_some_and(|parts| {
                parts
                    .iter()
                    .any(|part| part["part"] == name && part["failing_since"].is_null())
            })
        };
        (ok("oauth2") && ok("imap")).then_some(())
    })
    .unwrap_or_else(|| panic!("intake did not resume\n{}", desk.log()));
    assert!(
        !desk.log().contains("the-client-secret"),
        "the secret reached the log"
    );
}

#[test]
fn a_token_is_renewed_before_it_expires() {
    let runtime = common::runtime();
    let dir = tempfile::tempdir().expect("dir");
    // Ten seconds of life: renewed once half of it is gone.
    let (client, config) = microsoft_client(dir.path(), "team", 10);
    let hand = a_clock_to_move();
    let source = tokens_on(&config, hand.clock());
    let first = runtime.block_on(source.token()).expect("token");
    assert_eq!(runtime.block_on(source.token()).expect("kept"), first);
    hand.advance(SignedDuration::from_millis(4_900));
    assert_eq!(runtime.block_on(source.token()).expect("kept"), first);
    assert_eq!(seen(&client)["issued"], 1);
    hand.advance(SignedDuration::from_millis(1_100));
    let second = runtime.block_on(source.token()).expect("renewed");
    assert_ne!(first, second, "renewed before it expired");
    assert_eq!(seen(&client)["issued"], 2);
}

/// A desk whose mailbox and SMTP sign in with tokens only: `[oauth2]` is `oauth2_section`
/// (secrets beside the config are written by the caller), SMTP goes to Postfix's submission
/// port, and the sync finds one request of dave's without a purpose, so a question is due.
fn oauth_desk(tag: &str, oauth2_section: &str) -> (Desk, String) {
    let token_name = format!("oauth-{tag}-{}", std::process::id());
    let desk = Desk::new(
        TestFolder::new(tag),
        DeskSetup {
            pending: vec![common::standin::pending(8101, "dave", &token_name, None)],
            extra: format!("[oauth2]\n{oauth2_section}"),
            ..DeskSetup::default()
        },
    );
    let text = std::fs::read_to_string(&desk.config).expect("config");
    let plain_smtp = format!(
        "[smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plaintext\"\n",
        mailserver::SMTP_PORT
    );
    assert!(text.contains(&plain_smtp), "{text}");
    let text = text
        .replace("password = { file = \"imap-password\" }", "sign_in = \"oauth2\"")
        .replace(
            &plain_smtp,
            &format!(
                "[smtp]\nhost = \"localhost\"\nport = {}\nsecurity = \"starttls\"\nca_file = \"{}\"\n\
                 username = \"team\"\nsign_in = \"oauth2\"\n",
                submission_port(),
                ca_file().display()
            ),
        );
    std::fs::write(&desk.config, text).expect("config");
    (desk, token_name)
}

/// How many questions about `token_name` dave has received.
fn questions_to_dave(token_name: &str) -> usize {
    common::runtime()
        .block_on(mailserver::inbox(
            "dave",
            &format!("SUBJECT \"{token_name}\""),
        ))
        .len()
}

fn a_mail(subject: &str) -> Vec<u8> {
    format!(
        "From: Erin <erin@example.org>\r\nTo: team@example.org\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@example.org>\r\nDate: Wed, 02 Dec 2026 10:00:00 +0000\r\n\r\nHello.\r\n"
    )
    .into_bytes()
}

/// The daemon's log holds no token, secret or signed assertion, even at trace level (which
/// it was logging at: the token's debug line is there).
fn assert_no_secrets(log: &str) {
    assert!(
        log.contains("\"level\":\"DEBUG\"") && log.contains("OAuth 2 access token obtained"),
        "not a JSON debug log:\n{log}"
    );
    for secret in [
        "standin-",
        "the-client-secret",
        "eyJ",
        "PRIVATE KEY",
        "first-refresh-token",
    ] {
        assert!(!log.contains(secret), "{secret:?} reached the log:\n{log}");
    }
}

const TRACE_JSON: &[(&str, &str)] = &[("PATDESK_LOG", "trace"), ("PATDESK_LOG_FORMAT", "json")];

#[test]
fn the_service_reads_and_sends_with_each_sign_in_method() {
    mailserver::require();
    // Microsoft with a secret, Microsoft with a certificate, a Google service account (one
    // of this test's own, so no other test's counts move), a rotating refresh token.
    let email = format!("{}@patdesk-test.iam.gserviceaccount.com", unique("sa"));
    let methods: Vec<(&str, serde_json::Value, String)> = vec![
        (
            "secret",
            json!({ "client_id": unique("svc-secret"), "username": "team",
                    "secret": "the-client-secret", "scope": MICROSOFT_SCOPE }),
            "flow = \"microsoft\"\ntenant_id = \"contoso\"\nclient_id = \"{id}\"\n\
             client_secret = { file = \"client-secret\" }\ntoken_url = \"{url}/contoso/oauth2/v2.0/token\"\n"
                .to_string(),
        ),
        (
            "certificate",
            json!({ "client_id": unique("svc-cert"), "username": "team",
                    "public_key_pem": key_file("app-key.pub.pem"),
                    "certificate_pem": key_file("app-cert.pem"), "scope": MICROSOFT_SCOPE }),
            "flow = \"microsoft\"\ntenant_id = \"contoso\"\nclient_id = \"{id}\"\n\
             certificate = \"app-cert.pem\"\ncertificate_key = { file = \"app-key.pem\" }\n\
             token_url = \"{url}/contoso/oauth2/v2.0/token\"\n"
                .to_string(),
        ),
        (
            "google",
            json!({ "client_id": email, "username": "team",
                    "public_key_pem": key_file("sa-key.pub.pem"), "scope": GOOGLE_SCOPE }),
            "flow = \"google\"\nservice_account_key = { file = \"service-account.json\" }\n\
             token_url = \"{url}/token\"\n"
                .to_string(),
        ),
        (
            "refresh",
            json!({ "client_id": unique("svc-refresh"), "username": "team",
                    "refresh_token": "first-refresh-token", "rotate_refresh_token": true }),
            "flow = \"refresh_token\"\nclient_id = \"{id}\"\nrefresh_token = { file = \"refresh-token\" }\n\
             token_url = \"{url}/common/oauth2/v2.0/token\"\n"
                .to_string(),
        ),
    ];
    let runs: Vec<_> = methods
        .into_iter()
        .map(|(tag, client, section)| {
            std::thread::spawn(move || {
                let id = register(client);
                let section = section.replace("{id}", &id).replace("{url}", &oauth::url());
                let (desk, token_name) = oauth_desk(&format!("svc-{tag}"), &section);
                let dir = desk.config.parent().expect("dir").to_path_buf();
                secret_file(&dir, "client-secret", "the-client-secret");
                secret_file(&dir, "app-key.pem", &key_file("app-key.pem"));
                secret_file(&dir, "refresh-token", "first-refresh-token");
                std::fs::copy(oauth::keys_dir().join("app-cert.pem"), dir.join("app-cert.pem"))
                    .expect("certificate");
                let account = key_file("service-account.json").replace(
                    "patdesk@patdesk-test.iam.gserviceaccount.com",
                    &section_email(&section, &id),
                );
                secret_file(&dir, "service-account.json", &account);

                let _daemon = desk.start_daemon_with(TRACE_JSON);
                // Sending: the question reaches dave through the submission port.
                wait_for(40, || (questions_to_dave(&token_name) == 1).then_some(()))
                    .unwrap_or_else(|| panic!("{tag}: no question sent\n{}", desk.log()));
                // Reading: a mail to the watched folder is taken in.
                mailserver::send(&desk.address(), &a_mail(&format!("{tag}-{}", std::process::id())));
                wait_for(30, || {
                    (common::count(
                        &desk.folder.db(),
                        "SELECT COUNT(*) FROM messages WHERE subject LIKE '%-%' AND direction = 'in'",
                    ) >= 1)
                        .then_some(())
                })
                .unwrap_or_else(|| panic!("{tag}: the mail was not taken in\n{}", desk.log()));
                assert!(seen(&id)["issued"].as_u64() >= Some(1), "{tag}: {}", seen(&id));
                assert_no_secrets(&desk.log());
            })
        })
        .collect();
    for run in runs {
        // Each thread panics with its method's name and the daemon's log when it fails.
        run.join()
            .unwrap_or_else(|_| panic!("a sign-in method failed"));
    }
}

/// The service account a Google section's client id names: the test registered it as `id`.
fn section_email(section: &str, id: &str) -> String {
    if section.contains("flow = \"google\"") {
        id.to_string()
    } else {
        "patdesk@patdesk-test.iam.gserviceaccount.com".to_string()
    }
}

#[test]
fn tokens_that_expire_during_a_run_are_renewed_and_no_mail_is_lost_or_sent_twice() {
    mailserver::require();
    // Ten seconds of life: renewed every five, several times in this run.
    let client = register(json!({
        "client_id": unique("short"),
        "username": "team",
        "secret": "the-client-secret",
        "scope": MICROSOFT_SCOPE,
        "lifetime_seconds": 10,
    }));
    let (desk, token_name) = oauth_desk("oauth-expiry", &microsoft_section(&client));
    desk.write_secret("client-secret", "the-client-secret");
    let _daemon = desk.start_daemon_with(TRACE_JSON);
    // A mail, then a renewal, then the next mail: each mail after the first arrives on a
    // session signed in with a token the last one did not have.
    let issued = || seen(&client)["issued"].as_u64().unwrap_or_default();
    wait_for(30, || (issued() >= 1).then_some(()))
        .unwrap_or_else(|| panic!("no first token\n{}", desk.log()));
    let mails = 4;
    for n in 0..mails {
        let before = issued();
        mailserver::send(
            &desk.address(),
            &a_mail(&format!("expiry-{n}-{}", std::process::id())),
        );
        wait_for(30, || (issued() > before).then_some(()))
            .unwrap_or_else(|| panic!("no renewal after mail {n}\n{}", desk.log()));
    }
    let stored = "SELECT COUNT(*) FROM messages WHERE subject LIKE 'expiry-%'";
    wait_for(30, || {
        (common::count(&desk.folder.db(), stored) == i64::from(mails)).then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "mails lost: {}\n{}",
            common::count(&desk.folder.db(), stored),
            desk.log()
        )
    });
    assert_eq!(
        common::count(
            &desk.folder.db(),
            "SELECT COUNT(DISTINCT message_id) FROM messages WHERE subject LIKE 'expiry-%'"
        ),
        i64::from(mails)
    );
    assert_eq!(
        questions_to_dave(&token_name),
        1,
        "the question once\n{}",
        desk.log()
    );
    let issued = seen(&client)["issued"].as_u64().unwrap_or_default();
    assert!(issued >= 3, "tokens renewed during the run: {issued}");
    let log = desk.log();
    assert!(
        !log.contains("mail intake failing"),
        "intake never failed\n{log}"
    );
    assert_no_secrets(&log);
}

#[test]
fn a_token_dovecot_refuses_is_renewed_once_then_backed_off() {
    mailserver::require();
    // The provider grants tokens, but for another account: Dovecot refuses each.
    let client = register(json!({
        "client_id": unique("wrong-account"),
        "username": "carol",
        "secret": "the-client-secret",
        "scope": MICROSOFT_SCOPE,
    }));
    let (desk, _) = oauth_desk("oauth-refused", &microsoft_section(&client));
    desk.write_secret("client-secret", "the-client-secret");
    let _daemon = desk.start_daemon();
    let failing = failing_part(&desk, "imap")
        .unwrap_or_else(|| panic!("the refusal was not recorded\n{}", desk.log()));
    assert!(
        failing["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("refused the login for team")),
        "{failing}"
    );
    // Each sign-in: the kept token, one renewal; between sign-ins a doubling wait (1 s, then
    // 2 s, each with up to half again of jitter). Shown by what happened, not by a count in a
    // window: from the second token to the fourth, two sign-ins' waits passed, at least 3 s.
    let issued = || seen(&client)["issued"].as_u64().unwrap_or_default();
    let when_issued = |count: u64| {
        wait_for(120, || (issued() >= count).then(std::time::Instant::now))
            .unwrap_or_else(|| panic!("never {count} tokens: {}\n{}", seen(&client), desk.log()))
    };
    let second = when_issued(2);
    let fourth = when_issued(4);
    // The poll that saw the second token may have been up to a poll late.
    assert!(
        fourth.duration_since(second) >= Duration::from_millis(2500),
        "renewed without backing off: {:?}\n{}",
        fourth.duration_since(second),
        desk.log()
    );
    // No token is thrown away untried: each was shown to Dovecot before the next was asked for.
    let seen = seen(&client);
    let (issued, introspected) = (
        seen["issued"].as_u64().unwrap_or_default(),
        seen["introspected"].as_u64().unwrap_or_default(),
    );
    assert!(issued <= introspected + 1, "{seen}\n{}", desk.log());
}
