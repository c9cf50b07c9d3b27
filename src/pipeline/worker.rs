//! One timely worker's part of a run: read, decode, feed the graph, and (worker 0) commit.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use differential_dataflow::input::{Input, InputSession};
use differential_dataflow::{AsCollection, ExchangeData, VecCollection};
use timely::dataflow::InputHandleVec;
use timely::dataflow::StreamVec;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::{Input as _, ToStream};
use timely::worker::Worker;

use super::PipelineConfig;
use super::commit::{Committer, Outputs, Pending, TablePaths};
use super::error::PipelineError;
use super::lineage_report::SharedReport;
use super::memory::Retained;
use super::resume::{ReplayPlan, Resume};
use super::sources::{Feed, Progress, Sources};
use super::summary::RunSummary;
use super::tally::{Gathered, Tally, gather};
use crate::codec::{Decoder, wire};
use crate::dataflow::anomaly::{Alert, monitor};
use crate::dataflow::expectations::route;
use crate::dataflow::horizon::{LateEvent, Mark, quality_within_marks};
use crate::dataflow::quality::graph::{quality_scored, quality_scored_with};
use crate::dataflow::quality::quality;
use crate::dataflow::windows::{DASHBOARD_WINDOW_MS, window_metrics};
use crate::governance::{governed, governed_late};
use crate::record::{Origin, Record, Transaction, UserEvent};
use crate::source::{DeadLetter, KafkaReader, Rejection};

/// Records handed over per poll before the worker steps the dataflow again.
const POLL_BATCH: usize = 8_192;
/// Epochs that may be in flight before the reader waits for the graph to catch up.
const MAX_EPOCHS_IN_FLIGHT: u64 = 4;
/// Records one worker may read into an epoch that cannot close yet (the graph is still busy
/// with the ones before it) before it stops reading until the graph catches up: bounds the
/// memory an open epoch takes under a backlog.
const MAX_OPEN_EPOCH_RECORDS: u64 = 1 << 20;
/// How long a worker that waits for the graph (backpressure, the end of a run) may sleep
/// when it has nothing to do; messages from other workers wake it earlier. Stepping without
/// parking spun a core that the other worker and the broker need.
const PARK: Duration = Duration::from_millis(1);

/// What a worker knows of the others.
pub(super) struct Peers {
    /// This process's index in the cluster (0 hosts worker 0, the committer).
    pub process: usize,
    /// Set when a worker of this process has failed: the others stop too, instead of waiting
    /// for it forever. (The failed worker's dataflow is dropped before its unfinished
    /// epochs' progress is sent, so no worker can see them complete and commit them.)
    pub failed: Arc<AtomicBool>,
}

impl Peers {
    /// `Err(PeerFailed)` once another worker of this process has failed.
    fn check(&self) -> Result<(), PipelineError> {
        if self.failed.load(Ordering::SeqCst) { Err(PipelineError::PeerFailed) } else { Ok(()) }
    }
}

