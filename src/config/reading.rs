//! Reading the config file's text into [`RawConfig`], with every mistake at once: each wrong
//! value and unknown key is named by its whole key (`mailbox.port`), where it is (line and
//! column), what was given and what is accepted, and a misspelt key with the nearest known one.
//! serde stops at the first mistake, so each is taken out of the document and the rest read
//! again; only broken TOML itself (an unclosed quote) stops the reading.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::Problem;
use super::raw::RawConfig;

/// More than this many mistakes in one file: the rest are not worth a reader's time.
const MOST_PROBLEMS: usize = 50;

/// The parsed document, for finding where a key is.
pub(super) struct Document<'t> {
    text: &'t str,
    root: Spanned<DeTable<'t>>,
}

/// A line and column in the file, from 1, as editors count them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// The raw config with the wrong values and unknown keys left out, and a problem for each; or
/// TOML's own message when the text is not TOML.
pub(super) fn read(text: &str) -> Result<(RawConfig, Vec<Problem>, Document<'_>), String> {
    let root = DeTable::parse(text).map_err(|error| error.to_string().trim_end().to_string())?;
    let document = Document {
        text,
        root: root.clone(),
    };
    let mut root = root;
    let mut problems = Vec::new();
    loop {
        let deserializer = toml::de::Deserializer::from(root.clone());
        let error = match serde_path_to_error::deserialize::<_, RawConfig>(deserializer) {
            Ok(raw) => return Ok((raw, problems, document)),
            Err(error) => error,
        };
        let path: Vec<Segment> = error.path().iter().filter_map(Segment::of).collect();
        let key = key_of(&path);
        let inner = error.into_inner();
        problems.push(Problem {
            at: inner.span().map(|span| document.position(span.start)),
            message: explain(inner.message(), &key),
            key,
        });
        // A mistake that cannot be taken out (none is known) ends the reading, with the
        // defaults for everything: the config is refused anyway.
        if problems.len() >= MOST_PROBLEMS || !remove(root.get_mut(), &path) {
            return Ok((RawConfig::default(), problems, document));
        }
    }
}

