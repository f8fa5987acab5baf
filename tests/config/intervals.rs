//! [intervals]: the daemon's timers.

use super::*;

#[test]
fn the_daemons_intervals_default_to_production_and_can_be_set_short() {
    use std::time::Duration;
    let load = |text: &str| Config::from_toml(text, Path::new("patdesk.toml"), None);
    let defaults = load("").expect("valid").intervals;
    assert_eq!(defaults, patdesk::config::Intervals::default());
    assert_eq!(defaults.outbox, Duration::from_secs(30));
    assert_eq!(defaults.look_for_commits, Duration::from_secs(2));
    assert_eq!(defaults.alerts, Duration::from_secs(5));
    assert_eq!(defaults.status, Duration::from_secs(30));
    assert_eq!(defaults.upkeep, Duration::from_secs(3600));
    let short = load(
        "[intervals]\noutbox_seconds = 0.5\nlook_for_commits_seconds = 0.2\n\
         alerts_seconds = 0.25\nstatus_seconds = 1\nupkeep_seconds = 2\n",
    )
    .expect("valid")
    .intervals;
    assert_eq!(short.outbox, Duration::from_millis(500));
    assert_eq!(short.look_for_commits, Duration::from_millis(200));
    assert_eq!(short.alerts, Duration::from_millis(250));
    assert_eq!(short.status, Duration::from_secs(1));
    assert_eq!(short.upkeep, Duration::from_secs(2));
    let found = problems(load(
        "[intervals]\noutbox_seconds = 0\nalerts_seconds = 100000\n",
    ));
    let keys: Vec<&str> = found.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(
        keys,
        ["intervals.outbox_seconds", "intervals.alerts_seconds"],
        "{found:?}"
    );
    // The sync period is the GitHub section's, not an interval here: the key is refused.
    let error = load("[intervals]\nsync_seconds = 1\n").expect_err("unknown key");
    assert!(error.to_string().contains("sync_seconds"), "{error}");
}
