//! `[team]` and `[control]`: the members who decide and the OS accounts they are, and the
//! daemon's control socket.

use std::path::PathBuf;

use super::raw;

/// The account the packaged unit runs the daemon as (`User=` in systemd/patdesk.service). A
/// daemon run as another account refuses that one as a member when it starts.
pub const SERVICE_USER: &str = "patdesk-daemon";

#[derive(Debug, Clone, Default)]
pub struct TeamConfig {
    /// The engineers who may decide on requests.
    pub members: Vec<TeamMember>,
}

/// One engineer: their GitHub login and the OS account the daemon knows them by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamMember {
    /// As the config spells it; GitHub compares logins case-insensitively.
    pub login: String,
    /// The OS user name whose uid, calling the control socket, is this member.
    pub unix: String,
    /// Their Slack user ID (`U…`, `W…`), when they decide from Slack too.
    pub slack: Option<String>,
}

impl TeamConfig {
    /// The member a Slack user is, if any: by the Slack user ID only, which its holder cannot
    /// change, never by a display name or an email address.
    pub fn by_slack_user(&self, user_id: &str) -> Option<&TeamMember> {
        self.members
            .iter()
            .find(|member| member.slack.as_deref() == Some(user_id))
    }

    /// The member an OS user is, if any.
    pub fn by_unix_user(&self, user: &str) -> Option<&TeamMember> {
        self.members.iter().find(|member| member.unix == user)
    }

    /// Whether `login` is a member, compared as GitHub compares logins.
    pub fn has_login(&self, login: &str) -> bool {
        self.members
            .iter()
            .any(|member| member.login.eq_ignore_ascii_case(login))
    }
}

/// The daemon's control socket: how engineers' commands reach the one writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlConfig {
    pub socket: PathBuf,
    /// The group that may connect (mode 0660); the daemon's own group when not set.
    pub group: Option<String>,
}

pub const DEFAULT_CONTROL_SOCKET: &str = "/run/patdesk/control.sock";

/// The control socket the config at `path` names, read as leniently as can be: from a file
/// with problems elsewhere (a typo in another section, a missing credential), as the valid
/// config would have it; the default when even that cannot be read. The CLI's way to a daemon
/// that runs on the config it loaded before the file broke.
pub fn control_socket_despite_errors(path: &std::path::Path) -> PathBuf {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let named = match text.parse::<toml::Table>() {
        Ok(table) => table
            .get("control")
            .and_then(|control| control.get("socket")?.as_str())
            .map(PathBuf::from),
        // Broken TOML elsewhere in the file: the line as it is usually written.
        Err(_) => socket_line(&text),
    };
    let base = path.parent().unwrap_or(std::path::Path::new("."));
    base.join(named.unwrap_or_else(|| DEFAULT_CONTROL_SOCKET.into()))
}

/// `socket = "…"` under `[control]`, read line by line from a file TOML cannot parse.
fn socket_line(text: &str) -> Option<PathBuf> {
    let mut in_control = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_control = line == "[control]";
        } else if in_control
            && let Some((key, value)) = line.split_once('=')
            && key.trim() == "socket"
        {
            let value = value.trim();
            return value
                .strip_prefix('"')
                .and_then(|rest| rest.split_once('"'))
                .map(|(socket, _)| PathBuf::from(socket));
        }
    }
    None
}

