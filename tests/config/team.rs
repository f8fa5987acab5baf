//! [team]: members mapped to OS accounts.

use super::*;

/// root reads through the socket and acts with --break-glass: as a member its decisions could
/// not be told from an admin's.
#[test]
fn root_cannot_be_a_member() {
    let text = "[team.members]\nalice = { unix = \"root\" }\nbob = { unix = \"patdesk-daemon\" }\n";
    let found = problems(Config::from_toml(text, Path::new("patdesk.toml"), None));
    assert_eq!(found[0].0, "team.members.alice", "{found:?}");
    assert!(found[0].1.contains("break-glass"), "{found:?}");
    assert_eq!(found[1].0, "team.members.bob", "{found:?}");
    assert!(
        found[1].1.contains("the service's own account"),
        "{found:?}"
    );
}

#[test]
fn members_are_mapped_to_os_accounts_once_each() {
    let text = r#"
        [team.members]
        alice = { unix = "alice" }
        ALICE = { unix = "alice2" }
        bob = { unix = "alice2" }
        carol = {}
        [control]
        group = "not a group"
    "#;
    let found = problems(Config::from_toml(text, Path::new("patdesk.toml"), None));
    let text_of = |key: &str| {
        found
            .iter()
            .filter(|(found, _)| found == key)
            .map(|(_, message)| message.clone())
            .collect::<Vec<_>>()
            .join("; ")
    };
    // BTreeMap order: ALICE first, then alice is its twin by case.
    assert!(
        text_of("team.members.alice").contains("ignore case"),
        "{found:?}"
    );
    assert!(
        text_of("team.members.bob").contains("one OS account is one member"),
        "{found:?}"
    );
    assert!(
        text_of("team.members.carol").contains("unix ="),
        "{found:?}"
    );
    assert!(text_of("control.group").contains("group name"), "{found:?}");

    let old = "[team]\nmembers = [\"alice\"]\n";
    let error = Config::from_toml(old, Path::new("patdesk.toml"), None)
        .expect_err("the list form is refused")
        .to_string();
    assert!(
        error.contains("team.members") && error.contains("unix ="),
        "{error}"
    );
}
