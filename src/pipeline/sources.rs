//! The topics one worker reads: the transactions and, when a model joins logins, the user events.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::PipelineConfig;
use super::error::PipelineError;
use super::resume::Resume;
use crate::source::{KafkaReader, SourceError, SourceMessage, partitions_for_worker};

/// A topic the run reads. Each has its own offsets in the committed position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Feed {
    /// The transactions topic.
    Transactions,
    /// The user-events topic (logins), read when a fraud model scores with login features.
    UserEvents,
}

/// One topic's reader over this worker's partitions of it.
struct Topic {
    feed: Feed,
    name: String,
    reader: KafkaReader,
    mine: Vec<i32>,
}

/// This worker's readers, one per topic the run reads, each over its share of the partitions
/// (partition ownership is decided per topic, see [`partitions_for_worker`]).
pub(super) struct Sources {
    topics: Vec<Topic>,
    /// Partitions of the transactions topic, all workers' together.
    transaction_partitions: usize,
    /// The topic the next poll asks first (an index into `topics`).
    turn: usize,
}

impl Sources {
    /// Opens the readers of worker `index` of `peers`. Checks first that every partition a
    /// resumed run committed an offset for still exists.
    pub(super) fn open(
        config: &PipelineConfig,
        index: usize,
        peers: usize,
        resume: Option<&Resume>,
        start: &dyn Fn(Feed, i32) -> i64,
    ) -> Result<Sources, PipelineError> {
        let mut feeds = vec![(Feed::Transactions, config.topic.as_str())];
        if let Some(topic) = &config.user_events_topic {
            feeds.push((Feed::UserEvents, topic.as_str()));
        }
        let mut topics = Vec::with_capacity(feeds.len());
        let mut transaction_partitions = 0;
        for (feed, name) in feeds {
            let partitions = match config.kafka.partitions(name) {
                Err(SourceError::UnknownTopic { topic, brokers }) if feed == Feed::UserEvents => {
                    return Err(PipelineError::NoUserEvents { topic, brokers });
                }
                other => other?,
            };
            if feed == Feed::Transactions {
                transaction_partitions = partitions.len();
            }
            if let Some(resume) = resume
                && let Some(partition) = resume.last.offsets(feed).keys().find(|p| !partitions.contains(p))
            {
                return Err(PipelineError::ReplayShort {
                    topic: name.to_owned(),
                    partition: *partition,
                    end: 0,
                    target: resume.target(feed, *partition),
                });
            }
            let mine = partitions_for_worker(&partitions, index, peers);
            tracing::info!(worker = index, topic = name, partitions = ?mine, "assigned");
            // Each partition from the first record the run needs (a resumed horizon run skips
            // what its state no longer holds).
            let starts: BTreeMap<i32, i64> = mine.iter().map(|p| (*p, start(feed, *p))).collect();
            let reader = KafkaReader::open(&config.kafka, &config.group, name, &starts, config.bounded)?;
            topics.push(Topic { feed, name: name.to_owned(), reader, mine });
        }
        Ok(Sources { topics, transaction_partitions, turn: 0 })
    }

    /// How many partitions the transactions topic has.
    pub(super) fn transaction_partition_count(&self) -> usize {
        self.transaction_partitions
    }

    /// The reader of the transactions topic.
    pub(super) fn transactions(&self) -> &KafkaReader {
        &self.topics[0].reader
    }

