//! [review] and [people]: the rules the review reads.

use super::*;

#[test]
fn review_thresholds_come_from_the_config_and_are_checked() {
    let text = "[review]\nmax_expiry_days = 90\ncritical_when_write = [\"contents\"]\n";
    let config = Config::from_toml(text, Path::new("patdesk.toml"), None).expect("valid");
    assert_eq!(config.review.max_expiry_days, 90);
    assert_eq!(config.review.critical_when_write, vec!["contents"]);
    assert_eq!(
        config.review.min_purpose_chars, 20,
        "unset keys keep their defaults"
    );

    assert_eq!(
        (
            config.review.stale_after_days,
            config.review.stale_notice_days
        ),
        (90, 14)
    );
    let late = problems(Config::from_toml(
        "[review]\nstale_after_days = 30\nstale_notice_days = 30\n",
        Path::new("patdesk.toml"),
        None,
    ));
    assert_eq!(late.len(), 1, "{late:?}");
    assert_eq!(late[0].0, "review.stale_notice_days");
    assert!(
        late[0].1.contains("before the token counts as stale"),
        "{late:?}"
    );

    let text = "[review]\nmax_expiry_days = 0\nhigh_when_read = [\"Secret Stuff\"]\n";
    let found = problems(Config::from_toml(text, Path::new("patdesk.toml"), None));
    let keys: Vec<&str> = found.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(
        keys,
        vec!["review.max_expiry_days", "review.high_when_read"],
        "{found:?}"
    );
}

#[test]
fn public_profile_addresses_are_allowed_on_the_team_domain_unless_the_config_says_otherwise() {
    let creds = credentials();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("patdesk.example.toml");
    let config = Config::load_with_credentials(&example, Some(creds.path())).expect("valid");
    assert_eq!(
        config.people_allowed_domains,
        ["example.org"],
        "mailbox.address's domain by default"
    );
    let none = Config::from_toml("", Path::new("patdesk.toml"), None).expect("valid");
    assert!(
        none.people_allowed_domains.is_empty(),
        "no mailbox, no domain"
    );
    let given = Config::from_toml(
        "[people]\nallowed_domains = [\"Corp.Example\", \".partner.example\"]\n",
        Path::new("patdesk.toml"),
        None,
    )
    .expect("valid");
    assert_eq!(
        given.people_allowed_domains,
        ["corp.example", "partner.example"]
    );
    let found = problems(Config::from_toml(
        "[people]\nallowed_domains = [\"carol@corp.example\", \"localhost\"]\n",
        Path::new("patdesk.toml"),
        None,
    ));
    assert_eq!(
        found
            .iter()
            .filter(|(key, _)| key == "people.allowed_domains")
            .count(),
        2,
        "{found:?}"
    );
}

#[test]
fn approvals_needed_is_read_by_risk_and_never_more_than_the_team_can_give() {
    let team = "[team.members]\nalice = { unix = \"alice\" }\nbob = { unix = \"bob\" }\n";
    let defaults = Config::from_toml(team, Path::new("patdesk.toml"), None).expect("valid");
    assert_eq!(
        defaults.review.approvals_needed,
        patdesk::config::PerRisk::APPROVALS_NEEDED
    );
    assert_eq!(defaults.review.approvals_needed.critical, 2);
    let text = format!("{team}[review]\napprovals_needed = {{ high = 2, critical = 2 }}\n");
    let set = Config::from_toml(&text, Path::new("patdesk.toml"), None).expect("valid");
    assert_eq!(
        (
            set.review.approvals_needed.medium,
            set.review.approvals_needed.high
        ),
        (1, 2)
    );
    // Three approvals from a team of two can never be given.
    let text = format!("{team}[review]\napprovals_needed = {{ critical = 3 }}\n");
    let found = problems(Config::from_toml(&text, Path::new("patdesk.toml"), None));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "review.approvals_needed");
    assert!(found[0].1.contains("[team] has 2 member(s)"), "{found:?}");
    let text = format!("{team}[review]\napprovals_needed = {{ low = 0 }}\n");
    let found = problems(Config::from_toml(&text, Path::new("patdesk.toml"), None));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "review.approvals_needed.low", "{found:?}");
}

#[test]
fn deny_after_hours_is_off_by_default_and_comes_after_the_escalation() {
    let defaults = Config::from_toml("", Path::new("patdesk.toml"), None).expect("valid");
    assert_eq!(
        defaults.review.deny_after_hours,
        patdesk::config::PerRisk::NEVER
    );
    let set = Config::from_toml(
        "[review]\ndeny_after_hours = { low = 336 }\n",
        Path::new("patdesk.toml"),
        None,
    )
    .expect("valid");
    assert_eq!(
        (
            set.review.deny_after_hours.low,
            set.review.deny_after_hours.critical
        ),
        (336, 0)
    );
    // Low waits 72 h before the reminder and 144 h before the escalation: 100 h is too soon.
    let found = problems(Config::from_toml(
        "[review]\ndeny_after_hours = { low = 100 }\n",
        Path::new("patdesk.toml"),
        None,
    ));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "review.deny_after_hours.low");
    assert!(found[0].1.contains("after it was escalated"), "{found:?}");
}
