//! A TCP proxy in front of the project's Dovecot (its plaintext port, which the config allows
//! on loopback) that records the commands patdesk sends, and drops the connection when a
//! FETCH of whole mails asks for a chosen UID: as a mail that brings patdesk down would, the
//! fetch never finishes.

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use super::mailserver::IMAP_PORT;

/// How a FETCH of whole mails is written (async-imap's spelling of patdesk's query).
const WHOLE_MAILS: &str = "(UID BODY.PEEK[])";

#[derive(Default)]
struct Seen {
    /// Every command line, as sent.
    commands: Vec<String>,
    /// Whole-mail fetches of this UID are cut.
    cut: Option<u32>,
}

pub struct ImapProxy {
    pub port: u16,
    seen: Arc<Mutex<Seen>>,
}

impl ImapProxy {
    pub fn start() -> ImapProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let accept_seen = seen.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let seen = accept_seen.clone();
                std::thread::spawn(move || relay(client, &seen));
            }
        });
        ImapProxy { port, seen }
    }

    /// From now on, the connection is dropped when a whole-mail FETCH names `uid`.
    pub fn cut_fetches_of(&self, uid: Option<u32>) {
        self.seen.lock().expect("seen").cut = uid;
    }

    /// The UID sets of the whole-mail FETCHes sent so far, in order ("1:2", "3", …).
    pub fn whole_mail_fetches(&self) -> Vec<String> {
        let seen = self.seen.lock().expect("seen");
        seen.commands
            .iter()
            .filter_map(|line| whole_mail_fetch(line))
            .map(str::to_string)
            .collect()
    }
}

/// The UID set of `line` when it is a whole-mail FETCH.
fn whole_mail_fetch(line: &str) -> Option<&str> {
    let mut words = line.splitn(5, ' ');
    let (_tag, uid, fetch, set, query) = (
        words.next()?,
        words.next()?,
        words.next()?,
        words.next()?,
        words.next()?,
    );
    (uid.eq_ignore_ascii_case("UID")
        && fetch.eq_ignore_ascii_case("FETCH")
        && query.trim_end() == WHOLE_MAILS)
        .then_some(set)
}

/// Whether the UID set `set` ("1:3,7") names `uid`.
fn names(set: &str, uid: u32) -> bool {
    set.split(',').any(|range| match range.split_once(':') {
        Some((low, high)) => {
            let (low, high) = (low.parse().unwrap_or(u32::MAX), high.parse().unwrap_or(0));
            (low.min(high)..=low.max(high)).contains(&uid)
        }
        None => range.parse() == Ok(uid),
    })
}

fn relay(client: TcpStream, seen: &Arc<Mutex<Seen>>) {
    let Ok(server) = TcpStream::connect(("127.0.0.1", IMAP_PORT)) else {
        return;
    };
    let (Ok(mut from_server), Ok(mut to_client)) = (server.try_clone(), client.try_clone()) else {
        return;
    };
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from_server, &mut to_client);
        let _ = to_client.shutdown(Shutdown::Both);
    });
    // patdesk's commands are lines (it sends no literals): each is looked at before it passes.
    let (mut from_client, mut to_server) = (BufReader::new(&client), &server);
    let mut line = String::new();
    loop {
        line.clear();
        match from_client.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let cut = {
            let mut seen = seen.lock().expect("seen");
            seen.commands.push(line.trim_end().to_string());
            matches!((seen.cut, whole_mail_fetch(&line)), (Some(uid), Some(set)) if names(set, uid))
        };
        if cut || to_server.write_all(line.as_bytes()).is_err() {
            break;
        }
    }
    let _ = server.shutdown(Shutdown::Both);
    let _ = client.shutdown(Shutdown::Both);
}
