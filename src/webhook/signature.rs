//! `X-Hub-Signature-256`: GitHub signs each delivery's raw body with the App's webhook secret
//! (HMAC-SHA256, hex, after `sha256=`). Compared in constant time, so a forger learns nothing
//! from how long a wrong guess took.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Whether `header` is the signature of `body` under `secret`.
pub fn is_signed_by(secret: &[u8], header: &str, body: &[u8]) -> bool {
    let Some(signature) = header
        .trim()
        .strip_prefix("sha256=")
        .and_then(|hex| crate::hex::decode(hex, 32))
    else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&signature).is_ok()
}

/// The SHA-256 of a delivery's event name and signed body, lower-case hex: what a delivery
/// is known by besides its id (the same body under two event names is two deliveries).
pub fn delivery_digest(event: &str, body: &[u8]) -> String {
    use sha2::Digest as _;
    let mut digest = Sha256::new();
    digest.update(event.as_bytes());
    digest.update([0]);
    digest.update(body);
    crate::hex::encode(&digest.finalize())
}

#[cfg(test)]
mod tests {
    use super::is_signed_by;

    /// GitHub's documented example: secret "It's a Secret to Everybody", body "Hello, World!".
    const EXAMPLE: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn githubs_own_example_verifies() {
        assert!(is_signed_by(
            b"It's a Secret to Everybody",
            EXAMPLE,
            b"Hello, World!"
        ));
    }

    #[test]
    fn anything_else_does_not() {
        let secret = b"It's a Secret to Everybody";
        assert!(!is_signed_by(secret, EXAMPLE, b"Hello, World?"));
        assert!(!is_signed_by(b"another secret", EXAMPLE, b"Hello, World!"));
        assert!(!is_signed_by(
            secret,
            &EXAMPLE.to_uppercase(),
            b"Hello, World!"
        ));
        assert!(!is_signed_by(
            secret,
            &EXAMPLE.replace("sha256=", "sha1="),
            b"Hello, World!"
        ));
        assert!(!is_signed_by(secret, &EXAMPLE[..70], b"Hello, World!"));
        assert!(!is_signed_by(secret, "sha256=zz", b"Hello, World!"));
        assert!(!is_signed_by(secret, "", b"Hello, World!"));
    }
}