    /// Every partition this worker reads, with its topic.
    pub(super) fn partitions(&self) -> impl Iterator<Item = (Feed, i32)> + '_ {
        self.topics.iter().flat_map(|t| t.mine.iter().map(move |p| (t.feed, *p)))
    }

    /// The name of `feed`'s topic.
    pub(super) fn name(&self, feed: Feed) -> &str {
        self.topic(feed).map_or("", |t| t.name.as_str())
    }

    fn topic(&self, feed: Feed) -> Option<&Topic> {
        self.topics.iter().find(|t| t.feed == feed)
    }

    /// Whether a bounded run has read every partition of every topic to its end.
    pub(super) fn finished(&self) -> bool {
        self.topics.iter().all(|t| t.reader.finished())
    }

    /// Whether `partition` of `feed` has nothing more to read for now.
    pub(super) fn idle(&self, feed: Feed, partition: i32) -> bool {
        self.topic(feed).is_some_and(|t| t.reader.partition_idle(partition))
    }

    /// Stops fetching `partitions` (each with its topic).
    pub(super) fn pause(&self, partitions: &[(Feed, i32)]) -> Result<(), PipelineError> {
        self.each_topic(partitions, |reader, list| reader.pause(list))
    }

    /// Fetches `partitions` again.
    pub(super) fn resume(&self, partitions: &[(Feed, i32)]) -> Result<(), PipelineError> {
        self.each_topic(partitions, |reader, list| reader.resume(list))
    }

    fn each_topic(
        &self,
        partitions: &[(Feed, i32)],
        act: impl Fn(&KafkaReader, &[i32]) -> Result<(), SourceError>,
    ) -> Result<(), PipelineError> {
        for topic in &self.topics {
            let list: Vec<i32> =
                partitions.iter().filter(|(f, _)| *f == topic.feed).map(|(_, p)| *p).collect();
            if !list.is_empty() {
                act(&topic.reader, &list)?;
            }
        }
        Ok(())
    }

    /// Hands up to `max` records in all to `each`. The topic asked first takes turns, so that
    /// a full topic cannot starve the other of a small budget. Only the transactions topic is
    /// waited for (at most `timeout`, and only if nothing was handed over before it): an idle
    /// user-events topic costs no wait.
    pub(super) fn poll(
        &mut self,
        max: usize,
        timeout: Duration,
        mut each: impl FnMut(Feed, SourceMessage<'_>),
    ) -> Result<usize, PipelineError> {
        let mut seen = 0;
        let count = self.topics.len();
        self.turn = (self.turn + 1) % count;
        for i in 0..count {
            let topic = &mut self.topics[(self.turn + i) % count];
            let feed = topic.feed;
            let wait = if feed == Feed::Transactions && seen == 0 { timeout } else { Duration::ZERO };
            seen += topic.reader.poll_batch(max - seen, wait, |message| each(feed, message))?;
        }
        Ok(seen)
    }
}

/// A resumed run's replay: per partition, the committed offset it must be read to before new
/// epochs start, and what each partition has read.
#[derive(Default)]
pub(super) struct Progress {
    /// Partitions still replaying, with the offset they must reach.
    pub replaying: BTreeMap<(Feed, i32), i64>,
    /// Partitions that reached their target during the last poll.
    pub replayed_now: Vec<(Feed, i32)>,
    /// Per partition, the offset after the last record read, and whether it moved this epoch.
    pub next_offsets: BTreeMap<(Feed, i32), (i64, bool)>,
}

impl Progress {
    /// The replay of `resume` over this worker's `partitions`, each read from `start`.
    pub(super) fn new(
        partitions: impl Iterator<Item = (Feed, i32)>,
        resume: Option<&Resume>,
        start: &dyn Fn(Feed, i32) -> i64,
    ) -> Progress {
        let replaying = partitions
            .filter_map(|(feed, p)| resume.map(|r| ((feed, p), r.target(feed, p))))
            .filter(|((feed, p), target)| *target > start(*feed, *p))
            .collect();
        Progress { replaying, ..Progress::default() }
    }

    /// A record at `offset` of `partition` was read.
    pub(super) fn read(&mut self, feed: Feed, partition: i32, offset: i64) {
        self.next_offsets.insert((feed, partition), (offset + 1, true));
        if self.replaying.get(&(feed, partition)).is_some_and(|target| offset + 1 >= *target) {
            self.replaying.remove(&(feed, partition));
            self.replayed_now.push((feed, partition));
        }
    }

    /// Where reading `partition` ended so far.
    pub(super) fn end(&self, feed: Feed, partition: i32) -> i64 {
        self.next_offsets.get(&(feed, partition)).map_or(0, |(next, _)| *next)
    }
}
