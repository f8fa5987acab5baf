//! `[review]`: the least-privilege rules' settings.

use super::raw::{self, RawReview};
use super::team::is_github_login;
use super::{PerRisk, ReasonFrom, ReviewPolicy};

impl super::Validator {
    pub(super) fn review(&mut self, raw: RawReview) -> ReviewPolicy {
        let mut policy = ReviewPolicy::default();
        for (key, value, range, field) in [
            (
                "review.max_expiry_days",
                raw.max_expiry_days,
                1..=3650,
                &mut policy.max_expiry_days,
            ),
            (
                "review.stale_after_days",
                raw.stale_after_days,
                7..=3650,
                &mut policy.stale_after_days,
            ),
            (
                "review.stale_notice_days",
                raw.stale_notice_days,
                0..=365,
                &mut policy.stale_notice_days,
            ),
            (
                "review.min_purpose_chars",
                raw.min_purpose_chars,
                1..=1000,
                &mut policy.min_purpose_chars,
            ),
            (
                "review.min_token_name_chars",
                raw.min_token_name_chars,
                1..=100,
                &mut policy.min_token_name_chars,
            ),
        ] {
            *field = self.within(key, value, range, *field);
        }
        if let Some(within) = raw.decide_within_hours {
            self.per_risk(
                "review.decide_within_hours",
                within,
                1..=24 * 90,
                &mut policy.decide_within,
            );
        }
        if let Some(after) = raw.deny_after_hours {
            self.per_risk(
                "review.deny_after_hours",
                after,
                0..=24 * 365,
                &mut policy.deny_after_hours,
            );
            // The denial comes after the team was reminded and the request escalated.
            for risk in crate::review::Risk::ALL {
                let (deny, decide) = (
                    policy.deny_after_hours.of(risk),
                    policy.decide_within.of(risk),
                );
                if deny != 0 && deny <= 2 * decide {
                    self.problem(
                        &format!("review.deny_after_hours.{}", risk.as_str()),
                        format!(
                            "is {deny}: a request is denied only after it was escalated, past twice \
                             review.decide_within_hours.{} ({} h); give more, or 0 for never",
                            risk.as_str(),
                            2 * decide
                        ),
                    );
                }
            }
        }
        if let Some(needed) = raw.approvals_needed {
            self.per_risk(
                "review.approvals_needed",
                needed,
                1..=5,
                &mut policy.approvals_needed,
            );
        }
        for (key, value, field) in [
            (
                "review.critical_when_write",
                raw.critical_when_write,
                &mut policy.critical_when_write,
            ),
            (
                "review.high_when_read",
                raw.high_when_read,
                &mut policy.high_when_read,
            ),
        ] {
            let Some(slugs) = value else { continue };
            match slugs.iter().find(|slug| !is_permission_slug(slug)) {
                Some(bad) => self.problem(
                    key,
                    format!("has {bad:?}: expected permission slugs such as \"contents\" or \"organization_secrets\""),
                ),
                None => *field = slugs,
            }
        }
        if policy.stale_notice_days >= policy.stale_after_days {
            self.problem(
                "review.stale_notice_days",
                format!(
                    "is {}: the notice must come before the token counts as stale (review.stale_after_days = {})",
                    policy.stale_notice_days, policy.stale_after_days
                ),
            );
        }
        if let Some(from) = raw.approval_reason_from {
            policy.approval_reason_from = match from {
                raw::RawReasonFrom::Low => ReasonFrom::Low,
                raw::RawReasonFrom::Medium => ReasonFrom::Medium,
                raw::RawReasonFrom::High => ReasonFrom::High,
                raw::RawReasonFrom::Critical => ReasonFrom::Critical,
                raw::RawReasonFrom::Never => ReasonFrom::Never,
            };
        }
        if let Some(teams) = raw.org_permission_teams {
            match teams
                .iter()
                .find(|team| !is_github_login(team) && !team.contains('_'))
            {
                Some(bad) => self.problem(
                    "review.org_permission_teams",
                    format!("has {bad:?}: expected team slugs such as \"platform-team\""),
                ),
                None => policy.org_permission_teams = teams,
            }
        }
        if let Some(names) = raw.generic_token_names {
            policy.generic_token_names =
                names.into_iter().map(|name| name.to_lowercase()).collect();
        }
        policy
    }
}

impl super::Validator {
    /// A table of numbers by risk (`key.low`, `key.medium`, …), each within `range`.
    fn per_risk(
        &mut self,
        key: &str,
        raw: raw::RawPerRisk,
        range: std::ops::RangeInclusive<u32>,
        values: &mut PerRisk,
    ) {
        for (risk, value, field) in [
            ("low", raw.low, &mut values.low),
            ("medium", raw.medium, &mut values.medium),
            ("high", raw.high, &mut values.high),
            ("critical", raw.critical, &mut values.critical),
        ] {
            *field = self.within(&format!("{key}.{risk}"), value, range.clone(), *field);
        }
    }
}

/// GitHub's permission slugs: lower-case words joined by underscores.
fn is_permission_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}
