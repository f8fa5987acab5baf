//! Times as the store keeps them: UTC, RFC 3339 with milliseconds, fixed width, so text order
//! is time order. Records carry them as `Timestamp`s; the JSON of a record (`--json`, the
//! control socket) writes them the same way.

use jiff::Timestamp;

use super::StoreError;

/// UTC, RFC 3339 with milliseconds: fixed width, so text order is time order.
pub fn format_time(time: Timestamp) -> String {
    format!("{time:.3}")
}

pub(crate) fn parse_time(text: &str) -> Result<Timestamp, StoreError> {
    text.parse()
        .map_err(|e| StoreError::Corrupt(format!("time {text:?}: {e}")))
}

/// Column `index` of `row`, a time [`format_time`] wrote.
pub(crate) fn time_at(row: &rusqlite::Row, index: usize) -> rusqlite::Result<Timestamp> {
    let text: String = row.get(index)?;
    parse_column(index, &text)
}

/// Column `index` of `row`, a time [`format_time`] wrote, or NULL.
pub(crate) fn optional_time_at(
    row: &rusqlite::Row,
    index: usize,
) -> rusqlite::Result<Option<Timestamp>> {
    let text: Option<String> = row.get(index)?;
    text.map(|text| parse_column(index, &text)).transpose()
}

fn parse_column(index: usize, text: &str) -> rusqlite::Result<Timestamp> {
    text.parse().map_err(|error: jiff::Error| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, error.into())
    })
}

/// `#[serde(with = "stored_time")]`: a record's time in JSON as the store writes it.
pub mod stored_time {
    use jiff::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(time: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::format_time(*time))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }

    /// The same for an optional time.
    pub mod option {
        use jiff::Timestamp;
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(
            time: &Option<Timestamp>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match time {
                Some(time) => serializer.serialize_str(&super::super::format_time(*time)),
                None => serializer.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Timestamp>, D::Error> {
            let text = Option::<String>::deserialize(deserializer)?;
            text.map(|text| text.parse().map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_is_written_with_milliseconds_so_text_sorts_as_time() {
        let at: Timestamp = "2026-12-06T10:00:00Z".parse().expect("time");
        assert_eq!(format_time(at), "2026-12-06T10:00:00.000Z");
        assert_eq!(parse_time(&format_time(at)).expect("parses"), at);
    }

    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Record {
        #[serde(with = "stored_time")]
        at: Timestamp,
        #[serde(with = "stored_time::option", default)]
        maybe: Option<Timestamp>,
    }

    #[test]
    fn a_records_time_reads_back_from_its_json() {
        let record = Record {
            at: "2026-12-06T10:00:00.5Z".parse().expect("time"),
            maybe: None,
        };
        let json = serde_json::to_string(&record).expect("json");
        assert_eq!(json, r#"{"at":"2026-12-06T10:00:00.500Z","maybe":null}"#);
        assert_eq!(
            serde_json::from_str::<Record>(&json).expect("reads"),
            record
        );
    }
}
