//! Generated transactions as JSON lines, so tests and benchmarks replay exactly what was sent.

use std::io::{self, Write};

use serde_json::{Map, Value, json};

use crate::record::Transaction;

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
