//! The quality graph on a handful of transactions, nothing installed: watch a late event and a
//! duplicate correct earlier verdicts by retraction.
//!
//! Run with `cargo run --release --example quality_changelog`.

use std::collections::BTreeMap;
use std::sync::mpsc;

use differential_dataflow::input::Input;
use rust_decimal::Decimal;
use timely::dataflow::operators::capture::{Capture, Extract};

use trustflow::dataflow::quality::{QualityRow, quality};
use trustflow::record::Transaction;

const NOW_MS: i64 = 1_767_225_600_000;
const MINUTE: i64 = 60_000;

fn tx(id: &str, user: &str, amount: &str, minutes_ago: i64) -> Transaction {
    Transaction {
        timestamp: Some(NOW_MS - minutes_ago * MINUTE),
        transaction_id: Some(id.to_owned()),
        amount: Some(amount.parse::<Decimal>().expect("a decimal literal")),
        currency: Some("EUR".to_owned()),
        metadata: Some(Default::default()),
        user_id: Some(user.to_owned()),
        origin: None,
    }
}

fn describe(row: &QualityRow) -> String {
    format!(
        "{:<4} {:>8} avg {:>12} {:<12} {:<9} score {:.1}",
        row.record.transaction_id.as_deref().unwrap_or("null"),
        row.record.amount.map(|a| a.to_string()).unwrap_or_default(),
        row.avg_transaction_amount.map(|a| a.to_string()).unwrap_or_default(),
        if row.consistent { "CONSISTENT" } else { "INCONSISTENT" },
        if row.unique { "UNIQUE" } else { "DUPLICATE" },
        row.quality_score(),
    )
}

fn main() {
    let epochs = [
        // Epoch 0: a user's ordinary history.
        vec![
            tx("t1", "alice", "100.00", 50),
            tx("t2", "alice", "100.00", 40),
            tx("t3", "alice", "200.00", 30),
        ],
        // Epoch 1: an event from before t3 arrives late: t3's frame, and so its verdict, change.
        vec![tx("t4", "alice", "180.00", 35)],
        // Epoch 2: t1 is sent again (a retry): both copies become DUPLICATE.
        vec![tx("t1", "alice", "100.00", 50)],
    ];
    let (send, recv) = mpsc::channel();
    timely::execute_directly(move |worker| {
        let mut input = worker.dataflow::<u64, _, _>(|scope| {
            let (input, rows) = scope.new_collection::<Transaction, isize>();
            quality(rows, NOW_MS).inner.capture_into(send);
            input
        });
        for (epoch, rows) in epochs.into_iter().enumerate() {
            input.advance_to(epoch as u64);
            for row in rows {
                input.insert(row);
            }
        }
    });
    let mut by_epoch: BTreeMap<u64, Vec<(QualityRow, isize)>> = BTreeMap::new();
    for (row, epoch, diff) in recv.extract().into_iter().flat_map(|(_, changes)| changes) {
        by_epoch.entry(epoch).or_default().push((row, diff));
    }
    for (epoch, mut changes) in by_epoch {
        changes.sort_by_key(|a| (a.0.record.timestamp, a.1));
        println!("epoch {epoch}:");
        for (row, diff) in changes {
            println!("  {diff:+} {}", describe(&row));
        }
    }
}
