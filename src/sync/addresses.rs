//! Where to write to a requester. GitHub's API gives only a login; in order: the directory
//! the team keeps, addresses on the organisation's verified domains, the public profile when
//! its address is on an allowed domain (`people.allowed_domains`: a profile can name anyone's
//! address). When none gives one, a person must (`patdesk contact`).

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
    allowed_domains: &[String],
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
        Ok(Some(address))
            if is_address(&address) && on_allowed_domain(&address, allowed_domains) =>
        {
            Ok(Some(address))
        }
        Ok(Some(_)) => {
            tracing::info!(
                login,
                "the public profile's address is not on people.allowed_domains: not used"
            );
            Ok(None)
        }
        Ok(None) => Ok(None),
        Err(error) if error.is_transient() => Err(error),
        Err(_) => Ok(None),
    }
}

/// Whether `address` is on one of `domains` or a subdomain of one.
fn on_allowed_domain(address: &str, domains: &[String]) -> bool {
    let Some((_, domain)) = address.rsplit_once('@') else {
        return false;
    };
    let domain = domain.to_ascii_lowercase();
    domains.iter().any(|allowed| {
        domain == *allowed
            || domain
                .strip_suffix(allowed.as_str())
                .is_some_and(|sub| sub.ends_with('.'))
    })
}

#[cfg(test)]
mod tests {
    use super::on_allowed_domain;

    #[test]
    fn a_public_address_counts_only_on_an_allowed_domain_or_below_it() {
        let allowed = vec!["example.org".to_string()];
        assert!(on_allowed_domain("carol@example.org", &allowed));
        assert!(on_allowed_domain("carol@Mail.Example.org", &allowed));
        assert!(!on_allowed_domain("victim@evil-example.org", &allowed));
        assert!(!on_allowed_domain("victim@example.org.evil.net", &allowed));
        assert!(!on_allowed_domain("carol@example.org", &[]));
    }
}
