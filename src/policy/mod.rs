//! Policy as code: a Rego policy the team writes (evaluated by `regorus`, Microsoft's Rego
//! interpreter) answers, for a request as patdesk records it, "approve", "deny" with a reason,
//! or "a person decides", each with its reasons. Beneath it lies a floor the policy cannot
//! lower ([`floor`]): what patdesk's own review finds high or critical, and any admin-level or
//! organisation-writing permission, always goes to a person, and so does a policy that fails
//! or runs too long. The team's policy can only ever take the easy cases off people's hands.
//!
//! The contract a policy file keeps (see `packaging/policy.example.rego`):
//!
//! ```rego
//! package patdesk
//! default decision := "person"      # "approve", "deny" or "person"
//! reasons contains "…" if { … }     # why, in words; a denial needs at least one
//! ```
//!
//! `input` is the request as `patdesk show --json` gives it under `request`: GitHub's fields
//! (`org`, `token_name`, `owner_login`, `repository_selection`, `repositories`, `permissions`,
//! `token_expires_at`, …), the requester's standing (`requester`), patdesk's `risk` and
//! `findings`, and the purpose (`purpose`, `purpose_source`).

pub mod backtest;
pub mod floor;

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::store::RequestRecord;

/// How long one evaluation may run before it counts as failed (and so as "a person").
const TIME_LIMIT: Duration = Duration::from_millis(100);
/// How a policy's actor name begins: `policy@<sha256 of the file>`.
pub const POLICY_ACTOR_PREFIX: &str = "policy@";
/// The largest policy file read: a policy is a page or two of rules.
const MAX_POLICY_BYTES: u64 = 1024 * 1024;

/// What a policy, or the floor beneath it, answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Answer {
    Approve { reasons: Vec<String> },
    Deny { reasons: Vec<String> },
    Person { reasons: Vec<String> },
}

impl Answer {
    pub fn reasons(&self) -> &[String] {
        match self {
            Answer::Approve { reasons } | Answer::Deny { reasons } | Answer::Person { reasons } => {
                reasons
            }
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Answer::Approve { .. } => "approve",
            Answer::Deny { .. } => "deny",
            Answer::Person { .. } => "person",
        }
    }
}

/// The answer patdesk acts on, and how it came about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Verdict {
    /// `policy@<sha256 of the file>`: the actor of any automatic decision.
    pub by: String,
    /// What the policy itself said (or why it said nothing).
    pub policy: Answer,
    /// What stands: the policy's answer, unless the floor sent it to a person.
    pub answer: Answer,
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read the policy {path}: {error}")]
    Read { path: String, error: String },
    #[error("the policy {path} is not valid Rego for patdesk: {error}")]
    Invalid { path: String, error: String },
}

/// A policy file, parsed and ready to answer.
pub struct Policy {
    engine: regorus::Engine,
    /// The SHA-256 of the file as read, in hex.
    pub digest: String,
    pub name: String,
}

