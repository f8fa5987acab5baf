//! GitHub's side of its webhook, for the tests and benchmarks of patdesk's receiver: the
//! `personal_access_token_request` payload as GitHub documents it, signed as GitHub signs it
//! (`X-Hub-Signature-256`), posted as GitHub-Hookshot posts it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

pub const SECRET: &str = "a webhook secret the test shares with its GitHub";

/// A port nobody listens on yet.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// GitHub's `personal_access_token_request` payload for request `id` in `org`, whole as
/// GitHub's description of it requires (the conformance test checks it).
pub fn token_request_event(action: &str, org: &str, id: u64, token: &str) -> Vec<u8> {
    let api = "https://api.github.com";
    let dave = json!({
        "login": "dave", "id": 501, "node_id": "U_dave501", "type": "User", "site_admin": false,
        "avatar_url": "https://avatars.githubusercontent.com/u/501?v=4", "gravatar_id": "",
        "url": format!("{api}/users/dave"), "html_url": "https://github.com/dave",
        "followers_url": format!("{api}/users/dave/followers"),
        "following_url": format!("{api}/users/dave/following{{/other_user}}"),
        "gists_url": format!("{api}/users/dave/gists{{/gist_id}}"),
        "starred_url": format!("{api}/users/dave/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{api}/users/dave/subscriptions"),
        "organizations_url": format!("{api}/users/dave/orgs"),
        "repos_url": format!("{api}/users/dave/repos"),
        "events_url": format!("{api}/users/dave/events{{/privacy}}"),
        "received_events_url": format!("{api}/users/dave/received_events"),
    });
    serde_json::to_vec(&json!({
        "action": action,
        "personal_access_token_request": {
            "id": id,
            "owner": dave,
            "permissions_added": { "repository": { "issues": "read" } },
            "permissions_upgraded": {},
            "permissions_result": { "repository": { "issues": "read", "metadata": "read" } },
            "repository_selection": "subset",
            "repository_count": 1,
            "repositories": [{
                "full_name": format!("{org}/api"), "id": 4711, "name": "api",
                "node_id": "R_api4711", "private": true,
            }],
            "created_at": super::dates::days_from_start(-1),
            "token_id": id + 100_000,
            "token_name": token,
            "token_expired": false,
            "token_expires_at": super::dates::days_from_start(30),
            "token_last_used_at": null
        },
        "organization": {
            "login": org, "id": 11, "node_id": "O_org11", "description": null,
            "url": format!("{api}/orgs/{org}"), "repos_url": format!("{api}/orgs/{org}/repos"),
            "events_url": format!("{api}/orgs/{org}/events"),
            "hooks_url": format!("{api}/orgs/{org}/hooks"),
            "issues_url": format!("{api}/orgs/{org}/issues"),
            "members_url": format!("{api}/orgs/{org}/members{{/member}}"),
            "public_members_url": format!("{api}/orgs/{org}/public_members{{/member}}"),
            "avatar_url": "https://avatars.githubusercontent.com/u/11?v=4",
        },
        "sender": dave,
        "installation": { "id": 11, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMTE=" }
    }))
    .expect("JSON")
}

pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("sha256={hex}")
}

/// One delivery, as GitHub posts it; `headers` are the delivery's own. Returns the status code.
pub fn post(port: u16, headers: &[(&str, &str)], body: &[u8]) -> u16 {
    post_as(port, "application/json", headers, body)
}

/// One delivery with the webhook's content type: `application/json`, or
/// `application/x-www-form-urlencoded` (GitHub's `form`, the API's default).
pub fn post_as(port: u16, content_type: &str, headers: &[(&str, &str)], body: &[u8]) -> u16 {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("the receiver listens");
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let mut request = format!(
        "POST /github HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: GitHub-Hookshot/test\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    // A receiver may answer before the body is all sent (an oversized one): that is its answer.
    let _ = stream
        .write_all(request.as_bytes())
        .and_then(|()| stream.write_all(body));
    status_code(&mut stream)
}

/// The status code of the answer on `stream`, read to its end.
pub fn status_code(stream: &mut TcpStream) -> u16 {
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {answer:?}"))
}

/// A delivery signed with `secret`.
pub fn deliver(port: u16, delivery: &str, event: &str, secret: &str, body: &[u8]) -> u16 {
    let signature = signature(secret, body);
    post(
        port,
        &[
            ("X-GitHub-Event", event),
            ("X-GitHub-Delivery", delivery),
            ("X-Hub-Signature-256", &signature),
        ],
        body,
    )
}

/// A delivery of a webhook set to `form`: the JSON as the url-encoded `payload` field, the
/// signature over that raw form body, as GitHub signs it.
pub fn deliver_form(port: u16, delivery: &str, event: &str, secret: &str, json: &[u8]) -> u16 {
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &String::from_utf8_lossy(json))
        .finish()
        .into_bytes();
    let signature = signature(secret, &body);
    post_as(
        port,
        "application/x-www-form-urlencoded",
        &[
            ("X-GitHub-Event", event),
            ("X-GitHub-Delivery", delivery),
            ("X-Hub-Signature-256", &signature),
        ],
        &body,
    )
}

/// The `[github.webhook]` table for a config whose daemon listens on `port`, its secret in the
/// file `webhook-secret` beside the config.
pub fn config_table(port: u16, max_body_bytes: u64) -> String {
    format!(
        "[github.webhook]\nlisten = \"127.0.0.1:{port}\"\nsecret = {{ file = \"webhook-secret\" }}\n\
         max_body_bytes = {max_body_bytes}\n"
    )
}