/// Runs one worker to completion.
pub(super) fn run_worker(
    worker: &mut Worker,
    config: &PipelineConfig,
    totals: &Mutex<RunSummary>,
    retained: Retained,
    resume: Option<&Resume>,
    lineage: &SharedReport,
    others: &Peers,
) -> Result<(), PipelineError> {
    let process = others.process;
    let index = worker.index();
    let peers = worker.peers();
    // Ask the brokers first: a missing topic should not leave empty tables behind.
    // A resumed horizon run reads again only the records its state may need.
    let first_offset = |feed: Feed, partition: i32| match feed {
        Feed::Transactions => replay_plan(config, resume, partition).start,
        Feed::UserEvents => 0,
    };
    let mut sources = Sources::open(config, index, peers, resume, &first_offset)?;
    // Changes of epochs before the last committed one are replayed state, never written.
    let outputs = Rc::new(RefCell::new(Outputs::discarding_before(resume.map_or(0, |r| r.last.epoch))));
    let mut committer = if index == 0 {
        let tables = TablePaths::under(&config.output);
        let with_late = config.horizon.is_some();
        let partitions = sources.transaction_partition_count();
        let mut committer =
            Committer::open(&tables, config, partitions, with_late, retained.clone(), resume)?;
        committer.report_lineage(config, &tables, with_late, lineage)?;
        Some(committer)
    } else {
        None
    };

    let now_ms = config.now_ms;
    let expectations = config.expectations.clone();
    let horizon = config.horizon;
    let scorer = config.scorer.clone();
    let governor = config.governor.clone();
    let anomaly = config.anomaly;
    let reads_logins = config.user_events_topic.is_some();
    // Every worker's counts reach worker 0 at the end, for the summary of the whole run.
    let gathered = Rc::new(RefCell::new(Gathered::default()));
    let (
        mut input,
        mut watched,
        mut user_input,
        mut marks_input,
        mut positions_input,
        mut rejected_input,
        mut tally_input,
    ) = worker.dataflow::<u64, _, _>(|scope| {
        let (tally_input, tallies) = scope.new_input::<Tally>();
        gather(tallies, gathered.clone());
        let (input, transactions) = scope.new_collection::<Transaction, isize>();
        // Replayed rows the quality graph no longer needs, for the anomaly monitor only.
        let (watched, watched_only) = scope.new_collection::<Transaction, isize>();
        let (user_input, user_events) = scope.new_collection::<UserEvent, isize>();
        let (positions_input, positions) = scope.new_collection::<(Feed, i32, i64), isize>();
        buffer(positions, &outputs, |o| &mut o.positions);
        // Rejected records go to the committer, which publishes them with their epoch.
        let (rejected_input, rejected) = scope.new_collection::<DeadLetter, isize>();
        buffer(rejected, &outputs, |o| &mut o.dead_letters);
        let (marks_input, marks) = scope.new_input::<Mark>();
        // Every mark reaches the committer too: a horizon run records each epoch's marks.
        buffer(stamped(marks.clone()), &outputs, |o| &mut o.marks);
        // The monitor watches the decoded input itself, before the horizon and the routing.
        let alerts = match anomaly {
            Some(anomaly) => monitor(transactions.clone().concat(watched_only), anomaly),
            None => Vec::<(Alert, u64, isize)>::new().to_stream(scope).as_collection(),
        };
        buffer(alerts, &outputs, |o| &mut o.alerts);
        let (verdicts, late, held) = match horizon {
            Some(horizon) => {
                let bounded = quality_within_marks(transactions, marks, now_ms, horizon);
                // Each commit records which rows the state holds: what a restart feeds
                // again (`resume`).
                buffer(bounded.held, &outputs, |o| &mut o.held);
                (bounded.verdicts, bounded.late, bounded.retained)
            }
            // Without a horizon nothing is late (an empty, closed stream), and the graph
            // holds every row.
            None => {
                let late = Vec::<(LateEvent, u64, isize)>::new().to_stream(scope).as_collection();
                let held = Vec::<((i32, i64), u64, isize)>::new().to_stream(scope).as_collection();
                buffer(held, &outputs, |o| &mut o.held);
                let verdicts = match scorer {
                    // The per-user reduce walks each user's logins with their payments: a
                    // login read after them re-scores the payments it changes.
                    Some(scorer) if reads_logins => {
                        quality_scored_with(transactions.clone(), user_events, now_ms, scorer)
                    }
                    Some(scorer) => quality_scored(transactions.clone(), now_ms, scorer),
                    None => quality(transactions.clone(), now_ms),
                };
                (verdicts, late, transactions)
            }
        };
        buffer(governed_late(late, governor.clone()), &outputs, |o| &mut o.late);
        let counted = retained.clone();
        held.inspect(move |(_, _, diff)| counted.add(*diff));
        // The windows count users by their real ids; every row a table or topic receives is
        // protected by the run's PII policy.
        let windows = window_metrics(verdicts.clone(), DASHBOARD_WINDOW_MS);
        let routed = route(governed(verdicts, governor), &expectations);
        buffer(routed.kept, &outputs, |o| &mut o.quality);
        buffer(routed.quarantined, &outputs, |o| &mut o.quarantine);
        buffer(routed.dropped, &outputs, |o| &mut o.dropped);
        buffer(routed.fatal, &outputs, |o| &mut o.fatal);
        buffer(windows, &outputs, |o| &mut o.windows);
        buffer(routed.outcomes, &outputs, |o| &mut o.outcomes);
        (input, watched, user_input, marks_input, positions_input, rejected_input, tally_input)
    });
    // The buffers' frontiers are the graph's progress, as seen after the exchange.
    let lagging = |target: u64| outputs.borrow().in_progress(target);

    let mut decoder = Decoder::new(config.registry.clone());
    let topic: Arc<str> = Arc::from(config.topic.as_str());
    let mut counters = Tally::worker();
    let watching = config.anomaly.is_some();
    // Event-time progress per partition, only where a horizon needs it (off the hot path
    // otherwise); a resumed run continues from the marks its committed epochs recorded.
    let mine: Vec<i32> =
        sources.partitions().filter(|(f, _)| *f == Feed::Transactions).map(|(_, p)| p).collect();
    let mut progress = horizon.map(|_| SourceProgress::new(&mine, resume));

    // New epochs follow the last committed one. A resumed run first feeds what the committed
    // epochs read at those epochs (see `resume`), holding its inputs there until every one of
    // its partitions (of every topic) is replayed to the committed offset.
    let mut epoch: u64 = resume.map_or(1, |r| r.last.epoch + 1);
    let plans: BTreeMap<i32, ReplayPlan> =
        mine.iter().map(|p| (*p, replay_plan(config, resume, *p))).collect();
    let mut read = Progress::new(sources.partitions(), resume, &first_offset);
    // With a horizon, worker 0 sends each committed epoch's recorded marks again at that
    // epoch, so every replayed epoch is judged by the event time it was judged by before.
    let recorded = resume.filter(|_| index == 0).map_or(&[][..], |r| r.epochs.as_slice());
    let start = match resume {
        Some(resume) if !read.replaying.is_empty() || !recorded.is_empty() => resume.first_epoch(),
        _ => epoch,
    };
    let mut inputs = Inputs {
        transactions: &mut input,
        watched: &mut watched,
        user_events: &mut user_input,
        marks: &mut marks_input,
        positions: &mut positions_input,
        rejected: &mut rejected_input,
    };
    inputs.advance(start);
    for committed in recorded {
        inputs.marks.advance_to(committed.position.epoch);
        for mark in &committed.marks {
            inputs.marks.send(*mark);
        }
    }
    // Partitions wait while others replay, so that the first new epoch stays small.
    let all: Vec<(Feed, i32)> = sources.partitions().collect();
    let waiting: Vec<(Feed, i32)> = all.iter().copied().filter(|p| !read.replaying.contains_key(p)).collect();
    if !read.replaying.is_empty() {
        sources.pause(&waiting)?;
    }
    let mut epoch_started = Instant::now();
    let mut epoch_records: u64 = 0;
    while !sources.finished() && !config.stop.load(Ordering::Relaxed) {
        others.check()?;
        let mut failure = None;
        // A full epoch reads no further until it closes below (replayed epochs are bounded by
        // their committed offsets instead).
        let budget = match config.max_epoch_records {
            Some(max) if read.replaying.is_empty() => {
                max.saturating_sub(epoch_records).min(POLL_BATCH as u64)
            }
            _ => POLL_BATCH as u64,
        };
        sources.poll(budget as usize, Duration::from_millis(2), |feed, message| {
            counters.events += 1;
            epoch_records += 1;
            read.read(feed, message.partition, message.offset);
            let (at, fed) = match resume.and_then(|r| r.replay_epoch(feed, message.partition, message.offset))
            {
                Some(at) => {
                    let fed = feed != Feed::Transactions
                        || plans.get(&message.partition).is_none_or(|plan| plan.feeds(message.offset));
                    *(if fed { &mut counters.replayed } else { &mut counters.skipped }) += 1;
                    (at, fed)
                }
                None => (epoch, true),
            };
            // A committed record the quality graph no longer needs (`resume`) is read but not
            // fed to it; the anomaly monitor, which counts every record, still gets it.
            if !fed && !watching {
                return;
            }
            let payload = message.payload.unwrap_or_default();
            let rejection = match decoder.decode(payload) {
                Ok(decoded) => match (feed, decoded.record) {
                    (Feed::Transactions, Record::Transaction(mut row)) => {
                        row.origin = Some(Origin {
                            topic: topic.clone(),
                            partition: message.partition,
                            offset: message.offset,
                            schema_id: decoded.schema_id,
                        });
                        if !fed {
                            inputs.watched.update_at(row, at, 1);
                            return;
                        }
                        counters.transactions += 1;
                        // A replayed row's mark is among those its epoch recorded.
                        if let (Some(progress), Some(ts), true) =
                            (progress.as_mut(), row.timestamp.filter(|ts| *ts <= now_ms), at == epoch)
                        {
                            progress.read(message.partition, ts);
                        }
                        inputs.transactions.update_at(row, at, 1);
                        return;
                    }
                    (Feed::UserEvents, Record::UserEvent(event)) => {
                        counters.user_events += 1;
                        inputs.user_events.update_at(event, at, 1);
                        return;
                    }
                    (feed, other) => Rejection {
                        reason: "unexpected_record_type",
                        message: format!(
                            "schema {} on topic {} is not a {}: {other:?}",
                            decoded.schema_id,
                            message.topic,
                            match feed {
                                Feed::Transactions => "transaction",
                                Feed::UserEvents => "user event",
                            }
                        ),
                        schema_id: Some(decoded.schema_id),
                    },
                },
                Err(error) if error.is_retryable() => {
                    // The registry is unavailable: the record is fine, so stop rather than
                    // dead-letter it (a restart reads it again).
                    failure.get_or_insert(PipelineError::Codec(error));
                    return;
                }
                // Dead-lettered when it was first read (in an epoch before the last committed
                // one, whose dead letters are published already).
                Err(_) if !fed => return,
                Err(error) => Rejection {
                    reason: error.reason(),
                    message: error.to_string(),
                    schema_id: wire::split(payload).ok().map(|(id, _)| id),
                },
            };
            if at == epoch {
                *counters.dead_lettered.entry(rejection.reason.to_owned()).or_default() += 1;
            }
            let topic = if feed == Feed::Transactions { topic.clone() } else { Arc::from(message.topic) };
            inputs.rejected.update_at(DeadLetter::new(&topic, &message, rejection), at, 1);
        })?;
        if let Some(e) = failure {
            return Err(e);
        }
        if let Some(((feed, partition), target)) =
            read.replaying.iter().find(|((f, p), _)| sources.idle(*f, *p))
        {
            return Err(PipelineError::ReplayShort {
                topic: sources.name(*feed).to_owned(),
                partition: *partition,
                end: read.end(*feed, *partition),
                target: *target,
            });
        }
        if !read.replaying.is_empty() && !read.replayed_now.is_empty() {
            sources.pause(&read.replayed_now)?;
        }
        read.replayed_now.clear();
        if read.replaying.is_empty() && inputs.transactions.time() < &epoch {
            sources.resume(&all)?;
            tracing::info!(
                worker = index,
                replayed = counters.replayed,
                "replayed to the committed position"
            );
            inputs.advance(epoch);
            epoch_started = Instant::now();
            epoch_records = 0;
        }
        // An epoch closes once it is due and the graph has finished every epoch before it.
        // Under a backlog the open epoch therefore grows while the graph works, and the
        // epochs' size follows the graph's speed: each epoch costs work proportional to the
        // state it touches, so fewer, larger epochs read a backlog faster. A graph that keeps
        // up sees no difference: its epochs close on time.
        // (With a horizon, epochs keep their cadence: which rows are late depends on the
        // epochs' boundaries, and its state stays bounded anyway.)
        // An epoch that holds --max-epoch-records closes at once, caught up or not; the limit
        // on epochs in flight below then holds the reader back.
        let caught_up = horizon.is_some() || !lagging(epoch);
        let full = config.max_epoch_records.is_some_and(|max| epoch_records >= max);
        if read.replaying.is_empty() && ((epoch_started.elapsed() >= config.epoch && caught_up) || full) {
            if let Some(progress) = progress.as_mut() {
                progress.send(inputs.marks, sources.transactions());
            }
            send_positions(inputs.positions, &mut read.next_offsets, epoch);
            epoch += 1;
            inputs.advance(epoch);
            epoch_started = Instant::now();
            epoch_records = 0;
        }
        worker.step();
        // (While replaying, the inputs hold the frontier at the replayed epochs on purpose.)
        while read.replaying.is_empty()
            && (lagging(epoch.saturating_sub(MAX_EPOCHS_IN_FLIGHT))
                || (horizon.is_none() && epoch_records >= MAX_OPEN_EPOCH_RECORDS && lagging(epoch)))
        {
            others.check()?;
            worker.step_or_park(Some(PARK));
        }
        if let Some(committer) = committer.as_mut() {
            committer.commit_ready(&outputs)?;
        }
    }
    others.check()?;
    if let Some(progress) = progress.as_mut() {
        progress.send(inputs.marks, sources.transactions());
    }
    if read.replaying.is_empty() {
        send_positions(inputs.positions, &mut read.next_offsets, epoch);
    } else if let Some(resume) = resume {
        // Stopped before the state was rebuilt: no later epoch may be committed.
        tracing::warn!(
            worker = index,
            "stopped while replaying: nothing after epoch {} is committed",
            resume.last.epoch
        );
        inputs.positions.update_at(REPLAY_INTERRUPTED, resume.last.epoch, 1);
    }
    drop(input);
    drop(watched);
    drop(user_input);
    drop(marks_input);
    drop(positions_input);
    drop(rejected_input);
    tally_input.send(counters.clone());
    drop(tally_input);
    loop {
        if let Some(committer) = committer.as_mut() {
            committer.commit_ready(&outputs)?;
        }
        if !lagging(u64::MAX) && gathered.borrow().complete {
            break;
        }
        others.check()?;
        worker.step_or_park(Some(PARK));
    }
    if let Some(committer) = committer.as_mut() {
        committer.maintain_at_end()?;
    }

    let mut totals = totals.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    // Worker 0 counts the whole cluster; workers of other processes count themselves, for
    // their own process's summary.
    if index == 0 {
        gathered.borrow().sum.count_into(&mut totals);
    } else if process != 0 {
        counters.count_into(&mut totals);
    }
    totals.resumed_after = resume.map(|r| r.last.epoch);
    if let Some(mut committer) = committer {
        // The last retirements change no table, so sample the state once more at the end.
        committer.state.sample(retained.get());
        totals.replay_interrupted = committer.halted();
        totals.table = Some(committer.stats);
        totals.state = Some(committer.state);
    }
    totals.horizon = config.horizon.map(|h| h.to_string());
    Ok(())
}

