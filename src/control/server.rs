//! The socket's server side, run by `patdesk run`: accept, learn the caller from the kernel,
//! map them to a member by the daemon's own config, and answer one request per connection.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot, watch};

use super::admission::{Admission, Admitted, ControlCounts, Refusal};
use super::peer;
use super::protocol::{
    AnswerLine, Envelope, ErrorKind, MAX_REQUEST_BYTES, PAGE_ROWS, Reply, Request, VERSION,
    list_page_rows,
};
use super::reads::{self, ConfigInUse, FileSinceLoaded, LoadedConfig};
use crate::clock::Clock;
use crate::config::{Config, SendLimits, TeamConfig, check_org};
use crate::decide::{self, DecideError};
use crate::lifecycle::{Authentication, Member};
use crate::review::ReviewPolicy;
use crate::store::{ChainKey, FileIdentity, ListFilter, Page, Store, StoreError};
use crate::wake::{OutboxWake, PushWake};

/// How long a client may take to send its request: the CLI sends it at once.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a client may take to read its answer: the CLI reads it at once.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a `sync` request waits for the GitHub task's round.
const SYNC_TIMEOUT: Duration = Duration::from_secs(600);

/// A `patdesk sync` waiting for the GitHub task: the orgs to sync (all when `None`), and
/// where to send the round's report.
pub struct SyncNow {
    pub org: Option<String>,
    pub reply: oneshot::Sender<serde_json::Value>,
}

/// Hands `sync` requests to the GitHub task.
#[derive(Clone)]
pub struct SyncRequests(pub mpsc::UnboundedSender<SyncNow>);

/// What the daemon's tasks are told once a member's change commits, so its mail goes and its
/// decision reaches GitHub now rather than at their next look. `None` where that task is not
/// running (no [smtp], no [github]).
#[derive(Clone, Default)]
pub struct AfterChanges {
    pub outbox: Option<OutboxWake>,
    pub pushes: Option<PushWake>,
}

impl AfterChanges {
    fn ring(&self) {
        for wake in [&self.outbox, &self.pushes].into_iter().flatten() {
            wake.wake();
        }
    }
}

/// What answering needs from the daemon's config, shared by the connections.
struct Answering {
    team: TeamConfig,
    review: ReviewPolicy,
    store_path: PathBuf,
    clock: Clock,
    send_limits: SendLimits,
    stalled_after: Duration,
    orgs: Vec<String>,
    sync: Option<SyncRequests>,
    /// The daemon's own uid, which may read what it writes.
    own_uid: u32,
    /// The connections open and refused; `None` when answering without the daemon.
    admission: Option<Arc<Admission>>,
    /// What the events a request appends carry a MAC by, and `audit verify` checks.
    chain_key: Option<ChainKey>,
    /// The database file the daemon started on; `None` when answering without the daemon.
    started_on: Option<FileIdentity>,
    /// The config file and the digest of the text the daemon runs on, and when it was read;
    /// `None` when answering without the daemon.
    config_in_use: Option<(PathBuf, String, LoadedConfig)>,
    after_changes: AfterChanges,
}

pub struct ControlServer {
    listener: UnixListener,
    socket: PathBuf,
    answering: Arc<Answering>,
}

impl Answering {
    fn of(
        config: &Config,
        clock: &Clock,
        chain_key: Option<ChainKey>,
        sync: Option<SyncRequests>,
    ) -> Answering {
        Answering {
            team: config.team.clone(),
            review: config.review.clone(),
            store_path: config.store.path.clone(),
            clock: clock.clone(),
            send_limits: config.send_limits,
            stalled_after: config.alerts.stalled_after,
            orgs: config
                .github
                .iter()
                .flat_map(|github| github.orgs.iter().map(|org| org.login.clone()))
                .collect(),
            sync,
            own_uid: peer::effective_uid(),
            admission: None,
            chain_key,
            started_on: None,
            config_in_use: None,
            after_changes: AfterChanges::default(),
        }
    }

    fn control_counts(&self) -> ControlCounts {
        self.admission
            .as_ref()
            .map(|admission| admission.counts())
            .unwrap_or_default()
    }
}

/// Answers `request` in this process, as `member` (root's break-glass) or as a reader: the
/// daemon is stopped, and the caller holds its lock. Syncing needs the daemon.
pub fn answer_directly(
    config: &Config,
    clock: &Clock,
    chain_key: Option<ChainKey>,
    request: Request,
    member: Option<Member>,
) -> Reply {
    if matches!(request, Request::Sync { .. }) {
        return failed(
            ErrorKind::NotConfigured,
            "sync needs the daemon: start it (systemctl start patdesk)",
        );
    }
    let answering = Answering::of(config, clock, chain_key, None);
    let pid = None;
    answer_from_store(request, member, &answering, pid)
}

