//! Secrets read from files or systemd credentials, never from the config file itself.
//!
//! Loading the config checks only where each secret lives; the value is read when a part of
//! patdesk needs it. The engineers' commands need no secret, and an engineer's shell has no
//! `$CREDENTIALS_DIRECTORY`: reading lazily lets them share the daemon's config file.

use std::fmt;
use std::path::{Path, PathBuf};

use super::Problem;
use super::credentials::CredentialFiles;
use super::raw::{RawSecret, RawSecretReference};

/// What a secret must look like, checked when it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    Password,
    /// A PEM private key, like the GitHub App's.
    PemPrivateKey,
    /// A Google service account's JSON key file.
    ServiceAccountKey,
    /// A URL that is itself the secret (Slack's incoming webhook): HTTPS, or plain HTTP to
    /// this machine only.
    WebhookUrl,
}

/// Where a secret lives, validated but not yet read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    /// The config key that names it, for messages.
    key: String,
    kind: SecretKind,
    origin: SecretOrigin,
}

/// Where a secret is read from, for messages that must name it without showing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretOrigin {
    File(PathBuf),
    Credential {
        name: String,
        /// Where credentials were to be found when the config was loaded.
        files: Option<CredentialFiles>,
    },
}

/// A secret's value. Its `Debug` never shows the value, so it cannot leak through logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    value: String,
}

impl Secret {
    /// A secret obtained another way than from the config (an OAuth token, a test's password).
    pub fn new(value: impl Into<String>) -> Secret {
        Secret {
            value: value.into(),
        }
    }

    pub fn expose(&self) -> &str {
        &self.value
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({} bytes)", self.value.len())
    }
}

impl fmt::Display for SecretOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretOrigin::File(path) => write!(f, "file {}", path.display()),
            SecretOrigin::Credential { name, .. } => write!(f, "systemd credential {name}"),
        }
    }
}

impl SecretRef {
    /// Validates where a secret is said to live. `base` resolves relative file paths (the
    /// config file's folder); `credentials` is `$CREDENTIALS_DIRECTORY` when systemd set it.
    pub(super) fn new(
        key: &str,
        kind: SecretKind,
        raw: &RawSecret,
        base: &Path,
        credentials: Option<&CredentialFiles>,
    ) -> Result<SecretRef, String> {
        let reference = match raw {
            RawSecret::Inline => {
                return Err(r#"must not be written inline: use { file = "/path/to/file" } or { credential = "name" } (a systemd LoadCredential= name)"#.to_string());
            }
            RawSecret::Reference(reference) => reference,
        };
        Ok(SecretRef {
            key: key.to_string(),
            kind,
            origin: origin_of(reference, base, credentials)?,
        })
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// A reference to a file that does not exist, for unit tests of what carries one.
    #[cfg(test)]
    pub fn for_tests(key: &str) -> SecretRef {
        SecretRef {
            key: key.to_string(),
            kind: SecretKind::Password,
            origin: SecretOrigin::File(format!("/nonexistent/{key}").into()),
        }
    }

    pub fn origin(&self) -> &SecretOrigin {
        &self.origin
    }

    /// Reads the secret now. A problem names the config key and says how to fix it.
    pub fn read(&self) -> Result<Secret, Problem> {
        self.read_value().map_err(|message| Problem {
            key: self.key.clone(),
            message,
            at: None,
        })
    }

    fn read_value(&self) -> Result<Secret, String> {
        let path = match &self.origin {
            SecretOrigin::File(path) => {
                refuse_shared(path)?;
                path.clone()
            }
            SecretOrigin::Credential {
                name,
                files: Some(files),
            } => {
                let path = files.path_of(name)?;
                if files.is_original() {
                    refuse_shared(&path)?;
                }
                path
            }
            SecretOrigin::Credential { name, files: None } => {
                return Err(format!(
                    "names systemd credential {name:?} but $CREDENTIALS_DIRECTORY is not set \
                     and no installed unit says where it is (run under systemd with \
                     LoadCredential={name}:…, or use {{ file = \"…\" }})"
                ));
            }
        };
        let origin = &self.origin;
        let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {origin}: {e}"))?;
        let value = String::from_utf8(bytes).map_err(|_| format!("{origin} is not UTF-8 text"))?;
        // Files written by `echo` end in a newline that is not part of the secret.
        let value = value.trim_end_matches(['\r', '\n']).to_string();
        if value.is_empty() {
            return Err(format!("{origin} is empty"));
        }
        if self.kind == SecretKind::PemPrivateKey && !value.contains("PRIVATE KEY-----") {
            return Err(format!(
                "read from {origin} is not a PEM private key (the .pem file GitHub lets you download)"
            ));
        }
        if self.kind == SecretKind::ServiceAccountKey
            && !(value.contains("\"client_email\"") && value.contains("PRIVATE KEY-----"))
        {
            return Err(format!(
                "read from {origin} is not a service account key (the JSON file Google lets you download, with client_email and private_key)"
            ));
        }
        if self.kind == SecretKind::WebhookUrl
            && let Some(problem) = super::web::url_problem(&value)
        {
            // Not the value: the URL is the secret.
            return Err(format!(
                "read from {origin} is not a webhook URL to use: {problem}"
            ));
        }
        Ok(Secret { value })
    }
}

fn origin_of(
    reference: &RawSecretReference,
    base: &Path,
    credentials: Option<&CredentialFiles>,
) -> Result<SecretOrigin, String> {
    match (&reference.file, &reference.credential) {
        (Some(file), None) => Ok(SecretOrigin::File(base.join(file))),
        (None, Some(name)) => {
            let valid_name =
                !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\0']);
            if !valid_name {
                return Err(format!(
                    "credential name {name:?} is not a plain file name (no '/', not '.' or '..')"
                ));
            }
            Ok(SecretOrigin::Credential {
                name: name.clone(),
                files: credentials.cloned(),
            })
        }
        _ => Err(r#"needs exactly one of `file` or `credential`"#.to_string()),
    }
}

/// A secret file must be its owner's alone (no group or other bits: a group-readable signing
/// key lets the group mint Message-IDs), and its owner root or the user reading it: a file
/// another user owns, that user can rewrite. root may read anyone's (`check-config` run by an
/// admin on the service's files).
fn refuse_shared(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let metadata =
        std::fs::metadata(path).map_err(|e| format!("cannot read file {}: {e}", path.display()))?;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "file {} can be read by others than its owner (mode {mode:04o}): run chmod 600 {}",
            path.display(),
            path.display()
        ));
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let reader = unsafe { libc::geteuid() };
    let owner = metadata.uid();
    if owner != 0 && owner != reader && reader != 0 {
        return Err(format!(
            "file {} belongs to uid {owner}, not to root or the user reading it (uid {reader}): run chown {reader} {} (as root)",
            path.display(),
            path.display()
        ));
    }
    Ok(())
}
