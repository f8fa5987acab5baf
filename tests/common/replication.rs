//! Litestream and an S3-compatible server on loopback (moto's), as `scripts/replication-tools`
//! installs them from PyPI into `.tools/venv`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use super::KillOnDrop;
use super::desk::wait_for;

pub const BUCKET: &str = "patdesk-replica";
const ACCESS_KEY: &str = "patdesk-test-key";
const SECRET_KEY: &str = "patdesk-test-secret";

/// The tools' directory; a clear message when they are not installed.
pub fn tools() -> PathBuf {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/venv/bin");
    assert!(
        bin.join("litestream").exists() && bin.join("moto_server").exists(),
        "Litestream and moto are missing: run scripts/replication-tools (scripts/test does)"
    );
    bin
}

/// moto's S3 server on a loopback port, with the bucket made.
pub struct S3Server {
    pub port: u16,
    _server: KillOnDrop,
}

impl S3Server {
    pub fn start() -> S3Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let server = KillOnDrop(
            Command::new(tools().join("moto_server"))
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start moto_server"),
        );
        wait_for(30, || TcpStream::connect(("127.0.0.1", port)).ok())
            .expect("moto's S3 server listens");
        // moto takes an unsigned CreateBucket.
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        write!(
            stream,
            "PUT /{BUCKET} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .expect("create the bucket");
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        S3Server {
            port,
            _server: server,
        }
    }
}

/// `systemd/litestream.yml` as shipped, pointed at `database` and at `s3`: the lines an admin
/// edits, edited.
pub fn config(database: &Path, s3: &S3Server, dir: &Path) -> PathBuf {
    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/litestream.yml"),
    )
    .expect("systemd/litestream.yml");
    let edits = [
        (
            "/var/lib/patdesk/patdesk.db".to_string(),
            database.display().to_string(),
        ),
        ("acme-patdesk-replica".to_string(), BUCKET.to_string()),
        ("eu-west-1".to_string(), "us-east-1".to_string()),
        (
            "# endpoint: https://s3.example.internal".to_string(),
            format!("endpoint: http://127.0.0.1:{}", s3.port),
        ),
        (
            "# force-path-style: true".to_string(),
            "force-path-style: true".to_string(),
        ),
    ];
    let mut text = shipped;
    for (from, to) in edits {
        assert!(text.contains(&from), "the shipped config has {from:?}");
        text = text.replace(&from, &to);
    }
    let path = dir.join("litestream.yml");
    std::fs::write(&path, text).expect("write the Litestream config");
    path
}

/// `litestream ARGS`, with the bucket's keys as the unit gives them.
pub fn litestream(args: &[&str]) -> Command {
    let mut command = Command::new(tools().join("litestream"));
    command
        .args(args)
        .env("LITESTREAM_ACCESS_KEY_ID", ACCESS_KEY)
        .env("LITESTREAM_SECRET_ACCESS_KEY", SECRET_KEY)
        // A CA bundle from the environment makes the AWS SDK refuse Litestream's own HTTP
        // client ("unable to add custom RootCAs"); the replica is plain HTTP on loopback.
        .env_remove("AWS_CA_BUNDLE");
    command
}

/// Runs `litestream restore` of `database` (per `config`) into `out`.
pub fn restore(config: &Path, database: &Path, out: &Path) -> Output {
    litestream(&["restore", "-config"])
        .arg(config)
        .arg("-o")
        .arg(out)
        .arg(database)
        .output()
        .expect("litestream restore")
}

/// Starts `litestream replicate` with `config`, logging to `log`.
pub fn replicate(config: &Path, log: &Path) -> KillOnDrop {
    let log = std::fs::File::create(log).expect("log file");
    KillOnDrop(
        litestream(&["replicate", "-config"])
            .arg(config)
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start litestream"),
    )
}

/// Waits until `check` holds for a fresh restore of the replica.
pub fn wait_for_restore<T>(
    config: &Path,
    database: &Path,
    scratch: &Path,
    mut check: impl FnMut(&Path) -> Option<T>,
) -> Option<T> {
    wait_for(60, || {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", scratch.display()));
        }
        restore(config, database, scratch)
            .status
            .success()
            .then_some(())?;
        std::thread::sleep(Duration::from_millis(100));
        check(scratch)
    })
}