impl ControlServer {
    /// Binds `control.socket` (replacing a socket left by an earlier run: the daemon lock
    /// says no other daemon of this database runs), mode 0660, group `control.group`.
    pub fn bind(
        config: &Config,
        clock: &Clock,
        chain_key: Option<ChainKey>,
        sync: Option<SyncRequests>,
        after_changes: AfterChanges,
        loaded: LoadedConfig,
    ) -> anyhow::Result<ControlServer> {
        let own_user = peer::user_name(peer::effective_uid());
        if let Some(member) = own_user
            .as_deref()
            .and_then(|name| config.team.by_unix_user(name))
        {
            return Err(anyhow!(
                "team.members.{} maps {}, the daemon's own user: the service's account reads and never decides (what it decided could not be told from the service's own work); map the person's own account",
                member.login,
                member.unix
            ));
        }
        let socket = config.control.socket.clone();
        if let Some(parent) = socket.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
            refuse_shared_directory(parent)?;
        }
        remove_stale(&socket)?;
        let listener = UnixListener::bind(&socket)
            .with_context(|| format!("cannot listen on {}", socket.display()))?;
        restrict(&socket, config.control.group.as_deref())?;
        let mut answering = Answering::of(config, clock, chain_key, sync);
        answering.admission = Some(Arc::new(Admission::default()));
        answering.started_on = FileIdentity::of(&config.store.path);
        answering.config_in_use =
            Some((config.source.clone(), config.source_digest.clone(), loaded));
        answering.after_changes = after_changes;
        Ok(ControlServer {
            listener,
            socket,
            answering: Arc::new(answering),
        })
    }

    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(socket = %self.socket.display(), "control socket listening");
        loop {
            tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => self.admit(stream),
                    Err(error) => {
                        tracing::warn!(%error, "control socket: accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                _ = shutdown.changed() => break,
            }
        }
        let _ = std::fs::remove_file(&self.socket);
    }
}

impl ControlServer {
    /// Serves `stream` if its account may open another connection; else tells it so at once
    /// and closes it, unread.
    fn admit(&self, stream: UnixStream) {
        let uid = match stream.peer_cred() {
            Ok(credentials) => credentials.uid(),
            Err(error) => {
                tracing::warn!(%error, "control socket: the caller's credentials cannot be read");
                return;
            }
        };
        let Some(admission) = &self.answering.admission else {
            return;
        };
        match admission.admit(uid) {
            Some(admitted) => {
                let admission = admission.clone();
                tokio::spawn(serve(
                    stream,
                    uid,
                    admitted,
                    admission,
                    self.answering.clone(),
                ));
            }
            None => refuse_at_once(
                &stream,
                failed(
                    ErrorKind::Busy,
                    "too many connections to the daemon are open (from your account or all): try again when your other commands have finished",
                ),
            ),
        }
    }
}

/// Answers without reading and without waiting: a fresh connection's buffer takes a short
/// line whole, and a caller that is not reading loses the answer, not the daemon's time.
fn refuse_at_once(stream: &UnixStream, reply: Reply) {
    let text = answer_text(reply);
    if let Err(error) = stream.try_write(text.as_bytes()) {
        tracing::debug!(%error, "control socket: a refused caller could not be told");
    }
}

fn answer_text(reply: Reply) -> String {
    let mut text = serde_json::to_string(&AnswerLine::from(reply)).unwrap_or_default();
    text.push('\n');
    text
}

/// A socket in a directory others may write can be replaced by theirs, which members would
/// then tell their decisions to: the CLI refuses to talk through one, and so the daemon does
/// not listen in one.
fn refuse_shared_directory(directory: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let mode = std::fs::metadata(directory)
        .with_context(|| format!("cannot look at {}", directory.display()))?
        .mode();
    if mode & 0o002 != 0 {
        return Err(anyhow!(
            "control.socket is in {}, which every user may write (mode {:04o}): anyone could put a socket of theirs in its place; use a directory of the daemon's own, such as /run/patdesk",
            directory.display(),
            mode & 0o7777
        ));
    }
    Ok(())
}

fn remove_stale(socket: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::symlink_metadata(socket) {
        Ok(metadata) if metadata.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(socket).is_ok() {
                return Err(anyhow!(
                    "another patdesk listens on {}: each daemon needs a control.socket of its own",
                    socket.display()
                ));
            }
            std::fs::remove_file(socket)
                .with_context(|| format!("cannot remove the old socket {}", socket.display()))
        }
        Ok(_) => Err(anyhow!(
            "{} exists and is not a socket: control.socket must name a path of its own",
            socket.display()
        )),
        Err(_) => Ok(()),
    }
}

