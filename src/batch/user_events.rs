//! User events (logins) from JSON lines, for fraud features: `--user-events PATH`.
//!
//! One object per line with the `user_event.avsc` field names, as `generate
//! --user-events-jsonl` writes them: `userId` and `eventType` strings, `timestamp` epoch
//! milliseconds (an integer), `device`, `country` and `ip` strings or null/absent. Blank lines
//! are skipped. A line that is not a user event stops the read with its number and the
//! reason: unlike transactions, user events have no rejects file, and a silently shorter
//! login history would change fraud features without a trace.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::Deserialize;

use super::BatchError;
use crate::record::UserEvent;

/// One line as written.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Line {
    user_id: String,
    event_type: String,
    #[serde(default)]
    device: Option<String>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    ip: Option<String>,
    timestamp: i64,
}

/// Reads every user event of the JSON lines file at `path`.
pub fn read(path: &Path) -> Result<Vec<UserEvent>, BatchError> {
    let io = |source| BatchError::Input { path: path.into(), source };
    let file = File::open(path).map_err(io)?;
    let mut events = Vec::new();
    for (number, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(io)?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: Line = serde_json::from_str(&line).map_err(|e| BatchError::InputFormat {
            path: path.into(),
            reason: format!(
                "line {}: not a user event ({e}); expected {{\"userId\", \"eventType\", \"timestamp\", \
                 \"device\", \"country\", \"ip\"}}",
                number + 1
            ),
        })?;
        events.push(UserEvent {
            user_id: parsed.user_id,
            event_type: parsed.event_type,
            device: parsed.device,
            country: parsed.country,
            ip: parsed.ip,
            timestamp: parsed.timestamp,
        });
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::generate::jsonl::write_user_event;

    #[test]
    fn issue5_user_events_round_trip_and_bad_lines_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let events = [
            UserEvent {
                user_id: "u".into(),
                event_type: "LOGIN".into(),
                device: Some("d".into()),
                country: None,
                ip: Some("192.0.2.1".into()),
                timestamp: -5,
            },
            UserEvent {
                user_id: "".into(),
                event_type: "LOGOUT".into(),
                device: None,
                country: Some("DE".into()),
                ip: None,
                timestamp: 7,
            },
        ];
        let mut file = File::create(&path).unwrap();
        for event in &events {
            write_user_event(&mut file, event).unwrap();
        }
        file.write_all(b"\n{\"userId\":\"v\",\"eventType\":\"LOGIN\",\"timestamp\":1}\n").unwrap();
        drop(file);
        let read = read(&path).unwrap();
        assert_eq!(read[..2], events);
        assert_eq!((read[2].user_id.as_str(), read[2].device.as_ref()), ("v", None));
        std::fs::write(&path, "{\"userId\":\"v\",\"eventType\":\"LOGIN\",\"timestamp\":1}\n{\"userId\":1}\n")
            .unwrap();
        let error = super::read(&path).unwrap_err().to_string();
        assert!(error.contains("line 2: not a user event"), "{error}");
    }
}
