//! Mails built on the fly, too large to keep as fixtures. Shared by the tests and the benchmark.

/// A GitHub digest whose body is padded to about `body_bytes`.
pub fn padded_digest(body_bytes: usize) -> Vec<u8> {
    let mut raw = b"From: Acme Corp <noreply@github.com>\r\n\
Subject: [GitHub] Your organization Acme Corp has received personal access token requests\r\n\
Message-ID: <big-1@github.example>\r\n\
Content-Type: text/plain; charset=UTF-8\r\n\r\n\
https://github.com/organizations/acme-corp/settings/personal-access-token-requests\r\n"
        .to_vec();
    let line = b"padding padding padding padding padding padding padding padding padding\r\n";
    while raw.len() < body_bytes {
        raw.extend_from_slice(line);
    }
    raw
}

/// `depth` multiparts, each the only part of its parent, around one text part.
pub fn nested_multiparts(depth: usize) -> Vec<u8> {
    let mut raw =
        b"From: Alice <alice@example.org>\r\nSubject: nested\r\nMIME-Version: 1.0\r\n".to_vec();
    for level in 0..depth {
        raw.extend_from_slice(
            format!("Content-Type: multipart/mixed; boundary=\"b{level}\"\r\n\r\n--b{level}\r\n")
                .as_bytes(),
        );
    }
    raw.extend_from_slice(b"Content-Type: text/plain\r\n\r\nThe purpose is at the bottom.\r\n");
    for level in (0..depth).rev() {
        raw.extend_from_slice(format!("--b{level}--\r\n").as_bytes());
    }
    raw
}
