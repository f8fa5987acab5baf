//! The domain's enums as the database stores them: each by the name its `as_str` gives, read
//! back into the enum, so no row's kind or state is handled as free text above the store.
//!
//! A state drives a queue, so a state this version does not know is a corrupt row. A kind
//! only describes a row: one written by another version reads as [`Stored::Other`] and is
//! shown as stored.

use std::fmt;

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use crate::lifecycle::PushAction;
use crate::mail::{Kind, OutgoingKind};

/// An enum kept in a text column by name.
pub trait StoredName: Sized + Copy + 'static {
    /// Every value this version writes.
    const ALL: &'static [Self];

    fn as_str(self) -> &'static str;

    /// The value a stored name is, if this version knows it.
    fn named(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|value| value.as_str() == name)
    }
}

/// Names as a SQL list (`'queued', 'sending'`), for an `IN (…)`. Only ever an enum's own
/// names, never outside text, so they are written into the statement.
pub fn sql_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names
        .into_iter()
        .map(|name| format!("'{name}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A kind as stored: one this version knows, or another version's, kept as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored<T> {
    Known(T),
    Other(String),
}

impl<T: StoredName> Stored<T> {
    pub fn as_str(&self) -> &str {
        match self {
            Stored::Known(value) => value.as_str(),
            Stored::Other(name) => name,
        }
    }

    /// The known value, if it is one.
    pub fn known(&self) -> Option<T> {
        match self {
            Stored::Known(value) => Some(*value),
            Stored::Other(_) => None,
        }
    }

    fn named(name: &str) -> Stored<T> {
        T::named(name).map_or_else(|| Stored::Other(name.to_string()), Stored::Known)
    }
}

impl<T: StoredName> From<T> for Stored<T> {
    fn from(value: T) -> Self {
        Stored::Known(value)
    }
}

impl<T: StoredName> PartialEq<T> for Stored<T> {
    fn eq(&self, other: &T) -> bool {
        self.known()
            .is_some_and(|value| value.as_str() == other.as_str())
    }
}

/// Against the name as stored and printed (`--json`, the audit log's text).
impl<T: StoredName> PartialEq<&str> for Stored<T> {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl<T: StoredName> fmt::Display for Stored<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<T: StoredName> serde::Serialize for Stored<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de, T: StoredName> serde::Deserialize<'de> for Stored<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(Stored::named(&name))
    }
}

impl<T: StoredName> ToSql for Stored<T> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl<T: StoredName> FromSql for Stored<T> {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        value.as_str().map(Stored::named)
    }
}

/// A name this version does not know where only a known one will do.
#[derive(Debug, thiserror::Error)]
#[error("unknown {what} {name:?} (written by another version of patdesk?)")]
struct UnknownName {
    what: &'static str,
    name: String,
}

/// Reads a column that must hold one of `T`'s names.
pub(super) fn strictly<T: StoredName>(value: ValueRef<'_>, what: &'static str) -> FromSqlResult<T> {
    let name = value.as_str()?;
    T::named(name).ok_or_else(|| {
        FromSqlError::Other(Box::new(UnknownName {
            what,
            name: name.to_string(),
        }))
    })
}

/// Shows and stores `$type`, a [`StoredName`], by name; reading an unknown name is an error naming
/// `$what`. Each state's own module says so beside its enum.
macro_rules! stored_by_name {
    ($type:ty, $what:literal) => {
        /// Against the name as stored and printed.
        impl PartialEq<&str> for $type {
            fn eq(&self, other: &&str) -> bool {
                $crate::store::stored::StoredName::as_str(*self) == *other
            }
        }

        impl std::fmt::Display for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($crate::store::stored::StoredName::as_str(*self))
            }
        }

        impl rusqlite::types::ToSql for $type {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(rusqlite::types::ToSqlOutput::from(
                    $crate::store::stored::StoredName::as_str(*self),
                ))
            }
        }

        impl rusqlite::types::FromSql for $type {
            fn column_result(
                value: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<Self> {
                $crate::store::stored::strictly(value, $what)
            }
        }
    };
}
pub(super) use stored_by_name;

impl StoredName for OutgoingKind {
    const ALL: &'static [Self] = &OutgoingKind::ALL;

    fn as_str(self) -> &'static str {
        OutgoingKind::as_str(self)
    }
}

impl StoredName for Kind {
    const ALL: &'static [Self] = &Kind::ALL;

    fn as_str(self) -> &'static str {
        Kind::as_str(self)
    }
}

impl StoredName for crate::request::PurposeSource {
    const ALL: &'static [Self] = &crate::request::PurposeSource::ALL;

    fn as_str(self) -> &'static str {
        crate::request::PurposeSource::as_str(self)
    }
}

impl StoredName for PushAction {
    const ALL: &'static [Self] = &PushAction::ALL;

    fn as_str(self) -> &'static str {
        PushAction::as_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kind_from_another_version_reads_as_stored() {
        let kind: Stored<OutgoingKind> = Stored::named("carrier_pigeon");
        assert_eq!(kind, Stored::Other("carrier_pigeon".to_string()));
        assert_eq!(kind.as_str(), "carrier_pigeon");
        assert_eq!(kind.known(), None);
    }

    #[test]
    fn a_known_kind_reads_as_itself() {
        for kind in OutgoingKind::ALL {
            assert_eq!(Stored::named(kind.as_str()), Stored::Known(kind));
        }
    }

    #[test]
    fn a_list_of_names_is_sql_ready() {
        assert_eq!(sql_list(["queued", "sending"]), "'queued', 'sending'");
    }
}
