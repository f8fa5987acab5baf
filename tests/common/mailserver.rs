//! The project's Dovecot and Postfix (started by `scripts/mailserver start`; `scripts/test`
//! does that), and helpers to give each test a folder of its own in the team mailbox.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use std::os::unix::fs::PermissionsExt;

use patdesk::config::{Config, Endpoint, Security};
use patdesk::imap::{ImapSession, Login, MailboxAccess, MailboxWatch, connect};
use patdesk::intake::Intake;
use patdesk::mail::MailPolicy;
use patdesk::store::Store;

pub const IMAPS_PORT: u16 = 10993;
pub const IMAP_PORT: u16 = 10143;
pub const SMTP_PORT: u16 = 10025;
pub const PASSWORD: &str = "patdesk-test";

pub fn mail_dir() -> PathBuf {
    PathBuf::from(
        std::env::var("PATDESK_MAIL_DIR").unwrap_or_else(|_| "/tmp/patdesk-mail".to_string()),
    )
}

pub fn ca_file() -> PathBuf {
    mail_dir().join("tls/ca.crt")
}

/// Fails with the way out when the servers are not running.
pub fn require() {
    if TcpStream::connect(("127.0.0.1", IMAPS_PORT)).is_err()
        || TcpStream::connect(("127.0.0.1", SMTP_PORT)).is_err()
    {
        panic!(
            "the test mail server is not running: start it with `scripts/mailserver start` (scripts/test does)"
        );
    }
}

/// A folder (and its Processed and Quarantine) in the team mailbox, unique to one test, and
/// patdesk's config for watching it.
pub struct TestFolder {
    pub name: String,
    /// Whose mailbox: `team`, or `desk` (whose server files sent mail in Sent itself).
    pub user: &'static str,
    dir: tempfile::TempDir,
}

/// A name part no other test, run or test binary uses: the process and a random number (not
/// the time, which tests do not read).
pub fn unique_suffix() -> String {
    let mut random = [0u8; 4];
    getrandom::getrandom(&mut random).expect("randomness");
    format!("{}-{}", std::process::id(), u32::from_le_bytes(random))
}

impl TestFolder {
    pub fn new(tag: &str) -> TestFolder {
        TestFolder::of(tag, "team")
    }

    /// A folder in `user`'s mailbox, which patdesk watches as the team mailbox.
    pub fn of(tag: &str, user: &'static str) -> TestFolder {
        TestFolder {
            name: format!("t-{tag}-{}", unique_suffix()),
            user,
            dir: tempfile::TempDir::new().expect("temp dir"),
        }
    }

    pub fn processed(&self) -> String {
        format!("{}-done", self.name)
    }

    pub fn quarantine(&self) -> String {
        format!("{}-quarantine", self.name)
    }

