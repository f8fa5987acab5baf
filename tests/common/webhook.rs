//! A local HTTP receiver standing in for a Slack incoming webhook: it records each POSTed body
//! and answers with the status the test sets.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub struct Webhook {
    pub url: String,
    bodies: Arc<Mutex<Vec<String>>>,
    status: Arc<AtomicU16>,
    /// POSTs answered with anything but 200.
    refused: Arc<AtomicUsize>,
}

impl Webhook {
    pub fn start() -> Webhook {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the webhook");
        let port = listener.local_addr().expect("address").port();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(200));
        let refused = Arc::new(AtomicUsize::new(0));
        let (received, answer, refusals) = (bodies.clone(), status.clone(), refused.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(match stream.try_clone() {
                    Ok(stream) => stream,
                    Err(_) => continue,
                });
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':')
                        && name.eq_ignore_ascii_case("content-length")
                    {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0u8; length];
                if reader.read_exact(&mut body).is_err() {
                    continue;
                }
                let status = answer.load(Ordering::SeqCst);
                if status == 200 {
                    received
                        .lock()
                        .expect("bodies")
                        .push(String::from_utf8_lossy(&body).to_string());
                } else {
                    refusals.fetch_add(1, Ordering::SeqCst);
                }
                let mut stream = stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                );
            }
        });
        Webhook {
            url: format!("http://127.0.0.1:{port}/services/T000/B000/secret-part"),
            bodies,
            status,
            refused,
        }
    }

    /// The bodies of the POSTs answered 200, in order.
    pub fn received(&self) -> Vec<String> {
        self.bodies.lock().expect("bodies").clone()
    }

    /// How many POSTs were answered with an error status.
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }

    pub fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }
}