/// Which records of `partition` a resumed run feeds again: with a horizon,
/// [`Resume::replay_plan`] (those the graph's state may still need), else all of them.
///
/// A horizon run skips records only when that is exact for every output (see `resume`): when
/// a retirement bucket is a whole number of dashboard windows, so that the windows of skipped
/// rows lie wholly before every row a later epoch can change. (The anomaly monitor, which
/// counts every record, still gets the skipped ones.)
fn replay_plan(config: &PipelineConfig, resume: Option<&Resume>, partition: i32) -> ReplayPlan {
    let (Some(resume), Some(horizon)) = (resume, config.horizon) else { return ReplayPlan::everything() };
    if horizon.bucket_ms % DASHBOARD_WINDOW_MS != 0 {
        return ReplayPlan::everything();
    }
    resume.replay_plan(partition)
}

/// The position a worker reports when it stops before its replay ends: epochs after the
/// resumed one must not be committed, their state being incomplete.
pub(super) const REPLAY_INTERRUPTED: (Feed, i32, i64) = (Feed::Transactions, -1, 0);

/// The graph's inputs, moved together from epoch to epoch.
struct Inputs<'a> {
    transactions: &'a mut InputSession<u64, Transaction, isize>,
    watched: &'a mut InputSession<u64, Transaction, isize>,
    user_events: &'a mut InputSession<u64, UserEvent, isize>,
    marks: &'a mut InputHandleVec<u64, Mark>,
    positions: &'a mut InputSession<u64, (Feed, i32, i64), isize>,
    rejected: &'a mut InputSession<u64, DeadLetter, isize>,
}

