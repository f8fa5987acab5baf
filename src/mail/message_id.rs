//! patdesk's own Message-IDs: `pat-<request>.<kind>.<nonce>.<mac>@<domain>`. The MAC, made
//! with the signing key, covers the request, the kind, the nonce *and the address the mail was
//! sent to*, which the ID does not show. So a reply proves it answers our mail only when it
//! comes from that address: someone who saw the mail another way (a copy, an old address that
//! was since replaced) cannot use its ID to answer as the requester. Mail to anyone but a
//! requester (alerts) carries a plain ID that names nothing.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::address::bare_address;

type HmacSha256 = Hmac<Sha256>;

/// Bytes of the MAC kept in a Message-ID: 96 bits, plenty against guessing.
const MAC_BYTES: usize = 12;

/// The signed Message-ID of a mail about `request` to `recipient`.
pub fn signed_message_id(
    key: &[u8],
    request: i64,
    kind: &str,
    nonce: &str,
    recipient: &str,
    domain: &str,
) -> String {
    let kind = token(kind);
    let nonce = token(nonce);
    let mac = crate::hex::encode(&mac(key, request, &kind, &nonce, recipient));
    format!("pat-{request}.{kind}.{nonce}.{mac}@{domain}")
}

/// A Message-ID for mail that no answer may thread to a request: unique, and signed by nothing.
pub fn plain_message_id(kind: &str, nonce: &str, domain: &str) -> String {
    format!("{}.{}@{domain}", token(kind), token(nonce))
}

/// A Message-ID that reads as one of ours, before its MAC is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedId {
    pub request: i64,
    pub kind: String,
    nonce: String,
    mac: Vec<u8>,
}

impl SignedId {
    /// Reads `id` (with or without angle brackets); `None` when it is not shaped like ours.
    pub fn parse(id: &str) -> Option<SignedId> {
        let id = id.trim().trim_start_matches('<').trim_end_matches('>');
        let (local, _domain) = id.rsplit_once('@')?;
        let mut parts = local.strip_prefix("pat-")?.split('.');
        let request: i64 = parts.next()?.parse().ok()?;
        let kind = parts.next()?.to_string();
        let nonce = parts.next()?.to_string();
        let mac = crate::hex::decode(parts.next()?, MAC_BYTES)?;
        if parts.next().is_some() {
            return None;
        }
        Some(SignedId {
            request,
            kind,
            nonce,
            mac,
        })
    }

    /// Whether we signed this ID for a mail to `address`.
    pub fn sent_to(&self, key: &[u8], address: &str) -> bool {
        let Ok(mut expected) = HmacSha256::new_from_slice(key) else {
            return false;
        };
        expected.update(&signed_text(self.request, &self.kind, &self.nonce, address));
        // Constant time: the MAC is a secret's output.
        expected.verify_truncated_left(&self.mac).is_ok()
    }
}

/// The request and kind `id` names, when we signed it for a mail to `address`.
pub fn verify_message_id(key: &[u8], id: &str, address: &str) -> Option<(i64, String)> {
    let signed = SignedId::parse(id)?;
    let ours = signed.sent_to(key, address);
    ours.then_some((signed.request, signed.kind))
}

fn mac(key: &[u8], request: i64, kind: &str, nonce: &str, recipient: &str) -> Vec<u8> {
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        return Vec::new();
    };
    mac.update(&signed_text(request, kind, nonce, recipient));
    mac.finalize().into_bytes()[..MAC_BYTES].to_vec()
}

/// What the MAC covers. The address as mail compares it: the bare address, in lower case.
fn signed_text(request: i64, kind: &str, nonce: &str, recipient: &str) -> Vec<u8> {
    let recipient = bare_address(recipient).to_lowercase();
    format!("{request}.{kind}.{nonce}\n{recipient}").into_bytes()
}

/// Letters, digits and hyphens only: the parts of a Message-ID must not contain its separators.
fn token(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"a signing key";

    #[test]
    fn an_id_holds_only_for_the_address_it_was_sent_to() {
        let id = signed_message_id(KEY, 42, "question", "o7", "carol@example.org", "x.example");
        assert_eq!(
            verify_message_id(KEY, &id, "carol@example.org"),
            Some((42, "question".to_string()))
        );
        // As mail compares addresses: the bare address, any case.
        assert!(verify_message_id(KEY, &id, "Carol <CAROL@example.org>").is_some());
        // Another address (a copy's reader, the old address after a replacement): not ours.
        assert_eq!(verify_message_id(KEY, &id, "alerts@example.org"), None);
        assert_eq!(verify_message_id(KEY, &id, "carol@example.org.evil"), None);
        // The address is not in the ID.
        assert!(!id.contains("carol"), "{id}");
    }

    #[test]
    fn a_plain_id_is_never_ours() {
        let id = plain_message_id("alert", "o9-ab12", "x.example");
        assert_eq!(SignedId::parse(&id), None);
        assert_eq!(id, "alert.o9-ab12@x.example");
    }
}
