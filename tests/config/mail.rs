//! [mail]: reminders and how far replies are trusted.

use super::*;

#[test]
fn reminders_can_be_fewer_or_further_apart_but_never_more_pressing() {
    let config = Config::from_toml(
        "[mail]\nreminders = 1\nreminder_interval_hours = 72\n",
        Path::new("patdesk.toml"),
        None,
    )
    .expect("valid");
    assert_eq!(config.reminders.max, 1);
    assert_eq!(
        config.reminders.interval,
        jiff::SignedDuration::from_hours(72)
    );
    let defaults = Config::from_toml("", Path::new("patdesk.toml"), None).expect("valid");
    assert_eq!(
        (defaults.reminders.max, defaults.reminders.interval),
        (2, jiff::SignedDuration::from_hours(48))
    );
}

#[test]
fn replies_can_be_made_stricter_never_looser() {
    for (choice, trust) in patdesk::mail::ReplyTrust::CHOICES {
        let text = format!("[mail]\naccept_replies = \"{choice}\"\n");
        let config = Config::from_toml(&text, Path::new("patdesk.toml"), None).expect("valid");
        assert_eq!(config.mail.replies, *trust);
    }
    let loose = "[mail]\naccept_replies = \"anyone\"\n";
    let found = problems(Config::from_toml(loose, Path::new("patdesk.toml"), None));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].1.contains("signed-or-verified"), "{found:?}");
}
