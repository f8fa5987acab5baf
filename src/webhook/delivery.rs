//! What a signed delivery says, read only after its signature is checked: GitHub's event name
//! (`X-GitHub-Event`), its delivery id (`X-GitHub-Delivery`), and for a token request the
//! action and the organisation. Nothing else of the payload is believed: the sync reads the
//! request from the API.

use std::borrow::Cow;

use serde::Deserialize;

/// The event patdesk acts on.
pub const TOKEN_REQUEST_EVENT: &str = "personal_access_token_request";
/// GitHub's first delivery to a new webhook, to check it is reachable.
pub const PING_EVENT: &str = "ping";

/// A delivery patdesk understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A token request was created, approved, denied or cancelled in `org`; GitHub names the
    /// request and who acted (`sender`), claims the sync records beside what the API shows.
    TokenRequest {
        action: Action,
        org: String,
        request_id: Option<i64>,
        sender: Option<String>,
    },
    Ping,
    /// An event patdesk does not act on: those every App receives unasked (`installation`,
    /// `installation_repositories`, `github_app_authorization`), or an action GitHub adds to
    /// token requests later. Answered 2xx, as GitHub asks, so its delivery log stays green.
    NotUsed,
}

/// `personal_access_token_request`'s actions. Each is a reason to sync: a new request, or one
/// that left GitHub's pending list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    action: String,
    organization: Login,
    personal_access_token_request: Option<RequestId>,
    sender: Option<Login>,
}

#[derive(Deserialize)]
struct Login {
    login: String,
}

#[derive(Deserialize)]
struct RequestId {
    id: i64,
}

/// The event in a signed delivery's JSON, or `None` for a token request that does not read as
/// one (no organisation, a login GitHub would not make).
pub fn read(event: &str, json: &[u8]) -> Option<Event> {
    match event {
        PING_EVENT => Some(Event::Ping),
        TOKEN_REQUEST_EVENT => {
            let payload: TokenRequestPayload = serde_json::from_slice(json).ok()?;
            let org = payload.organization.login;
            if !crate::config::is_github_login(&org) {
                return None;
            }
            let action = match payload.action.as_str() {
                "created" => Action::Created,
                "approved" => Action::Approved,
                "denied" => Action::Denied,
                "cancelled" => Action::Cancelled,
                _ => return Some(Event::NotUsed),
            };
            Some(Event::TokenRequest {
                action,
                org,
                request_id: payload
                    .personal_access_token_request
                    .map(|request| request.id),
                // Shown to people later: only what a GitHub login can be.
                sender: payload
                    .sender
                    .map(|sender| sender.login)
                    .filter(|login| crate::config::is_github_login(login)),
            })
        }
        _ => Some(Event::NotUsed),
    }
}

/// The JSON a delivery carries: the body itself, or, for a webhook whose content type is
/// `form` (the API's default), its `payload` field (`payload=<url-encoded JSON>`). `None`
/// for a form without one. The signature covers the raw body either way, and is checked first.
pub fn json_body<'b>(content_type: Option<&str>, body: &'b [u8]) -> Option<Cow<'b, [u8]>> {
    let is_form = content_type
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| {
            media
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Some(Cow::Borrowed(body));
    }
    form_urlencoded::parse(body)
        .find(|(name, _)| name == "payload")
        .map(|(_, payload)| Cow::Owned(payload.into_owned().into_bytes()))
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
                org: "acme-corp".to_string(),
                request_id: Some(7),
                sender: Some("dave".to_string()),
            })
        );
        let forged_sender = br#"{"action":"approved","personal_access_token_request":{"id":7},
            "organization":{"login":"acme-corp"},"sender":{"login":"\u001b]0;x\u0007"}}"#;
        assert!(matches!(
            read(TOKEN_REQUEST_EVENT, forged_sender),
            Some(Event::TokenRequest { sender: None, .. })
        ));
    }

    #[test]
    fn what_patdesk_does_not_act_on_is_not_used_and_what_does_not_read_is_none() {
        let body = br#"{"action":"created","organization":{"login":"acme-corp"}}"#;
        for event in [
            "push",
            "installation",
            "installation_repositories",
            "github_app_authorization",
        ] {
            assert_eq!(read(event, body), Some(Event::NotUsed), "{event}");
        }
        assert_eq!(read(PING_EVENT, b"{}"), Some(Event::Ping));
        let renamed = br#"{"action":"renamed","organization":{"login":"acme-corp"}}"#;
        assert_eq!(read(TOKEN_REQUEST_EVENT, renamed), Some(Event::NotUsed));
        for body in [
            &br#"{"action":"created"}"#[..],
            br#"{"action":"created","organization":{"login":"acme corp; rm"}}"#,
            b"not json",
        ] {
            assert_eq!(read(TOKEN_REQUEST_EVENT, body), None, "{body:?}");
        }
    }

    #[test]
    fn a_form_delivery_carries_its_json_in_payload() {
        let json = br#"{"action":"created","organization":{"login":"acme-corp"}}"#;
        let form = b"payload=%7B%22action%22%3A%22created%22%2C%22organization%22%3A%7B%22login%22%3A%22acme-corp%22%7D%7D";
        let read_back = json_body(Some("application/x-www-form-urlencoded"), form);
        assert_eq!(read_back.as_deref(), Some(&json[..]));
        assert_eq!(
            json_body(Some("application/json; charset=utf-8"), json).as_deref(),
            Some(&json[..])
        );
        assert_eq!(
            json_body(Some("application/x-www-form-urlencoded"), b"other=1"),
            None
        );
    }

    #[test]
    fn delivery_ids_are_guids() {
        assert!(is_delivery_id("72d3162e-cc78-11e3-81ab-4c9367dc0958"));
        assert!(!is_delivery_id(""));
        assert!(!is_delivery_id("72d3162e\r\nX-Injected: 1"));
        assert!(!is_delivery_id(&"a".repeat(101)));
    }
}
