//! How much mail intake asks for at once, and that every try is counted before its fetch:
//! seen through a proxy in front of the project's Dovecot, which records the FETCH commands and
//! can drop the connection in the middle of one.

mod common;

use patdesk::imap::MailboxWatch;
use patdesk::mail::MailPolicy;
use patdesk::store::Store;

use common::imap_proxy::ImapProxy;
use common::mailserver::{self, TestFolder, append, count, create, large_mail, mail, team_session};
use common::runtime;

/// The tries on record, (UID, tries), by UID.
fn tries(folder: &TestFolder) -> Vec<(u32, u32)> {
    let store = Store::open(&folder.db(), &patdesk::clock::Clock::system()).expect("store");
    let mut statement = store
        .connection()
        .prepare("SELECT uid, attempts FROM intake_attempts ORDER BY uid")
        .expect("prepare");
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// One catch-up on a new session through the proxy.
async fn catch_up(watch: &mut MailboxWatch) -> Result<patdesk::imap::CatchUp, String> {
    let mut session = watch.imap.open_session().await.map_err(|e| e.to_string())?;
    watch
        .catch_up(&mut session)
        .await
        .map_err(|e| e.to_string())
}

#[test]
fn large_mails_are_fetched_alone_and_ordinary_ones_together() {
    mailserver::require();
    let folder = TestFolder::new("budget");
    let proxy = ImapProxy::start();
    runtime().block_on(async {
        let mut admin = team_session().await;
        create(&mut admin, &folder.name).await;
        // UIDs 1 and 2 ordinary, 3 and 4 of 10 MB each (over a fetch's 8 MB), 5 to 7 ordinary.
        for n in 0..7 {
            let raw = match n {
                2 | 3 => large_mail(n, &folder.name, 10_000_000),
                _ => mail(n, &folder.name),
            };
            append(&mut admin, &folder.name, &raw).await;
        }
        let mut watch = folder.intake_from(
            &folder.config_file_through(proxy.port),
            MailPolicy::default(),
        );
        let report = catch_up(&mut watch).await.expect("catch up");
        assert_eq!(report.ingested, 7);
        assert_eq!(count(&mut admin, &folder.name).await, 0, "every mail moved");
    });
    assert_eq!(
        proxy.whole_mail_fetches(),
        ["1:2", "3", "4", "5:7"],
        "a fetch stops before 8 MB; a larger mail goes alone"
    );
    assert_eq!(tries(&folder), [], "every try ended in a commit");
}

#[test]
fn a_mail_whose_fetch_never_finishes_is_counted_tried_alone_and_quarantined() {
    mailserver::require();
    let folder = TestFolder::new("budget-cut");
    let proxy = ImapProxy::start();
    proxy.cut_fetches_of(Some(2));
    runtime().block_on(async {
        let mut admin = team_session().await;
        create(&mut admin, &folder.name).await;
        for n in 0..3 {
            append(&mut admin, &folder.name, &mail(n, &folder.name)).await;
        }
        let mut watch = folder.intake_from(
            &folder.config_file_through(proxy.port),
            MailPolicy::default(),
        );

        // The first fetch takes all three and never finishes: each try is on record already.
        catch_up(&mut watch)
            .await
            .expect_err("the connection is dropped");
        assert_eq!(tries(&folder), [(1, 1), (2, 1), (3, 1)]);
        assert_eq!(common::stored_mails(&folder.db()), 0);

        // Then one at a time: UID 1 is stored, UID 2 fails again, UID 3 waits its turn.
        catch_up(&mut watch).await.expect_err("dropped again");
        assert_eq!(tries(&folder), [(2, 2), (3, 1)]);
        assert_eq!(common::stored_mails(&folder.db()), 1);
        catch_up(&mut watch).await.expect_err("and again");
        assert_eq!(tries(&folder), [(2, 3), (3, 1)]);

        // The fourth try at UID 2 reads only its headers and sets it aside; UID 3 flows.
        let report = catch_up(&mut watch).await.expect("catch up");
        assert_eq!(
            (report.quarantined, report.ingested, report.recognised),
            (1, 1, 1)
        );
        assert_eq!(tries(&folder), []);
        assert_eq!(count(&mut admin, &folder.quarantine()).await, 1);
        assert_eq!(count(&mut admin, &folder.processed()).await, 2);
    });
    assert_eq!(
        proxy.whole_mail_fetches(),
        ["1:3", "1", "2", "1", "2", "1", "3"],
        "after a failed try, each mail alone; the quarantined one never whole again (UID 1, \
         stored but not moved when its session died, is read again and recognised)"
    );
    let note: String = Store::open(&folder.db(), &patdesk::clock::Clock::system())
        .expect("store")
        .connection()
        .query_row(
            "SELECT triage_note FROM messages WHERE uid = 2",
            [],
            |row| row.get(0),
        )
        .expect("the quarantined mail is on record");
    assert_eq!(note, "failed 3 times: quarantined");
}
