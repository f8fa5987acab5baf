//! The documentation a newcomer finds their way in: a README short enough to read, that links
//! every page of docs/, and links between the pages that lead somewhere (the file exists, and
//! so does the heading an anchor names). The commands the pages give are run elsewhere, as
//! written: the install and restore blocks by tests/systemd.rs, the build block by
//! scripts/test, the key reference checked against the code by tests/config/reference.rs.

use std::path::{Path, PathBuf};

const README_MOST_LINES: usize = 200;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn pages() -> Vec<PathBuf> {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    pages.sort();
    pages
}

/// The relative links of a Markdown text: `[words](target)` whose target is no URL.
fn links(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        }
        if in_code {
            continue;
        }
        for piece in line.split("](").skip(1) {
            if let Some((target, _)) = piece.split_once(')')
                && !target.contains("://")
                && !target.starts_with("mailto:")
            {
                found.push(target.to_string());
            }
        }
    }
    found
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(text: &str) -> Vec<String> {
    let mut in_code = false;
    let mut found = Vec::new();
    for line in text.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        }
        if !in_code && let Some(heading) = line.strip_prefix('#') {
            found.push(anchor(heading.trim_start_matches('#')));
        }
    }
    found
}

#[test]
fn the_readme_is_short_and_links_every_page() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let lines = readme.lines().count();
    assert!(
        lines < README_MOST_LINES,
        "README.md has {lines} lines: what is not what patdesk is, the two commands, what works and where to read on belongs in docs/"
    );
    let linked = links(&readme);
    for page in pages() {
        let name = format!("docs/{}", page.file_name().expect("name").to_string_lossy());
        assert!(
            linked.iter().any(|link| link == &name),
            "README.md does not link {name}"
        );
    }
}

#[test]
fn every_link_between_the_pages_leads_somewhere() {
    let mut files = pages();
    files.push(root().join("README.md"));
    for file in files {
        let text = std::fs::read_to_string(&file).expect("page");
        let dir = file.parent().expect("folder");
        for link in links(&text) {
            let (path, fragment) = match link.split_once('#') {
                Some((path, fragment)) => (path, Some(fragment)),
                None => (link.as_str(), None),
            };
            let target = if path.is_empty() {
                file.clone()
            } else {
                dir.join(path)
            };
            assert!(
                target.exists(),
                "{}: the link {link} leads nowhere",
                file.display()
            );
            if let Some(fragment) = fragment {
                let heads = anchors(&std::fs::read_to_string(&target).expect("target"));
                assert!(
                    heads.iter().any(|head| head == fragment),
                    "{}: {link} names no heading of {} (it has {heads:?})",
                    file.display(),
                    target.display()
                );
            }
        }
    }
}

#[test]
fn anchors_are_written_as_github_writes_them() {
    assert_eq!(
        anchor(" `patdesk status`, line by line"),
        "patdesk-status-line-by-line"
    );
    assert_eq!(
        anchor(" Backups and restoring one"),
        "backups-and-restoring-one"
    );
}
