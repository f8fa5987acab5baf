//! The daemon's text log, one event a line whatever the event quotes: a GitHub error, a token
//! name or a mail's words with a line break in them would otherwise print a line of their own
//! (a fake entry for whoever reads the log). Each event is written whole, as the formatter made
//! it; every control character in it but its final line end is written out visibly.

use std::io::Write;

/// Makes the writer of each event: standard error, escaping as [`OneLine`] does.
#[derive(Debug, Clone, Copy)]
pub struct OneLineStderr {
    /// Colour is on: the formatter's own escape sequences (ESC) are kept.
    pub colour: bool,
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for OneLineStderr {
    type Writer = OneLine<std::io::Stderr>;

    fn make_writer(&'a self) -> Self::Writer {
        OneLine {
            inner: std::io::stderr(),
            colour: self.colour,
        }
    }
}

/// A writer that escapes what it is given, one formatted event per write.
pub struct OneLine<W> {
    inner: W,
    colour: bool,
}

impl<W: Write> Write for OneLine<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.inner
            .write_all(escaped(bytes, self.colour).as_bytes())?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// `bytes` with every character that would act written out (as [`crate::shown`] does) but a
/// final line end and, with colour, ESC.
fn escaped(bytes: &[u8], colour: bool) -> String {
    let text = String::from_utf8_lossy(bytes);
    let (body, end) = match text.strip_suffix('\n') {
        Some(body) => (body, "\n"),
        None => (text.as_ref(), ""),
    };
    let body = crate::shown::escaped(body, |c| colour && c == '\x1b');
    format!("{body}{end}")
}

#[cfg(test)]
mod tests {
    use super::escaped;

    #[test]
    fn an_event_stays_one_line_whatever_it_quotes() {
        let event = b"WARN sync failed error=\"bad token name\nINFO approved by alice\r\x07\"\n";
        assert_eq!(
            escaped(event, false),
            "WARN sync failed error=\"bad token name\\nINFO approved by alice\\r\\x07\"\n"
        );
        // The formatter's colours stay when they are on; outside text cannot add lines.
        assert_eq!(
            escaped(b"\x1b[33mWARN\x1b[0m a\nb\n", true),
            "\x1b[33mWARN\x1b[0m a\\nb\n"
        );
        assert_eq!(escaped(b"\x1b[33m\n", false), "\\x1b[33m\n");
    }
}