impl Policy {
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let read_error = |error: String| PolicyError::Read {
            path: path.display().to_string(),
            error,
        };
        let size = std::fs::metadata(path)
            .map_err(|error| read_error(error.to_string()))?
            .len();
        if size > MAX_POLICY_BYTES {
            return Err(read_error(format!(
                "{size} bytes, more than a policy's {MAX_POLICY_BYTES}"
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|error| read_error(error.to_string()))?;
        Policy::from_text(&path.display().to_string(), &text)
    }

    /// A policy from its text; `name` is where it came from, for messages.
    pub fn from_text(name: &str, text: &str) -> Result<Policy, PolicyError> {
        let invalid = |error: String| PolicyError::Invalid {
            path: name.to_string(),
            error,
        };
        let mut engine = regorus::Engine::new();
        engine.set_execution_timer_config(regorus::utils::limits::ExecutionTimerConfig {
            limit: TIME_LIMIT,
            check_interval: std::num::NonZeroU32::MIN,
        });
        engine
            .add_policy(name.to_string(), text.to_string())
            .map_err(|error| invalid(error.to_string()))?;
        let digest = {
            use sha2::Digest as _;
            crate::hex::encode(&sha2::Sha256::digest(text.as_bytes()))
        };
        let mut policy = Policy {
            engine,
            digest,
            name: name.to_string(),
        };
        // A policy that cannot answer an ordinary request is refused now, not at its first use.
        policy.ask(&floor::sample_request()).map_err(invalid)?;
        Ok(policy)
    }

    /// The actor name of this policy's decisions.
    pub fn actor(&self) -> String {
        format!("{POLICY_ACTOR_PREFIX}{}", self.digest)
    }

    /// What the policy says of `record`, before the floor.
    pub fn ask(&mut self, record: &RequestRecord) -> Result<Answer, String> {
        let input = serde_json::to_string(record).map_err(|error| error.to_string())?;
        self.engine
            .set_input_json(&input)
            .map_err(|error| format!("the request as input: {error}"))?;
        let decision = self
            .engine
            .eval_rule("data.patdesk.decision".to_string())
            .map_err(|error| error.to_string())?;
        // A policy need not define `reasons` at all: asked as a query, a missing rule is
        // undefined rather than an error.
        let reasons = self
            .engine
            .eval_query("data.patdesk.reasons".to_string(), false)
            .map(|results| {
                results
                    .result
                    .into_iter()
                    .next()
                    .and_then(|result| result.expressions.into_iter().next())
                    .map_or(regorus::Value::Undefined, |expression| expression.value)
            });
        let reasons = match reasons {
            Ok(regorus::Value::Set(set)) => set
                .iter()
                .filter_map(|reason| reason.as_string().ok().map(|text| text.to_string()))
                .collect(),
            Ok(regorus::Value::Undefined) | Ok(regorus::Value::Null) => Vec::new(),
            Ok(other) => {
                return Err(format!("`reasons` is {other}, not a set of strings"));
            }
            Err(error) => return Err(error.to_string()),
        };
        match decision.as_string().map(|text| text.to_string()).as_deref() {
            Ok("approve") => Ok(Answer::Approve { reasons }),
            Ok("deny") if reasons.is_empty() => Err(
                "`decision` is \"deny\" but `reasons` names none: a denial says why".to_string(),
            ),
            Ok("deny") => Ok(Answer::Deny { reasons }),
            Ok("person") => Ok(Answer::Person { reasons }),
            _ => Err(format!(
                "`decision` is {decision}: expected \"approve\", \"deny\" or \"person\" (give it a default)"
            )),
        }
    }

    /// The answer to act on: the policy's, unless the floor sends the request to a person; a
    /// policy that fails is "a person" too.
    pub fn verdict(&mut self, record: &RequestRecord) -> Verdict {
        let policy = self.ask(record).unwrap_or_else(|error| Answer::Person {
            reasons: vec![format!(
                "the policy failed, so a person decides: {}",
                crate::shown::quoted(&error, 300)
            )],
        });
        let answer = match (&policy, floor::holds(record)) {
            (Answer::Person { .. }, _) | (_, None) => policy.clone(),
            (_, Some(reasons)) => Answer::Person { reasons },
        };
        Verdict {
            by: self.actor(),
            policy,
            answer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALLOW_ALL: &str = "package patdesk\nimport rego.v1\ndecision := \"approve\"\nreasons contains \"everything goes\" if true\n";

    fn sample(name: &str) -> RequestRecord {
        floor::samples()
            .into_iter()
            .find(|(sample, _)| *sample == name)
            .map(|(_, record)| record)
            .expect("a sample of that name")
    }

    #[test]
    fn the_floor_holds_under_a_policy_that_approves_everything() {
        let mut policy = Policy::from_text("allow-all.rego", ALLOW_ALL).expect("valid");
        let easy = policy.verdict(&sample("read one repository, purpose given"));
        assert_eq!(easy.answer.as_str(), "approve");
        assert_eq!(easy.by, policy.actor());
        for hard in [
            "writes the organisation's members",
            "requester outside the org",
        ] {
            let verdict = policy.verdict(&sample(hard));
            assert_eq!(verdict.policy.as_str(), "approve", "{hard}");
            assert_eq!(verdict.answer.as_str(), "person", "{hard}: {verdict:?}");
        }
    }

    #[test]
    fn a_policy_that_cannot_answer_is_refused_when_read() {
        for (text, expected) in [
            ("package patdesk\ndecision := ", "not valid Rego"),
            (
                "package patdesk\nimport rego.v1\ndecision := \"approve\" if input.risk == \"critical\"\n",
                "give it a default",
            ),
            (
                "package patdesk\nimport rego.v1\ndecision := \"maybe\"\n",
                "expected \\\"approve\\\"",
            ),
        ] {
            let error = Policy::from_text("broken.rego", text)
                .err()
                .expect(text)
                .to_string();
            assert!(
                error.contains(expected) || error.contains("not valid Rego"),
                "{text}: {error}"
            );
        }
    }

    #[test]
    fn a_denial_without_a_reason_or_a_policy_that_runs_too_long_goes_to_a_person() {
        let silent_denial = "package patdesk\nimport rego.v1\ndefault decision := \"person\"\ndecision := \"deny\" if input.token_expires_at == null\n";
        let mut policy = Policy::from_text("silent.rego", silent_denial).expect("valid");
        let verdict = policy.verdict(&sample("never expires"));
        assert_eq!(verdict.answer.as_str(), "person");
        assert!(
            verdict.answer.reasons()[0].contains("a denial says why"),
            "{verdict:?}"
        );

        let endless = "package patdesk\nimport rego.v1\ndefault decision := \"person\"\ndecision := \"approve\" if {\n  input.risk == \"medium\"\n  count([[x, y] | some x in numbers.range(1, 10000); some y in numbers.range(1, 10000)]) > 0\n}\n";
        let mut policy = Policy::from_text("endless.rego", endless).expect("valid");
        let verdict = policy.verdict(&sample("writes code"));
        assert_eq!(verdict.answer.as_str(), "person", "{verdict:?}");
        assert!(
            verdict.answer.reasons()[0].contains("the policy failed"),
            "{verdict:?}"
        );
    }

    #[test]
    fn the_example_policy_reads_and_decides_the_easy_case() {
        let text = include_str!("../../policy.example.rego");
        let mut policy =
            Policy::from_text("policy.example.rego", text).expect("the example is valid");
        assert_eq!(
            policy
                .verdict(&sample("read one repository, purpose given"))
                .answer
                .as_str(),
            "approve"
        );
        assert_eq!(
            policy.verdict(&sample("never expires")).answer.as_str(),
            "deny"
        );
        assert_eq!(
            policy.verdict(&sample("writes code")).answer.as_str(),
            "person"
        );
    }
}