impl Document<'_> {
    /// Where `key` (as a problem names it: `github.orgs[0].login`) is written; for a key that
    /// is missing, where the nearest table that holds it is.
    pub(super) fn locate(&self, key: &str) -> Option<Position> {
        let path = parse_key(key);
        let mut table = self.root.get_ref();
        let mut found = None;
        let mut segments = path.iter().peekable();
        while let Some(segment) = segments.next() {
            let Segment::Key(name) = segment else {
                return found;
            };
            let Some((written, value)) = table.get_key_value(name.as_str()) else {
                return found;
            };
            found = Some(self.position(written.span().start));
            let mut value = value.get_ref();
            if let (DeValue::Array(items), Some(Segment::Index(index))) = (value, segments.peek()) {
                let Some(item) = items.get(*index) else {
                    return found;
                };
                found = Some(self.position(item.span().start));
                value = item.get_ref();
                segments.next();
            }
            match value {
                DeValue::Table(inner) => table = inner,
                _ => return found,
            }
        }
        found
    }

    fn position(&self, offset: usize) -> Position {
        let before = self.text.get(..offset).unwrap_or(self.text);
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        Position {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

/// One step of a key's path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

impl Segment {
    fn of(segment: &serde_path_to_error::Segment) -> Option<Segment> {
        match segment {
            serde_path_to_error::Segment::Map { key } => Some(Segment::Key(key.clone())),
            serde_path_to_error::Segment::Seq { index } => Some(Segment::Index(*index)),
            serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => {
                None
            }
        }
    }
}

/// `mailbox.port`, `github.orgs[0].login`: a key as the config's problems name it.
fn key_of(path: &[Segment]) -> String {
    let mut key = String::new();
    for segment in path {
        match segment {
            Segment::Key(name) => {
                if !key.is_empty() {
                    key.push('.');
                }
                key.push_str(name);
            }
            Segment::Index(index) => key.push_str(&format!("[{index}]")),
        }
    }
    key
}

/// The path of a key as [`key_of`] writes it.
fn parse_key(key: &str) -> Vec<Segment> {
    let mut path = Vec::new();
    for part in key.split('.') {
        let mut pieces = part.split('[');
        if let Some(name) = pieces.next().filter(|name| !name.is_empty()) {
            path.push(Segment::Key(name.to_string()));
        }
        for index in pieces {
            if let Ok(index) = index.trim_end_matches(']').parse() {
                path.push(Segment::Index(index));
            }
        }
    }
    path
}

/// Takes the value at `path` out of `table`, so the rest can be read; false when there is
/// nothing there to take.
fn remove(table: &mut DeTable<'_>, path: &[Segment]) -> bool {
    match path {
        [Segment::Key(name)] => table.remove(name.as_str()).is_some(),
        [Segment::Key(name), rest @ ..] => match table.get_mut(name.as_str()) {
            Some(value) => remove_in(value.get_mut(), rest),
            None => false,
        },
        _ => false,
    }
}

fn remove_in(value: &mut DeValue<'_>, path: &[Segment]) -> bool {
    match (value, path) {
        (DeValue::Table(table), _) => remove(table, path),
        (DeValue::Array(items), [Segment::Index(index), rest @ ..]) => {
            match items.get_mut(*index) {
                // The whole element is wrong (not a table where one is wanted): leave it
                // empty rather than shift the indexes of the others.
                Some(item) if rest.is_empty() => {
                    *item.get_mut() = DeValue::Table(DeTable::new());
                    true
                }
                Some(item) => remove_in(item.get_mut(), rest),
                None => false,
            }
        }
        _ => false,
    }
}

/// serde's message, in the words of someone editing the file: what is accepted, what was
/// given, and for a misspelt key or value, the nearest known one.
fn explain(message: &str, key: &str) -> String {
    let name = key.rsplit('.').next().unwrap_or(key);
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let (given, known) = given_and_known(rest);
        let section = key
            .rsplit_once('.')
            .map_or("the file's top level".to_string(), |(section, _)| {
                format!("[{section}]")
            });
        return format!(
            "is not a key of {section}{}; accepted are {}",
            nearest(&given, &known)
                .map(|near| format!(" (did you mean `{near}`?)"))
                .unwrap_or_default(),
            known.join(", ")
        );
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let (given, known) = given_and_known(rest);
        let quoted: Vec<String> = known.iter().map(|value| format!("\"{value}\"")).collect();
        return format!(
            "expected one of {}, got \"{given}\"{}",
            quoted.join(", "),
            nearest(&given, &known)
                .map(|near| format!(" (did you mean \"{near}\"?)"))
                .unwrap_or_default()
        );
    }
    let wrong = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "));
    if let Some((given, expected)) = wrong.and_then(|rest| rest.rsplit_once(", expected ")) {
        return format!(
            "expected {}, got {}",
            accepted(expected, name),
            given_value(given)
        );
    }
    if message.contains("untagged enum RawMembers") {
        return "expected a table of members, each mapped to their OS account: [team.members] alice = { unix = \"alice\" }".to_string();
    }
    message.to_string()
}

/// `` `fodler`, expected one of `a`, `b` `` (or `` expected `a` or `b` ``): the given word
/// and the known ones.
fn given_and_known(rest: &str) -> (String, Vec<String>) {
    let mut quoted = rest.split('`').skip(1).step_by(2).map(str::to_string);
    let given = quoted.next().unwrap_or_default();
    (given, quoted.collect())
}

/// The known word a misspelling is closest to, when it is close enough to be meant.
fn nearest(given: &str, known: &[String]) -> Option<String> {
    let allowed = (given.chars().count() / 3).max(2);
    known
        .iter()
        .map(|word| (edit_distance(given, word), word))
        .filter(|(distance, _)| *distance <= allowed)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, word)| word.clone())
}