/// Mode 0660 and the configured group: only the daemon's user and the group connect.
fn restrict(socket: &Path, group: Option<&str>) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(group) = group {
        let gid = peer::group_id(group).ok_or_else(|| {
            anyhow!(
                "control.group {group:?} does not exist on this host: create it (groupadd {group})"
            )
        })?;
        // Under the unit the group is the service's own (Group=), so the socket has it already
        // (and the unit's seccomp filter refuses chown).
        let has = std::fs::metadata(socket)
            .map(|metadata| std::os::unix::fs::MetadataExt::gid(&metadata))
            .ok();
        if has != Some(gid) {
            std::os::unix::fs::chown(socket, None, Some(gid)).with_context(|| {
                format!(
                    "cannot give {} to group {group}: run the daemon with it as its group (the unit's Group={group})",
                    socket.display()
                )
            })?;
        }
    }
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o660))
        .with_context(|| format!("cannot set the mode of {}", socket.display()))
}

/// Who is calling, as the kernel and the daemon's config say.
enum Caller {
    Member(Member),
    /// root or the daemon's own user: may read, decides nothing.
    Reader,
    Stranger {
        os_user: String,
        uid: u32,
    },
}

fn identify(uid: u32, answering: &Answering) -> Caller {
    // root and the daemon's own user are never members, whatever the config maps (the daemon
    // refuses to start with such a mapping; root's is refused by the config itself).
    if uid == 0 || uid == answering.own_uid {
        return Caller::Reader;
    }
    let os_user = peer::user_name(uid);
    let mapped = os_user
        .as_deref()
        .and_then(|name| answering.team.by_unix_user(name));
    match (mapped, os_user) {
        (Some(member), Some(os_user)) => Caller::Member(Member {
            login: member.login.clone(),
            os_user,
            uid,
            authenticated_by: Authentication::PeerCredentials,
            slack: None,
        }),
        (_, os_user) => Caller::Stranger {
            os_user: os_user.unwrap_or_else(|| "an unnamed account".to_string()),
            uid,
        },
    }
}

async fn serve(
    stream: UnixStream,
    uid: u32,
    admitted: Admitted,
    admission: Arc<Admission>,
    answering: Arc<Answering>,
) {
    let caller = identify(uid, &answering);
    if let Caller::Stranger { os_user, uid } = &caller {
        // Who the members are is not the stranger's business; nor is the daemon's memory.
        admission.count(Refusal::NotMember);
        refuse_at_once(
            &stream,
            failed(
                ErrorKind::Refused,
                format!(
                    "{os_user} (uid {uid}) is not a member of the team in the daemon's config; an admin maps members in team.members"
                ),
            ),
        );
        return;
    }
    let (read, mut write) = stream.into_split();
    let reply = match read_request(read).await {
        Ok(envelope) if envelope.version != VERSION => failed(
            ErrorKind::Version,
            format!(
                "this daemon speaks protocol version {VERSION}, the command {}: run the same patdesk version as the daemon",
                envelope.version
            ),
        ),
        Ok(envelope) => match serde_json::from_value::<Request>(envelope.body) {
            Ok(request) => answer(request, caller, &admitted, &answering).await,
            Err(error) => failed(ErrorKind::Invalid, format!("not a request: {error}")),
        },
        Err((refusal, reply)) => {
            if let Some(refusal) = refusal {
                admission.count(refusal);
            }
            reply
        }
    };
    let text = answer_text(reply);
    match tokio::time::timeout(WRITE_TIMEOUT, write.write_all(text.as_bytes())).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::debug!(%error, "control socket: the caller left before the answer");
        }
        Err(_) => {
            admission.count(Refusal::Slow);
            tracing::debug!("control socket: the caller did not take its answer; dropped");
        }
    }
}

