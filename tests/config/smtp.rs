//! [smtp]: send limits.

use super::*;

#[test]
fn send_limits_come_from_the_config_within_bounds() {
    let config = Config::from_toml(
        "[mail]\nper_recipient_per_hour = 1\nper_recipient_per_day = 4\nbreaker_mails = 200\n",
        Path::new("patdesk.toml"),
        None,
    )
    .expect("valid");
    assert_eq!(
        config.send_limits,
        patdesk::config::SendLimits {
            per_recipient_per_hour: 1,
            per_recipient_per_day: 4,
            breaker_mails: 200,
        }
    );
    let defaults = Config::from_toml("", Path::new("patdesk.toml"), None).expect("valid");
    assert_eq!(
        defaults.send_limits,
        patdesk::config::SendLimits {
            per_recipient_per_hour: 3,
            per_recipient_per_day: 10,
            breaker_mails: 30,
        }
    );

    let found = problems(Config::from_toml(
        "[mail]\nper_recipient_per_hour = 0\nper_recipient_per_day = 5000\nbreaker_mails = 0\n",
        Path::new("patdesk.toml"),
        None,
    ));
    for (key, accepted) in [
        ("mail.per_recipient_per_hour", "accepted is 1 to 100"),
        ("mail.per_recipient_per_day", "accepted is 1 to 1000"),
        ("mail.breaker_mails", "accepted is 1 to 100000"),
    ] {
        assert!(
            found
                .iter()
                .any(|(found, message)| found == key && message.contains(accepted)),
            "{key}: {found:?}"
        );
    }
    let found = problems(Config::from_toml(
        "[mail]\nper_recipient_per_hour = 12\nper_recipient_per_day = 5\n",
        Path::new("patdesk.toml"),
        None,
    ));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "mail.per_recipient_per_hour");
    assert!(
        found[0]
            .1
            .contains("more than mail.per_recipient_per_day (5)")
    );
}
