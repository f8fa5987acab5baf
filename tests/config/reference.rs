//! docs/config-keys.md, the reference of every key, is written from `patdesk.example.toml` (each
//! key with the comment above it), and checked against the code: every key it lists is one
//! patdesk reads, and every key patdesk reads is listed. After changing the example,
//! `PATDESK_BLESS=1 cargo test --test config reference` writes the page again.

use std::collections::BTreeSet;
use std::path::Path;

use patdesk::config::{Config, ConfigError};

const PAGE: &str = "docs/config-keys.md";
const PROBE: &str = "zz_not_a_key";

/// Sections holding tables of their own: a key there is written under its own header.
const NESTED: [(&str, &str); 3] = [
    ("github", "webhook"),
    ("github", "orgs"),
    ("team", "members"),
];

/// One key as the example documents it.
struct Documented {
    section: String,
    key: String,
    example: String,
    about: String,
}

fn example() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("patdesk.example.toml"))
        .expect("the example config")
}

/// `[store]`, `# [github.webhook]`, `[[github.orgs]]`: the section a header opens.
fn header(line: &str) -> Option<String> {
    let line = line.trim_start_matches('#').trim();
    let name = line
        .strip_prefix("[[")
        .and_then(|rest| rest.strip_suffix("]]"))
        .or_else(|| {
            line.strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
        })?;
    name.chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
        .then(|| name.to_string())
}

/// `key = value` or `# key = value` (one `#` and at most one space): a key line of the example.
fn key_line(line: &str) -> Option<(String, String)> {
    let line = line
        .strip_prefix("# ")
        .or_else(|| line.strip_prefix('#'))
        .unwrap_or(line);
    let (key, value) = line.split_once(" = ")?;
    let is_key = !key.is_empty()
        && key.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    is_key.then(|| (key.to_string(), value.trim().to_string()))
}

/// Every key of the example, first mention only, with the comment block above it (shared by
/// the keys written together under one comment).
fn documented() -> Vec<Documented> {
    let text = example();
    let mut found: Vec<Documented> = Vec::new();
    let mut section: Option<String> = None;
    let mut comment: Vec<String> = Vec::new();
    let mut after_key = false;
    for line in text.lines() {
        let line = line.trim_end();
        if let Some(name) = header(line) {
            section = Some(name);
            comment.clear();
            after_key = false;
            continue;
        }
        let Some(section) = &section else { continue };
        if let Some((key, value)) = key_line(line) {
            // The members are a table of logins: one entry stands for them all.
            let (section, key) = if section == "team.members" {
                ("team".to_string(), "members".to_string())
            } else {
                (section.clone(), key)
            };
            if !found.iter().any(|d| d.section == section && d.key == key) {
                found.push(Documented {
                    section,
                    key,
                    example: value,
                    about: comment.join(" "),
                });
            }
            after_key = true;
        } else if let Some(words) = line.trim_start().strip_prefix('#') {
            if after_key {
                comment.clear();
                after_key = false;
            }
            let words = words.trim().trim_start_matches('#').trim();
            if !words.is_empty() {
                comment.push(words.to_string());
            }
        } else if line.trim().is_empty() {
            comment.clear();
            after_key = false;
        }
    }
    found
}

/// The keys the code accepts in the section at `path` ("" for the top level), as the config's
/// unknown-key problem lists them.
fn accepted(toml: &str, problem_key: &str) -> Vec<String> {
    let error = Config::from_toml(toml, Path::new("patdesk.toml"), None)
        .expect_err("an unknown key is refused");
    let ConfigError::Invalid { problems, .. } = error else {
        panic!("expected problems: {error}");
    };
    let problem = problems
        .iter()
        .find(|problem| problem.key == problem_key)
        .unwrap_or_else(|| panic!("no problem for {problem_key}: {problems:?}"));
    let list = problem
        .message
        .split("accepted are ")
        .nth(1)
        .unwrap_or_else(|| panic!("no accepted keys in {:?}", problem.message));
    list.split(", ").map(str::to_string).collect()
}

/// Every key the code reads, as `section.key` (`github.webhook.listen`, `team.members`).
fn code_keys() -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for section in accepted(&format!("{PROBE} = 1\n"), PROBE) {
        for key in accepted(
            &format!("[{section}]\n{PROBE} = 1\n"),
            &format!("{section}.{PROBE}"),
        ) {
            match NESTED.iter().find(|(s, k)| *s == section && *k == key) {
                Some((_, "members")) => {
                    keys.insert("team.members".to_string());
                }
                Some((_, "orgs")) => {
                    let inner = accepted(
                        &format!("[[github.orgs]]\n{PROBE} = 1\n"),
                        &format!("github.orgs[0].{PROBE}"),
                    );
                    keys.extend(inner.iter().map(|k| format!("github.orgs.{k}")));
                }
                Some((_, nested)) => {
                    let inner = accepted(
                        &format!("[{section}.{nested}]\n{PROBE} = 1\n"),
                        &format!("{section}.{nested}.{PROBE}"),
                    );
                    keys.extend(inner.iter().map(|k| format!("{section}.{nested}.{k}")));
                }
                None => {
                    keys.insert(format!("{section}.{key}"));
                }
            }
        }
    }
    keys
}

/// The page, from the example.
fn page() -> String {
    let cell = |text: &str| text.replace('|', "\\|");
    let mut out = String::from(
        "# Every configuration key\n\n\
         Each key patdesk reads, by section, with the value `patdesk.example.toml` gives it (a\n\
         commented-out key there is off by default) and what the example says of it. A secret is\n\
         never a value: it names a file or a systemd credential ([Configuration](configuration.md)).\n\
         This page is written from the example by `tests/config/reference.rs`, which also checks\n\
         that every key here is one patdesk reads and that patdesk reads no key not here.\n",
    );
    let mut section = String::new();
    for documented in documented() {
        if documented.section != section {
            section = documented.section.clone();
            out.push_str(&format!(
                "\n## [{section}]\n\n| key | example | what it does |\n| --- | --- | --- |\n"
            ));
        }
        let key = if documented.section == "team" && documented.key == "members" {
            "members.LOGIN".to_string()
        } else {
            documented.key.clone()
        };
        out.push_str(&format!(
            "| `{}` | `{}` | {} |\n",
            key,
            cell(&documented.example),
            cell(&documented.about)
        ));
    }
    out
}

#[test]
fn the_key_reference_lists_exactly_the_keys_patdesk_reads() {
    let documented: BTreeSet<String> = documented()
        .iter()
        .map(|d| format!("{}.{}", d.section, d.key))
        .collect();
    let code = code_keys();
    let undocumented: Vec<_> = code.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&code).collect();
    assert!(
        undocumented.is_empty(),
        "keys patdesk reads that patdesk.example.toml does not document: {undocumented:?}"
    );
    assert!(
        unknown.is_empty(),
        "keys patdesk.example.toml documents that patdesk does not read: {unknown:?}"
    );
}

#[test]
fn the_key_reference_is_written_from_the_example() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(PAGE);
    let expected = page();
    if std::env::var_os("PATDESK_BLESS").is_some() {
        std::fs::write(&path, &expected).expect("write the page");
    }
    let written = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        written == expected,
        "{PAGE} is not what patdesk.example.toml says: run PATDESK_BLESS=1 cargo test --test config reference"
    );
}