impl Inputs<'_> {
    /// Moves every input to `epoch`. A session moves its handle's time only when it flushes,
    /// so the sessions flush.
    fn advance(&mut self, epoch: u64) {
        self.transactions.advance_to(epoch);
        self.watched.advance_to(epoch);
        self.user_events.advance_to(epoch);
        self.marks.advance_to(epoch);
        self.positions.advance_to(epoch);
        self.rejected.advance_to(epoch);
        self.transactions.flush();
        self.watched.flush();
        self.user_events.flush();
        self.positions.flush();
        self.rejected.flush();
    }
}

/// Reports, at `epoch`, the offsets after the last record read of the partitions that moved.
fn send_positions(
    positions: &mut InputSession<u64, (Feed, i32, i64), isize>,
    next_offsets: &mut BTreeMap<(Feed, i32), (i64, bool)>,
    epoch: u64,
) {
    for ((feed, partition), (next, moved)) in next_offsets.iter_mut() {
        if std::mem::take(moved) {
            positions.update_at((*feed, *partition, *next), epoch, 1);
        }
    }
}

/// Gathers `collection`'s changes on worker 0 into the output buffer that `select` names,
/// and keeps that buffer's frontier current on every worker.
fn buffer<'scope, R>(
    collection: VecCollection<'scope, u64, R>,
    outputs: &Rc<RefCell<Outputs>>,
    select: fn(&mut Outputs) -> &mut Pending<R>,
) where
    R: ExchangeData,
{
    let outputs = outputs.clone();
    collection.inner.sink(
        Exchange::new(|_: &(R, u64, isize)| 0),
        "CommitBuffer",
        move |(input, frontier)| {
            let mut outputs = outputs.borrow_mut();
            let pending = select(&mut outputs);
            input.for_each(|_, data| {
                for (row, epoch, diff) in data.drain(..) {
                    if epoch >= pending.keep_from {
                        pending.by_epoch.entry(epoch).or_default().push((row, diff));
                    }
                }
            });
            pending.frontier = frontier.frontier().to_vec();
        },
    );
}

