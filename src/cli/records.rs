//! Reading the records: `list`, `show` and `triage`.

use clap::Args;
use jiff::Timestamp;

use super::output::{or_dash, parse_request_id, print_json};
use super::table::Table;
use super::{Context, Failure, say};
use crate::control::protocol::{Request, list_page_rows};
use crate::control::reads::{RequestDetail, SHOWN_PER_REQUEST};
use crate::decide::Dismissed;
use crate::request::RequestState;
use crate::review::Risk;
use crate::shown;
use crate::store::{
    ListFilter, MessageRecord, OutsideTokenRow, PushState, RequestRecord, RequestSummary, SortBy,
    TriageItem, format_time,
};

/// `2026-11-01` (midnight UTC) or an RFC 3339 time.
pub(super) fn parse_date_or_time(text: &str) -> Result<Timestamp, String> {
    if let Ok(time) = text.parse::<Timestamp>() {
        return Ok(time);
    }
    text.parse::<jiff::civil::Date>()
        .ok()
        .and_then(|date| date.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|zoned| zoned.timestamp())
        .ok_or_else(|| format!("{text:?} is not a date: expected YYYY-MM-DD or an RFC 3339 time"))
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only requests in this state
    #[arg(long, value_parser = states())]
    state: Option<RequestState>,
    /// Only requests to this organisation (its login)
    #[arg(long, value_name = "LOGIN")]
    org: Option<String>,
    /// Only tokens owned by this GitHub login
    #[arg(long, value_name = "LOGIN")]
    owner: Option<String>,
    /// Only requests of this risk
    #[arg(long, value_parser = risks())]
    risk: Option<Risk>,
    /// Only requests made on or after this date (YYYY-MM-DD, UTC) or time (RFC 3339)
    #[arg(long, value_name = "DATE", value_parser = parse_date_or_time)]
    since: Option<Timestamp>,
    /// At most this many
    #[arg(long, value_name = "N")]
    limit: Option<u32>,
    /// Skip this many first (with --limit, a page further on)
    #[arg(long, value_name = "N")]
    offset: Option<u32>,
    /// Sort by this: id and requested newest first, risk critical first, the others A to Z
    #[arg(long, value_name = "FIELD", value_parser = sorts(), default_value = "id")]
    sort: SortBy,
    /// The other way round
    #[arg(long)]
    reverse: bool,
    /// Exact times in UTC instead of "3 h ago"
    #[arg(long)]
    utc: bool,
    /// Only approved tokens unused for review.stale_after_days (or never used a week after
    /// approval): candidates for `revoke --category no-longer-required`
    #[arg(long)]
    stale: bool,
    /// Only approved tokens that never expire
    #[arg(long)]
    no_expiry: bool,
    /// The approved tokens no request accounts for instead (approved before patdesk, or on
    /// GitHub's pages between two syncs); with --stale and --no-expiry as above
    #[arg(long, conflicts_with_all = ["state", "org", "owner", "risk", "since", "limit", "offset", "reverse"])]
    outside: bool,
}

/// The states by their names, listed in `--help` (the domain type carries no CLI derives).
fn states() -> impl clap::builder::TypedValueParser<Value = RequestState> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(RequestState::ALL.map(RequestState::as_str))
        .try_map(|name| name.parse::<RequestState>())
}

/// The sort fields by their names, listed in `--help`.
fn sorts() -> impl clap::builder::TypedValueParser<Value = SortBy> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(SortBy::ALL.map(SortBy::as_str))
        .try_map(|name| SortBy::named(&name).ok_or("not a field to sort by"))
}

/// The risks by their names, listed in `--help`.
fn risks() -> impl clap::builder::TypedValueParser<Value = Risk> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(Risk::ALL.map(Risk::as_str))
        .try_map(|name| name.parse::<Risk>())
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The request's id (12 or PAT-12)
    #[arg(value_name = "ID", value_parser = parse_request_id)]
    id: i64,
}

/// "  AT WHAT: STATE (2 attempt(s), last error: …)" for something sent out: a mail, or a
/// decision to GitHub.
fn sent_line(
    at: Timestamp,
    what: &str,
    state: &str,
    attempts: impl std::fmt::Display,
    last_error: Option<&str>,
) -> String {
    let error = last_error
        .map(|error| format!(", last error: {}", shown::line(error)))
        .unwrap_or_default();
    let at = format_time(at);
    format!("  {at} {what}: {state} ({attempts} attempt(s){error})\n")
}

