//! The socket's client side, for the CLI: one request, one answer, blocking.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::protocol::{AnswerLine, Envelope, Reply, Request, VERSION};

/// How long the CLI waits for an answer (a sync may take minutes against a slow GitHub).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(660);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "the daemon is not running (nothing listens on {}): start it (systemctl start patdesk); with the daemon stopped, root can act with --break-glass",
        socket.display()
    )]
    NotRunning { socket: PathBuf },
    /// The OS's words are part of this message, not a cause of it, so they are said once.
    #[error(
        "cannot reach the daemon's socket {}: {error}; members of control.group may connect",
        socket.display()
    )]
    Denied {
        socket: PathBuf,
        error: std::io::Error,
    },
    #[error("the daemon's socket {}: {problem}", socket.display())]
    Broken { socket: PathBuf, problem: String },
    /// Whatever answers on the socket may not be the daemon: nothing was sent to it.
    #[error("the daemon's socket {}: {problem}; nothing was sent", socket.display())]
    NotTheDaemon { socket: PathBuf, problem: String },
}

/// Whether the process answering on `socket` is the daemon, before anything is sent to it.
/// The daemon's directory (`/run/patdesk`, its RuntimeDirectory) belongs to the daemon's user
/// and only its owner may put a socket there; so the socket is the daemon's when the kernel
/// says its peer is that owner (or root), and nobody else could have replaced it.
fn the_daemon_answers(socket: &Path, stream: &UnixStream) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let directory = match socket.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(directory) => directory.to_path_buf(),
        None => PathBuf::from("."),
    };
    let metadata = std::fs::metadata(&directory)
        .map_err(|e| format!("cannot look at its directory {}: {e}", directory.display()))?;
    if metadata.mode() & 0o002 != 0 {
        return Err(format!(
            "its directory {} is writable by every user, so anyone could have put a socket there: give control.socket a directory only the daemon's user may write",
            directory.display()
        ));
    }
    let peer = super::peer::peer_uid(stream)
        .map_err(|e| format!("cannot learn who answers on it: {e}"))?;
    if peer != metadata.uid() && peer != 0 {
        return Err(format!(
            "it is answered by uid {peer}, not by the owner of {} (uid {}), the daemon's user: another program may be posing as the daemon",
            directory.display(),
            metadata.uid()
        ));
    }
    Ok(())
}

/// Sends `request` to the daemon listening on `socket` and returns its answer.
pub fn call(socket: &Path, request: &Request) -> Result<Reply, ClientError> {
    let broken = |problem: String| ClientError::Broken {
        socket: socket.to_path_buf(),
        problem,
    };
    let mut stream = UnixStream::connect(socket).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
            ClientError::NotRunning {
                socket: socket.to_path_buf(),
            }
        }
        _ => ClientError::Denied {
            socket: socket.to_path_buf(),
            error: source,
        },
    })?;
    if let Err(problem) = the_daemon_answers(socket, &stream) {
        return Err(ClientError::NotTheDaemon {
            socket: socket.to_path_buf(),
            problem,
        });
    }
    stream
        .set_read_timeout(Some(ANSWER_TIMEOUT))
        .map_err(|e| broken(e.to_string()))?;
    let mut line = serde_json::to_string(&Envelope {
        version: VERSION,
        body: request,
    })
    .map_err(|e| broken(format!("cannot encode the request: {e}")))?;
    line.push('\n');
    // A daemon that refuses the caller (not a member, too many connections) answers before
    // reading and closes: the request is then refused by the socket, the answer waits unread.
    if let Err(error) = stream.write_all(line.as_bytes())
        && !matches!(
            error.kind(),
            std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
        )
    {
        return Err(broken(format!("cannot send the request: {error}")));
    }
    let mut answer = String::new();
    BufReader::new(stream)
        .read_line(&mut answer)
        .map_err(|e| broken(format!("no answer: {e}")))?;
    if answer.is_empty() {
        return Err(broken(
            "the daemon closed the connection without an answer".to_string(),
        ));
    }
    let line: AnswerLine =
        serde_json::from_str(&answer).map_err(|e| broken(format!("unreadable answer: {e}")))?;
    line.reply().map_err(broken)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CLI prints an error with its causes (`{:#}`): the OS's words must come once.
    #[test]
    fn a_socket_refused_by_the_os_is_said_once() {
        let error = anyhow::Error::new(ClientError::Denied {
            socket: PathBuf::from("/run/patdesk/control.sock"),
            error: std::io::Error::from_raw_os_error(13),
        });
        let shown = format!("{error:#}");
        assert_eq!(shown.matches("os error 13").count(), 1, "{shown}");
        assert!(shown.contains("members of control.group"), "{shown}");
    }
}
