//! A request to widen a token already approved (an upgrade): GitHub lists it with the token's
//! id, which the token's grant shares. What it adds or raises beyond that grant is what is
//! left to decide, so the review carries it as a finding, and `show` with it.

use crate::github::Grant;
use crate::request::Permissions;
use crate::review::{Finding, Severity};

/// The finding for a request that would widen `grant` to `asked`.
pub fn finding(grant: &Grant, asked: &Permissions) -> Finding {
    let mut added = Vec::new();
    let mut raised = Vec::new();
    for (scope, slug, wanted) in asked.iter() {
        match grant.permissions.get(scope, slug) {
            None => added.push(format!("{} {slug}={}", scope.as_str(), wanted.as_str())),
            Some(held) if held == wanted => {}
            Some(held) => raised.push(format!(
                "{} {slug} {} to {}",
                scope.as_str(),
                held.as_str(),
                wanted.as_str()
            )),
        }
    }
    let listed = |items: &[String]| match items.is_empty() {
        true => "nothing".to_string(),
        false => items.join(", "),
    };
    Finding {
        code: "upgrade".to_string(),
        severity: Severity::Info,
        why: format!(
            "Widens a token approved before (grant {}): adds {}; raises {}. The rest is granted already.",
            grant.id,
            listed(&added),
            listed(&raised)
        ),
        remedy: "Nothing to change: the decision is on what it adds and raises.".to_string(),
    }
}
