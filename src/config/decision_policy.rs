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
}

impl PolicyMode {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyMode::Off => "off",
            PolicyMode::Shadow => "shadow",
        }
    }
}

impl super::Validator {
    pub(super) fn decision_policy(&mut self, raw: RawPolicyFile) -> Option<PolicyConfig> {
        let mode = match raw.mode {
            Some(RawPolicyMode::Off) => PolicyMode::Off,
            Some(RawPolicyMode::Shadow) | None => PolicyMode::Shadow,
            Some(RawPolicyMode::Enforce) => {
                self.problem(
                    "policy.mode",
                    "is \"enforce\", which this version does not offer yet: run the policy in \"shadow\" and read `patdesk policy backtest` first",
                );
                PolicyMode::Off
            }
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