    /// The config file's text for this folder (the password file sits beside it).
    pub fn config_text(&self) -> String {
        let password = self.dir.path().join("imap-password");
        std::fs::write(&password, PASSWORD).expect("write password");
        std::fs::set_permissions(&password, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        format!(
            "[store]\npath = \"patdesk.db\"\n{}\
             [mailbox]\nhost = \"localhost\"\nport = {IMAPS_PORT}\nsecurity = \"tls\"\nca_file = \"{}\"\n\
             username = \"{user}\"\npassword = {{ file = \"imap-password\" }}\naddress = \"{user}@example.org\"\n\
             folder = \"{}\"\nprocessed_folder = \"{}\"\nquarantine_folder = \"{}\"\n\
             command_timeout_seconds = 20\n{}",
            super::users::control_section(),
            ca_file().display(),
            self.name,
            self.processed(),
            self.quarantine(),
            // desk's server files every mail it sends in Sent, as Gmail and Microsoft 365 do.
            if self.user == "desk" {
                "sent_copy = \"server\"\n"
            } else {
                ""
            },
            user = self.user,
        )
    }

    /// Writes the config file and returns its path.
    pub fn config_file(&self, extra: &str) -> PathBuf {
        let path = self.dir.path().join("patdesk.toml");
        std::fs::write(&path, format!("{}{extra}", self.config_text())).expect("write config");
        path
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("patdesk.db")
    }

    /// The config file with the mailbox reached in plaintext (allowed on loopback) at `port`:
    /// a proxy in front of Dovecot's plain port.
    pub fn config_file_through(&self, port: u16) -> PathBuf {
        let tls = format!(
            "port = {IMAPS_PORT}\nsecurity = \"tls\"\nca_file = \"{}\"\n",
            ca_file().display()
        );
        let text = self.config_text();
        assert!(text.contains(&tls), "{text}");
        let path = self.dir.path().join("patdesk.toml");
        let plain = format!("port = {port}\nsecurity = \"plaintext\"\n");
        std::fs::write(&path, text.replace(&tls, &plain)).expect("write config");
        path
    }

    /// The watch of this folder, as `patdesk run` would build it.
    pub fn intake(&self, policy: MailPolicy) -> MailboxWatch {
        self.intake_from(&self.config_file(""), policy)
    }

    /// An intake from a config file of this folder's, perhaps edited.
    pub fn intake_from(&self, config: &std::path::Path, policy: MailPolicy) -> MailboxWatch {
        let config = Config::load(config).expect("config");
        let tokens = config.oauth2.as_ref().map(|oauth2| {
            patdesk::oauth::TokenSource::new(
                oauth2,
                Duration::from_secs(10),
                patdesk::clock::Clock::system(),
            )
            .expect("tokens")
        });
        let mailbox = config.mailbox.expect("mailbox");
        let credential = patdesk::oauth::Credential::for_sign_in(&mailbox.sign_in, tokens.as_ref())
            .expect("credential");
        MailboxWatch {
            imap: MailboxAccess::new(mailbox, credential),
            intake: Intake {
                policy,
                signing_key: None,
                review: patdesk::review::ReviewPolicy::default(),
                orgs: vec!["acme-corp".to_string()],
                trigger: None,
                outbox: None,
                wal_restarts: patdesk::store::WalRestarts::Allowed,
            },
            store: Store::open(&self.db(), &patdesk::clock::Clock::system()).expect("store"),
        }
    }
}

pub fn endpoint(security: Security, port: u16, ca_file: Option<PathBuf>) -> Endpoint {
    Endpoint {
        host: "localhost".to_string(),
        port,
        security,
        ca_file,
    }
}

/// The team mailbox, as a test's own client.
pub async fn team_session() -> ImapSession {
    session("team").await
}

/// `user`'s mailbox, as a test's own client.
pub async fn session(user: &str) -> ImapSession {
    let secret = patdesk::config::Secret::new(PASSWORD);
    connect(
        &endpoint(Security::Tls, IMAPS_PORT, Some(ca_file())),
        Login::Password {
            username: user,
            password: &secret,
        },
        Duration::from_secs(20),
    )
    .await
    .expect("IMAP session")
}

pub async fn create(session: &mut ImapSession, folder: &str) {
    session.create(folder).await.expect("create folder");
}

pub async fn append(session: &mut ImapSession, folder: &str, raw: &[u8]) {
    session
        .append(folder, None, None, raw)
        .await
        .expect("append");
}

/// The test's folder created with `mails` mails in it, and the team mailbox to look at it with.
pub async fn filled(folder: &TestFolder, mails: usize) -> ImapSession {
    let mut admin = team_session().await;
    create(&mut admin, &folder.name).await;
    for n in 0..mails {
        append(&mut admin, &folder.name, &mail(n, &folder.name)).await;
    }
    admin
}

/// How many mails `folder` holds.
pub async fn count(session: &mut ImapSession, folder: &str) -> u32 {
    session.select(folder).await.expect("select").exists
}

/// Sends one mail over SMTP through Postfix, as a requester's mail server would.
pub fn send(to: &str, raw: &[u8]) {
    let stream = TcpStream::connect(("127.0.0.1", SMTP_PORT)).expect("SMTP connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    let mut expect = |code: &str| {
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("SMTP reply");
            assert!(line.starts_with(code), "SMTP expected {code}, got {line:?}");
            if line.as_bytes().get(3) != Some(&b'-') {
                break;
            }
        }
    };
    expect("220");
    for (command, code) in [
        ("EHLO test.example".to_string(), "250"),
        ("MAIL FROM:<carol@example.org>".to_string(), "250"),
        (format!("RCPT TO:<{to}>"), "250"),
        ("DATA".to_string(), "354"),
    ] {
        write!(writer, "{command}\r\n").expect("send");
        expect(code);
    }
    let text = String::from_utf8_lossy(raw)
        .replace("\r\n", "\n")
        .replace('\n', "\r\n");
    let text = text.replace("\r\n.", "\r\n..");
    write!(writer, "{text}\r\n.\r\n").expect("send data");
    expect("250");
    write!(writer, "QUIT\r\n").expect("quit");
}

/// A small mail with a unique Message-ID.
pub fn mail(n: usize, tag: &str) -> Vec<u8> {
    format!(
        "From: Carol <carol@example.org>\r\nTo: team@example.org\r\nSubject: mail {n} of {tag}\r\n\
         Message-ID: <{tag}-{n}@example.org>\r\nDate: Thu, 26 Nov 2026 10:00:00 +0000\r\n\r\n\
         This token reads issues ({n}).\r\n"
    )
    .into_bytes()
}

/// A mail of `bytes`: a line of text and an attachment in base64 lines of 76.
pub fn large_mail(n: usize, tag: &str, bytes: usize) -> Vec<u8> {
    let mut mail = format!(
        "From: Carol <carol@example.org>\r\nTo: team@example.org\r\nSubject: the logs you asked for ({n})\r\n\
         Message-ID: <{tag}-large-{n}@example.org>\r\nDate: Thu, 26 Nov 2026 10:00:00 +0000\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe logs are attached.\r\n\
         --b\r\nContent-Type: application/octet-stream; name=\"logs.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n"
    )
    .into_bytes();
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let ending = b"\r\n--b--\r\n";
    let mut seed = n as u64 + 1;
    while mail.len() + 78 + ending.len() <= bytes {
        for _ in 0..76 {
            // A cheap generator, so the attachment does not compress to nothing.
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            mail.push(alphabet[(seed % 64) as usize]);
        }
        mail.extend_from_slice(b"\r\n");
    }
    mail.extend_from_slice(ending);
    mail
}

/// The raw mails in `user`'s INBOX that match the IMAP SEARCH `criteria`, oldest first.
pub async fn inbox(user: &str, criteria: &str) -> Vec<Vec<u8>> {
    use futures::TryStreamExt;
    let mut session = session(user).await;
    session.select("INBOX").await.expect("select");
    let mut found: Vec<u32> = session
        .uid_search(criteria)
        .await
        .expect("search")
        .into_iter()
        .collect();
    found.sort_unstable();
    let mut mails = Vec::new();
    for uid in found {
        let fetches: Vec<_> = session
            .uid_fetch(uid.to_string(), "BODY.PEEK[]")
            .await
            .expect("fetch")
            .try_collect()
            .await
            .expect("fetch");
        mails.extend(
            fetches
                .iter()
                .filter_map(|fetch| fetch.body().map(<[u8]>::to_vec)),
        );
    }
    let _ = session.logout().await;
    mails
}