pub fn list(context: &Context, args: &ListArgs) -> Result<(), Failure> {
    if args.outside {
        return list_outside(context, args);
    }
    let filter = ListFilter {
        state: args.state,
        org: args.org.clone(),
        owner: args.owner.clone(),
        risk: args.risk,
        since: args.since,
        limit: args.limit,
        sort: args.sort,
        reverse: args.reverse,
        offset: args.offset,
        stale: args.stale,
        no_expiry: args.no_expiry,
        after_id: None,
    };
    if context.json {
        let records: Vec<RequestRecord> =
            context.ask_all(|rows, last: Option<&RequestRecord>| Request::List {
                filter: page_of(&filter, rows, last.map(|row| row.id), list_page_rows(true)),
                full: true,
            })?;
        return print_json(&records);
    }
    let summaries: Vec<RequestSummary> =
        context.ask_all(|rows, last: Option<&RequestSummary>| Request::List {
            filter: page_of(&filter, rows, last.map(|row| row.id), list_page_rows(false)),
            full: false,
        })?;
    let mut table = Table::new(&["ID", "ORG", "TOKEN", "OWNER", "STATE", "RISK", "REQUESTED"]);
    let now = context.clock.now();
    for summary in summaries {
        let date = super::when::shown(summary.requested_at, args.utc, now);
        table.row(vec![
            format!("PAT-{}", summary.id),
            summary.org,
            or_dash(summary.token_name.as_deref()),
            summary.owner_login,
            match (&summary.approvals, summary.grant_until) {
                (Some(approvals), _) => format!(
                    "{} (approved {}/{})",
                    summary.state,
                    approvals.given.len(),
                    approvals.needed
                ),
                (None, Some(until)) if summary.state == RequestState::Approved => format!(
                    "{} (until {})",
                    summary.state,
                    super::when::shown(until, args.utc, now)
                ),
                (None, _) => summary.state.to_string(),
            },
            summary.risk.as_str().to_string(),
            date,
        ]);
    }
    if table.is_empty() {
        out!("no requests match");
    } else {
        say(&table.render());
    }
    if args.stale || args.no_expiry {
        // Tokens without a request are the team's too: say where they are.
        let outside: Vec<OutsideTokenRow> = outside_tokens(context, args)?;
        if !outside.is_empty() {
            let flags = [(args.stale, " --stale"), (args.no_expiry, " --no-expiry")]
                .iter()
                .filter(|(set, _)| *set)
                .map(|(_, flag)| *flag)
                .collect::<String>();
            out!(
                "and {} token(s) no request accounts for: patdesk list --outside{flags}",
                outside.len()
            );
        }
    }
    Ok(())
}

/// The filter for the page after the first `rows` that `filter` matched, the last of them
/// `last`: within its own limit and offset, a page (of `page` rows) at most. Sorted by id (the
/// default), the next page starts after the last id, so the daemon reads only the page's rows;
/// another sort counts past the rows before it.
fn page_of(filter: &ListFilter, rows: usize, last: Option<i64>, page: u32) -> ListFilter {
    let counted = u32::try_from(rows).unwrap_or(u32::MAX);
    let limit = Some(
        filter
            .limit
            .map_or(page, |limit| limit.saturating_sub(counted).min(page)),
    );
    match last {
        Some(last) if filter.sort == SortBy::Id => ListFilter {
            offset: None,
            after_id: Some(last),
            limit,
            ..filter.clone()
        },
        _ => ListFilter {
            offset: Some(filter.offset.unwrap_or(0).saturating_add(counted)),
            limit,
            ..filter.clone()
        },
    }
}

/// The approved tokens no request accounts for, as `args` filters them, page after page.
fn outside_tokens(context: &Context, args: &ListArgs) -> Result<Vec<OutsideTokenRow>, Failure> {
    context.ask_all(|rows, _: Option<&OutsideTokenRow>| Request::OutsideTokens {
        stale: args.stale,
        no_expiry: args.no_expiry,
        offset: u32::try_from(rows).unwrap_or(u32::MAX),
    })
}

/// `list --outside`: the approved tokens no request accounts for, and how far a revocation
/// of each has come.
fn list_outside(context: &Context, args: &ListArgs) -> Result<(), Failure> {
    let tokens = outside_tokens(context, args)?;
    if context.json {
        return print_json(&tokens);
    }
    let mut table = Table::new(&[
        "ORG",
        "GRANT",
        "TOKEN",
        "OWNER",
        "EXPIRES",
        "LAST USED",
        "STALE",
        "REVOCATION",
    ]);
    let now = context.clock.now();
    let when = |at: &Option<Timestamp>, none: &str| match at {
        Some(at) => super::when::shown(*at, args.utc, now),
        None => none.to_string(),
    };
    for token in &tokens {
        table.row(vec![
            token.org.clone(),
            token.grant_id.to_string(),
            or_dash(token.token_name.as_deref()),
            token.owner_login.clone(),
            when(&token.token_expires_at, "never"),
            when(&token.token_last_used_at, "never"),
            if token.stale { "yes" } else { "-" }.to_string(),
            or_dash(token.revocation.map(PushState::as_str)),
        ]);
    }
    if table.is_empty() {
        out!("no tokens without a request match");
    } else {
        say(&table.render());
        out!("revoke one: patdesk revoke --grant ORG:GRANT --category CATEGORY");
    }
    Ok(())
}

