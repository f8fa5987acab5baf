//! What a signed delivery says, read only after its signature is checked: GitHub's event name
//! (`X-GitHub-Event`), its delivery id (`X-GitHub-Delivery`), and for a token request the
//! action and the organisation. Nothing else of the payload is believed: the sync reads the
//! request from the API.

use serde::Deserialize;

/// The event patdesk acts on.
pub const TOKEN_REQUEST_EVENT: &str = "personal_access_token_request";
/// GitHub's first delivery to a new webhook, to check it is reachable.
pub const PING_EVENT: &str = "ping";

/// A delivery patdesk understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A token request was created, approved, denied or cancelled in `org`.
    TokenRequest {
        action: Action,
        org: String,
    },
    Ping,
}

/// `personal_access_token_request`'s actions. Each is a reason to sync: a new request, or one
/// that left GitHub's pending list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Created,
    Approved,
    Denied,
    Cancelled,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Approved => "approved",
            Action::Denied => "denied",
            Action::Cancelled => "cancelled",
        }
    }
}

#[derive(Deserialize)]
struct TokenRequestPayload {
    action: Action,
    organization: Organization,
}

#[derive(Deserialize)]
struct Organization {
    login: String,
}

/// The event in a signed body, or `None` for one patdesk does not act on (another event, an
/// action GitHub may add later, a payload without its organisation).
pub fn read(event: &str, body: &[u8]) -> Option<Event> {
    match event {
        PING_EVENT => Some(Event::Ping),
        TOKEN_REQUEST_EVENT => {
            let payload: TokenRequestPayload = serde_json::from_slice(body).ok()?;
            let org = payload.organization.login;
            crate::config::is_github_login(&org).then_some(Event::TokenRequest {
                action: payload.action,
                org,
            })
        }
        _ => None,
    }
}

/// A delivery id as GitHub makes them (a GUID), and nothing a log or the database should not
/// hold: at most 100 letters, digits and hyphens.
pub fn is_delivery_id(id: &str) -> bool {
    (1..=100).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_request_names_its_action_and_org() {
        let body = br#"{"action":"created","personal_access_token_request":{"id":7},
            "organization":{"login":"acme-corp","id":1},"sender":{"login":"dave"}}"#;
        assert_eq!(
            read(TOKEN_REQUEST_EVENT, body),
            Some(Event::TokenRequest {
                action: Action::Created,
                org: "acme-corp".to_string()
            })
        );
    }

    #[test]
    fn what_patdesk_does_not_act_on_is_none() {
        let body = br#"{"action":"created","organization":{"login":"acme-corp"}}"#;
        assert_eq!(read("push", body), None);
        assert_eq!(read(PING_EVENT, b"{}"), Some(Event::Ping));
        for body in [
            &br#"{"action":"renamed","organization":{"login":"acme-corp"}}"#[..],
            br#"{"action":"created"}"#,
            br#"{"action":"created","organization":{"login":"acme corp; rm"}}"#,
            b"not json",
        ] {
            assert_eq!(read(TOKEN_REQUEST_EVENT, body), None, "{body:?}");
        }
    }

    #[test]
    fn delivery_ids_are_guids() {
        assert!(is_delivery_id("72d3162e-cc78-11e3-81ab-4c9367dc0958"));
        assert!(!is_delivery_id(""));
        assert!(!is_delivery_id("72d3162e\r\nX-Injected: 1"));
        assert!(!is_delivery_id(&"a".repeat(101)));
    }
}
