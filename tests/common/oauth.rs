//! The OAuth 2 stand-in (the `oauth-standin` binary of the stand-in crate): one process on a
//! fixed loopback port for the whole run, since the test Dovecot asks it about tokens at a URL
//! written in its config. The first test that needs it starts it; `scripts/mailserver stop`
//! stops it. Each test registers clients of its own.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

pub const PORT: u16 = 10080;

pub fn url() -> String {
    format!("http://127.0.0.1:{PORT}")
}

pub fn keys_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oauth")
}

pub fn key_file(name: &str) -> String {
    std::fs::read_to_string(keys_dir().join(name)).expect("test key")
}

fn call(method: &str, path: &str, body: Option<Value>) -> Value {
    super::standin::control_http::blocking_client()(method, &format!("{}{path}", url()), body)
}

fn healthy() -> bool {
    std::net::TcpStream::connect(("127.0.0.1", PORT)).is_ok()
        && call("GET", "/_standin/health", None)["pid"].is_u64()
}

/// Makes sure the stand-in answers on its port, starting it if nobody has.
// Never waited for: it outlives this test process on purpose, for the tests after it, and
// `scripts/mailserver stop` ends it.
#[allow(clippy::zombie_processes)]
pub fn require() {
    if healthy() {
        return;
    }
    let binary = super::standin::binary().with_file_name("oauth-standin");
    let mut child = Command::new(&binary)
        .args(["--listen", &format!("127.0.0.1:{PORT}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
    // Another test may have won the port: whoever answers serves.
    let pid_file = super::mailserver::mail_dir().join("oauth-standin.pid");
    for _ in 0..100 {
        if healthy() {
            // Ours serves unless it lost the port to another test's.
            if child.try_wait().is_ok_and(|exited| exited.is_none()) {
                let _ = std::fs::write(&pid_file, child.id().to_string());
            }
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the OAuth stand-in did not start on port {PORT}");
}

/// Registers `client` (see the stand-in's `Client`) and returns its id.
pub fn register(client_json: Value) -> String {
    require();
    let id = client_json["client_id"]
        .as_str()
        .expect("client_id")
        .to_string();
    call("POST", "/_standin/clients", Some(client_json));
    id
}

/// What the stand-in saw of `client_id`: requests, issued, grants, introspected, last_error.
pub fn seen(client_id: &str) -> Value {
    call("GET", &format!("/_standin/clients/{client_id}"), None)
}

/// From now on `client_id` is refused with `error` (or served again, with `None`).
pub fn refuse(client_id: &str, error: Option<(&str, &str)>) {
    let body =
        error.map(|(error, description)| json!({ "error": error, "description": description }));
    call(
        "POST",
        &format!("/_standin/clients/{client_id}/refuse"),
        Some(body.unwrap_or(Value::Null)),
    );
}

/// `client_id`'s tokens stop working before their time.
pub fn revoke_tokens(client_id: &str) {
    call(
        "POST",
        &format!("/_standin/clients/{client_id}/revoke_tokens"),
        None,
    );
}

/// A client id no other test uses.
pub fn unique(tag: &str) -> String {
    format!("{tag}-{}", super::unique_suffix())
}

/// Writes `contents` to `dir/name` readable by its owner only, as patdesk wants secrets.
pub fn secret_file(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write secret");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    path
}
