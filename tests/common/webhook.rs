//! A local HTTP receiver standing in for a Slack incoming webhook: it records each POSTed body
//! and answers with the status the test sets.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

pub struct Webhook {
    pub url: String,
    bodies: Arc<Mutex<Vec<String>>>,
    status: Arc<AtomicU16>,
}

impl Webhook {
    pub fn start() -> Webhook {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the webhook");
        let port = listener.local_addr().expect("address").port();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(200));
        let (received, answer) = (bodies.clone(), status.clone());
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
        }
    }

    /// The bodies of the POSTs answered 200, in order.
    pub fn received(&self) -> Vec<String> {
        self.bodies.lock().expect("bodies").clone()
    }

    pub fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }
}
