//! Where to write to a requester. GitHub's API gives only a login; in order: the directory
//! the team keeps, addresses on the organisation's verified domains, the public profile.
//! When none gives one, a person must (`patdesk contact`).

use std::collections::HashMap;
use std::path::Path;

use crate::github::{GithubClient, GithubError};
use crate::mail::is_address;

/// login (lower-case) → address, from the team's CSV.
pub type Directory = HashMap<String, String>;

/// Reads `login,email` lines; a header line and blank lines are skipped. A malformed line is
/// an error that names it: a typo should not silently send mail to nobody.
pub fn load_directory(path: &Path) -> Result<Directory, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the people directory {}: {e}", path.display()))?;
    let mut directory = Directory::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty()
            || line.starts_with('#')
            || (number == 0 && line.eq_ignore_ascii_case("login,email"))
        {
            continue;
        }
        let (login, email) = line
            .split_once(',')
            .map(|(login, email)| (login.trim(), email.trim()))
            .filter(|(login, email)| !login.is_empty() && is_address(email))
            .ok_or_else(|| {
                format!(
                    "{} line {}: expected login,email but found {line:?}",
                    path.display(),
                    number + 1
                )
            })?;
        directory.insert(login.to_lowercase(), email.to_string());
    }
    Ok(directory)
}

/// The requester's address, or `None` when nothing knows it. Lookups GitHub refuses (the App
/// may lack a permission) fall through to the next source; only transient failures stop the
/// sync, to be tried again.
pub async fn resolve(
    client: &GithubClient,
    org: &str,
    login: &str,
    directory: &Directory,
) -> Result<Option<String>, GithubError> {
    if let Some(address) = directory.get(&login.to_lowercase()) {
        return Ok(Some(address.clone()));
    }
    match client.verified_domain_emails(org, login).await {
        Ok(emails) => {
            if let Some(address) = emails.into_iter().find(|email| is_address(email)) {
                return Ok(Some(address));
            }
        }
        Err(error) if error.is_transient() => return Err(error),
        Err(_) => {}
    }
    match client.public_email(org, login).await {
        Ok(address) => Ok(address.filter(|email| is_address(email))),
        Err(error) if error.is_transient() => Err(error),
        Err(_) => Ok(None),
    }
}
