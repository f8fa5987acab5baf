//! `patdesk policy show|test FILE`: a policy file read as the daemon would read it, and run on
//! requests, the floor beneath it included, before anyone lets it decide.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};

use super::{Context, Failure};
use crate::control::protocol::Request;
use crate::policy::backtest::Backtest;
use crate::policy::{Policy, floor};
use crate::store::{ExportRow, RequestRecord};

#[derive(Debug, Args)]
pub struct PolicyArgs {
    #[command(subcommand)]
    action: PolicyAction,
}

#[derive(Debug, Subcommand)]
enum PolicyAction {
    /// Read a policy: its SHA-256 (the actor of its decisions) and the floor beneath it
    Show {
        /// The policy (Rego, package patdesk)
        file: PathBuf,
    },
    /// Run a policy on sample requests and on requests of your own, showing its answer and
    /// what stands once the floor is applied
    Test {
        /// The policy (Rego, package patdesk)
        file: PathBuf,
        /// A request as `patdesk show --json` prints it (or its "request" alone); repeatable
        #[arg(long = "request", value_name = "JSON")]
        requests: Vec<PathBuf>,
    },
    /// Replay the requests people decided through a policy: agreement with their decisions,
    /// and every request where the policy would have approved what they denied
    Backtest {
        /// The policy (Rego, package patdesk)
        file: PathBuf,
        /// Only requests decided on or after this date (YYYY-MM-DD, UTC) or time (RFC 3339)
        #[arg(long, value_name = "DATE", value_parser = super::records::parse_date_or_time)]
        since: Option<jiff::Timestamp>,
    },
    /// Accept requests people denied that the policy would have approved (as `backtest`
    /// lists them), so they no longer hold the policy back from enforcing; recorded, with why
    Accept {
        /// The policy (Rego, package patdesk)
        file: PathBuf,
        /// The requests (12 or PAT-12)
        #[arg(value_name = "ID", required = true, value_parser = super::output::parse_request_id)]
        ids: Vec<i64>,
        /// Why the policy may be that permissive, for the record
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
}

/// `context` opens the way to the daemon, for `backtest` and `accept`: the others read no
/// records.
pub fn run(
    args: &PolicyArgs,
    json: bool,
    context: impl FnOnce() -> Result<Context, Failure>,
) -> Result<(), Failure> {
    let file = match &args.action {
        PolicyAction::Show { file }
        | PolicyAction::Test { file, .. }
        | PolicyAction::Backtest { file, .. }
        | PolicyAction::Accept { file, .. } => file,
    };
    let mut policy = Policy::load(file).map_err(|error| Failure {
        code: super::exit::CONFIG,
        error: anyhow::anyhow!(error),
    })?;
    match &args.action {
        PolicyAction::Show { .. } => show(&policy, json),
        PolicyAction::Test { requests, .. } => {
            let mut cases: Vec<(String, RequestRecord)> = floor::samples()
                .into_iter()
                .map(|(name, record)| (format!("sample: {name}"), record))
                .collect();
            for path in requests {
                cases.push((path.display().to_string(), read_request(path)?));
            }
            test(&mut policy, &cases, json)
        }
        PolicyAction::Backtest { since, .. } => backtest(&mut policy, &context()?, *since, json),
        PolicyAction::Accept { ids, reason, .. } => {
            let accepted: crate::decide::AcceptedCases =
                context()?.ask_for(Request::AcceptPolicyCases {
                    policy: policy.actor(),
                    ids: ids.clone(),
                    reason: reason.clone(),
                })?;
            if json {
                return super::output::print_json(&accepted);
            }
            let named: Vec<String> = accepted.ids.iter().map(|id| format!("PAT-{id}")).collect();
            println!(
                "Accepted for {} (by {}): {}. They no longer hold it back from enforcing.",
                accepted.policy,
                accepted.by,
                named.join(", ")
            );
            Ok(())
        }
    }
}

/// Reads every request through the daemon, a page at a time (as `export` does), and replays
/// those people decided.
fn backtest(
    policy: &mut Policy,
    context: &Context,
    since: Option<jiff::Timestamp>,
    json: bool,
) -> Result<(), Failure> {
    let mut result = Backtest::default();
    context.ask_pages(
        |_, last: Option<&ExportRow>| Request::Export {
            after: last.map_or(0, |row| row.record.id),
        },
        |page| {
            for row in &page {
                result.add(policy, &row.record, since);
            }
            Ok(())
        },
    )?;
    if json {
        return super::output::print_json(&serde_json::json!({
            "policy": policy.actor(),
            "backtest": result,
        }));
    }
    let [approve, deny, person] = result.table;
    println!(
        "{} over the {} request(s) people decided{}:

                  people approved  people denied
  policy approve  {:>15}  {:>13}
  policy deny     {:>15}  {:>13}
  policy person   {:>15}  {:>13}

  agrees with the people on {} of {}; leaves {} to a person",
        policy.actor(),
        result.decided,
        since
            .map(|since| format!(" since {}", crate::store::format_time(since)))
            .unwrap_or_default(),
        approve[0],
        approve[1],
        deny[0],
        deny[1],
        person[0],
        person[1],
        result.agreed(),
        result.decided,
        person[0] + person[1],
    );
    if result.more_permissive.is_empty() {
        println!("  never more permissive than the people were");
        return Ok(());
    }
    println!(
        "\nMORE PERMISSIVE than the people on {} request(s): it would approve what they denied",
        result.more_permissive.len()
    );
    for case in &result.more_permissive {
        println!(
            "  PAT-{} {} by {} in {}: denied by {}: {}\n    the policy: {}",
            case.id,
            crate::shown::line(case.token_name.as_deref().unwrap_or("(unnamed)")),
            crate::shown::line(&case.owner_login),
            crate::shown::line(&case.org),
            case.decided_by.as_deref().unwrap_or("someone"),
            crate::shown::line(case.decision_reason.as_deref().unwrap_or("")),
            crate::shown::line(&case.policy.reasons().join("; ")),
        );
    }
    Ok(())
}

fn show(policy: &Policy, json: bool) -> Result<(), Failure> {
    if json {
        return super::output::print_json(&serde_json::json!({
            "file": policy.name,
            "sha256": policy.digest,
            "actor": policy.actor(),
        }));
    }
    println!(
        "{}\n  sha256  {}\n  actor   {} (its decisions are recorded under this name)\n  floor   patdesk's own high and critical findings, admin-level permissions and any write to\n          the organisation always go to a person; so does a policy that fails or takes\n          over 100 ms",
        crate::shown::line(&policy.name),
        policy.digest,
        policy.actor()
    );
    Ok(())
}

fn test(policy: &mut Policy, cases: &[(String, RequestRecord)], json: bool) -> Result<(), Failure> {
    let verdicts: Vec<_> = cases
        .iter()
        .map(|(name, record)| (name, policy.verdict(record)))
        .collect();
    if json {
        let list: Vec<_> = verdicts
            .iter()
            .map(|(name, verdict)| serde_json::json!({ "request": name, "verdict": verdict }))
            .collect();
        return super::output::print_json(&list);
    }
    for (name, verdict) in verdicts {
        println!("{}", crate::shown::line(name));
        println!(
            "    policy: {} ({})",
            verdict.policy.as_str(),
            crate::shown::line(&verdict.policy.reasons().join("; "))
        );
        if verdict.answer != verdict.policy {
            println!(
                "    stands: {} (the floor: {})",
                verdict.answer.as_str(),
                crate::shown::line(&verdict.answer.reasons().join("; "))
            );
        }
    }
    Ok(())
}

/// A request from a file: `patdesk show --json`'s whole output, or the record alone.
fn read_request(path: &std::path::Path) -> Result<RequestRecord, Failure> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let record = value.get("request").cloned().unwrap_or(value);
    Ok(serde_json::from_value(record).with_context(|| {
        format!(
            "{} is not a request as `patdesk show --json` gives it",
            path.display()
        )
    })?)
}
