//! Where `{ credential = "name" }` secrets are read: systemd's copies in
//! `$CREDENTIALS_DIRECTORY` for the service, or, for `check-config` run by hand on the host
//! where the package is installed, the files the unit's `LoadCredential=` lines name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The installed unit, an admin's override first.
pub const UNITS: [&str; 2] = [
    "/etc/systemd/system/patdesk.service",
    "/lib/systemd/system/patdesk.service",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialFiles {
    /// `$CREDENTIALS_DIRECTORY`: systemd's copies, as the service reads them.
    Directory(PathBuf),
    /// The files the unit's `LoadCredential=NAME:PATH` lines name.
    Unit {
        unit: PathBuf,
        files: BTreeMap<String, PathBuf>,
    },
}

impl CredentialFiles {
    /// `$CREDENTIALS_DIRECTORY` when systemd set it.
    pub fn from_environment() -> Option<CredentialFiles> {
        std::env::var_os("CREDENTIALS_DIRECTORY").map(|dir| CredentialFiles::Directory(dir.into()))
    }

    /// The first of `units` that can be read, as its `LoadCredential=` lines say.
    pub fn from_units(units: &[&Path]) -> Option<CredentialFiles> {
        units.iter().find_map(|unit| {
            let text = std::fs::read_to_string(unit).ok()?;
            Some(CredentialFiles::Unit {
                unit: unit.to_path_buf(),
                files: load_credential_lines(&text),
            })
        })
    }

    /// The file credential `name` is read from.
    pub fn path_of(&self, name: &str) -> Result<PathBuf, String> {
        match self {
            CredentialFiles::Directory(directory) => Ok(directory.join(name)),
            CredentialFiles::Unit { unit, files } => files.get(name).cloned().ok_or_else(|| {
                format!(
                    "names systemd credential {name:?}, which {} does not load (add \
                     LoadCredential={name}:/etc/patdesk/credentials/{name})",
                    unit.display()
                )
            }),
        }
    }

    /// Whether the file is the original, which must be its owner's alone (systemd's copies
    /// in `$CREDENTIALS_DIRECTORY` are made so by systemd).
    pub fn is_original(&self) -> bool {
        match self {
            CredentialFiles::Directory(_) => false,
            CredentialFiles::Unit { .. } => true,
        }
    }
}

/// `NAME → PATH` of each `LoadCredential=NAME:PATH` line; comments and other keys are skipped.
fn load_credential_lines(unit: &str) -> BTreeMap<String, PathBuf> {
    unit.lines()
        .filter_map(|line| line.trim().strip_prefix("LoadCredential="))
        .filter_map(|value| value.split_once(':'))
        .map(|(name, path)| (name.trim().to_string(), PathBuf::from(path.trim())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_units_load_credential_lines_name_each_file() {
        let files = load_credential_lines(
            "[Service]\nLoadCredential=imap-password:/etc/patdesk/credentials/imap-password\n\
             # LoadCredential=oauth2-client-secret:/etc/patdesk/credentials/oauth2-client-secret\n\
             LoadCredential=signing-key:/etc/patdesk/credentials/signing-key\nUser=patdesk-daemon\n",
        );
        assert_eq!(
            files.keys().map(String::as_str).collect::<Vec<_>>(),
            ["imap-password", "signing-key"]
        );
        assert_eq!(
            files["signing-key"],
            Path::new("/etc/patdesk/credentials/signing-key")
        );
    }

    #[test]
    fn a_credential_the_unit_does_not_load_says_which_line_to_add() {
        let unit = CredentialFiles::Unit {
            unit: PathBuf::from("/lib/systemd/system/patdesk.service"),
            files: BTreeMap::new(),
        };
        let problem = unit.path_of("smtp-password").expect_err("not loaded");
        assert!(
            problem.contains("/lib/systemd/system/patdesk.service")
                && problem.contains("LoadCredential=smtp-password:"),
            "{problem}"
        );
    }
}
