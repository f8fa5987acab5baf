//! `[policy]`: the team's policy file (Rego) and what the daemon does with its answers.

use std::path::PathBuf;

use super::raw::{RawPolicyFile, RawPolicyMode};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyConfig {
    pub file: PathBuf,
    pub mode: PolicyMode,
}

/// What the daemon does with the policy's answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyMode {
    /// The file is checked, and not asked.
    Off,
    /// Each request in review is answered, the answer recorded in the audit log and shown; a
    /// person still decides.
    Shadow,
    /// As shadow, and the policy's approvals and denials are decisions (by `policy@<sha256>`),
    /// carried to GitHub and the requester. Held in shadow while the policy's backtest finds
    /// it more permissive than the people were on a request no member has accepted.
    Enforce,
}

impl PolicyMode {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyMode::Off => "off",
            PolicyMode::Shadow => "shadow",
            PolicyMode::Enforce => "enforce",
        }
    }
}

impl super::Validator {
    pub(super) fn decision_policy(&mut self, raw: RawPolicyFile) -> Option<PolicyConfig> {
        let mode = match raw.mode {
            Some(RawPolicyMode::Off) => PolicyMode::Off,
            Some(RawPolicyMode::Shadow) | None => PolicyMode::Shadow,
            Some(RawPolicyMode::Enforce) => PolicyMode::Enforce,
        };
        let Some(file) = raw.file else {
            self.problem(
                "policy.file",
                "is missing: the policy (Rego, package patdesk), such as \"/etc/patdesk/policy.rego\"",
            );
            return None;
        };
        Some(PolicyConfig {
            file: self.path(file),
            mode,
        })
    }
}