/// One request line, at most `MAX_REQUEST_BYTES` and within `READ_TIMEOUT`; or the reply
/// that refuses it, and the refusal to count.
async fn read_request(
    read: tokio::net::unix::OwnedReadHalf,
) -> Result<Envelope<serde_json::Value>, (Option<Refusal>, Reply)> {
    let mut reader = BufReader::new(read.take(MAX_REQUEST_BYTES as u64 + 1));
    let mut line = String::new();
    match tokio::time::timeout(READ_TIMEOUT, reader.read_line(&mut line)).await {
        Err(_) => Err((
            Some(Refusal::Slow),
            failed(
                ErrorKind::Invalid,
                format!("no whole request within {} s", READ_TIMEOUT.as_secs()),
            ),
        )),
        Ok(Err(error)) => Err((
            None,
            failed(ErrorKind::Invalid, format!("unreadable request: {error}")),
        )),
        Ok(Ok(_)) if line.len() > MAX_REQUEST_BYTES => Err((
            Some(Refusal::TooLarge),
            failed(
                ErrorKind::Invalid,
                format!(
                    "the request is longer than {} KiB",
                    MAX_REQUEST_BYTES / 1024
                ),
            ),
        )),
        Ok(Ok(_)) => serde_json::from_str(&line).map_err(|error| {
            (
                None,
                failed(ErrorKind::Invalid, format!("not a request: {error}")),
            )
        }),
    }
}

fn failed(error: ErrorKind, message: impl Into<String>) -> Reply {
    Reply::Failed {
        error,
        message: message.into(),
    }
}

fn done(answer: &impl Serialize) -> Reply {
    match serde_json::value::to_raw_value(answer) {
        Ok(answer) => Reply::Done(answer),
        Err(error) => failed(
            ErrorKind::Failure,
            format!("cannot encode the answer: {error}"),
        ),
    }
}

async fn answer(
    request: Request,
    caller: Caller,
    admitted: &Admitted,
    answering: &Arc<Answering>,
) -> Reply {
    let member = match caller {
        Caller::Member(member) => Some(member),
        Caller::Reader if !request.writes() => None,
        Caller::Reader => {
            return failed(
                ErrorKind::Refused,
                "root and the daemon's own user may read, not decide: decisions are made by team members, as themselves",
            );
        }
        // Refused before anything was read (`serve`).
        Caller::Stranger { .. } => {
            return failed(ErrorKind::Refused, "not a member of the team");
        }
    };
    if let Request::Sync { org } = request {
        return sync(org, answering).await;
    }
    // A place among the threads answering, the caller's account's share first.
    let _place = admitted.answering().await;
    let writes = request.writes();
    let answering = answering.clone();
    let pid = Some(std::process::id().to_string());
    let outcome = tokio::task::spawn_blocking(move || {
        let reply = answer_from_store(request, member, &answering, pid);
        if writes && matches!(reply, Reply::Done(_)) {
            answering.after_changes.ring();
        }
        reply
    })
    .await;
    match outcome {
        Ok(reply) => reply,
        Err(error) => failed(ErrorKind::Failure, format!("the request failed: {error}")),
    }
}

