//! The schema, as numbered migrations. Each runs once, in its own transaction, and
//! `PRAGMA user_version` records how far a database has come. Never edit a released
//! migration: add the next one.

pub const MIGRATIONS: &[&str] = &[
    // 1: the records, the mail, the audit log, the outgoing queues and the mailbox position.
    r#"
    CREATE TABLE requests (
        id                   INTEGER PRIMARY KEY,
        org                  TEXT    NOT NULL,
        github_request_id    INTEGER NOT NULL,
        token_id             INTEGER,
        token_name           TEXT,
        owner_login          TEXT    NOT NULL,
        owner_email          TEXT,
        repository_selection TEXT    NOT NULL CHECK (repository_selection IN ('none', 'all', 'subset')),
        repositories         TEXT    NOT NULL DEFAULT '[]',
        permissions          TEXT    NOT NULL DEFAULT '{}',
        token_expires_at     TEXT,
        github_reason        TEXT,
        purpose              TEXT,
        purpose_source       TEXT,
        state                TEXT    NOT NULL CHECK (state IN ('new', 'awaiting_purpose', 'in_review',
                                 'approved', 'denied', 'revoked', 'expired', 'needs_contact', 'withdrawn')),
        risk                 TEXT    NOT NULL CHECK (risk IN ('low', 'medium', 'high', 'critical')),
        findings             TEXT    NOT NULL DEFAULT '[]',
        requested_at         TEXT    NOT NULL,
        recorded_at          TEXT    NOT NULL,
        updated_at           TEXT    NOT NULL,
        decided_by           TEXT,
        decided_at           TEXT,
        decision_reason      TEXT,
        revoked_by           TEXT,
        revoked_at           TEXT,
        revoke_reason        TEXT,
        revoke_note          TEXT,
        grant_id             INTEGER,
        UNIQUE (org, github_request_id)
    ) STRICT;
    CREATE INDEX requests_state ON requests (state);
    CREATE INDEX requests_owner ON requests (owner_login);
    CREATE INDEX requests_risk ON requests (risk);
    CREATE INDEX requests_requested_at ON requests (requested_at);

    CREATE TABLE messages (
        id           INTEGER PRIMARY KEY,
        direction    TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
        mailbox      TEXT,
        uidvalidity  INTEGER,
        uid          INTEGER,
        message_id   TEXT,
        sha256       TEXT    NOT NULL,
        raw          BLOB    NOT NULL,
        kind         TEXT    NOT NULL,
        from_address TEXT,
        subject      TEXT,
        analysis     TEXT    NOT NULL DEFAULT '{}',
        request_id   INTEGER REFERENCES requests (id),
        triage       INTEGER NOT NULL DEFAULT 0 CHECK (triage IN (0, 1)),
        triage_note  TEXT,
        received_at  TEXT    NOT NULL,
        UNIQUE (mailbox, uidvalidity, uid)
    ) STRICT;
    CREATE INDEX messages_message_id ON messages (message_id);
    CREATE INDEX messages_request ON messages (request_id);
    CREATE INDEX messages_triage ON messages (triage) WHERE triage = 1;

    CREATE TABLE events (
        seq        INTEGER PRIMARY KEY,
        at         TEXT    NOT NULL,
        actor      TEXT    NOT NULL,
        request_id INTEGER REFERENCES requests (id),
        kind       TEXT    NOT NULL,
        detail     TEXT    NOT NULL,
        prev_hash  TEXT    NOT NULL,
        hash       TEXT    NOT NULL
    ) STRICT;
    CREATE INDEX events_request ON events (request_id, seq);
    CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

    -- Mail to send. message_id is given when the mail is composed, so retries reuse it.
    CREATE TABLE outbox (
        id              INTEGER PRIMARY KEY,
        request_id      INTEGER REFERENCES requests (id),
        kind            TEXT    NOT NULL,
        idempotency_key TEXT    NOT NULL UNIQUE,
        recipient       TEXT    NOT NULL,
        payload         TEXT    NOT NULL DEFAULT '{}',
        message_id      TEXT    UNIQUE,
        state           TEXT    NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'uncertain', 'failed')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        last_error      TEXT,
        created_at      TEXT    NOT NULL,
        updated_at      TEXT    NOT NULL
    ) STRICT;
    CREATE INDEX outbox_state ON outbox (state);
    CREATE INDEX outbox_request ON outbox (request_id);

    -- Decisions to carry to GitHub, once each.
    CREATE TABLE github_pushes (
        id              INTEGER PRIMARY KEY,
        request_id      INTEGER NOT NULL REFERENCES requests (id),
        action          TEXT    NOT NULL CHECK (action IN ('approve', 'deny', 'revoke')),
        reason          TEXT,
        idempotency_key TEXT    NOT NULL UNIQUE,
        state           TEXT    NOT NULL CHECK (state IN ('queued', 'done', 'failed')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        last_error      TEXT,
        created_at      TEXT    NOT NULL,
        updated_at      TEXT    NOT NULL
    ) STRICT;
    CREATE INDEX github_pushes_state ON github_pushes (state);

    CREATE TABLE mailbox_state (
        mailbox        TEXT    PRIMARY KEY,
        uidvalidity    INTEGER NOT NULL,
        last_uid       INTEGER NOT NULL,
        highest_modseq INTEGER,
        updated_at     TEXT    NOT NULL
    ) STRICT;
    "#,
    // 2: alerts for the team, and when a token's coming expiry was last announced.
    r#"
    CREATE TABLE alerts (
        id           INTEGER PRIMARY KEY,
        kind         TEXT    NOT NULL,
        request_id   INTEGER REFERENCES requests (id),
        message      TEXT    NOT NULL,
        created_at   TEXT    NOT NULL,
        delivered_at TEXT
    ) STRICT;
    CREATE INDEX alerts_undelivered ON alerts (delivered_at) WHERE delivered_at IS NULL;
    ALTER TABLE requests ADD COLUMN expiry_warned_at TEXT;
    "#,
    // 3: what GitHub knows of the requester's role and access.
    r#"
    ALTER TABLE requests ADD COLUMN requester TEXT;
    "#,
    // 4: intake's attempts at each mail, counted before each try, so a mail that keeps
    // failing (or crashing patdesk) is set aside instead of blocking the queue.
    r#"
    CREATE TABLE intake_attempts (
        mailbox     TEXT    NOT NULL,
        uidvalidity INTEGER NOT NULL,
        uid         INTEGER NOT NULL,
        attempts    INTEGER NOT NULL,
        last_error  TEXT,
        PRIMARY KEY (mailbox, uidvalidity, uid)
    ) STRICT;
    "#,
    // 5: recognising a mail already stored by its content, also when it has no Message-ID.
    r#"
    CREATE INDEX messages_sha256 ON messages (sha256);
    "#,
    // 6: the composed mail, kept so a retry sends the same bytes with the same Message-ID.
    r#"
    ALTER TABLE outbox ADD COLUMN raw BLOB;
    "#,
    // 7: whether a sent mail's copy is in the team's Sent folder yet; what was sent before is
    // taken as filed, as it was then, best effort.
    r#"
    ALTER TABLE outbox ADD COLUMN filed INTEGER NOT NULL DEFAULT 0;
    UPDATE outbox SET filed = 1 WHERE state = 'sent';
    "#,
    // 8: the running daemon's pulse, part by part, for `patdesk status` and stall alerts.
    r#"
    CREATE TABLE health (
        part          TEXT PRIMARY KEY,
        ok_at         TEXT,
        failing_since TEXT,
        last_error    TEXT,
        updated_at    TEXT NOT NULL
    ) STRICT;
    "#,
    // 9: a mail with a Message-ID is recognised through that index, so content needs an index
    // only for mail without one. SHA-256 keys are random: each new mail dirtied a page of
    // this index anywhere in it, which made intake write its index pages over and over.
    r#"
    DROP INDEX messages_sha256;
    CREATE INDEX messages_sha256_without_id ON messages (sha256) WHERE message_id IS NULL;
    "#,
    // 10: raw mail kept for `store.keep_raw_days`, then reduced to its header section; when
    // that was done (the partial index serves the search for mail still whole). And the audit
    // heads sent off the host, and the owner index made case-insensitive.
    r#"
    ALTER TABLE messages ADD COLUMN reduced_at TEXT;
    ALTER TABLE outbox ADD COLUMN reduced_at TEXT;
    CREATE INDEX messages_whole ON messages (received_at, triage) WHERE reduced_at IS NULL;

    -- Logins are case-insensitive at GitHub, and so is looking one up here.
    DROP INDEX requests_owner;
    CREATE INDEX requests_owner ON requests (owner_login COLLATE NOCASE);

    -- The audit heads sent to the team to be kept off this host, and why each was sent.
    CREATE TABLE heads_sent (
        seq     INTEGER PRIMARY KEY,
        hash    TEXT    NOT NULL,
        why     TEXT    NOT NULL,
        sent_at TEXT    NOT NULL
    ) STRICT;
    "#,
    // 11: GitHub's webhook deliveries taken (a replayed delivery id is refused, across
    // restarts), and the ones refused, counted by why, for `patdesk status`.
    r#"
    CREATE TABLE webhook_deliveries (
        delivery_id TEXT PRIMARY KEY,
        event       TEXT NOT NULL,
        action      TEXT,
        org         TEXT,
        received_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX webhook_deliveries_received ON webhook_deliveries (received_at);
    CREATE TABLE webhook_refusals (
        reason  TEXT PRIMARY KEY,
        count   INTEGER NOT NULL,
        last_at TEXT NOT NULL
    ) STRICT;
    "#,
    // 12: an approved token's last use as GitHub reports it; since when patdesk has found it
    // stale (unused too long; cleared when it is used again); when its requester was told it
    // soon would be; and when the token approved elsewhere without an expiry, or beyond the
    // policy's lifetime, was alerted for. And the weekly reports sent.
    r#"
    ALTER TABLE requests ADD COLUMN token_last_used_at TEXT;
    ALTER TABLE requests ADD COLUMN stale_since TEXT;
    ALTER TABLE requests ADD COLUMN lifetime_alerted_at TEXT;
    -- When the requester was told the token is about to count as stale.
    ALTER TABLE requests ADD COLUMN usage_notice_at TEXT;

    -- The approved tokens whose request patdesk never saw (approved before it was installed,
    -- or on GitHub's pages between two syncs): followed for their use and lifetime, and
    -- forgotten once GitHub no longer lists them.
    CREATE TABLE outside_tokens (
        org                 TEXT    NOT NULL,
        grant_id            INTEGER NOT NULL,
        owner_login         TEXT    NOT NULL,
        token_name          TEXT,
        token_expires_at    TEXT,
        token_last_used_at  TEXT,
        access_granted_at   TEXT,
        first_seen_at       TEXT    NOT NULL,
        stale_alerted_at    TEXT,
        lifetime_alerted_at TEXT,
        PRIMARY KEY (org, grant_id)
    ) STRICT;

    -- The weekly reports sent to the team: one a week.
    CREATE TABLE reports_sent (
        sent_at TEXT PRIMARY KEY
    ) STRICT;
    "#,
    // 13: a push may revoke a token no request accounts for (an outside token, by its grant),
    // so a push names a request or a grant. SQLite cannot drop NOT NULL in place: the table
    // is rebuilt, keeping every row and id (the audit log names pushes by id).
    r#"
    CREATE TABLE github_pushes_13 (
        id              INTEGER PRIMARY KEY,
        request_id      INTEGER REFERENCES requests (id),
        grant_org       TEXT,
        grant_id        INTEGER,
        action          TEXT    NOT NULL CHECK (action IN ('approve', 'deny', 'revoke')),
        reason          TEXT,
        idempotency_key TEXT    NOT NULL UNIQUE,
        state           TEXT    NOT NULL CHECK (state IN ('queued', 'done', 'failed')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        last_error      TEXT,
        created_at      TEXT    NOT NULL,
        updated_at      TEXT    NOT NULL,
        -- A request's decision, or the revocation of an outside token's grant.
        CHECK ((request_id IS NOT NULL AND grant_org IS NULL AND grant_id IS NULL)
            OR (request_id IS NULL AND grant_org IS NOT NULL AND grant_id IS NOT NULL
                AND action = 'revoke'))
    ) STRICT;
    INSERT INTO github_pushes_13 (id, request_id, action, reason, idempotency_key, state,
        attempts, last_error, created_at, updated_at)
    SELECT id, request_id, action, reason, idempotency_key, state, attempts, last_error,
        created_at, updated_at
    FROM github_pushes;
    DROP TABLE github_pushes;
    ALTER TABLE github_pushes_13 RENAME TO github_pushes;
    CREATE INDEX github_pushes_state ON github_pushes (state);
    CREATE INDEX github_pushes_request ON github_pushes (request_id);
    CREATE INDEX github_pushes_grant ON github_pushes (grant_org, grant_id)
        WHERE grant_org IS NOT NULL;
    "#,
    // 14: which request a token-request delivery was about and who GitHub says acted (its
    // `sender`): a decision taken on GitHub's own pages is recorded with that claim.
    r#"
    ALTER TABLE webhook_deliveries ADD COLUMN request_id INTEGER;
    ALTER TABLE webhook_deliveries ADD COLUMN sender TEXT;
    CREATE INDEX webhook_deliveries_request ON webhook_deliveries (org, request_id)
        WHERE request_id IS NOT NULL;
    "#,
    // 15: each event's MAC, made with a key that is not in the database (derived from the
    // signing key), so a writer without the key can neither append nor rewrite undetected.
    // NULL for events written before, or without a key.
    r#"
    ALTER TABLE events ADD COLUMN mac TEXT;
    "#,
    // 16: the SHA-256 of each delivery's body. GitHub does not sign the delivery id, so a body
    // captured once could come again under new ids: a body taken before is a redelivery.
    r#"
    ALTER TABLE webhook_deliveries ADD COLUMN body_sha256 TEXT;
    CREATE INDEX webhook_deliveries_body ON webhook_deliveries (body_sha256)
        WHERE body_sha256 IS NOT NULL;
    "#,
    // 17: how a mail left triage, by whom, when and why: accepted as the requester's answer or
    // dismissed, the mail kept either way. Before this, accepting was the only way out.
    r#"
    ALTER TABLE messages ADD COLUMN triage_closed TEXT
        CHECK (triage_closed IN ('accepted', 'dismissed'));
    ALTER TABLE messages ADD COLUMN triage_closed_by TEXT;
    ALTER TABLE messages ADD COLUMN triage_closed_at TEXT;
    ALTER TABLE messages ADD COLUMN triage_closed_reason TEXT;
    UPDATE messages SET triage_closed = 'accepted',
        triage_closed_by = (SELECT actor FROM events
            WHERE kind = 'unverified_answer_accepted'
              AND json_extract(detail, '$.message') = messages.id),
        triage_closed_at = (SELECT at FROM events
            WHERE kind = 'unverified_answer_accepted'
              AND json_extract(detail, '$.message') = messages.id)
        WHERE triage = 0 AND triage_note IS NOT NULL;
    "#,
    // 18: the message each request has in the team's Slack channel, and the state it last
    // showed: what to post, and what to update when the request moves on. `ts` is NULL while
    // a post is under way (a crash then posts again rather than never).
    r#"
    CREATE TABLE slack_messages (
        request_id INTEGER PRIMARY KEY REFERENCES requests (id),
        channel TEXT NOT NULL,
        ts TEXT,
        shown TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    "#,
    // 19: since when each request has been ready for a decision, the clock of
    // `review.decide_within_hours`, kept by the database itself whichever writer moves a
    // request into review (the sync, a requester's answer, an engineer's purpose). Requests in
    // review before this count from their last change.
    r#"
    ALTER TABLE requests ADD COLUMN in_review_since TEXT;
    UPDATE requests SET in_review_since = updated_at WHERE state = 'in_review';
    CREATE TRIGGER requests_into_review AFTER UPDATE OF state ON requests
        WHEN NEW.state = 'in_review' AND OLD.state <> 'in_review'
    BEGIN
        UPDATE requests SET in_review_since = NEW.updated_at WHERE id = NEW.id;
    END;
    CREATE TRIGGER requests_inserted_in_review AFTER INSERT ON requests
        WHEN NEW.state = 'in_review'
    BEGIN
        UPDATE requests SET in_review_since = NEW.updated_at WHERE id = NEW.id;
    END;
    "#,
    // 20: time-bound grants (`approve --until`): when the grant ends, and when its owner was
    // told a day ahead.
    r#"
    ALTER TABLE requests ADD COLUMN grant_until TEXT;
    ALTER TABLE requests ADD COLUMN grant_end_notice_at TEXT;
    CREATE INDEX requests_grant_until ON requests (grant_until) WHERE grant_until IS NOT NULL;
    "#,
];

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::MIGRATIONS;

    /// Migration 13 rebuilds `github_pushes`: every row keeps its id (the audit log names pushes
    /// by id), and a push names exactly one request or one grant.
    #[test]
    fn the_pushes_keep_their_ids_through_the_rebuild_and_name_one_target() {
        let conn = Connection::open_in_memory().expect("open");
        for migration in &MIGRATIONS[..12] {
            conn.execute_batch(migration).expect("migrate to 12");
        }
        // Pushes of a request this test has no need to make.
        conn.pragma_update(None, "foreign_keys", "OFF")
            .expect("pragma");
        conn.execute(
            "INSERT INTO github_pushes (id, request_id, action, idempotency_key, state, attempts,
                created_at, updated_at)
             VALUES (41, 7, 'approve', 'pat-7:approve', 'done', 2, 'then', 'later')",
            [],
        )
        .expect("a push of version 12");
        conn.execute_batch(MIGRATIONS[12]).expect("migrate to 13");
        let kept: (i64, Option<i64>, Option<String>, String, i64) = conn
            .query_row(
                "SELECT id, request_id, grant_org, idempotency_key, attempts FROM github_pushes",
                [],
                |row| {
                    Ok((
                        row.get(0)?,
                        row.get(1)?,
                        row.get(2)?,
                        row.get(3)?,
                        row.get(4)?,
                    ))
                },
            )
            .expect("kept");
        assert_eq!(kept, (41, Some(7), None, "pat-7:approve".to_string(), 2));
        let insert = |request: Option<i64>, org: Option<&str>, grant: Option<i64>, action: &str| {
            conn.execute(
                "INSERT INTO github_pushes (request_id, grant_org, grant_id, action,
                    idempotency_key, state, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, hex(randomblob(8)), 'queued', 'now', 'now')",
                rusqlite::params![request, org, grant, action],
            )
        };
        insert(None, Some("acme"), Some(4711), "revoke").expect("a grant's revocation");
        for (request, org, grant, action) in [
            (None, None, None, "revoke"),
            (Some(7), Some("acme"), Some(4711), "revoke"),
            (None, Some("acme"), None, "revoke"),
            (None, Some("acme"), Some(4711), "approve"),
        ] {
            assert!(
                insert(request, org, grant, action).is_err(),
                "{request:?} {org:?} {grant:?} {action}"
            );
        }
    }

    /// Migration 17 records how mail left triage: before it, accepting was the only way out,
    /// so mail with a triage note and out of triage was accepted, by whom the audit log says.
    #[test]
    fn mail_taken_from_triage_before_17_is_recorded_as_accepted_by_the_logged_member() {
        let conn = Connection::open_in_memory().expect("open");
        for migration in &MIGRATIONS[..16] {
            conn.execute_batch(migration).expect("migrate to 16");
        }
        conn.pragma_update(None, "foreign_keys", "OFF")
            .expect("pragma");
        for (id, triage, note) in [
            (1, 0, Some("an unverified answer")),
            (2, 1, Some("matches no request")),
            (3, 0, None),
        ] {
            conn.execute(
                "INSERT INTO messages (id, direction, message_id, sha256, raw, kind, analysis,
                    triage, triage_note, received_at)
                 VALUES (?1, 'in', ?1, ?1, x'00', 'human', '{}', ?2, ?3, '2026-11-02T09:00:00Z')",
                rusqlite::params![id, triage, note],
            )
            .expect("a mail of version 16");
        }
        conn.execute(
            "INSERT INTO events (at, actor, kind, detail, prev_hash, hash)
             VALUES ('2026-11-03T10:00:00Z', 'bob', 'unverified_answer_accepted',
                     '{\"message\":1}', '', '')",
            [],
        )
        .expect("the acceptance, logged");
        conn.execute_batch(MIGRATIONS[16]).expect("migrate to 17");
        let closed = |id: i64| -> (Option<String>, Option<String>, Option<String>) {
            conn.query_row(
                "SELECT triage_closed, triage_closed_by, triage_closed_at FROM messages
                 WHERE id = ?1",
                [id],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .expect("mail")
        };
        assert_eq!(
            closed(1),
            (
                Some("accepted".into()),
                Some("bob".into()),
                Some("2026-11-03T10:00:00Z".into())
            )
        );
        assert_eq!(closed(2), (None, None, None), "still waiting");
        assert_eq!(closed(3), (None, None, None), "never in triage");
    }
}
