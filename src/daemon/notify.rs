//! systemd's notification protocol (sd_notify(3)): a datagram to `$NOTIFY_SOCKET` says the
//! service is ready, what it is doing, that it is alive (the watchdog), and that it is stopping.
//! Outside systemd the variable is unset and every call does nothing.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

pub struct Systemd {
    socket: Option<(UnixDatagram, std::os::unix::net::SocketAddr)>,
    watchdog: Option<Duration>,
}

impl Systemd {
    pub fn from_env() -> Systemd {
        Systemd {
            socket: std::env::var_os("NOTIFY_SOCKET").and_then(|path| connect(&path)),
            watchdog: watchdog_interval(),
        }
    }

    /// How often to say "alive": half the watchdog's timeout, when systemd set one for us.
    pub fn watchdog(&self) -> Option<Duration> {
        self.watchdog.map(|timeout| timeout / 2)
    }

    pub fn ready(&self) {
        self.send("READY=1");
    }

    pub fn alive(&self) {
        self.send("WATCHDOG=1");
    }

    pub fn stopping(&self) {
        self.send("STOPPING=1");
    }

    pub fn reloading(&self) {
        self.send("RELOADING=1");
    }

    /// One line for `systemctl status`.
    pub fn status(&self, line: &str) {
        let line: String = line.chars().filter(|c| *c != '\n').collect();
        self.send(&format!("STATUS={line}"));
    }

    fn send(&self, message: &str) {
        if let Some((socket, address)) = &self.socket
            && let Err(error) = socket.send_to_addr(message.as_bytes(), address)
        {
            tracing::debug!(%error, "systemd notification not sent");
        }
    }
}

fn connect(path: &std::ffi::OsStr) -> Option<(UnixDatagram, std::os::unix::net::SocketAddr)> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_bytes();
    let address = match bytes.strip_prefix(b"@") {
        // An abstract socket: Linux only, as systemd is.
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            std::os::unix::net::SocketAddr::from_abstract_name(name).ok()?
        }
        None => std::os::unix::net::SocketAddr::from_pathname(path).ok()?,
    };
    let socket = UnixDatagram::unbound().ok()?;
    Some((socket, address))
}

/// `$WATCHDOG_USEC`, when it is meant for this process (`$WATCHDOG_PID` unset or ours).
fn watchdog_interval() -> Option<Duration> {
    if let Ok(pid) = std::env::var("WATCHDOG_PID")
        && pid.trim() != std::process::id().to_string()
    {
        return None;
    }
    let micros: u64 = std::env::var("WATCHDOG_USEC").ok()?.trim().parse().ok()?;
    (micros > 0).then(|| Duration::from_micros(micros))
}