/// Every request but `sync`: one store connection each (engineers' commands are rare).
/// `pid`: the daemon answering, for `status`; `None` when it is not running.
fn answer_from_store(
    request: Request,
    member: Option<Member>,
    answering: &Answering,
    pid: Option<String>,
) -> Reply {
    let mut store = match Store::open_existing(&answering.store_path, &answering.clock) {
        Ok(store) => store.keyed(answering.chain_key.clone()),
        Err(error) => return store_failed(error),
    };
    let member = || {
        member
            .as_ref()
            .ok_or_else(|| DecideError::Invalid("a member is needed".to_string()))
    };
    let policy = &answering.review;
    let store = &mut store;
    match request {
        Request::Approve { id, reason, until } => reply(
            member().and_then(|m| decide::approve(store, m, id, reason.as_deref(), until, policy)),
        ),
        Request::Deny { id, reason } => {
            reply(member().and_then(|m| decide::deny(store, m, id, &reason)))
        }
        Request::Revoke { id, reason, note } => {
            reply(member().and_then(|m| decide::revoke(store, m, id, reason, note.as_deref())))
        }
        Request::RevokeOutside {
            org,
            grant_id,
            reason,
            note,
        } => reply(member().and_then(|m| {
            decide::revoke_outside(store, m, &org, grant_id, reason, note.as_deref())
        })),
        Request::Note { id, text } => {
            reply(member().and_then(|m| decide::note(store, m, id, &text)))
        }
        Request::Purpose { id, text } => {
            reply(member().and_then(|m| decide::purpose(store, m, id, &text, policy)))
        }
        Request::Contact { id, email, replace } => {
            reply(member().and_then(|m| decide::contact(store, m, id, &email, replace)))
        }
        Request::AcceptAnswer { mail } => {
            reply(member().and_then(|m| decide::accept_answer(store, m, mail, policy)))
        }
        Request::DismissTriage { mail, reason } => {
            reply(member().and_then(|m| decide::dismiss_triaged(store, m, mail, &reason)))
        }
        Request::Resend { mail } => reply(member().and_then(|m| decide::resend(store, m, mail))),
        Request::AcceptPolicyCases {
            policy,
            ids,
            reason,
        } => reply(
            member().and_then(|m| decide::accept_policy_cases(store, m, &policy, &ids, &reason)),
        ),
        Request::Sync { .. } => failed(ErrorKind::Failure, "sync is not a store request"),
        Request::List { filter, full } => {
            let page = list_page_rows(full);
            let filter = ListFilter {
                limit: Some(filter.limit.map_or(page, |limit| limit.min(page))),
                ..filter
            };
            if full {
                reply(store.list(&filter))
            } else {
                reply(store.list_summaries(&filter, &policy.approvals_needed))
            }
        }
        Request::OutsideTokens {
            stale,
            no_expiry,
            offset,
        } => reply(store.outside_tokens(stale, no_expiry, offset, PAGE_ROWS)),
        Request::Show { id } => reply(reads::request_detail(store, id, &policy.approvals_needed)),
        Request::Export { after } => reply(store.export(page_after(after))),
        Request::OutsideRevocations { after } => {
            reply(store.outside_revocations(page_after(after)))
        }
        Request::Triage { after, all } => reply(store.triage(page_after(after), all)),
        Request::OutboxList { after } => reply(store.mail_not_sent(page_after(after))),
        Request::Status => reply(
            reads::status(
                store,
                pid,
                answering.send_limits,
                answering.stalled_after,
                answering.control_counts(),
            )
            .map(|mut status| {
                if answering.started_on.is_some_and(|started| started != store.identity()) {
                    status.problems.push(format!(
                        "the database {} was replaced since the daemon started: the daemon writes nothing more; restart it on the right file",
                        answering.store_path.display()
                    ));
                }
                status.config = answering.config_in_use.as_ref().map(|(path, digest, loaded)| {
                    ConfigInUse {
                        path: path.clone(),
                        loaded: loaded.clone(),
                        file: FileSinceLoaded::of(path, digest),
                    }
                });
                status
            }),
        ),
        Request::AuditHead => reply(store.chain_head()),
        Request::EventsAfter { seq, limit } => reply(store.events_after(seq, limit.min(PAGE_ROWS))),
        Request::AuditVerify { head } => reply(store.audit(head.as_ref())),
    }
}

/// A page of a read, after the caller's last row.
fn page_after(after: i64) -> Page {
    Page {
        after,
        limit: PAGE_ROWS,
    }
}

/// The answer to a request the store or `decide` answered.
fn reply<T: Serialize, E: Into<DecideError>>(outcome: Result<T, E>) -> Reply {
    match outcome {
        Ok(answer) => done(&answer),
        Err(error) => decide_failed(error.into()),
    }
}

fn store_failed(error: StoreError) -> Reply {
    decide_failed(DecideError::Store(error))
}

fn decide_failed(error: DecideError) -> Reply {
    let kind = match &error {
        DecideError::Store(
            StoreError::NoSuchRequest(_)
            | StoreError::NoSuchMail(_)
            | StoreError::NoSuchMessage(_)
            | StoreError::NoSuchGrant { .. },
        ) => ErrorKind::NotFound,
        DecideError::Store(
            StoreError::NotAnAnswer(_)
            | StoreError::TriageClosed { .. }
            | StoreError::NotInTriage(_),
        )
        | DecideError::Refused(_) => ErrorKind::Refused,
        DecideError::Invalid(_) => ErrorKind::Invalid,
        DecideError::Store(_) => ErrorKind::Failure,
    };
    failed(kind, error.to_string())
}

async fn sync(org: Option<String>, answering: &Answering) -> Reply {
    let Some(requests) = &answering.sync else {
        return failed(
            ErrorKind::NotConfigured,
            "github is not configured in the daemon's config: add a [github] section",
        );
    };
    if let Some(org) = &org
        && let Err(why) = check_org(&answering.orgs, org)
    {
        return failed(ErrorKind::Invalid, why);
    }
    let (reply, report) = oneshot::channel();
    if requests.0.send(SyncNow { org, reply }).is_err() {
        return failed(ErrorKind::Failure, "the GitHub task is not running");
    }
    match tokio::time::timeout(SYNC_TIMEOUT, report).await {
        Ok(Ok(report)) => done(&report),
        Ok(Err(_)) => failed(
            ErrorKind::Failure,
            "the daemon stopped before the sync ended",
        ),
        Err(_) => failed(ErrorKind::Failure, "the sync took longer than 10 minutes"),
    }
}
