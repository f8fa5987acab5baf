//! Starts the GitHub stand-in on a free loopback port for one test, and steers it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use serde_json::{Value, json};

pub const APP_ID: u64 = 4242;

pub fn keys_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/github")
}

/// The stand-in's binary, built on first use: it is a crate of its own (so the patdesk binary
/// holds no HTTP server), and Cargo only names the binaries of the package under test.
pub fn binary() -> PathBuf {
    stand_in_binary("github-standin")
}

/// One of the stand-in crate's binaries (`github-standin`, `slack-standin`), the crate built
/// once per test process.
pub fn stand_in_binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let mut build = Command::new(env!("CARGO"));
            build
                .args([
                    "build",
                    "--quiet",
                    "--locked",
                    "--package",
                    "github-standin",
                ])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                // Under faketime (scripts/test a year ahead) cargo and rustc hang: they run on
                // the real clock, as scripts/test runs them.
                .env_remove("LD_PRELOAD");
            // Nor with the package's variables `cargo test` gives this test (its name, its
            // folder): build scripts watch some of them (ring's, CARGO_MANIFEST_DIR), and would
            // be run again, with all that depends on them, by the next cargo run that lacks
            // them: every CI pass would build ring and all above it twice.
            for (name, _) in std::env::vars_os() {
                let name = name.to_string_lossy();
                let package_variable = [
                    "CARGO_PKG_",
                    "CARGO_MANIFEST_",
                    "CARGO_CRATE_",
                    "CARGO_BIN_",
                ]
                .iter()
                .any(|prefix| name.starts_with(prefix))
                    || ["CARGO_PRIMARY_PACKAGE", "CARGO_TARGET_TMPDIR", "OUT_DIR"]
                        .contains(&&*name);
                if package_variable {
                    build.env_remove(&*name);
                }
            }
            if !cfg!(debug_assertions) {
                build.arg("--release");
            }
            let status = build.status().expect("run cargo build for the stand-ins");
            assert!(status.success(), "building the stand-ins failed");
            // This test runs from target/<profile>/deps/; the binaries land in target/<profile>/.
            let test_binary = std::env::current_exe().expect("the test's own path");
            test_binary
                .parent()
                .and_then(Path::parent)
                .expect("target/<profile>/deps")
                .to_path_buf()
        })
        .join(name)
}

/// The URL a stand-in started with its standard output piped says it listens on, in its first
/// line (`listening on http://ADDR`).
pub fn listening_url(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read address");
    line.trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line from the stand-in: {line:?}"))
        .to_string()
}

pub struct Standin {
    child: Child,
    pub url: String,
    _scenario: tempfile::NamedTempFile,
}

/// Whose clock a stand-in keeps.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Clock {
    Test,
    Host,
}

impl Standin {
    /// `orgs`: org login → installation id and the org's state (the scenario's shape). It
    /// keeps the test's clock (faked, in a run a year ahead), as patdesk started by the test
    /// does: the two agree on when tokens expire.
    pub fn start(orgs: &[(&str, u64, Value)], users: Value) -> Standin {
        Standin::start_with(orgs, users, Clock::Test)
    }

    /// A stand-in on the host's real clock, for a patdesk that runs on it too (the installed
    /// service under systemd), whatever clock the test has.
    pub fn start_on_the_hosts_clock(orgs: &[(&str, u64, Value)], users: Value) -> Standin {
        Standin::start_with(orgs, users, Clock::Host)
    }

