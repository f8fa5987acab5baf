//! A conversation through the real servers: the question out to the requester, the answers back
//! into the team mailbox, threaded onto the request — and what must never change a record.

mod common;

use std::time::{Duration, Instant};

use patdesk::config::{Config, Secret};
use patdesk::imap::MailboxAccess;
use patdesk::mail::compose::Templates;
use patdesk::mail::{AlertMail, Outgoing, TokenQuestion};
use patdesk::mail::{MailPolicy, analyze};
use patdesk::oauth::Credential;
use patdesk::request::{PurposeSource, RequestState};
use patdesk::smtp::Sender;
use patdesk::store::{MailOutcome, OutboxState, Store};

use common::builders::RequestBuilder;
use common::mailserver::{self, SMTP_PORT, TestFolder, create, send, team_session};

const KEY: &str = "a signing key for the conversation tests";

struct Conversation {
    folder: TestFolder,
    request: i64,
    token: String,
    runtime: tokio::runtime::Runtime,
    sender: Sender,
}

impl Conversation {
    /// A request waiting for its purpose, and the question sent to its requester.
    fn start(tag: &str, owner: &str) -> Conversation {
        Conversation::start_with(tag, owner, "")
    }

    /// As `start`, with `mailbox` added to the team mailbox's config.
    fn start_with(tag: &str, owner: &str, mailbox: &str) -> Conversation {
        mailserver::require();
        let folder = TestFolder::new(tag);
        let runtime = common::runtime();
        runtime.block_on(async { create(&mut team_session().await, &folder.name).await });
        let token = format!("conv-{tag}-{}", std::process::id());
        let mut store = Store::open(&folder.db(), &patdesk::clock::Clock::system()).expect("store");
        let request = RequestBuilder::tidy()
            .owner(owner, Some(&format!("{owner}@example.org")))
            .token_name(Some(&token))
            .purpose(None)
            .state(RequestState::AwaitingPurpose)
            .insert(&mut store);
        let tx = store.transaction().expect("tx");
        let question = Outgoing::Question(TokenQuestion {
            request,
            org: "acme-corp".to_string(),
            token_name: Some(token.clone()),
            owner: owner.to_string(),
            ..TokenQuestion::default()
        });
        tx.enqueue_mail(
            &format!("{owner}@example.org"),
            &question,
            &format!("pat-{request}:question"),
        )
        .expect("queue");
        tx.commit().expect("commit");

        // [smtp] needs a signing key; the sender below is handed KEY itself.
        let key_file = folder.db().with_file_name("signing-key");
        std::fs::write(&key_file, KEY).expect("write the signing key");
        std::fs::set_permissions(
            &key_file,
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .expect("chmod");
        let config = folder.config_file(&format!(
            "{mailbox}[smtp]\nhost = \"127.0.0.1\"\nport = {SMTP_PORT}\nsecurity = \"plaintext\"\nfrom = \"Platform team <team@example.org>\"\n[signing]\nkey = {{ file = \"signing-key\" }}\n"
        ));
        let config = Config::load(&config).expect("config");
        let team = config.mailbox.clone().expect("mailbox");
        let sender = Sender::new(
            config.smtp.as_ref().expect("smtp"),
            None,
            Secret::new(KEY),
            Templates::load(None).expect("templates"),
            &team.address,
        )
        .expect("sender")
        .with_mailbox(MailboxAccess::new(
            team.clone(),
            Credential::Password(
                team.sign_in
                    .password()
                    .expect("password")
                    .read()
                    .expect("password"),
            ),
        ));
        let report = runtime
            .block_on(sender.send_queued(&mut store))
            .expect("send");
        assert_eq!(report.sent, 1);
        Conversation {
            folder,
            request,
            token,
            runtime,
            sender,
        }
    }

    /// Sends what is queued now; how many went.
    fn send_queued(&self) -> usize {
        self.runtime
            .block_on(self.sender.send_queued(&mut self.store()))
            .expect("send")
            .sent
    }

    /// The question as it arrived in the requester's mailbox.
    fn question(&self, owner: &str) -> Vec<u8> {
        arrived(&self.runtime, owner, &[&self.token])
    }

    /// Takes in everything in the team folder, threading with the signing key.
    fn take_in(&self) {
        self.take_in_with(MailPolicy::default());
    }

    /// As `take_in`, believing `Authentication-Results` from the corpus's receiving server.
    fn take_in_trusting(&self) {
        self.take_in_with(common::corpus_policy());
    }

    fn take_in_with(&self, policy: MailPolicy) {
        let mut intake = self.folder.intake(policy);
        intake.intake.signing_key = Some(Secret::new(KEY));
        let deadline = Instant::now() + Duration::from_secs(15);
        self.runtime.block_on(async {
            let mut session = intake.imap.open_session().await.expect("session");
            let mut total = 0;
            while total == 0 && Instant::now() < deadline {
                total = intake
                    .catch_up(&mut session)
                    .await
                    .expect("catch up")
                    .ingested;
                if total == 0 {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            assert!(total > 0, "nothing arrived in the team folder");
        });
    }

    fn store(&self) -> Store {
        Store::open(&self.folder.db(), &patdesk::clock::Clock::system()).expect("store")
    }

    fn team_address(&self) -> String {
        format!("team+{}@example.org", self.folder.name)
    }
}

/// The first mail in `owner`'s inbox whose subject holds every one of `subject`, waiting up to
/// 15 s for it.
fn arrived(runtime: &tokio::runtime::Runtime, owner: &str, subject: &[&str]) -> Vec<u8> {
    let criteria = subject
        .iter()
        .map(|part| format!("SUBJECT \"{part}\""))
        .collect::<Vec<_>>()
        .join(" ");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(raw) = runtime
            .block_on(mailserver::inbox(owner, &criteria))
            .into_iter()
            .next()
        {
            return raw;
        }
        assert!(
            Instant::now() < deadline,
            "no mail with {subject:?} arrived for {owner}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A reply as a mail client writes it: the answer on top, the question quoted below.
fn reply_to(question: &[u8], from: &str, extra_headers: &str, answer: &str) -> Vec<u8> {
    let question = analyze(question, &MailPolicy::default());
    let id = question.message_id.expect("question has a Message-ID");
    let subject = question.subject.unwrap_or_default();
    format!(
        "From: {from}\r\nTo: team@example.org\r\nSubject: Re: {subject}\r\nMessage-ID: <reply-{}@example.org>\r\n\
         In-Reply-To: <{id}>\r\nReferences: <{id}>\r\n{extra_headers}Content-Type: text/plain; charset=utf-8\r\n\r\n\
         {answer}\r\n\r\nOn Thu, 26 Nov 2026 at 10:00, Platform team <team@example.org> wrote:\r\n\
         > What will the token be used for?\r\n",
        std::process::id()
    )
    .into_bytes()
}

#[test]
fn the_requesters_answer_is_threaded_recorded_and_acknowledged_once() {
    let conversation = Conversation::start("answer", "carol");
    let question = conversation.question("carol");
    let answer = "It reads the issues of acme-corp/api for the weekly report, nothing else.";
    send(
        &conversation.team_address(),
        &reply_to(&question, "Carol <carol@example.org>", "", answer),
    );
    conversation.take_in();

    let store = conversation.store();
    let record = store.request(conversation.request).expect("request");
    assert_eq!(record.state, RequestState::InReview);
    assert_eq!(
        record.request.purpose.as_deref(),
        Some(answer),
        "only what she wrote, not the quote"
    );
    assert_eq!(
        record.purpose_source.and_then(|source| source.known()),
        Some(PurposeSource::RequesterMail)
    );
    assert!(
        !record
            .findings
            .iter()
            .any(|finding| finding.code == "purpose_missing")
    );
    let messages = store.messages_for(conversation.request).expect("messages");
    assert_eq!(
        messages.len(),
        1,
        "the reply is part of the request's conversation"
    );
    let acknowledgements: Vec<_> = store
        .outbox_for(conversation.request)
        .expect("outbox")
        .into_iter()
        .filter(|mail| mail.kind == "acknowledgement")
        .collect();
    assert_eq!(acknowledgements.len(), 1);
    assert!(
        store
            .triage(patdesk::store::Page::ALL, false)
            .expect("triage")
            .is_empty()
    );
}

/// With plus-addressing, the question asks for the reply at team+pat-<id>@: an answer whose
/// mail client dropped the threading headers and the subject still finds its request — when
/// it comes from the requester.
#[test]
fn a_reply_to_the_plus_address_finds_its_request_without_headers_or_tag() {
    let conversation = Conversation::start_with("plus", "carol", "plus_addressing = true\n");
    let question = String::from_utf8_lossy(&conversation.question("carol")).to_string();
    let plus = format!("team+pat-{}@example.org", conversation.request);
    assert!(
        question.contains(&format!("Reply-To: {plus}")),
        "{question}"
    );
    let bare_reply = |from: &str, n: u32, answer: &str| {
        format!(
            "From: {from}\r\nTo: {plus}\r\nSubject: my token\r\nMessage-ID: <plus-{n}-{}@example.org>\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\n{answer}\r\n",
            std::process::id()
        )
        .into_bytes()
    };

    send(
        &conversation.team_address(),
        &bare_reply("Stranger <stranger@example.org>", 1, "It mines coins."),
    );
    conversation.take_in();
    let store = conversation.store();
    assert_eq!(
        store
            .triage(patdesk::store::Page::ALL, false)
            .expect("triage")
            .len(),
        1,
        "not the requester"
    );
    assert_eq!(
        store
            .request(conversation.request)
            .expect("request")
            .request
            .purpose,
        None
    );

    // Anyone can write carol's address and the plus-address: without the receiving server
    // vouching for her domain, her words wait in triage.
    send(
        &conversation.team_address(),
        &bare_reply(
            "Carol <carol@example.org>",
            2,
            "It mines coins, says carol.",
        ),
    );
    conversation.take_in_trusting();
    assert_eq!(
        store
            .triage(patdesk::store::Page::ALL, false)
            .expect("triage")
            .len(),
        2
    );
    let record = store.request(conversation.request).expect("request");
    assert_eq!(record.request.purpose, None);
    assert_eq!(record.state, RequestState::AwaitingPurpose);

    let answer = "It reads acme-corp/api's issues for the weekly report.";
    let verified = format!(
        "Authentication-Results: {}; dkim=pass header.d=example.org; dmarc=pass header.from=example.org\r\n{}",
        common::CORPUS_AUTHSERV_ID,
        String::from_utf8_lossy(&bare_reply("Carol <carol@example.org>", 3, answer))
    );
    send(&conversation.team_address(), verified.as_bytes());
    conversation.take_in_trusting();
    let record = store.request(conversation.request).expect("request");
    assert_eq!(record.request.purpose.as_deref(), Some(answer));
    assert_eq!(record.state, RequestState::InReview);
}

#[test]
fn a_stranger_an_auto_reply_and_an_unsigned_reply_change_nothing() {
    let conversation = Conversation::start("strangers", "dave");
    let question = conversation.question("dave");
    let team = conversation.team_address();
    send(
        &team,
        &reply_to(
            &question,
            "Mallory <stranger@example.org>",
            "",
            "Approve it, it is fine.",
        ),
    );
    send(
        &team,
        &reply_to(
            &question,
            "Dave <dave@example.org>",
            "Auto-Submitted: auto-replied\r\n",
            "I am on leave.",
        ),
    );
    // Dave's own words, but answering a Message-ID nobody signed: only the subject tag could
    // tie it, and it has none.
    send(
        &team,
        b"From: Dave <dave@example.org>\r\nSubject: my token\r\nMessage-ID: <plain-1@example.org>\r\n\
          In-Reply-To: <pat-1.question.o1.000000000000000000000000@example.org>\r\n\r\nIt deploys.\r\n",
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut stored = 0;
    while stored < 3 && Instant::now() < deadline {
        conversation.take_in();
        stored = conversation
            .store()
            .connection()
            .query_row("SELECT COUNT(*) FROM messages", [], |row| {
                row.get::<_, i64>(0)
            })
            .expect("count");
    }
    assert_eq!(stored, 3);

    let store = conversation.store();
    let record = store.request(conversation.request).expect("request");
    assert_eq!(
        record.state,
        RequestState::AwaitingPurpose,
        "nothing changed the record"
    );
    assert_eq!(record.request.purpose, None);
    assert!(
        store
            .outbox_for(conversation.request)
            .expect("outbox")
            .iter()
            .all(|mail| mail.kind == "question"),
        "no answer to anyone"
    );
    let triage: Vec<String> = store
        .triage(patdesk::store::Page::ALL, false)
        .expect("triage")
        .into_iter()
        .filter_map(|item| item.mail.triage_note)
        .collect();
    assert_eq!(triage.len(), 2, "{triage:?}");
    assert!(
        triage
            .iter()
            .any(|why| why.contains("not from its requester")),
        "{triage:?}"
    );
    assert!(
        triage.iter().any(|why| why.contains("no request matches")),
        "{triage:?}"
    );
}

#[test]
fn a_bounce_of_the_question_marks_the_requester_unreachable() {
    let conversation = Conversation::start("bounce", "erin");
    let question = conversation.question("erin");
    let id = analyze(&question, &MailPolicy::default())
        .message_id
        .expect("Message-ID");
    let bounce = format!(
        "From: MAILER-DAEMON@mx.example.net\r\nSubject: Undelivered Mail Returned to Sender\r\n\
         Message-ID: <bounce-{}@mx.example.net>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nCould not deliver.\r\n\
         --b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n\
         Final-Recipient: rfc822; erin@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n\
         --b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{id}>\r\nSubject: x\r\n\r\n--b--\r\n",
        std::process::id()
    );
    send(&conversation.team_address(), bounce.as_bytes());
    conversation.take_in();
    let store = conversation.store();
    assert_eq!(
        store.request(conversation.request).expect("request").state,
        RequestState::NeedsContact
    );
    let alerts = store.alerts().expect("alerts");
    assert!(
        alerts
            .iter()
            .any(|alert| alert.kind == "requester_unreachable"
                && alert.message.contains("erin@example.org")),
        "{alerts:?}"
    );
}

/// A delivery report for the mail whose Message-ID is `id`, as a receiving server writes one.
fn bounce_of(id: &str, recipient: &str) -> String {
    format!(
        "From: MAILER-DAEMON@mx.example.net\r\nSubject: Undelivered Mail Returned to Sender\r\n\
         Message-ID: <bounce-{}-{}@mx.example.net>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nCould not deliver.\r\n\
         --b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n\
         Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n\
         --b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{id}>\r\nSubject: x\r\n\r\n--b--\r\n",
        std::process::id(),
        common::unique_suffix()
    )
}

/// The Message-ID of `raw`.
fn message_id(raw: &[u8]) -> String {
    analyze(raw, &MailPolicy::default())
        .message_id
        .expect("Message-ID")
}

/// Our Message-ID proves a reply answers our mail only from the address we sent it to. The
/// alert list's copy of an alert about the request carries no ID an answer can use, and the
/// holder of an address since replaced cannot answer as the new one: each reply, From line
/// forged to the requester's address, waits in triage as unverified. A bounce forged from the
/// alert's ID is not ours; and once an engineer has recorded the purpose, a real bounce moves
/// nothing back and the requester's late answer does not overwrite the engineer's purpose.
#[test]
fn our_message_id_answers_only_from_the_address_it_was_sent_to() {
    let conversation = Conversation::start("bound", "frank");
    let request = conversation.request;
    let team = conversation.team_address();
    let question = conversation.question("frank");
    let question_id = message_id(&question);
    // An alert about the request reaches dave, on the alert list.
    let alert_summary = format!("alert-{}", conversation.token);
    {
        let mut store = conversation.store();
        let tx = store.transaction().expect("tx");
        tx.enqueue_mail(
            "dave@example.org",
            &Outgoing::Alert(AlertMail {
                request: Some(request),
                summary: alert_summary.clone(),
                message: "Mail to frank bounced".to_string(),
            }),
            &format!("alert-{}", conversation.token),
        )
        .expect("queue");
        tx.commit().expect("commit");
    }
    assert_eq!(conversation.send_queued(), 1);
    let alert = arrived(&conversation.runtime, "dave", &[&alert_summary]);
    let alert_id = message_id(&alert);
    assert!(
        patdesk::mail::message_id::SignedId::parse(&alert_id).is_none(),
        "the alert names the request: {alert_id}"
    );
    // The address is replaced; the question went to the old one.
    {
        let mut store = conversation.store();
        let tx = store.transaction().expect("tx");
        tx.record_owner_email(request, "alice", "frank.new@example.org", "engineer")
            .expect("replace");
        tx.commit().expect("commit");
    }
    let forged = [
        reply_to(
            &alert,
            "Frank <frank.new@example.org>",
            "",
            "Dave says: it only reads.",
        ),
        reply_to(
            &question,
            "Frank <frank.new@example.org>",
            "",
            "The old address says: it only reads.",
        ),
    ];
    for mail in &forged {
        send(&team, mail);
    }
    // Bounces: one forged from the alert's ID, and a real one of the question to the old
    // address, which says nothing of the new.
    send(
        &team,
        bounce_of(&alert_id, "frank.new@example.org").as_bytes(),
    );
    send(
        &team,
        bounce_of(&question_id, "frank@example.org").as_bytes(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while common::stored_mails(&conversation.folder.db()) < 4 && Instant::now() < deadline {
        conversation.take_in();
    }
    let store = conversation.store();
    let record = store.request(request).expect("request");
    assert_eq!(record.state, RequestState::AwaitingPurpose);
    assert_eq!(record.request.purpose, None);
    let mut notes: Vec<String> = store
        .triage(patdesk::store::Page::ALL, false)
        .expect("triage")
        .into_iter()
        .filter_map(|item| item.mail.triage_note)
        .collect();
    notes.sort();
    assert_eq!(
        notes,
        [
            "a bounce of mail that is not patdesk's",
            "a bounce of mail that patdesk did not send to the requester's address",
            // The old address's reply names the request by its subject tag only.
            "an unverified answer: it does not answer patdesk's own mail and its sender's domain is not verified",
            // The alert's ID names nothing, nor does its subject.
            "no request matches it",
        ]
    );
    assert!(
        store.alerts().expect("alerts").is_empty(),
        "a bounce that is not ours alerted"
    );
}

/// Once an engineer has recorded the purpose, a real bounce of the question (our ID, signed
/// for the requester's address) moves nothing back, and the requester's late answer does not
/// overwrite the engineer's purpose: both are kept in the conversation, the team alerted of
/// the bounce.
#[test]
fn mail_never_moves_a_request_back_from_an_engineers_purpose() {
    let conversation = Conversation::start("engineer-first", "erin");
    let request = conversation.request;
    let team = conversation.team_address();
    let question = conversation.question("erin");
    let purpose = "Reads acme-corp/api issues for the weekly report, as erin said on a call.";
    {
        let mut store = conversation.store();
        let tx = store.transaction().expect("tx");
        let record = tx.request(request).expect("request");
        patdesk::conversation::take_purpose(
            &tx,
            &record,
            purpose,
            "alice",
            patdesk::request::PurposeSource::Engineer,
            &patdesk::review::ReviewPolicy::default(),
            RequestState::InReview,
        )
        .expect("purpose");
        tx.commit().expect("commit");
    }
    send(
        &team,
        bounce_of(&message_id(&question), "erin@example.org").as_bytes(),
    );
    send(
        &team,
        &reply_to(
            &question,
            "Erin <erin@example.org>",
            "",
            "Something else entirely.",
        ),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while common::stored_mails(&conversation.folder.db()) < 2 && Instant::now() < deadline {
        conversation.take_in();
    }
    let store = conversation.store();
    assert_eq!(common::stored_mails(&conversation.folder.db()), 2);
    let record = store.request(request).expect("request");
    assert_eq!(record.state, RequestState::InReview);
    assert_eq!(record.request.purpose.as_deref(), Some(purpose));
    assert_eq!(
        record.purpose_source.and_then(|source| source.known()),
        Some(PurposeSource::Engineer)
    );
    assert!(
        store
            .alerts()
            .expect("alerts")
            .iter()
            .any(|alert| alert.kind == "requester_unreachable"),
        "the bounce still alerts the team"
    );
}

/// The whole round through `patdesk run`: GitHub's digest arrives over SMTP and makes the
/// daemon sync (the timed sync is an hour away), the sync finds a request without a purpose,
/// the question goes out, the requester's out-of-office reply changes nothing and gets no
/// answer, the requester's real answer is recorded and acknowledged, and the approval follows
/// in the same thread — with nothing but the daemon doing the work.
#[test]
fn the_daemon_asks_for_the_purpose_and_records_the_answer() {
    use common::desk::{Desk, DeskSetup, stop};
    use common::standin::pending;

    let runtime = common::runtime();
    let desk = Desk::new(
        TestFolder::new("daemon"),
        DeskSetup {
            sync_seconds: 3600,
            ..DeskSetup::default()
        },
    );
    let token = format!("daemon-conv-{}", std::process::id());
    let mut daemon = desk.start_daemon_with(&[("PATDESK_LOG_FORMAT", "json")]);
    // The start-up sync finds nothing; then a token is requested, and GitHub mails.
    let asked_github = || desk.standin.stats()["requests"].as_u64().unwrap_or(0);
    common::desk::wait_for(20, || (asked_github() > 0).then_some(()))
        .unwrap_or_else(|| panic!("no start-up sync\n{}", desk.log()));
    // Its round is over once the GitHub task finds nothing to do.
    desk.wait_for_idle_github_rounds(2);
    desk.set_pending(&[pending(7001, "dave", &token, None)]);
    let digest = std::fs::read(
        common::fixtures_dir().join("github_pat_requests_pending/digest-plain-verified.eml"),
    )
    .expect("digest fixture");
    send(&desk.address(), &digest);

    let question = arrived(&runtime, "dave", &[&token, "used for"]);
    let out_of_office = format!(
        "From: Dave <dave@example.org>\r\nTo: team@example.org\r\nSubject: Automatic reply: {token}\r\n\
         Message-ID: <ooo-{}@example.org>\r\nAuto-Submitted: auto-replied\r\n\r\n\
         I am away until Monday.\r\n",
        std::process::id()
    );
    send(&desk.address(), out_of_office.as_bytes());
    let answer = "It files the nightly build's issues in acme-corp/api, nothing more.";
    send(
        &desk.address(),
        &reply_to(&question, "Dave <dave@example.org>", "", answer),
    );
    let acknowledgement = arrived(&runtime, "dave", &[&token, "Thank you"]);
    // It quotes what was recorded, so the real requester sees what was taken in their name.
    assert!(
        String::from_utf8_lossy(&acknowledgement).contains(answer),
        "{}",
        String::from_utf8_lossy(&acknowledgement)
    );
    let acknowledgement = analyze(&acknowledgement, &MailPolicy::default());
    let question = analyze(&question, &MailPolicy::default());
    let question_id = question.message_id.clone().expect("question's Message-ID");
    let reply_id = format!("reply-{}@example.org", std::process::id());
    let bare = |id: &str| id.trim_matches(['<', '>']).to_string();
    assert_eq!(
        acknowledgement.in_reply_to.as_deref().map(bare),
        Some(reply_id.clone()),
        "the acknowledgement answers dave's reply, not his out-of-office"
    );
    assert!(
        acknowledgement
            .references
            .iter()
            .any(|id| bare(id) == bare(&question_id)),
        "{:?}",
        acknowledgement.references
    );

    let id = desk
        .request_id(7001)
        .expect("the sync recorded the request");
    let store = desk.store();
    let record = store.request(id).expect("request");
    assert_eq!(record.request.purpose.as_deref(), Some(answer));
    assert_eq!(record.state, RequestState::InReview, "{}", desk.log());
    assert!(
        acknowledgement
            .subject
            .as_deref()
            .is_some_and(|subject| subject.contains(&format!("[PAT-{id}]"))),
        "{:?}",
        acknowledgement.subject
    );

    // The decision is told in the same thread.
    let approve = desk.patdesk_as(
        "alice",
        &[
            "approve",
            &id.to_string(),
            "--reason",
            "scoped to the reports repository",
        ],
    );
    assert!(
        approve.status.success(),
        "{}",
        String::from_utf8_lossy(&approve.stderr)
    );
    let approval = arrived(&runtime, "dave", &[&token, "Approved"]);
    // The timed sync is an hour away: the daemon noticed the new decision by itself.
    common::desk::wait_for(10, || {
        desk.standin
            .calls()
            .into_iter()
            .find(|call| call["action"] == "approve" && call["id"] == 7001)
    })
    .unwrap_or_else(|| panic!("the approval never reached GitHub\n{}", desk.log()));
    let approval = analyze(&approval, &MailPolicy::default());
    let acknowledgement_id = acknowledgement
        .message_id
        .clone()
        .expect("ack's Message-ID");
    assert_eq!(
        approval.in_reply_to.as_deref().map(bare),
        Some(bare(&acknowledgement_id)),
        "the approval follows the last mail of the conversation"
    );
    let threaded: Vec<String> = approval.references.iter().map(|id| bare(id)).collect();
    assert_eq!(
        threaded,
        [bare(&question_id), reply_id, bare(&acknowledgement_id)],
        "the whole conversation, oldest first"
    );

    // Each mail sent is filed in the team's Sent folder, where people read the conversation.
    let filed = runtime.block_on(async {
        let mut session = team_session().await;
        session
            .select("Sent")
            .await
            .expect("the Sent folder exists");
        session
            .uid_search(format!("HEADER Message-ID \"{}\"", bare(&question_id)))
            .await
            .expect("search")
            .len()
    });
    assert_eq!(filed, 1, "the question is filed once in Sent");

    let status = stop(&mut daemon);
    assert!(status.success(), "{status}: {}", desk.log());

    // The log of the whole round: JSON lines, and neither a secret nor a mail body in it.
    let log = desk.log();
    assert!(log.contains("\"message\":\"patdesk running\""), "{log}");
    // Each line says what happened, not only which part spoke.
    assert!(
        log.contains("\"message\":\"mail sent: 1 sent, 0 failed"),
        "{log}"
    );
    for line in log
        .lines()
        .filter(|line| !line.starts_with("--- daemon start"))
    {
        let entry: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(
            entry["level"].is_string() && entry["message"].is_string(),
            "{line}"
        );
    }
    let private_key =
        std::fs::read_to_string(common::standin::keys_dir().join("app-test-key.pem")).expect("key");
    let key_line = private_key.lines().nth(1).expect("a line of the key");
    for secret in [
        mailserver::PASSWORD,
        common::desk::SIGNING_KEY,
        key_line,
        answer,
        "I am away until Monday",
    ] {
        assert!(!log.contains(secret), "{secret:?} is in the log:\n{log}");
    }

    let sent: Vec<String> = store
        .outbox_for(id)
        .expect("outbox")
        .into_iter()
        .filter(|mail| mail.state == OutboxState::Sent)
        .map(|mail| mail.kind.to_string())
        .collect();
    assert_eq!(
        sent,
        ["question", "acknowledgement", "approval"],
        "each sent once, and nothing to the out-of-office reply"
    );
}

#[test]
fn an_unanswered_question_is_followed_by_two_reminders_two_days_apart_and_no_more() {
    use patdesk::conversation::{Reminders, queue_reminders};

    let dir = tempfile::TempDir::new().expect("dir");
    let mut store = Store::open(
        &dir.path().join("patdesk.db"),
        &patdesk::clock::Clock::system(),
    )
    .expect("store");
    let waiting = RequestBuilder::tidy()
        .github_id(1)
        .owner("carol", Some("carol@example.org"))
        .purpose(None)
        .state(RequestState::AwaitingPurpose)
        .insert(&mut store);
    let answered = RequestBuilder::tidy()
        .github_id(2)
        .owner("dave", Some("dave@example.org"))
        .state(RequestState::InReview)
        .insert(&mut store);
    let tx = store.transaction().expect("tx");
    for (request, owner) in [(waiting, "carol"), (answered, "dave")] {
        let question = Outgoing::Question(TokenQuestion {
            request,
            token_name: Some("reader".to_string()),
            ..TokenQuestion::default()
        });
        tx.enqueue_mail(
            &format!("{owner}@example.org"),
            &question,
            &format!("pat-{request}:question"),
        )
        .expect("queue");
    }
    tx.commit().expect("commit");
    // Sends whatever is queued, as the outbox would.
    let send_all = |store: &mut Store| {
        let queued = store.queued_mail().expect("queued");
        let tx = store.transaction().expect("tx");
        for mail in &queued {
            tx.record_mail_outcome(mail, MailOutcome::Sent, None)
                .expect("sent");
        }
        tx.commit().expect("commit");
        queued.len()
    };
    let remind = |store: &mut Store, hours_from_now: i64| {
        let tx = store.transaction().expect("tx");
        let now = patdesk::clock::Clock::system().now()
            + jiff::SignedDuration::from_hours(hours_from_now);
        let queued = queue_reminders(&tx, now, &Reminders::default()).expect("remind");
        tx.commit().expect("commit");
        queued
    };

    assert_eq!(
        remind(&mut store, 100),
        0,
        "nothing before the question has left"
    );
    assert_eq!(send_all(&mut store), 2);
    assert_eq!(remind(&mut store, 47), 0, "not within two days");
    assert_eq!(remind(&mut store, 49), 1, "carol only: dave has answered");
    assert_eq!(
        remind(&mut store, 49),
        0,
        "not while one waits in the outbox"
    );
    assert_eq!(send_all(&mut store), 1);
    assert_eq!(
        remind(&mut store, 49),
        1,
        "the second, two days after the first"
    );
    assert_eq!(send_all(&mut store), 1);
    assert_eq!(remind(&mut store, 500), 0, "two at most");

    let kinds: Vec<String> = store
        .outbox_for(waiting)
        .expect("outbox")
        .into_iter()
        .map(|mail| mail.kind.to_string())
        .collect();
    assert_eq!(kinds, ["question", "reminder", "reminder"]);
}

/// The reminder falls due on the second, two days after the question left, whatever the
/// calendar between: across a month's end, the new year, the leap day and Europe's
/// summer-time changes.
#[test]
fn a_reminder_falls_due_on_its_second_on_any_date() {
    use patdesk::conversation::{Reminders, queue_reminders};

    for date in common::dates::CALENDAR {
        let due: jiff::Timestamp = date.parse().expect("time");
        let hand = patdesk::clock::ManualClock::starting_at(
            due - jiff::SignedDuration::from_hours(2 * 24),
        );
        let dir = tempfile::TempDir::new().expect("dir");
        let mut store = Store::open(&dir.path().join("patdesk.db"), &hand.clock()).expect("store");
        let waiting = RequestBuilder::tidy()
            .github_id(1)
            .owner("carol", Some("carol@example.org"))
            .purpose(None)
            .state(RequestState::AwaitingPurpose)
            .insert(&mut store);
        let question = Outgoing::Question(TokenQuestion {
            request: waiting,
            token_name: Some("reader".to_string()),
            ..TokenQuestion::default()
        });
        let queued = store
            .write(|tx| {
                tx.enqueue_mail(
                    "carol@example.org",
                    &question,
                    &format!("pat-{waiting}:question"),
                )
            })
            .expect("queue");
        assert!(queued.is_some(), "{date}: queued");
        let queued = store.queued_mail().expect("queued");
        store
            .write(|tx| tx.record_mail_outcome(&queued[0], MailOutcome::Sent, None))
            .expect("sent");
        let remind = |store: &mut Store, at: jiff::Timestamp| {
            hand.set(at);
            store
                .write(|tx| queue_reminders(tx, tx.time(), &Reminders::default()))
                .expect("remind")
        };
        let second = jiff::SignedDuration::from_secs(1);
        assert_eq!(
            remind(&mut store, due - second),
            0,
            "{date}, a second early"
        );
        assert_eq!(remind(&mut store, due), 1, "{date}");
    }
}

/// Every way of answering for carol without being carol: nothing changes, no acknowledgement
/// goes, each waits in triage as an unverified answer. Then a member accepts one by command,
/// recorded under their name, and the acknowledgement quotes what was taken.
#[test]
fn forged_answers_change_nothing_until_a_member_accepts_one() {
    let conversation = Conversation::start_with("forged", "carol", "plus_addressing = true\n");
    let question = conversation.question("carol");
    let team = conversation.team_address();
    let request = conversation.request;
    let plus = format!("team+pat-{request}@example.org");
    let pid = std::process::id();
    let trusted = common::CORPUS_AUTHSERV_ID;
    let forged = [
        // Spoofed From, tagged subject, and the receiving server saw DMARC fail.
        format!(
            "Authentication-Results: {trusted}; dmarc=fail header.from=example.org\r\n\
             From: Carol <carol@example.org>\r\nTo: {team}\r\nSubject: Re: [PAT-{request}] token\r\n\
             Message-ID: <forged-1-{pid}@example.org>\r\n\r\nIt only reads, approve it.\r\n"
        ),
        // The plus-address, with a verdict from a server nobody trusts.
        format!(
            "Authentication-Results: attacker.example; dmarc=pass header.from=example.org\r\n\
             From: Carol <carol@example.org>\r\nTo: {plus}\r\nSubject: token\r\n\
             Message-ID: <forged-2-{pid}@example.org>\r\n\r\nIt only reads, approve it.\r\n"
        ),
        // A guessed Message-ID of ours, without a valid signature, and the subject tag.
        format!(
            "From: Carol <carol@example.org>\r\nTo: {team}\r\nSubject: Re: [PAT-{request}]\r\n\
             Message-ID: <forged-3-{pid}@example.org>\r\n\
             In-Reply-To: <pat-{request}.question.o1.000000000000000000000000@example.org>\r\n\r\n\
             It only reads, approve it.\r\n"
        ),
    ];
    let before = conversation.store().request(request).expect("request");
    for mail in &forged {
        send(&team, mail.as_bytes());
    }
    // A reply to the real, signed question, but with a second From: who sent it?
    let two_froms = String::from_utf8_lossy(&reply_to(
        &question,
        "Carol <carol@example.org>",
        "",
        "It only reads, approve it.",
    ))
    .replacen("From: ", "From: Mallory <mallory@example.org>\r\nFrom: ", 1);
    send(&team, two_froms.as_bytes());

    let deadline = Instant::now() + Duration::from_secs(20);
    while common::stored_mails(&conversation.folder.db()) < 4 && Instant::now() < deadline {
        conversation.take_in_trusting();
    }
    let store = conversation.store();
    assert_eq!(common::stored_mails(&conversation.folder.db()), 4);
    let record = store.request(request).expect("request");
    assert_eq!(record.state, RequestState::AwaitingPurpose);
    assert_eq!(record.request.purpose, None);
    assert_eq!(
        (record.risk, &record.findings),
        (before.risk, &before.findings),
        "the review is as it was"
    );
    assert!(
        store
            .outbox_for(request)
            .expect("outbox")
            .iter()
            .all(|mail| mail.kind == "question"),
        "no acknowledgement of a forged answer"
    );
    let triage: Vec<patdesk::store::MessageRecord> = store
        .triage(patdesk::store::Page::ALL, false)
        .expect("triage")
        .into_iter()
        .map(|item| item.mail)
        .collect();
    assert_eq!(triage.len(), 4, "{triage:?}");
    for mail in &triage {
        assert_eq!(mail.request_id, Some(request), "{mail:?}");
        assert!(
            mail.triage_note
                .as_deref()
                .is_some_and(|why| why.starts_with("an unverified answer")),
            "{mail:?}"
        );
    }
    assert!(
        triage.iter().any(|mail| mail
            .triage_note
            .as_deref()
            .is_some_and(|why| why.contains("more than one From"))),
        "{triage:?}"
    );

    // A member who checked with carol takes one of them, through the daemon.
    let config = common::control::records_only_config(
        conversation.folder.db().parent().expect("folder"),
        "records-only.toml",
    );
    let _daemon = common::control::Daemon::start(&config);
    let mail = triage[1].id.to_string();
    let stranger = common::control::patdesk_as(
        common::users::MALLORY,
        &config,
        &["triage", "accept", &mail],
    );
    assert_eq!(stranger.status.code(), Some(5));
    let accepted =
        common::control::patdesk_as(common::users::BOB, &config, &["triage", "accept", &mail]);
    assert!(
        accepted.status.success(),
        "{}",
        String::from_utf8_lossy(&accepted.stderr)
    );
    let record = store.request(request).expect("request");
    assert_eq!(record.state, RequestState::InReview);
    assert_eq!(
        record.request.purpose.as_deref(),
        Some("It only reads, approve it.")
    );
    assert_eq!(
        record.purpose_source.and_then(|source| source.known()),
        Some(PurposeSource::AcceptedReply)
    );
    assert_eq!(
        store
            .triage(patdesk::store::Page::ALL, false)
            .expect("triage")
            .len(),
        3
    );
    let events = store.events_for(request).expect("events");
    let accepted = events
        .iter()
        .find(|event| event.kind == "unverified_answer_accepted")
        .expect("the acceptance is recorded");
    assert_eq!(accepted.actor, "bob");
    assert_eq!(
        accepted.detail["member"]["uid"],
        common::users::os_user(common::users::BOB).uid
    );
    let payload: String = store
        .connection()
        .query_row(
            "SELECT payload FROM outbox WHERE request_id = ?1 AND kind = 'acknowledgement'",
            [request],
            |row| row.get(0),
        )
        .expect("an acknowledgement is queued");
    assert!(payload.contains("It only reads, approve it."), "{payload}");
    // Taken once: the same mail cannot be accepted again.
    let again =
        common::control::patdesk_as(common::users::BOB, &config, &["triage", "accept", &mail]);
    assert_eq!(again.status.code(), Some(5));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("out of triage already: it was accepted"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    let left: Vec<_> = triage
        .iter()
        .filter(|waiting| waiting.id != triage[1].id)
        .cloned()
        .collect();
    dismissing_empties_triage(&store, &config, request, &left);
}

/// The unverified answers left after one was accepted: once the request is decided they are
/// shown as late, and a member dismisses each with a reason until triage is empty; the mail
/// stays in the records and `triage --all` shows who set it aside and why.
fn dismissing_empties_triage(
    store: &patdesk::store::Store,
    config: &std::path::Path,
    request: i64,
    left: &[patdesk::store::MessageRecord],
) {
    use common::control::patdesk_as;
    use common::users::{BOB, MALLORY};
    let text = |output: &std::process::Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    };
    let denied = patdesk_as(
        BOB,
        config,
        &["deny", &request.to_string(), "--reason", "Too broad"],
    );
    assert!(denied.status.success(), "{}", text(&denied));
    let listed = patdesk_as(BOB, config, &["triage"]);
    let listing = text(&listed);
    assert!(listed.status.success(), "{listing}");
    assert!(
        listing.contains(&format!("PAT-{request} (denied)")),
        "which request, and where it stands: {listing}"
    );
    assert!(listing.contains("late, the request is denied"), "{listing}");
    assert!(listing.contains("triage dismiss"), "{listing}");

    let first = left[0].id.to_string();
    for (who, args, code, says) in [
        (
            MALLORY,
            vec!["triage", "dismiss", &first, "--reason", "x"],
            5,
            "team",
        ),
        (
            BOB,
            vec!["triage", "dismiss", &first, "--reason", " "],
            2,
            "reason",
        ),
        (
            BOB,
            vec!["triage", "dismiss", "999999", "--reason", "x"],
            4,
            "999999",
        ),
        (BOB, vec!["triage", "dismiss", &first], 2, "--reason"),
    ] {
        let refused = patdesk_as(who, config, &args);
        assert_eq!(
            refused.status.code(),
            Some(code),
            "{args:?}: {}",
            text(&refused)
        );
        assert!(
            text(&refused).contains(says),
            "{args:?}: {}",
            text(&refused)
        );
    }
    let reason = "Late: decided already; carol was told by chat";
    for mail in left {
        let dismissed = patdesk_as(
            BOB,
            config,
            &[
                "triage",
                "dismiss",
                &mail.id.to_string(),
                "--reason",
                reason,
            ],
        );
        assert!(dismissed.status.success(), "{}", text(&dismissed));
        assert!(
            text(&dismissed).contains(&format!("PAT-{request} is unchanged")),
            "{}",
            text(&dismissed)
        );
    }
    let empty = patdesk_as(BOB, config, &["triage"]);
    assert_eq!(text(&empty).trim(), "nothing to triage");
    assert!(
        store
            .triage(patdesk::store::Page::ALL, false)
            .expect("triage")
            .is_empty()
    );
    // Twice is refused, naming how it left; an accept of a dismissed mail too.
    for verb in [
        vec!["dismiss", &first, "--reason", "again"],
        vec!["accept", &first],
    ] {
        let args: Vec<&str> = std::iter::once("triage").chain(verb).collect();
        let again = patdesk_as(BOB, config, &args);
        assert_eq!(again.status.code(), Some(5), "{args:?}");
        assert!(
            text(&again).contains("out of triage already: it was dismissed"),
            "{}",
            text(&again)
        );
    }
    assert_eq!(
        store.request(request).expect("request").state,
        RequestState::Denied,
        "dismissing changes no request"
    );

    let events = store.events_for(request).expect("events");
    let dismissals: Vec<_> = events
        .iter()
        .filter(|event| event.kind == "triage_dismissed")
        .collect();
    assert_eq!(dismissals.len(), left.len());
    assert!(dismissals.iter().all(|event| event.actor == "bob"
        && event.detail["reason"] == reason
        && event.detail["member"]["uid"] == common::users::os_user(BOB).uid));

    let all = patdesk_as(BOB, config, &["triage", "--all", "--json"]);
    let items: Vec<serde_json::Value> =
        serde_json::from_slice(&all.stdout).expect("triage --all --json");
    assert_eq!(
        items.len(),
        left.len() + 1,
        "the accepted one and the dismissed ones"
    );
    assert_eq!(
        items
            .iter()
            .filter(|item| item["triage_closed"]["outcome"] == "dismissed"
                && item["triage_closed"]["by"] == "bob"
                && item["triage_closed"]["reason"] == reason)
            .count(),
        left.len()
    );
    let shown = patdesk_as(BOB, config, &["show", &request.to_string()]);
    assert!(
        text(&shown).contains("out of triage: dismissed by bob: Late: decided already"),
        "{}",
        text(&shown)
    );
}
