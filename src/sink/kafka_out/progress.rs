//! Reading the progress topic back: the last epoch an app id committed to the output.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use super::error::KafkaOutputError;
use super::record::Progress;
use crate::source::KafkaSettings;
use crate::source::client::REQUEST_TIMEOUT;
use crate::source::reader::ReaderContext;

/// Offsets read from the end of the progress partition at first; doubled until a record of
/// the app id turns up or the partition's start is reached.
pub const FIRST_WINDOW: i64 = 64;

/// How long one window may take to read to the partition's end.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How long to wait for transactions left open in the progress partition by other producers
/// (the broker aborts them after their `transaction.timeout.ms`, 60 s for trustflow's, and
/// looks for such transactions every 10 s by default).
const STABLE_TIMEOUT: Duration = Duration::from_secs(90);

/// The largest epoch in a committed progress record keyed `app_id` on partition 0 of
/// `topic`, or `None` if there is none.
///
/// Only committed records count (`read_committed`): an aborted transaction's progress
/// record, like its change records, never happened. The read starts `FIRST_WINDOW` offsets
/// before the end and widens from there, because the last offsets may hold no record of
/// this app id at all: other app ids' records, aborted records and transaction markers
/// (which take offsets too) can all come after it. Epochs only grow, so the window's largest
/// epoch of the app id is the last one.
///
/// A `read_committed` reader stops at the partition's last stable offset: the first record of
/// a transaction still open. Our own producer's transaction is over (`init_transactions`
/// ended it), but another app id's may be open before our last record, so the read waits
/// until everything below the current end is decided, up to `STABLE_TIMEOUT`.
pub fn last_epoch(
    settings: &KafkaSettings,
    topic: &str,
    app_id: &str,
) -> Result<Option<u64>, KafkaOutputError> {
    // librdkafka refuses `assign` without a group id; nothing is ever committed under it.
    let group = format!("trustflow-{app_id}-progress");
    let consumer: BaseConsumer<ReaderContext> = settings
        .config(&[
            ("group.id", &group),
            ("isolation.level", "read_committed"),
            ("enable.partition.eof", "true"),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("auto.offset.reset", "earliest"),
            ("fetch.wait.max.ms", "10"),
        ])
        .create_with_context(ReaderContext)
        .map_err(KafkaOutputError::Config)?;
    let (low, high) = stable_end(settings, &consumer, topic)?;
    let mut window = FIRST_WINDOW;
    loop {
        let start = low.max(high.saturating_sub(window));
        let found = read_window(&consumer, topic, app_id, start)?;
        tracing::debug!(topic, app_id, start, high, ?found, "read the progress topic");
        if found.is_some() || start <= low {
            return Ok(found);
        }
        window = window.saturating_mul(2);
    }
}

/// The start and the end (high watermark) of partition 0, once the last stable offset, as
/// `committed` (a `read_committed` client) sees it, has reached that end.
fn stable_end(
    settings: &KafkaSettings,
    committed: &BaseConsumer<ReaderContext>,
    topic: &str,
) -> Result<(i64, i64), KafkaOutputError> {
    let progress_error = |source| KafkaOutputError::Progress { topic: topic.to_owned(), source };
    // Watermark queries use the client's isolation level: read_uncommitted gives the high
    // watermark, read_committed the last stable offset.
    let uncommitted: BaseConsumer = settings
        .config(&[("isolation.level", "read_uncommitted")])
        .create()
        .map_err(KafkaOutputError::Config)?;
    let (low, high) = uncommitted.fetch_watermarks(topic, 0, REQUEST_TIMEOUT).map_err(progress_error)?;
    let deadline = Instant::now() + STABLE_TIMEOUT;
    loop {
        let (_, stable) = committed.fetch_watermarks(topic, 0, REQUEST_TIMEOUT).map_err(progress_error)?;
        if stable >= high {
            return Ok((low, high));
        }
        if Instant::now() >= deadline {
            return Err(KafkaOutputError::ProgressTimeout {
                topic: topic.to_owned(),
                seconds: STABLE_TIMEOUT.as_secs(),
            });
        }
        tracing::info!(topic, stable, high, "waiting for an open transaction on the progress topic to end");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The largest epoch of `app_id` from offset `start` to the end of partition 0.
fn read_window(
    consumer: &BaseConsumer<ReaderContext>,
    topic: &str,
    app_id: &str,
    start: i64,
) -> Result<Option<u64>, KafkaOutputError> {
    let progress_error = |source| KafkaOutputError::Progress { topic: topic.to_owned(), source };
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(topic, 0, Offset::Offset(start)).map_err(progress_error)?;
    consumer.assign(&assignment).map_err(progress_error)?;
    let deadline = Instant::now() + READ_TIMEOUT;
    let mut last = None;
    loop {
        let Some(wait) = deadline.checked_duration_since(Instant::now()) else {
            return Err(KafkaOutputError::ProgressTimeout {
                topic: topic.to_owned(),
                seconds: READ_TIMEOUT.as_secs(),
            });
        };
        match consumer.poll(wait.min(Duration::from_millis(500))) {
            None => {}
            Some(Err(KafkaError::PartitionEOF(_))) => return Ok(last),
            Some(Err(source)) => return Err(progress_error(source)),
            Some(Ok(message)) if message.key() == Some(app_id.as_bytes()) => {
                let bad = |reason: String| KafkaOutputError::BadProgress {
                    topic: topic.to_owned(),
                    offset: message.offset(),
                    reason,
                };
                let payload = message.payload().ok_or_else(|| bad("no value".into()))?;
                let progress: Progress = serde_json::from_slice(payload).map_err(|e| bad(e.to_string()))?;
                last = last.max(Some(progress.epoch));
            }
            Some(Ok(_)) => {}
        }
    }
}
