//! Generated transactions (and their fraud labels) as JSON lines, to replay what was sent.

use std::io::{self, Write};

use serde_json::{Map, Value, json};

use super::events::Planted;
use crate::record::{Transaction, UserEvent};

/// One transaction as a JSON object with the reference schema's field names; the amount is a
/// decimal string (exact), the timestamp epoch milliseconds, nulls stay null.
pub fn to_json(row: &Transaction) -> Value {
    json!({
        "transactionId": row.transaction_id,
        "userId": row.user_id,
        "amount": row.amount.map(|a| a.to_string()),
        "currency": row.currency,
        "timestamp": row.timestamp,
        "metadata": row.metadata.as_ref().map(|m| m.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect::<Map<_, _>>()),
    })
}

/// Writes `row` as one line.
pub fn write_line(out: &mut impl Write, row: &Transaction) -> io::Result<()> {
    serde_json::to_writer(&mut *out, &to_json(row))?;
    out.write_all(b"\n")
}

/// The ground-truth label of one generated transaction as one line of the labels file:
/// `{"transactionId", "fraud", "pattern"}`, `pattern` null unless `fraud`.
pub fn write_label(out: &mut impl Write, row: &Transaction, planted: &Planted) -> io::Result<()> {
    let label = json!({
        "transactionId": row.transaction_id,
        "fraud": planted.fraud.is_some(),
        "pattern": planted.fraud.map(|p| p.name()),
    });
    serde_json::to_writer(&mut *out, &label)?;
    out.write_all(b"\n")
}

/// One user event as a JSON object with the `user_event.avsc` field names (`userId`,
/// `eventType`, `device`, `country`, `ip`, `timestamp` in epoch milliseconds), nulls null:
/// the format `train --user-events` and `batch --user-events` read.
pub fn user_event_to_json(event: &UserEvent) -> Value {
    json!({
        "userId": event.user_id,
        "eventType": event.event_type,
        "device": event.device,
        "country": event.country,
        "ip": event.ip,
        "timestamp": event.timestamp,
    })
}

/// Writes `event` as one line.
pub fn write_user_event(out: &mut impl Write, event: &UserEvent) -> io::Result<()> {
    serde_json::to_writer(&mut *out, &user_event_to_json(event))?;
    out.write_all(b"\n")
}