    fn start_with(orgs: &[(&str, u64, Value)], users: Value, clock: Clock) -> Standin {
        let mut installations = serde_json::Map::new();
        let mut org_states = serde_json::Map::new();
        for (login, installation, state) in orgs {
            installations.insert(installation.to_string(), json!(login));
            org_states.insert(login.to_string(), state.clone());
        }
        let scenario = json!({
            "app_id": APP_ID,
            "installations": installations,
            "orgs": org_states,
            "users": users,
        });
        let file = tempfile::NamedTempFile::new().expect("scenario file");
        std::fs::write(file.path(), scenario.to_string()).expect("write scenario");
        let mut command = Command::new(binary());
        command
            .arg("--scenario")
            .arg(file.path())
            .arg("--public-key")
            .arg(keys_dir().join("app-test-key.pub.pem"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if clock == Clock::Host {
            command.env_remove("LD_PRELOAD");
        }
        let mut child = command.spawn().expect("start github-standin");
        let url = listening_url(&mut child);
        Standin {
            child,
            url,
            _scenario: file,
        }
    }

    fn control(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/_standin/{path}", self.url);
        let client = control_http::blocking_client();
        client(method, &url, body)
    }

    pub fn calls(&self) -> Vec<Value> {
        self.control("GET", "calls", None)
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub fn stats(&self) -> Value {
        self.control("GET", "stats", None)
    }

    /// The API exchanges the stand-in kept (with `record_answers` on): method, route as GitHub's
    /// description names it, status, and the JSON each way.
    pub fn answers(&self) -> Vec<Value> {
        match self.control("GET", "answers", None) {
            Value::Array(answers) => answers,
            other => panic!("answers: {other}"),
        }
    }

    pub fn faults(&self, faults: Value) {
        self.control("POST", "faults", Some(faults));
    }

    pub fn replace_org(&self, org: &str, state: Value) {
        self.control("POST", &format!("orgs/{org}"), Some(state));
    }
}

impl Drop for Standin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tiny blocking HTTP/1.1 client over a TCP socket, for steering the stand-in without an
/// async runtime in the test's thread.
pub mod control_http {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    use serde_json::Value;

    pub fn blocking_client() -> impl Fn(&str, &str, Option<Value>) -> Value {
        |method, url, body| {
            let rest = url.strip_prefix("http://").expect("http URL");
            let (host, path) = rest.split_once('/').expect("path");
            let body = body.map(|body| body.to_string()).unwrap_or_default();
            let mut stream = TcpStream::connect(host).expect("connect to the stand-in");
            write!(
                stream,
                "{method} /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .expect("send");
            let mut response = String::new();
            stream.read_to_string(&mut response).expect("read");
            let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
            assert!(
                head.starts_with("HTTP/1.1 2"),
                "stand-in control call failed: {head}"
            );
            serde_json::from_str(body).unwrap_or(Value::Null)
        }
    }
}

/// A pending request in GitHub's documented shape, made 16 days before the test began and
/// asking for a token that expires 45 days after it.
pub fn pending(id: i64, owner: &str, name: &str, reason: Option<&str>) -> Value {
    json!({
        "id": id,
        "reason": reason,
        "owner": { "login": owner, "id": 1000 + id, "type": "User", "site_admin": false },
        "repository_selection": "subset",
        "repositories_url": format!("https://api.github.com/organizations/1/personal-access-token-requests/{id}/repositories"),
        "permissions": { "repository": { "issues": "read", "metadata": "read" } },
        "created_at": super::dates::days_from_start(-16),
        "token_id": 500_000 + id,
        "token_name": name,
        "token_expired": false,
        "token_expires_at": super::dates::days_from_start(45),
        "token_last_used_at": null,
    })
}

/// The grant GitHub lists once `request` is approved (15 days before the test began).
pub fn grant_for(request: &Value, grant_id: i64, expires_at: &str) -> Value {
    let mut grant = request.clone();
    let object = grant.as_object_mut().expect("object");
    object.remove("reason");
    object.insert("id".to_string(), json!(grant_id));
    object.insert(
        "access_granted_at".to_string(),
        json!(super::dates::days_from_start(-15)),
    );
    object.insert("token_expires_at".to_string(), json!(expires_at));
    grant
}

/// Repositories for every subset request of `pending`.
pub fn repositories_for(pending: &[Value], org: &str) -> Value {
    let mut map = serde_json::Map::new();
    for request in pending {
        map.insert(request["id"].to_string(), json!([format!("{org}/api")]));
    }
    Value::Object(map)
}