pub fn show(context: &Context, args: &ShowArgs) -> Result<(), Failure> {
    let detail: RequestDetail = context.ask_for(Request::Show { id: args.id })?;
    if context.json {
        return print_json(&detail);
    }
    let RequestDetail {
        request: record,
        messages,
        earlier_messages,
        outbox,
        github_pushes: pushes,
        events,
        earlier_events,
        approvals,
    } = detail;

    let mut out = String::new();
    let request = &record.request;
    // One line each: a CR or LF from outside must not print a field of its own.
    let mut field = |label: &str, value: String| {
        out.push_str(&format!("{label:<16}{}\n", shown::line(&value)));
    };
    field(
        "request",
        format!(
            "PAT-{} ({} #{})",
            record.id, request.org, record.github_request_id
        ),
    );
    field("token", or_dash(request.token_name.as_deref()));
    field(
        "owner",
        format!(
            "{} <{}>",
            request.owner_login,
            or_dash(record.owner_email.as_deref())
        ),
    );
    field("standing", record.request.standing());
    field("state", record.state.to_string());
    field("risk", record.risk.as_str().to_string());
    if let Some(approvals) = &approvals {
        field("approvals", approvals.described());
    }
    field("repositories", record.scope());
    field("permissions", or_dash(Some(&request.permissions.summary())));
    field(
        "expires",
        request
            .token_expires_at
            .map_or_else(|| "never".to_string(), |time| time.to_string()),
    );
    field("requested", request.requested_at.to_string());
    field("github reason", or_dash(request.github_reason.as_deref()));
    field(
        "purpose",
        match record.purpose_and_source() {
            (Some(purpose), Some(from)) => format!("{purpose} (from {from})"),
            (Some(purpose), None) => purpose.to_string(),
            (None, _) => "-".to_string(),
        },
    );
    // The team policy's newest answer: what it would decide (shadow), or did (enforce).
    if let Some(answered) = events
        .iter()
        .filter(|event| event.kind == crate::store::EventKind::PolicyAnswered)
        .max_by_key(|event| event.seq)
    {
        let answer = &answered.detail["answer"];
        let reasons: Vec<&str> = answer["reasons"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(serde_json::Value::as_str)
            .collect();
        let acted = match (answered.detail["mode"].as_str(), answer["answer"].as_str()) {
            (Some("enforce"), Some("approve" | "deny")) => "enforced: the policy decided",
            (Some("enforce"), _) => "enforced: it leaves this to a person",
            _ => "shadow: a person decides",
        };
        field(
            "policy says",
            format!(
                "{} ({}; {} at {}, {acted})",
                answer["answer"].as_str().unwrap_or("?"),
                reasons.join("; "),
                answered.actor,
                format_time(answered.at)
            ),
        );
    }
    // "when by whom", then what they said, if anything.
    let said = |words: Option<&str>| words.map(|words| format!(": {words}")).unwrap_or_default();
    if let Some(by) = &record.decided_by {
        let when = or_dash(record.decided_at.map(format_time).as_deref());
        let reason = said(record.decision_reason.as_deref());
        field("decided", format!("{when} by {by}{reason}"));
    }
    if let Some(until) = record.grant_until {
        let what = match record.state {
            RequestState::Approved => "patdesk revokes it then",
            _ => "its end",
        };
        field("approved until", format!("{} ({what})", format_time(until)));
    }
    if record.state == RequestState::Approved {
        let used = record
            .token_last_used_at
            .map(format_time)
            .unwrap_or_else(|| "never, as GitHub reports".to_string());
        let stale = match &record.stale_since {
            Some(since) => format!(
                " (STALE since {}: revoke it if no longer required)",
                format_time(*since)
            ),
            None => String::new(),
        };
        field("last used", format!("{used}{stale}"));
    }
    if let Some(by) = &record.revoked_by {
        let when = or_dash(record.revoked_at.map(format_time).as_deref());
        let why = or_dash(record.revoke_reason.as_deref());
        let note = said(record.revoke_note.as_deref());
        field("revoked", format!("{when} by {by} ({why}){note}"));
    }

    out.push_str("\nfindings\n");
    if record.findings.is_empty() {
        out.push_str("  none\n");
    }
    for finding in &record.findings {
        out.push_str(&format!(
            "  [{:?}] {}: {}\n      to meet the policy: {}\n",
            finding.severity,
            finding.code,
            // A finding may quote the token's name or its repositories.
            shown::line(&finding.why),
            shown::line(&finding.remedy)
        ));
    }

    out.push_str("\nconversation\n");
    if messages.is_empty() && outbox.is_empty() {
        out.push_str("  none\n");
    }
    if earlier_messages > 0 {
        out.push_str(&format!(
            "  ({earlier_messages} earlier mail(s) tied to it not shown: the newest {SHOWN_PER_REQUEST} are)\n"
        ));
    }
    // Mail in and out in the order it happened: the question before its answer.
    let mut conversation: Vec<(Timestamp, String)> = Vec::new();
    for message in &messages {
        let mut text = format!(
            "  {} {} {} from {}: {}\n",
            format_time(message.received_at),
            message.direction,
            message.kind,
            shown::line(&or_dash(message.from.as_deref())),
            shown::line(&or_dash(message.subject.as_deref()))
        );
        if let Some(why) = message.triage_note.as_deref().filter(|_| message.triage) {
            text.push_str(&format!(
                "      (waiting in triage, changed nothing: {why}; `patdesk triage accept {}` takes it)\n",
                message.id
            ));
        }
        if let Some(closed) = &message.triage_closed {
            text.push_str(&format!(
                "      (out of triage: {} by {}{})\n",
                closed.outcome,
                shown::line(&closed.by),
                closed
                    .reason
                    .as_deref()
                    .map(|reason| format!(": {}", shown::line(reason)))
                    .unwrap_or_default()
            ));
        }
        if let Some(reply) = &message.reply_text {
            for line in reply.lines() {
                text.push_str(format!("      | {}", shown::line(line)).trim_end());
                text.push('\n');
            }
        }
        conversation.push((message.received_at, text));
    }
    for mail in &outbox {
        let what = format!("out {} to {}", mail.kind, mail.recipient);
        let text = sent_line(
            mail.created_at,
            &what,
            mail.state.as_str(),
            mail.attempts,
            mail.last_error.as_deref(),
        );
        conversation.push((mail.created_at, text));
    }
    conversation.sort_by_key(|(at, _)| *at);
    for (_, text) in conversation {
        out.push_str(&text);
    }

    out.push_str("\ngithub\n");
    out.push_str(&format!("  {}\n", github_side(&record)));
    out.push_str(&format!(
        "  {}\n",
        crate::request::review_url(&request.org, Some(record.github_request_id))
    ));
    if pushes.is_empty() {
        out.push_str("  nothing sent to GitHub\n");
    }
    for push in &pushes {
        out.push_str(&sent_line(
            push.created_at,
            push.action.as_str(),
            push.state.as_str(),
            push.attempts,
            push.last_error.as_deref(),
        ));
    }

    out.push_str("\nevents\n");
    if earlier_events > 0 {
        out.push_str(&format!(
            "  ({earlier_events} earlier event(s) not shown: `patdesk watch --from 0` lists every event)\n"
        ));
    }
    let mut table = Table::new(&["SEQ", "AT", "ACTOR", "EVENT", "DETAIL"]);
    for event in &events {
        table.row(vec![
            event.seq.to_string(),
            format_time(event.at),
            event.actor.clone(),
            event.kind.to_string(),
            event.detail.to_string(),
        ]);
    }
    for line in table.render().lines() {
        out.push_str(&format!("  {line}\n"));
    }
    say(&out);
    Ok(())
}

/// Where the request stands on GitHub, as the last sync saw it.
fn github_side(record: &RequestRecord) -> String {
    let token = record
        .token_id
        .map(|id| format!("token {id}"))
        .unwrap_or_else(|| "token id unknown".to_string());
    let standing = match (record.state, record.grant_id) {
        (_, Some(grant)) if record.state == RequestState::Approved => {
            format!("approved on GitHub, grant {grant}")
        }
        (RequestState::Approved, None) => {
            "approved here; not yet seen among GitHub's approved tokens".to_string()
        }
        (RequestState::Expired, _) => "the token has expired on GitHub".to_string(),
        (RequestState::Revoked, _) => "revoked here".to_string(),
        (RequestState::Withdrawn, _) => {
            "gone from GitHub's pending requests, not approved".to_string()
        }
        (RequestState::Denied, _) => "denied here".to_string(),
        _ => "pending on GitHub".to_string(),
    };
    format!("request {} ({token}): {standing}", record.github_request_id)
}

#[derive(Debug, Args)]
pub struct TriageArgs {
    #[command(subcommand)]
    action: Option<TriageAction>,
    /// Also list the mail taken out of triage, with who took it out and why
    #[arg(long)]
    all: bool,
    /// Show when each mail came as an exact UTC time, not "3 h ago"
    #[arg(long)]
    utc: bool,
}

#[derive(Debug, clap::Subcommand)]
enum TriageAction {
    /// Take an unverified answer (from the requester's address, not authenticated) as the
    /// request's purpose, once you have checked with the requester that they wrote it
    Accept {
        /// The mail's id, as `patdesk triage` shows it
        #[arg(value_name = "MAIL")]
        mail: i64,
    },
    /// Take a mail out of triage without acting on it (a stranger's mail, a late answer
    /// about a request decided since); it stays in the records with your reason
    Dismiss {
        /// The mail's id, as `patdesk triage` shows it
        #[arg(value_name = "MAIL")]
        mail: i64,
        /// Why it needs nothing, for the record
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
}

pub fn triage(context: &Context, args: &TriageArgs) -> Result<(), Failure> {
    match &args.action {
        Some(TriageAction::Accept { mail }) => {
            let decided = context.ask_for(Request::AcceptAnswer { mail: *mail })?;
            return super::decide::report(context, super::decide::Done::Answer, &decided);
        }
        Some(TriageAction::Dismiss { mail, reason }) => {
            let dismissed: Dismissed = context.ask_for(Request::DismissTriage {
                mail: *mail,
                reason: reason.clone(),
            })?;
            if context.json {
                return print_json(&dismissed);
            }
            out!(
                "Mail {} dismissed from triage (by {}); it stays in the records{}.",
                dismissed.mail,
                dismissed.by,
                dismissed
                    .request
                    .map(|id| format!(" and PAT-{id} is unchanged"))
                    .unwrap_or_default()
            );
            return Ok(());
        }
        None => {}
    }
    let all = args.all;
    let items: Vec<TriageItem> =
        context.ask_all(|_, last: Option<&TriageItem>| Request::Triage {
            after: last.map_or(0, |item| item.mail.id),
            all,
        })?;
    if context.json {
        return print_json(&items);
    }
    if items.is_empty() {
        out!(
            "{}",
            if all {
                "no mail was ever in triage"
            } else {
                "nothing to triage"
            }
        );
        return Ok(());
    }
    let mut headers = vec!["MAIL", "RECEIVED", "FROM", "SUBJECT", "ABOUT", "WHY"];
    if all {
        headers.push("STATE");
    }
    let mut table = Table::new(&headers);
    let now = context.clock.now();
    for item in &items {
        let mut row = vec![
            item.mail.id.to_string(),
            super::when::shown(item.mail.received_at, args.utc, now),
            or_dash(item.mail.from.as_deref()),
            or_dash(item.mail.subject.as_deref()),
            about(item),
            why_in_triage(item),
        ];
        if all {
            row.push(triage_state(&item.mail));
        }
        table.row(row);
    }
    say(&table.render());
    if items.iter().any(|item| item.mail.triage) {
        say(concat!(
            "`patdesk triage accept MAIL` takes an answer you checked with the requester;\n",
            "`patdesk triage dismiss MAIL --reason TEXT` sets a mail aside, keeping it.\n",
        ));
    }
    Ok(())
}

/// The request a mail is about and where it stands: `PAT-12 (approved)`.
fn about(item: &TriageItem) -> String {
    match (item.mail.request_id, item.request_state) {
        (Some(id), Some(state)) => format!("PAT-{id} ({state})"),
        (Some(id), None) => format!("PAT-{id}"),
        (None, _) => "-".to_string(),
    }
}

/// Why the mail waits, saying so when it is an answer that came after the decision.
fn why_in_triage(item: &TriageItem) -> String {
    let why = or_dash(item.mail.triage_note.as_deref());
    match item.request_state {
        Some(state) if item.mail.triage && !state.is_open() => {
            format!("late, the request is {state}: {why}")
        }
        _ => why,
    }
}

/// Open, or who took the mail out of triage and why.
fn triage_state(mail: &MessageRecord) -> String {
    match &mail.triage_closed {
        None if mail.triage => "open".to_string(),
        None => "-".to_string(),
        Some(closed) => {
            let mut text = format!("{} by {}", closed.outcome, closed.by);
            if let Some(reason) = &closed.reason {
                text.push_str(": ");
                text.push_str(reason);
            }
            text
        }
    }
}
