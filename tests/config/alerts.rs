//! [alerts]: the weekly report and the audit head.

use super::*;

#[test]
fn the_weekly_report_goes_out_on_a_named_day_and_hour_or_not_at_all() {
    use jiff::civil::Weekday;
    use patdesk::config::ReportTime;
    let load = |text: &str| Config::from_toml(text, Path::new("patdesk.toml"), None);
    let time = |text: &str| load(text).expect("valid").alerts.weekly_report;
    assert_eq!(
        time(""),
        Some(ReportTime {
            day: Weekday::Monday,
            hour: 8
        }),
        "Mondays from 08:00 UTC by default"
    );
    assert_eq!(
        time("[alerts]\nweekly_report = \"Friday\"\nweekly_report_hour = 15\n"),
        Some(ReportTime {
            day: Weekday::Friday,
            hour: 15
        })
    );
    assert_eq!(time("[alerts]\nweekly_report = \"off\"\n"), None);
    let found = problems(load("[alerts]\nweekly_report = \"fortnightly\"\n"));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "alerts.weekly_report");
    let found = problems(load("[alerts]\nweekly_report_hour = 24\n"));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "alerts.weekly_report_hour");
    assert!(found[0].1.contains("0 to 23"), "{found:?}");
}

#[test]
fn the_audit_head_goes_out_daily_and_after_decisions_by_default() {
    let defaults = Config::from_toml("", Path::new("patdesk.toml"), None).expect("valid");
    assert_eq!(
        defaults.alerts.send_head,
        patdesk::config::SendHead::DailyAndDecisions
    );
    let daily = Config::from_toml(
        "[alerts]\nsend_head = \"daily\"\n",
        Path::new("patdesk.toml"),
        None,
    )
    .expect("valid");
    assert_eq!(daily.alerts.send_head, patdesk::config::SendHead::Daily);
}

#[test]
fn an_unknown_send_head_is_refused_naming_the_choices() {
    let unknown = Config::from_toml(
        "[alerts]\nsend_head = \"hourly\"\n",
        Path::new("patdesk.toml"),
        None,
    )
    .expect_err("an unknown send_head is refused")
    .to_string();
    assert!(
        unknown.contains("alerts.send_head") && unknown.contains("\"daily_and_decisions\""),
        "the choices are named: {unknown}"
    );
}
