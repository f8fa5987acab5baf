//! The audit log's hash chain. Each event's hash covers its own content and the previous
//! event's hash, so editing, deleting or reordering any event breaks every hash after it.
//! Triggers refuse UPDATE and DELETE; the chain catches whoever drops the triggers first, and
//! a recorded chain head catches whoever also recomputes the hashes.
//!
//! Whoever can write the database can recompute hashes, so each event also carries a MAC of
//! its hash, made with a [`ChainKey`] that is not in the database (it is derived from the
//! signing key, a credential). Once one event carries a MAC, every later one must carry a
//! valid one: a writer without the key can neither append nor rewrite after it undetected.

use hmac::{Hmac, Mac};
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
        crate::hex::encode(&Sha256::digest(&canonical))
    }
}

/// The key the chain's MACs are made with: derived from the signing key for this one use, so
/// a MAC of the chain can never serve as a Message-ID's signature or the other way round.
#[derive(Clone)]
pub struct ChainKey([u8; 32]);

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChainKey(…)")
    }
}

type HmacSha256 = Hmac<Sha256>;

impl ChainKey {
    pub fn from_signing_key(signing_key: &[u8]) -> ChainKey {
        let mut derive = <HmacSha256 as Mac>::new_from_slice(signing_key)
            .expect("HMAC takes a key of any length");
        derive.update(b"patdesk audit chain v1");
        ChainKey(derive.finalize().into_bytes().into())
    }

    fn hmac(&self, hash: &str) -> HmacSha256 {
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(hash.as_bytes());
        mac
    }

    /// The MAC of an event whose hash is `hash`, in lower-case hex.
    pub fn mac(&self, hash: &str) -> String {
        crate::hex::encode(&self.hmac(hash).finalize().into_bytes())
    }

    /// Whether `mac` is this key's MAC of `hash` (in constant time).
    pub fn holds(&self, hash: &str, mac: &str) -> bool {
        let Some(given) = crate::hex::decode(mac, 32) else {
            return false;
        };
        self.hmac(hash).verify_slice(&given).is_ok()
    }
}

/// The newest event: record it elsewhere to detect a rewritten log later. Its MAC, when it
/// has one, shows whoever holds the key that patdesk wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
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
            mac: None,
        })
    }
}

pub fn head(conn: &Connection) -> Result<Option<ChainHead>, StoreError> {
    // Cached: every event appended asks for the head first.
    Ok(conn
        .prepare_cached("SELECT seq, hash, mac FROM events ORDER BY seq DESC LIMIT 1")?
        .query_row([], |row| {
            Ok(ChainHead {
                seq: row.get(0)?,
                hash: row.get(1)?,
                mac: row.get(2)?,
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
    /// The first event with a MAC, from which every event's MAC was checked; `None` when
    /// no event has one yet, or no key was given to check them with.
    #[serde(default)]
    pub keyed_from: Option<i64>,
    /// Whether MACs were checked: a key was given.
    #[serde(default)]
    pub macs_checked: bool,
    /// `None` when the whole chain holds.
    pub first_break: Option<Break>,
}

/// Walks the whole chain in order, recomputing every hash and, with `key`, checking every
/// MAC. When `expected` is given (a head recorded earlier), the event at that position must
/// still carry that hash.
pub fn verify(
    conn: &Connection,
    expected: Option<&ChainHead>,
    key: Option<&ChainKey>,
) -> Result<Verification, StoreError> {
    let mut statement = conn.prepare(
        "SELECT seq, at, actor, request_id, kind, detail, prev_hash, hash, mac FROM events
         ORDER BY seq",
    )?;
    let mut keyed_from = None;
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
        let mac: Option<String> = row.get(8)?;
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
        } else if let Some(problem) =
            key.and_then(|key| mac_problem(key, &hash, mac.as_deref(), keyed_from))
        {
            Some(problem)
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
        if key.is_some() && mac.is_some() && keyed_from.is_none() {
            keyed_from = Some(seq);
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
        keyed_from,
        macs_checked: key.is_some(),
        first_break,
    })
}

/// What is wrong with an event's MAC, if anything: one that does not hold, or none where the
/// events before it (from `keyed_from`) have one.
fn mac_problem(
    key: &ChainKey,
    hash: &str,
    mac: Option<&str>,
    keyed_from: Option<i64>,
) -> Option<String> {
    match (mac, keyed_from) {
        (Some(mac), _) if !key.holds(hash, mac) => Some(
            "its MAC does not hold: it was written without patdesk's key (the signing key)"
                .to_string(),
        ),
        (Some(_), _) | (None, None) => None,
        (None, Some(from)) => Some(format!(
            "it has no MAC though every event from {from} has one: it was written without patdesk's key"
        )),
    }
}

/// An event to append: what it records, before its place in the chain is known.
pub struct NewEvent<'a> {
    pub at: &'a str,
    pub actor: &'a str,
    pub request_id: Option<i64>,
    pub kind: &'a str,
    /// JSON text, stored as it is.
    pub detail: &'a str,
}

/// Appends `event` inside the caller's write transaction, chained to `previous`: the newest
/// event as that transaction sees it (`head`, or the event it appended last); with a MAC by
/// `key` when there is one.
pub fn append(
    conn: &Connection,
    key: Option<&ChainKey>,
    previous: Option<&ChainHead>,
    event: NewEvent<'_>,
) -> Result<ChainHead, StoreError> {
    let NewEvent {
        at,
        actor,
        request_id,
        kind,
        detail,
    } = event;
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
    let mac = key.map(|key| key.mac(&hash));
    conn.prepare_cached(
        "INSERT INTO events (seq, at, actor, request_id, kind, detail, prev_hash, hash, mac)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        seq, at, actor, request_id, kind, detail, prev_hash, hash, mac
    ])?;
    Ok(ChainHead { seq, hash, mac })
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::{EventContent, GENESIS};

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
            assert_eq!(
                content.hash(),
                crate::hex::encode(&Sha256::digest(as_ever.as_bytes()))
            );
        }
    }
}
