//! Secrets read from files or systemd credentials, never from the config file itself.

use std::fmt;
use std::path::{Path, PathBuf};

use super::raw::{RawSecret, RawSecretReference};

/// A secret's value. Its `Debug` never shows the value, so it cannot leak through logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    value: String,
    origin: SecretOrigin,
}

/// Where a secret was read from, for messages that must name it without showing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretOrigin {
    File(PathBuf),
    Credential { name: String, path: PathBuf },
}

impl Secret {
    pub fn expose(&self) -> &str {
        &self.value
    }

    pub fn origin(&self) -> &SecretOrigin {
        &self.origin
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({} bytes from {})", self.value.len(), self.origin)
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

/// Reads a secret. `base` resolves relative file paths (the config file's folder);
/// `credentials` is `$CREDENTIALS_DIRECTORY` when systemd set it.
pub fn resolve(raw: &RawSecret, base: &Path, credentials: Option<&Path>) -> Result<Secret, String> {
    let reference = match raw {
        RawSecret::Inline => {
            return Err(r#"must not be written inline: use { file = "/path/to/file" } or { credential = "name" } (a systemd LoadCredential= name)"#.to_string());
        }
        RawSecret::Reference(reference) => reference,
    };
    let origin = origin_of(reference, base, credentials)?;
    let path = match &origin {
        SecretOrigin::File(path) | SecretOrigin::Credential { path, .. } => path.clone(),
    };
    if matches!(origin, SecretOrigin::File(_)) {
        refuse_world_readable(&path)?;
    }
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {origin}: {e}"))?;
    let value = String::from_utf8(bytes).map_err(|_| format!("{origin} is not UTF-8 text"))?;
    // Files written by `echo` end in a newline that is not part of the secret.
    let value = value.trim_end_matches(['\r', '\n']).to_string();
    if value.is_empty() {
        return Err(format!("{origin} is empty"));
    }
    Ok(Secret { value, origin })
}

fn origin_of(
    reference: &RawSecretReference,
    base: &Path,
    credentials: Option<&Path>,
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
            let Some(directory) = credentials else {
                return Err(format!(
                    "names systemd credential {name:?} but $CREDENTIALS_DIRECTORY is not set \
                     (run under systemd with LoadCredential={name}:…, or use {{ file = \"…\" }})"
                ));
            };
            Ok(SecretOrigin::Credential {
                name: name.clone(),
                path: directory.join(name),
            })
        }
        _ => Err(r#"needs exactly one of `file` or `credential`"#.to_string()),
    }
}

#[cfg(unix)]
fn refuse_world_readable(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let metadata =
        std::fs::metadata(path).map_err(|e| format!("cannot read file {}: {e}", path.display()))?;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o004 != 0 {
        return Err(format!(
            "file {} is readable by every user (mode {mode:04o}): run chmod 600 on it",
            path.display()
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn refuse_world_readable(_: &Path) -> Result<(), String> {
    Ok(())
}