/// Levenshtein's distance: the fewest one-character edits from `a` to `b`.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// What serde expected, as the file's reader would say it.
fn accepted(expected: &str, name: &str) -> String {
    match expected {
        "u16" if name.ends_with("port") => "a port 1–65535".to_string(),
        "u8" => "a whole number 0–255".to_string(),
        "u16" => "a whole number 0–65535".to_string(),
        "u32" | "u64" | "usize" => "a whole number, 0 or more".to_string(),
        "i8" | "i16" | "i32" | "i64" => "a whole number".to_string(),
        "f32" | "f64" => "a number".to_string(),
        "a boolean" => "true or false".to_string(),
        "a string" => "text in quotes".to_string(),
        "a sequence" => "a list in [ ]".to_string(),
        other => other.to_string(),
    }
}

/// serde's `` string "x" ``, `` integer `70000` ``: the value as written in the file.
fn given_value(given: &str) -> String {
    let plain = given.replace('`', "");
    for kind in ["string ", "integer ", "floating point ", "boolean "] {
        if let Some(value) = plain.strip_prefix(kind) {
            return value.to_string();
        }
    }
    match plain.as_str() {
        "sequence" => "a list".to_string(),
        "map" => "a table".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{Position, edit_distance, read};

    fn problems(text: &str) -> Vec<(String, Option<Position>, String)> {
        let (_, mut problems, _) = read(text).unwrap_or_else(|error| panic!("{error}"));
        problems.sort_by_key(|problem| problem.at.map(|at| (at.line, at.column)));
        problems
            .into_iter()
            .map(|problem| (problem.key, problem.at, problem.message))
            .collect()
    }

    #[test]
    fn every_wrong_value_and_unknown_key_is_named_at_once_with_where_it_is() {
        let found = problems(
            "[mailbox]\nport = \"x\"\nsecurity = \"tsl\"\nfodler = \"INBOX\"\n\n[[github.orgs]]\nlogin = \"acme\"\ninstallation_id = -1\n",
        );
        let keys: Vec<&str> = found.iter().map(|(key, _, _)| key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "mailbox.port",
                "mailbox.security",
                "mailbox.fodler",
                "github.orgs[0].installation_id"
            ],
            "{found:?}"
        );
        assert_eq!(found[0].1, Some(Position { line: 2, column: 8 }));
        assert_eq!(found[0].2, "expected a port 1–65535, got \"x\"");
        assert_eq!(
            found[1].2,
            "expected one of \"tls\", \"starttls\", \"plaintext\", got \"tsl\" (did you mean \"tls\"?)"
        );
        assert_eq!(found[2].1, Some(Position { line: 4, column: 1 }));
        assert!(
            found[2]
                .2
                .starts_with("is not a key of [mailbox] (did you mean `folder`?); accepted are"),
            "{found:?}"
        );
        assert_eq!(found[3].1.map(|at| at.line), Some(8));
        assert_eq!(found[3].2, "expected a whole number, 0 or more, got -1");
    }

    #[test]
    fn a_key_far_from_every_known_one_gets_no_guess() {
        let found = problems("colour = \"blue\"\n");
        assert_eq!(found[0].0, "colour");
        assert!(!found[0].2.contains("did you mean"), "{found:?}");
        assert!(found[0].2.contains("the file's top level"), "{found:?}");
    }

    #[test]
    fn text_that_is_not_toml_is_one_error_with_its_line() {
        let error = read("[mailbox]\nhost = \"unclosed\n")
            .err()
            .expect("not TOML");
        assert!(error.contains("line 2"), "{error}");
    }

    #[test]
    fn the_document_finds_a_key_and_the_table_of_a_missing_one() {
        let (_, _, document) =
            read("[store]\npath = \"x.db\"\n\n[[github.orgs]]\nlogin = \"a\"\n").expect("valid");
        assert_eq!(document.locate("store.path").map(|at| at.line), Some(2));
        assert_eq!(
            document.locate("github.orgs[0].login").map(|at| at.line),
            Some(5)
        );
        // Missing: where its table is.
        assert_eq!(
            document.locate("store.keep_raw_days").map(|at| at.line),
            Some(1)
        );
        assert_eq!(document.locate("mailbox.host"), None);
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("fodler", "folder"), 2);
        assert_eq!(edit_distance("hots", "host"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
