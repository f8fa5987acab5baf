//! A TCP proxy in front of the project's Postfix that misbehaves on request: it refuses
//! connections (the server is down), or lets a mail conversation reach a chosen point and then
//! hangs (patdesk can be killed there).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::mailserver::SMTP_PORT;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every connection is closed at once, as by a server that is down.
    Refuse,
    /// Everything passes.
    Pass,
    /// The mail's text reaches the server, which accepts it; its answer never comes back.
    WithholdAcceptance,
    /// The conversation hangs after `DATA`: the mail's text never reaches the server.
    SwallowText,
}

pub struct SmtpProxy {
    pub port: u16,
    mode: Arc<Mutex<Mode>>,
    /// Set when a conversation reached the point the mode stops at.
    stalled: Arc<AtomicBool>,
    /// Connections closed at once in `Refuse` mode.
    refused: Arc<AtomicUsize>,
}

impl SmtpProxy {
    pub fn start(mode: Mode) -> SmtpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let mode = Arc::new(Mutex::new(mode));
        let stalled = Arc::new(AtomicBool::new(false));
        let refused = Arc::new(AtomicUsize::new(0));
        let (accept_mode, accept_stalled, accept_refused) =
            (mode.clone(), stalled.clone(), refused.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let mode = *accept_mode.lock().expect("mode");
                if mode == Mode::Refuse {
                    let _ = client.shutdown(Shutdown::Both);
                    accept_refused.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
                let stalled = accept_stalled.clone();
                std::thread::spawn(move || relay(client, mode, &stalled));
            }
        });
        SmtpProxy {
            port,
            mode,
            stalled,
            refused,
        }
    }

    /// Applies to connections made from now on.
    pub fn set(&self, mode: Mode) {
        *self.mode.lock().expect("mode") = mode;
    }

    /// How many connections were refused so far.
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }

    pub fn stalled(&self) -> bool {
        self.stalled.load(Ordering::SeqCst)
    }
}

fn relay(client: TcpStream, mode: Mode, stalled: &Arc<AtomicBool>) {
    let Ok(server) = TcpStream::connect(("127.0.0.1", SMTP_PORT)) else {
        return;
    };
    let withhold = Arc::new(AtomicBool::new(false));
    let (Ok(mut from_server), Ok(mut to_client)) = (server.try_clone(), client.try_clone()) else {
        return;
    };
    let replies_withheld = withhold.clone();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(read) = from_server.read(&mut buffer) {
            if read == 0 || replies_withheld.load(Ordering::SeqCst) {
                break;
            }
            if to_client.write_all(&buffer[..read]).is_err() {
                break;
            }
        }
    });
    let (mut from_client, mut to_server) = (client, server);
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    let mut swallowing = false;
    while let Ok(read) = from_client.read(&mut buffer) {
        if read == 0 {
            break;
        }
        seen.extend_from_slice(&buffer[..read]);
        let text_begun =
            find(&seen, b"\r\nDATA\r\n").or_else(|| seen.starts_with(b"DATA\r\n").then_some(0));
        match (mode, text_begun) {
            (Mode::SwallowText, Some(_)) => {
                if !swallowing {
                    // DATA itself goes through, so the server says 354 and the mail's text
                    // follows — into nowhere.
                    let _ = to_server.write_all(&buffer[..read]);
                    swallowing = true;
                    stalled.store(true, Ordering::SeqCst);
                }
                continue;
            }
            (Mode::WithholdAcceptance, Some(start))
                if find(&seen[start..], b"\r\n.\r\n").is_some() =>
            {
                // Set before the final dot goes: the server's 250 must not get through.
                withhold.store(true, Ordering::SeqCst);
                stalled.store(true, Ordering::SeqCst);
            }
            _ => {}
        }
        if to_server.write_all(&buffer[..read]).is_err() {
            break;
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}