/// Each mark with the epoch it was sent at, as a collection (for the committer's buffer).
fn stamped<'scope>(marks: StreamVec<'scope, u64, Mark>) -> VecCollection<'scope, u64, Mark> {
    marks
        .unary(Pipeline, "StampMarks", |_, _| {
            move |input, output| {
                input.for_each(|cap, data| {
                    let Some(time) = cap.least().copied() else { return };
                    output
                        .session(&cap.delayed(&time, 0))
                        .give_iterator(data.drain(..).map(|m| (m, time, 1)));
                });
            }
        })
        .as_collection()
}

/// Event-time progress of this worker's partitions, reported to the horizon as [`Mark`]s at
/// the epoch of the rows they cover.
struct SourceProgress {
    /// Per partition: the largest timestamp (at or before "now") read in the current epoch,
    /// and whether it was reported idle (read to its end) last.
    partitions: BTreeMap<i32, (Option<i64>, bool)>,
    /// Whether every partition has been announced.
    registered: bool,
}

impl SourceProgress {
    /// The progress of `partitions`, as the committed epochs of `resume` left it, if any.
    fn new(partitions: &[i32], resume: Option<&Resume>) -> SourceProgress {
        let finished = resume.map(Resume::finished_sources).unwrap_or_default();
        SourceProgress {
            partitions: partitions
                .iter()
                .map(|p| (*p, (None, finished.get(&i64::from(*p)).copied().unwrap_or(false))))
                .collect(),
            registered: resume.is_some_and(|r| !r.epochs.is_empty()),
        }
    }

    /// A row with timestamp `ts` was read from `partition`.
    fn read(&mut self, partition: i32, ts: i64) {
        if let Some((max, _)) = self.partitions.get_mut(&partition) {
            *max = (*max).max(Some(ts));
        }
    }

    /// Sends the current epoch's marks: every partition in the first epoch (a partition not
    /// read yet holds event time back), then those that delivered rows or became idle or
    /// active again (an idle partition, read to its end, does not hold event time back).
    fn send(&mut self, marks: &mut InputHandleVec<u64, Mark>, reader: &KafkaReader) {
        let first = !std::mem::replace(&mut self.registered, true);
        for (partition, (max, idle)) in &mut self.partitions {
            let now_idle = reader.partition_idle(*partition);
            if first || max.is_some() || now_idle != *idle {
                marks.send(Mark { source: i64::from(*partition), max_ts: max.take(), finished: now_idle });
            }
            *idle = now_idle;
        }
    }
}