impl super::Validator {
    pub(super) fn team(&mut self, members: raw::RawMembers) -> TeamConfig {
        let members = match members {
            raw::RawMembers::Mapped(members) => members,
            raw::RawMembers::Logins(logins) => {
                self.problem(
                    "team.members",
                    format!(
                        "is a list of logins: each member now names their OS account, which the daemon knows them by: [team.members] {} = {{ unix = \"their-user-name\" }}",
                        logins.first().map_or("alice", String::as_str)
                    ),
                );
                Default::default()
            }
        };
        let mut valid: Vec<TeamMember> = Vec::new();
        for (login, member) in members {
            let key = format!("team.members.{login}");
            if !is_github_login(&login) {
                self.problem(
                    "team.members",
                    format!("has {login:?}: expected GitHub logins (letters, digits, hyphens)"),
                );
                continue;
            }
            let Some(unix) = member.unix.filter(|unix| is_os_user_name(unix)) else {
                self.problem(
                    &key,
                    format!(
                        "needs the member's OS account: {login} = {{ unix = \"their-user-name\" }}"
                    ),
                );
                continue;
            };
            if unix == "root" {
                self.problem(
                    &key,
                    "maps root: root reads through the socket and acts with --break-glass, never as a member (what it decides could not be told from an admin's); map the person's own account".to_string(),
                );
                continue;
            }
            if unix == SERVICE_USER {
                self.problem(
                    &key,
                    format!("maps {SERVICE_USER}, the service's own account (the unit's User=): it reads and never decides, or what it decided could not be told from the service's own work; map the person's own account"),
                );
                continue;
            }
            if let Some(twin) = valid
                .iter()
                .find(|known| known.login.eq_ignore_ascii_case(&login))
            {
                self.problem(
                    &key,
                    format!(
                        "is {} again: GitHub logins ignore case, so each member once",
                        twin.login
                    ),
                );
                continue;
            }
            if let Some(twin) = valid.iter().find(|known| known.unix == unix) {
                self.problem(
                    &key,
                    format!("maps the OS user {unix:?}, which is {} already: one OS account is one member", twin.login),
                );
                continue;
            }
            let slack = match member.slack {
                None => None,
                Some(id) if !super::is_slack_id(&id, &['U', 'W']) => {
                    self.problem(
                        &key,
                        format!("has slack = {id:?}: expected the member's Slack user ID, such as \"U012AB3CD\" (a display name or an address can be taken by someone else)"),
                    );
                    continue;
                }
                Some(id) => {
                    if let Some(twin) = valid
                        .iter()
                        .find(|known| known.slack.as_deref() == Some(&id))
                    {
                        self.problem(
                            &key,
                            format!("maps the Slack user {id}, which is {} already: one Slack user is one member", twin.login),
                        );
                        continue;
                    }
                    Some(id)
                }
            };
            valid.push(TeamMember { login, unix, slack });
        }
        TeamConfig { members: valid }
    }

    pub(super) fn control(&mut self, raw: raw::RawControl) -> ControlConfig {
        if let Some(group) = &raw.group
            && !is_os_user_name(group)
        {
            self.problem(
                "control.group",
                format!("is {group:?}: expected a group name such as \"patdesk\""),
            );
        }
        ControlConfig {
            socket: self.path(raw.socket.unwrap_or_else(|| DEFAULT_CONTROL_SOCKET.into())),
            group: raw.group,
        }
    }
}

/// GitHub logins: letters, digits and single hyphens, at most 39 characters.
/// A POSIX-portable user or group name, as `useradd` accepts it.
pub fn is_os_user_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !name.starts_with('-')
}

pub fn is_github_login(login: &str) -> bool {
    (1..=39).contains(&login.len())
        && login.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !login.starts_with('-')
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::{DEFAULT_CONTROL_SOCKET, control_socket_despite_errors};

    fn socket_of(text: &str) -> PathBuf {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("patdesk.toml");
        std::fs::write(&path, text).expect("config");
        control_socket_despite_errors(&path)
            .strip_prefix(dir.path())
            .map(PathBuf::from)
            .unwrap_or_else(|_| control_socket_despite_errors(&path))
    }

    #[test]
    fn the_socket_is_found_in_a_file_broken_elsewhere() {
        // Valid TOML with a wrong value elsewhere.
        let wrong_value = "[mailbox]\nport = \"x\"\n[control]\nsocket = \"run/control.sock\"\n";
        assert_eq!(socket_of(wrong_value), PathBuf::from("run/control.sock"));
        // Not TOML at all in another section.
        let broken = "[mailbox\nport = = 3\n\n[control]\n  socket = \"/srv/desk.sock\" # ours\n";
        assert_eq!(socket_of(broken), PathBuf::from("/srv/desk.sock"));
        // A socket key in another section is not the control socket.
        let elsewhere = "[other]\nsocket = \"/x.sock\"\n[team\n";
        assert_eq!(socket_of(elsewhere), PathBuf::from(DEFAULT_CONTROL_SOCKET));
        assert_eq!(socket_of(""), PathBuf::from(DEFAULT_CONTROL_SOCKET));
    }
}
