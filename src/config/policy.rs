//! The policies the config sets, as the stages that follow them read them: what mail is
//! trusted and parsed, what the review rules allow, how requesters are reminded. Kept here so
//! the config depends on no stage; each stage re-exports its own.

use serde::Serialize;

/// The default size above which a mail's body is not parsed (25 MB, as Jira's cap).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 25 * 1024 * 1024;

/// What the caller decides about mail in general: which receiving servers it trusts and how
/// much it is willing to parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailPolicy {
    /// authserv-ids of the team's own receiving servers; `Authentication-Results` headers from
    /// any other id are ignored, since anyone can write one.
    pub trusted_authserv_ids: Vec<String>,
    /// Above this many bytes only the headers are parsed.
    pub max_message_bytes: usize,
    /// What a reply must prove before it changes a request's record.
    pub replies: ReplyTrust,
}

impl Default for MailPolicy {
    fn default() -> Self {
        MailPolicy {
            trusted_authserv_ids: Vec::new(),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            replies: ReplyTrust::default(),
        }
    }
}

/// What a reply must prove before it changes a request's record (its purpose, its state, its
/// risk). Anyone can write a From line, a plus-address or a subject tag; only the requester
/// received patdesk's signed Message-ID, and only the team's receiving server can vouch for
/// a From domain. Each choice after the default is stricter; none is looser.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplyTrust {
    /// An answer to patdesk's signed Message-ID, or mail whose From domain a trusted
    /// `Authentication-Results` verifies and that names its request by plus-address or tag.
    #[default]
    SignedOrVerified,
    /// Only an answer to patdesk's signed Message-ID.
    Signed,
    /// An answer to the signed Message-ID whose From domain is verified as well.
    SignedAndVerified,
}

impl ReplyTrust {
    pub const CHOICES: &[(&str, ReplyTrust)] = &[
        ("signed-or-verified", ReplyTrust::SignedOrVerified),
        ("signed", ReplyTrust::Signed),
        ("signed-and-verified", ReplyTrust::SignedAndVerified),
    ];
}

/// Thresholds and lists, all configurable under `[review]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewPolicy {
    /// The longest a token may live (the team's guidance: at most a year). An approved token
    /// approved elsewhere beyond it, or without an expiry, is alerted for once.
    pub max_expiry_days: u32,
    /// An approved token unused this long (or never used a week after approval) is stale.
    pub stale_after_days: u32,
    /// How long a request ready for a decision may wait, by its risk, before the team is
    /// reminded; at twice that it is escalated.
    pub decide_within: PerRisk,
    /// How many distinct members must approve a request of each risk before GitHub and the
    /// requester are told.
    pub approvals_needed: PerRisk,
    /// Hours in review after which a request nobody decided is denied, by risk; 0: never
    /// (the default).
    pub deny_after_hours: PerRisk,
    /// Its requester is told this many days before (0: not told).
    pub stale_notice_days: u32,
    /// A purpose shorter than this says too little.
    pub min_purpose_chars: u32,
    pub min_token_name_chars: u32,
    /// Names that say nothing about what a token is for, lower-case.
    pub generic_token_names: Vec<String>,
    /// Permission slugs that are critical with write or admin access.
    pub critical_when_write: Vec<String>,
    /// Permission slugs that are high risk even to read.
    pub high_when_read: Vec<String>,
    /// Teams (slugs) whose members may ask for organization permissions; empty: anyone may.
    pub org_permission_teams: Vec<String>,
    /// From which risk on an approval must give its reason.
    pub approval_reason_from: ReasonFrom,
}

/// From which risk on an approval must say why (`review.approval_reason_from`): the reason is
/// what an auditor reads beside a risky grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasonFrom {
    /// Every approval.
    Low,
    Medium,
    High,
    Critical,
    /// No approval needs one.
    Never,
}

impl Default for ReviewPolicy {
    fn default() -> Self {
        let strings = |items: &[&str]| items.iter().map(|item| item.to_string()).collect();
        ReviewPolicy {
            max_expiry_days: 366,
            stale_after_days: 90,
            decide_within: PerRisk::DECIDE_WITHIN_HOURS,
            approvals_needed: PerRisk::APPROVALS_NEEDED,
            deny_after_hours: PerRisk::NEVER,
            stale_notice_days: 14,
            min_purpose_chars: 20,
            approval_reason_from: ReasonFrom::High,
            min_token_name_chars: 4,
            generic_token_names: strings(&[
                "test",
                "testing",
                "token",
                "pat",
                "temp",
                "tmp",
                "my token",
                "mytoken",
                "new token",
                "github",
                "github token",
                "access",
                "foo",
                "asdf",
                "default",
                "x",
            ]),
            critical_when_write: strings(&[
                "administration",
                "workflows",
                "secrets",
                "environments",
                "dependabot_secrets",
                "actions",
                "repository_hooks",
                "organization_hooks",
                "organization_administration",
                "members",
                "organization_secrets",
                "organization_self_hosted_runners",
                "organization_custom_roles",
                "organization_custom_org_roles",
                "organization_personal_access_tokens",
                "organization_personal_access_token_requests",
                "git_ssh_keys",
                "gpg_keys",
                "email_addresses",
            ]),
            high_when_read: strings(&[
                "secret_scanning_alerts",
                "security_events",
                "vulnerability_alerts",
            ]),
            org_permission_teams: Vec::new(),
        }
    }
}

/// How patdesk reminds a requester who has not answered its question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminders {
    pub max: usize,
    pub interval: jiff::SignedDuration,
}

impl Default for Reminders {
    fn default() -> Reminders {
        Reminders {
            max: 2,
            interval: jiff::SignedDuration::from_hours(48),
        }
    }
}

/// A number for each risk: hours to a decision, approvals needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerRisk {
    pub low: u32,
    pub medium: u32,
    pub high: u32,
    pub critical: u32,
}

impl PerRisk {
    /// Hours to a decision: the riskier, the sooner (a critical request is someone's access
    /// waiting on the team's attention, or an incident).
    pub const DECIDE_WITHIN_HOURS: PerRisk = PerRisk {
        low: 72,
        medium: 48,
        high: 24,
        critical: 8,
    };

    /// Distinct members whose approval a request needs: a critical grant is two people's
    /// decision.
    pub const APPROVALS_NEEDED: PerRisk = PerRisk {
        low: 1,
        medium: 1,
        high: 1,
        critical: 2,
    };

    /// Zero for every risk: a deadline that never comes.
    pub const NEVER: PerRisk = PerRisk {
        low: 0,
        medium: 0,
        high: 0,
        critical: 0,
    };

    pub fn of(&self, risk: crate::review::Risk) -> u32 {
        match risk {
            crate::review::Risk::Low => self.low,
            crate::review::Risk::Medium => self.medium,
            crate::review::Risk::High => self.high,
            crate::review::Risk::Critical => self.critical,
        }
    }
}
