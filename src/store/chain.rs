//! The audit log's hash chain. Each event's hash covers its own content and the previous
//! event's hash, so editing, deleting or reordering any event breaks every hash after it.
//! Triggers refuse UPDATE and DELETE; the chain catches whoever drops the triggers first, and
//! a recorded chain head catches whoever also recomputes the hashes.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::StoreError;

/// The `prev_hash` of the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields an event's hash covers, in the order they are hashed.
pub struct EventContent<'a> {
    pub seq: i64,
    pub at: &'a str,
    pub actor: &'a str,
    pub request_id: Option<i64>,
    pub kind: &'a str,
    /// The detail exactly as stored (JSON text).
    pub detail: &'a str,
    pub prev_hash: &'a str,
}

impl EventContent<'_> {
    /// SHA-256, lower-case hex, of the fields as a JSON array: an unambiguous encoding, so no
    /// two different events share the bytes that are hashed.
    pub fn hash(&self) -> String {
        // A tuple serialises to the same compact JSON array as `json!([...])` would, without
        // copying every field into a `Value` first: intake appends an event per mail.
        let fields = (
            self.seq,
            self.at,
            self.actor,
            self.request_id,
            self.kind,
            self.detail,
            self.prev_hash,
        );
        let canonical =
            serde_json::to_vec(&fields).expect("strings and integers always serialise to JSON");
        hex(&Sha256::digest(&canonical))
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// The newest event: record it elsewhere to detect a rewritten log later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: String,
}

impl std::fmt::Display for ChainHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

impl std::str::FromStr for ChainHead {
    type Err = String;

    /// `SEQ:HASH`, as `patdesk audit head` prints it.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (seq, hash) = text.split_once(':').ok_or_else(|| {
            format!("{text:?} is not SEQ:HASH, as `patdesk audit head` prints it")
        })?;
        let seq = seq
            .parse()
            .map_err(|_| format!("{seq:?} is not an event number"))?;
        let valid_hash = hash.len() == 64 && hash.chars().all(|c| c.is_ascii_hexdigit());
        if !valid_hash {
            return Err(format!("{hash:?} is not a SHA-256 hash (64 hex digits)"));
        }
        Ok(ChainHead {
            seq,
            hash: hash.to_ascii_lowercase(),
        })
    }
}

pub fn head(conn: &Connection) -> Result<Option<ChainHead>, StoreError> {
    // Cached: every event appended asks for the head first.
    Ok(conn
        .prepare_cached("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")?
        .query_row([], |row| {
            Ok(ChainHead {
                seq: row.get(0)?,
                hash: row.get(1)?,
            })
        })
        .optional()?)
}

/// The first place the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Break {
    pub seq: i64,
    pub problem: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Verification {
    pub events: u64,
    pub head: Option<ChainHead>,
    /// `None` when the whole chain holds.
    pub first_break: Option<Break>,
}

/// Walks the whole chain in order, recomputing every hash. When `expected` is given (a head
/// recorded earlier), the event at that position must still carry that hash.
pub fn verify(conn: &Connection, expected: Option<&ChainHead>) -> Result<Verification, StoreError> {
    let mut statement = conn.prepare(
        "SELECT seq, at, actor, request_id, kind, detail, prev_hash, hash FROM events ORDER BY seq",
    )?;
    let mut rows = statement.query([])?;
    let mut previous_hash = GENESIS.to_string();
    let mut previous_seq = 0i64;
    let mut events = 0u64;
    let mut first_break = None;
    let mut expected_seen = false;

    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        let at: String = row.get(1)?;
        let actor: String = row.get(2)?;
        let request_id: Option<i64> = row.get(3)?;
        let kind: String = row.get(4)?;
        let detail: String = row.get(5)?;
        let prev_hash: String = row.get(6)?;
        let hash: String = row.get(7)?;
        events += 1;

        let content = EventContent {
            seq,
            at: &at,
            actor: &actor,
            request_id,
            kind: &kind,
            detail: &detail,
            prev_hash: &prev_hash,
        };
        let problem = if seq != previous_seq + 1 {
            Some(format!(
                "follows event {previous_seq}: event(s) {} to {} are missing",
                previous_seq + 1,
                seq - 1
            ))
        } else if prev_hash != previous_hash {
            Some(
                "does not link to the event before it: that event was changed or removed"
                    .to_string(),
            )
        } else if content.hash() != hash {
            Some(
                "its content does not match its hash: it was changed after it was written"
                    .to_string(),
            )
        } else if let Some(expected) = expected.filter(|expected| expected.seq == seq) {
            expected_seen = true;
            (expected.hash != hash).then(|| {
                format!(
                    "differs from the recorded head {expected}: the log was rewritten up to here"
                )
            })
        } else {
            None
        };
        if let Some(problem) = problem {
            first_break = Some(Break { seq, problem });
            break;
        }
        previous_hash = hash;
        previous_seq = seq;
    }
    drop(rows);

    if first_break.is_none()
        && let Some(expected) = expected.filter(|_| !expected_seen)
    {
        first_break = Some(Break {
            seq: expected.seq,
            problem: format!(
                "the recorded head {expected} is no longer in the log: it was truncated"
            ),
        });
    }
    Ok(Verification {
        events,
        head: head(conn)?,
        first_break,
    })
}

/// Appends one event inside the caller's write transaction, chained to `previous`: the newest
/// event as that transaction sees it (`head`, or the event it appended last).
pub fn append(
    conn: &Connection,
    previous: Option<&ChainHead>,
    at: &str,
    actor: &str,
    request_id: Option<i64>,
    kind: &str,
    detail: &str,
) -> Result<ChainHead, StoreError> {
    let (seq, prev_hash) = match previous {
        Some(previous) => (previous.seq + 1, previous.hash.as_str()),
        None => (1, GENESIS),
    };
    let hash = EventContent {
        seq,
        at,
        actor,
        request_id,
        kind,
        detail,
        prev_hash,
    }
    .hash();
    conn.prepare_cached(
        "INSERT INTO events (seq, at, actor, request_id, kind, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        seq, at, actor, request_id, kind, detail, prev_hash, hash
    ])?;
    Ok(ChainHead { seq, hash })
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::{EventContent, GENESIS, hex};

    /// Every database written so far was hashed over `json!([...]).to_string()`; the hash must
    /// stay byte for byte what that gave, or their chains would no longer verify.
    #[test]
    fn the_hash_covers_the_same_json_text_as_ever() {
        for (request_id, detail) in [
            (None, r#"{"note":"quote \" and \\ and é and \n"}"#),
            (Some(42), "{}"),
        ] {
            let content = EventContent {
                seq: 7,
                at: "2026-11-26T10:00:00.000Z",
                actor: "carol \u{1F600}",
                request_id,
                kind: "mail_recorded",
                detail,
                prev_hash: GENESIS,
            };
            let as_ever = serde_json::json!([
                content.seq,
                content.at,
                content.actor,
                content.request_id,
                content.kind,
                content.detail,
                content.prev_hash
            ])
            .to_string();
            assert_eq!(content.hash(), hex(&Sha256::digest(as_ever.as_bytes())));
        }
    }
}
