//! [store]: retention and backups.

use super::*;

const DAY: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);

#[test]
fn raw_mail_is_kept_a_year_and_no_backups_are_made_by_default() {
    let defaults = valid("");
    assert_eq!(defaults.store.keep_raw, Some(DAY * 365));
    assert_eq!(defaults.store.backups, None);
}

#[test]
fn keep_raw_days_zero_keeps_mail_whole_forever() {
    let config = valid("[store]\nkeep_raw_days = 0\n");
    assert_eq!(config.store.keep_raw, None);
}

#[test]
fn a_relative_backup_dir_is_beside_the_config() {
    let config = valid("[store]\nbackup_dir = \"backups\"\nbackups_kept = 3\n");
    assert_eq!(
        config.store.backups,
        Some(patdesk::config::ScheduledBackups {
            dir: Path::new("/etc/patdesk/backups").to_path_buf(),
            keep: 3,
        })
    );
}

#[test]
fn retention_out_of_range_and_backups_kept_without_a_dir_are_named() {
    let found = problems(Config::from_toml(
        "[store]\nkeep_raw_days = 40000\nbackups_kept = 3\n",
        Path::new("patdesk.toml"),
        None,
    ));
    assert!(
        found
            .iter()
            .any(|(key, message)| key == "store.keep_raw_days"
                && message.contains("accepted is 0 to 36500")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|(key, message)| key == "store.backups_kept"
                && message.contains("store.backup_dir")),
        "{found:?}"
    );
}
