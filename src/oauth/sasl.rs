//! The SASL messages that carry a bearer token: Google's and Microsoft's `XOAUTH2`, and
//! `OAUTHBEARER` (RFC 7628). The IMAP client base64-encodes what these return.

use crate::config::Secret;

/// Which SASL mechanism carries the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    Xoauth2,
    OauthBearer,
}

impl Mechanism {
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Xoauth2 => "XOAUTH2",
            Mechanism::OauthBearer => "OAUTHBEARER",
        }
    }
}

/// Answers the server's challenges: the token first; after a refusal the server sends an
/// error as a challenge (a base64 JSON status), which is answered with an empty line so it
/// can end the exchange with NO.
pub struct BearerAuthenticator {
    initial: Option<Vec<u8>>,
}

impl BearerAuthenticator {
    pub fn new(mechanism: Mechanism, username: &str, token: &Secret) -> BearerAuthenticator {
        let token = token.expose();
        let initial = match mechanism {
            Mechanism::Xoauth2 => format!("user={username}\x01auth=Bearer {token}\x01\x01"),
            // RFC 7628 §3.1: the GS2 header names the user; host and port are optional.
            Mechanism::OauthBearer => {
                format!("n,a={},\x01auth=Bearer {token}\x01\x01", gs2_name(username))
            }
        };
        BearerAuthenticator {
            initial: Some(initial.into_bytes()),
        }
    }
}

impl async_imap::Authenticator for BearerAuthenticator {
    type Response = Vec<u8>;

    fn process(&mut self, _challenge: &[u8]) -> Vec<u8> {
        self.initial.take().unwrap_or_default()
    }
}

/// RFC 5801 §4: `,` and `=` in a GS2 authzid are written `=2C` and `=3D`.
fn gs2_name(username: &str) -> String {
    username.replace('=', "=3D").replace(',', "=2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_imap::Authenticator;

    #[test]
    fn the_token_goes_first_and_an_error_challenge_gets_an_empty_answer() {
        let token = Secret::new("ya29.token");
        let mut xoauth2 = BearerAuthenticator::new(Mechanism::Xoauth2, "team@example.org", &token);
        assert_eq!(
            xoauth2.process(b""),
            b"user=team@example.org\x01auth=Bearer ya29.token\x01\x01"
        );
        assert_eq!(xoauth2.process(br#"{"status":"401"}"#), b"");
        let mut bearer = BearerAuthenticator::new(Mechanism::OauthBearer, "a,b=c", &token);
        assert_eq!(
            bearer.process(b""),
            b"n,a=a=2Cb=3Dc,\x01auth=Bearer ya29.token\x01\x01"
        );
    }
}
