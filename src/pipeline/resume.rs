//! Where a run resumes: the last committed epoch and the source offsets behind it.
//!
//! Every commit of the main table carries, in its `commitInfo`, the topic, the offset after
//! the last record of each partition read through that epoch (and of the user-events topic,
//! when a model joins logins), the same for the epoch committed before it, and the run's
//! settings a restart must share ("now", the model, the user-events topic, the PII policy,
//! the horizon). The main table is committed first in each epoch, so after a
//! crash the other sinks are at that epoch or at the one before. On restart the run replays
//! the topic from its beginning:
//!
//! * Without a horizon, records before the previous position are fed at the previous epoch,
//!   records up to the last position at the last epoch (so that epoch's changes are computed
//!   again exactly, for the sinks that missed it), and everything after at new epochs. The
//!   graph's output is a function of its accumulated input, so the epochs after the last one
//!   change the tables exactly as the failure-free run would have.
//! * With a horizon, which rows are late and which verdicts are frozen depends on how the
//!   input was cut into epochs and on the event-time marks of each epoch. Such a run commits
//!   every epoch that read records or moved a mark, recording the marks and, per partition,
//!   which rows its state still holds (`held`: a few scattered offsets, then a range). A
//!   restart sends every committed epoch's marks again at that epoch, and feeds only the
//!   records of [`Resume::replay_plan`], each at the epoch that first read it.
//!
//! Why skipping the other records is exact: take `P`, the epoch committed before the last
//! one `L`, and what its state held. A record it did not hold was read in `P` or earlier
//! and, by `P`, was either set aside as late (its only output, in its own epoch, is already
//! committed) or retired from the user histories and the transactionId counts. The graph's
//! state after `P` is then the same without those records: per user the history keeps the 5
//! newest expired rows, none of which is skipped, so the same rows are retired either way; a
//! transactionId's copies are retired all together, so a skipped copy's id holds no live copy
//! at `P`. Event time is the same (the marks are sent again). From the same state, marks and
//! records, every epoch after `P`, `L` included, emits the same changes. The accumulated
//! outputs differ only in frozen verdicts of expired rows, before the cutoff's bucket, which
//! no later change touches; the dashboard windows that hold them are final too when a bucket
//! is a whole number of windows, so a restart skips only then. The anomaly monitor, which
//! counts every record read, still gets the skipped ones (fed to it alone). Commits without
//! `held` (written before it was recorded) replay everything.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::error::PipelineError;
use super::held::HeldRange;
use super::sources::Feed;
use crate::dataflow::horizon::Mark;

/// Per partition, the offset after the last record read.
pub type Offsets = BTreeMap<i32, i64>;

/// A committed epoch and the source offsets it covers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Position {
    /// The epoch.
    pub epoch: u64,
    /// Per partition of the transactions topic, the offset after the last record of this
    /// epoch or an earlier one.
    pub offsets: Offsets,
    /// The same for the user-events topic (empty when the run reads none).
    pub user_events: Offsets,
}

impl Position {
    /// The offsets of `feed`'s topic.
    pub fn offsets(&self, feed: Feed) -> &Offsets {
        match feed {
            Feed::Transactions => &self.offsets,
            Feed::UserEvents => &self.user_events,
        }
    }

    /// The offsets of `feed`'s topic, to move.
    pub fn offsets_mut(&mut self, feed: Feed) -> &mut Offsets {
        match feed {
            Feed::Transactions => &mut self.offsets,
            Feed::UserEvents => &mut self.user_events,
        }
    }
}

/// The fraud model whose scores a run commits: a restarted run must score with the same one,
/// or the retractions it computes again would not match the rows committed before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelId {
    /// The registry version.
    pub version: u32,
    /// SHA-256 of the artifact.
    pub sha256: String,
}

impl std::fmt::Display for ModelId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "version {} (sha256 {})", self.version, self.sha256)
    }
}

/// Where a restarted run picks up, read from the main table's last commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resume {
    /// The topic the committed epochs were read from.
    pub topic: String,
    /// The user-events topic whose logins the committed scores joined (`None`: none read).
    pub user_events_topic: Option<String>,
    /// The fraud model the committed epochs were scored with (`None`: not scored).
    pub model: Option<ModelId>,
    /// The PII policy the committed rows were written under ([`Governor::id`]).
    ///
    /// [`Governor::id`]: crate::governance::Governor::id
    pub pii_policy: Option<String>,
    /// The "now" of timestamp validity the committed epochs were judged by (`None`: commits
    /// written before it was recorded).
    pub now_ms: Option<i64>,
    /// The event-time horizon of the committed epochs, milliseconds (`None`: no horizon).
    pub horizon_ms: Option<i64>,
    /// The last committed epoch.
    pub last: Position,
    /// The epoch committed before it, if any.
    pub previous: Option<Position>,
    /// With a horizon: every committed epoch of the run, oldest first, each replayed as it
    /// was read (see [`Resume::with_history`]). Empty without a horizon.
    pub epochs: Vec<CommittedEpoch>,
}

/// One committed epoch of a run with a horizon: its position and the marks it read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommittedEpoch {
    /// The epoch and the offsets read through it.
    pub position: Position,
    /// The event-time marks the epoch's workers sent.
    pub marks: Vec<Mark>,
    /// Per partition, the rows the state held at the end of the epoch (a partition absent:
    /// none); `None` when the commit does not record it.
    pub held: Option<BTreeMap<i32, HeldRange>>,
}

/// What every commit of the main table records besides its position: the settings a run
/// must keep from start to end, or its replayed epochs would not retract what was committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunIdentity {
    /// The topic read.
    pub topic: String,
    /// The user-events topic read for the model's login features, if any.
    pub user_events_topic: Option<String>,
    /// The "now" of timestamp validity.
    pub now_ms: i64,
    /// The fraud model scoring the rows, if any.
    pub model: Option<ModelId>,
    /// The PII policy the rows are written under.
    pub pii_policy: Option<String>,
    /// The event-time horizon, milliseconds, if any.
    pub horizon_ms: Option<i64>,
}

/// The `commitInfo` metadata of the main table's commit of `current` by the run `run`, whose
/// workers sent `marks` in that epoch and whose state held the rows `held` names (runs with
/// a horizon).
pub fn commit_info(
    run: &RunIdentity,
    current: &Position,
    previous: Option<&Position>,
    marks: &[Mark],
    held: &BTreeMap<i32, HeldRange>,
) -> BTreeMap<String, Value> {
    let offsets =
        |o: &Offsets| o.iter().map(|(p, off)| (p.to_string(), json!(off))).collect::<serde_json::Map<_, _>>();
    let mut info = BTreeMap::new();
    info.insert("source".to_owned(), json!({ "topic": run.topic, "offsets": offsets(&current.offsets) }));
    if let Some(topic) = &run.user_events_topic {
        info.insert(
            "user_events".to_owned(),
            json!({ "topic": topic, "offsets": offsets(&current.user_events) }),
        );
    }
    if let Some(previous) = previous {
        let mut recorded = json!({ "epoch": previous.epoch, "offsets": offsets(&previous.offsets) });
        if run.user_events_topic.is_some() {
            recorded["user_events_offsets"] = Value::Object(offsets(&previous.user_events));
        }
        info.insert("previous".to_owned(), recorded);
    }
    info.insert("now_ms".to_owned(), json!(run.now_ms));
    if let Some(model) = &run.model {
        info.insert("model".to_owned(), json!({ "version": model.version, "sha256": model.sha256 }));
    }
    if let Some(policy) = &run.pii_policy {
        info.insert("governance".to_owned(), json!({ "pii_policy": policy }));
    }
    if let Some(width_ms) = run.horizon_ms {
        let marks: Vec<Value> = marks.iter().map(|m| json!([m.source, m.max_ts, m.finished])).collect();
        info.insert(
            "horizon".to_owned(),
            json!({ "width_ms": width_ms, "marks": marks, "held": held_json(held) }),
        );
    }
    info
}

impl Resume {
    /// The resume point of a table whose last commit for this app is `epoch` with `info`.
    pub fn from_info(
        table: &str,
        epoch: u64,
        info: &BTreeMap<String, Value>,
    ) -> Result<Resume, PipelineError> {
        let invalid = |what: &str| PipelineError::InvalidPosition {
            table: table.to_owned(),
            epoch,
            reason: what.to_owned(),
        };
        let source = info.get("source").ok_or_else(|| invalid("its commit records no source offsets"))?;
        let topic = source["topic"].as_str().ok_or_else(|| invalid("no source topic"))?.to_owned();
        // Commits of runs that read no user events have no `user_events`.
        let (user_events_topic, user_events) = match info.get("user_events") {
            None => (None, Offsets::new()),
            Some(u) => (
                Some(u["topic"].as_str().ok_or_else(|| invalid("no user-events topic"))?.to_owned()),
                parse_offsets(&u["offsets"]).ok_or_else(|| invalid("bad user-events offsets"))?,
            ),
        };
        let last = Position {
            epoch,
            offsets: parse_offsets(&source["offsets"]).ok_or_else(|| invalid("bad offsets"))?,
            user_events,
        };
        let previous = match info.get("previous") {
            None => None,
            Some(p) => {
                let epoch = p["epoch"]
                    .as_u64()
                    .filter(|e| *e < epoch)
                    .ok_or_else(|| invalid("bad previous epoch"))?;
                let offsets = parse_offsets(&p["offsets"]).ok_or_else(|| invalid("bad previous offsets"))?;
                let user_events = match p.get("user_events_offsets") {
                    None => Offsets::new(),
                    Some(o) => parse_offsets(o).ok_or_else(|| invalid("bad previous user-events offsets"))?,
                };
                Some(Position { epoch, offsets, user_events })
            }
        };
        let model = match info.get("model") {
            None => None,
            Some(m) => Some(ModelId {
                version: m["version"]
                    .as_u64()
                    .and_then(|v| u32::try_from(v).ok())
                    .ok_or_else(|| invalid("bad model version"))?,
                sha256: m["sha256"].as_str().ok_or_else(|| invalid("bad model hash"))?.to_owned(),
            }),
        };
        let pii_policy = match info.get("governance") {
            None => None,
            Some(g) => Some(g["pii_policy"].as_str().ok_or_else(|| invalid("bad PII policy id"))?.to_owned()),
        };
        let now_ms = match info.get("now_ms") {
            None => None,
            Some(now) => Some(now.as_i64().ok_or_else(|| invalid("bad now_ms"))?),
        };
        let horizon_ms = match info.get("horizon") {
            None => None,
            Some(h) => Some(h["width_ms"].as_i64().filter(|w| *w > 0).ok_or_else(|| invalid("bad horizon"))?),
        };
        Ok(Resume {
            topic,
            user_events_topic,
            model,
            pii_policy,
            now_ms,
            horizon_ms,
            last,
            previous,
            epochs: Vec::new(),
        })
    }

    /// The resume point of a run with a horizon, given every commit of the app in the main
    /// table (`history`: epoch and commit info, in any order; it includes the last one).
    ///
    /// The commits must form one unbroken chain (each names the one before it as `previous`)
    /// back to the run's first epoch: a horizon run replays every committed epoch as it was
    /// cut. A chain whose start is gone (the table's log was cleaned after
    /// `delta.logRetentionDuration`) cannot be resumed exactly, and is refused.
    pub fn with_history(
        mut self,
        table: &str,
        mut history: Vec<(u64, BTreeMap<String, Value>)>,
    ) -> Result<Resume, PipelineError> {
        history.sort_by_key(|(epoch, _)| *epoch);
        history.dedup_by_key(|(epoch, _)| *epoch);
        let mut epochs: Vec<CommittedEpoch> = Vec::with_capacity(history.len());
        for (epoch, info) in &history {
            let invalid = |what: String| PipelineError::InvalidPosition {
                table: table.to_owned(),
                epoch: *epoch,
                reason: what,
            };
            let step = Resume::from_info(table, *epoch, info)?;
            let expected = epochs.last().map(|e| e.position.epoch);
            let previous = step.previous.as_ref().map(|p| p.epoch);
            if previous != expected {
                let found = |e: Option<u64>| e.map_or("none".to_owned(), |e| e.to_string());
                return Err(invalid(format!(
                    "the log does not hold every commit of the run (this commit follows epoch {}, the \
                     log's commit before it is epoch {}; was the log cleaned up?): a run with a horizon \
                     replays every committed epoch as it was cut",
                    found(previous),
                    found(expected)
                )));
            }
            let marks = info
                .get("horizon")
                .and_then(|h| parse_marks(&h["marks"]))
                .ok_or_else(|| invalid("its commit records no horizon marks".to_owned()))?;
            let held = match info.get("horizon").and_then(|h| h.get("held")) {
                None => None,
                Some(held) => Some(parse_held(held).ok_or_else(|| invalid("bad held offsets".to_owned()))?),
            };
            epochs.push(CommittedEpoch { position: step.last, marks, held });
        }
        if epochs.last().map(|e| e.position.epoch) != Some(self.last.epoch) {
            return Err(PipelineError::InvalidPosition {
                table: table.to_owned(),
                epoch: self.last.epoch,
                reason: "the log's history does not end at the last committed epoch".to_owned(),
            });
        }
        self.epochs = epochs;
        Ok(self)
    }

    /// The epoch at which a replayed record of `feed`'s `partition` at `offset` is fed: the
    /// previous epoch, the last one, or `None` for a record after the last position (a new
    /// epoch). With a horizon, the committed epoch that first covered it.
    pub fn replay_epoch(&self, feed: Feed, partition: i32, offset: i64) -> Option<u64> {
        let end = |p: &Position| p.offsets(feed).get(&partition).copied().unwrap_or(0);
        if !self.epochs.is_empty() {
            let covered = |e: &CommittedEpoch| end(&e.position) <= offset;
            return self.epochs.get(self.epochs.partition_point(covered)).map(|e| e.position.epoch);
        }
        if let Some(previous) = &self.previous
            && offset < end(previous)
        {
            return Some(previous.epoch);
        }
        (offset < end(&self.last)).then_some(self.last.epoch)
    }

    /// Which records of `partition` a horizon run feeds again on restart: those the state held
    /// at the end of the epoch committed before the last one, and everything read after that
    /// epoch (see the module's documentation for why this is exact). Everything when there
    /// are not two committed epochs or that commit does not record what it held.
    pub fn replay_plan(&self, partition: i32) -> ReplayPlan {
        let [.., before, _last] = self.epochs.as_slice() else { return ReplayPlan::everything() };
        let Some(held) = &before.held else { return ReplayPlan::everything() };
        let read = before.position.offsets.get(&partition).copied().unwrap_or(0);
        let held = held.get(&partition).cloned().unwrap_or_default();
        let range = held.from.unwrap_or(read).min(read);
        let listed: Vec<i64> = held.listed.into_iter().filter(|o| *o < range).collect();
        ReplayPlan { start: listed.first().copied().unwrap_or(range).min(range), listed, range }
    }

    /// The earliest epoch the replay feeds.
    pub fn first_epoch(&self) -> u64 {
        match self.epochs.first() {
            Some(first) => first.position.epoch,
            None => self.previous.as_ref().map_or(self.last.epoch, |p| p.epoch),
        }
    }

    /// Per source, whether its last recorded mark said it was read to its end.
    pub fn finished_sources(&self) -> BTreeMap<i64, bool> {
        let marks = self.epochs.iter().flat_map(|e| &e.marks);
        marks.map(|m| (m.source, m.finished)).collect()
    }

    /// The offset `feed`'s `partition` must be replayed to (0: nothing to replay).
    pub fn target(&self, feed: Feed, partition: i32) -> i64 {
        self.last.offsets(feed).get(&partition).copied().unwrap_or(0)
    }
}

/// Which records of a partition a restarted horizon run reads and feeds again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayPlan {
    /// The first offset read: records before it are not read at all.
    pub start: i64,
    /// Offsets before `range` that are fed (the rows the state still held there).
    pub listed: Vec<i64>,
    /// Every record from this offset on is fed.
    pub range: i64,
}

impl ReplayPlan {
    /// Every record, from the partition's beginning.
    pub fn everything() -> ReplayPlan {
        ReplayPlan { start: 0, listed: Vec::new(), range: 0 }
    }

    /// Whether the record at `offset` is fed.
    pub fn feeds(&self, offset: i64) -> bool {
        offset >= self.range || self.listed.binary_search(&offset).is_ok()
    }
}

fn held_json(held: &BTreeMap<i32, HeldRange>) -> Value {
    Value::Object(held.iter().map(|(p, range)| (p.to_string(), range.to_json())).collect())
}

fn parse_held(value: &Value) -> Option<BTreeMap<i32, HeldRange>> {
    value
        .as_object()?
        .iter()
        .map(|(p, range)| Some((p.parse().ok()?, HeldRange::from_json(range)?)))
        .collect()
}

/// Marks as [`commit_info`] writes them: `[source, max_ts or null, finished]`.
fn parse_marks(value: &Value) -> Option<Vec<Mark>> {
    value
        .as_array()?
        .iter()
        .map(|m| {
            let max_ts = match &m[1] {
                Value::Null => None,
                ts => Some(ts.as_i64()?),
            };
            Some(Mark { source: m[0].as_i64()?, max_ts, finished: m[2].as_bool()? })
        })
        .collect()
}

fn parse_offsets(value: &Value) -> Option<Offsets> {
    value.as_object()?.iter().map(|(p, o)| Some((p.parse().ok()?, o.as_i64().filter(|o| *o >= 0)?))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(epoch: u64, offsets: &[(i32, i64)]) -> Position {
        Position { epoch, offsets: offsets.iter().copied().collect(), user_events: Offsets::new() }
    }

    fn run(horizon_ms: Option<i64>) -> RunIdentity {
        RunIdentity {
            topic: "transactions".into(),
            user_events_topic: None,
            now_ms: 1_767_225_600_000,
            model: None,
            pii_policy: None,
            horizon_ms,
        }
    }

    fn resume(last: Position, previous: Option<Position>) -> Resume {
        Resume {
            topic: "t".into(),
            user_events_topic: None,
            model: None,
            pii_policy: None,
            now_ms: None,
            horizon_ms: None,
            last,
            previous,
            epochs: Vec::new(),
        }
    }

    #[test]
    fn info_round_trips() {
        let last = position(9, &[(0, 120), (1, 7)]);
        let previous = position(4, &[(0, 100)]);
        let info = commit_info(&run(None), &last, Some(&previous), &[], &BTreeMap::new());
        let resume = Resume::from_info("t", 9, &info).unwrap();
        assert_eq!(
            resume,
            Resume {
                topic: "transactions".into(),
                now_ms: Some(1_767_225_600_000),
                last,
                previous: Some(previous),
                ..resume_of_nothing()
            }
        );
        assert_eq!(resume.first_epoch(), 4);
        let model = ModelId { version: 3, sha256: "ab".into() };
        let identity = RunIdentity {
            model: Some(model.clone()),
            pii_policy: Some("0123abcd".into()),
            ..run(Some(60_000))
        };
        let info = commit_info(&identity, &position(2, &[]), None, &[], &BTreeMap::new());
        let resume = Resume::from_info("t", 2, &info).unwrap();
        assert_eq!((resume.model, resume.pii_policy.as_deref()), (Some(model), Some("0123abcd")));
        assert_eq!(resume.horizon_ms, Some(60_000));
    }

    fn resume_of_nothing() -> Resume {
        resume(Position::default(), None)
    }

    #[test]
    fn records_replay_at_the_epoch_that_first_covered_them() {
        let resume = resume(position(9, &[(0, 120), (1, 7)]), Some(position(4, &[(0, 100)])));
        assert_eq!(resume.replay_epoch(Feed::Transactions, 0, 99), Some(4));
        assert_eq!(resume.replay_epoch(Feed::Transactions, 0, 100), Some(9));
        assert_eq!(resume.replay_epoch(Feed::Transactions, 0, 119), Some(9));
        assert_eq!(resume.replay_epoch(Feed::Transactions, 0, 120), None);
        assert_eq!(resume.replay_epoch(Feed::Transactions, 1, 0), Some(9));
        assert_eq!(resume.replay_epoch(Feed::Transactions, 1, 7), None);
        assert_eq!(resume.replay_epoch(Feed::Transactions, 2, 0), None, "a partition no epoch read");
        assert_eq!((resume.target(Feed::Transactions, 0), resume.target(Feed::Transactions, 2)), (120, 0));
    }

    /// The commits of a horizon run: epochs 2, 5 and 6, each naming the one before; at the
    /// end of epoch 5 the state held offsets 2 and 4 of partition 0 and everything from 7 on,
    /// and nothing of partition 1.
    fn horizon_history() -> Vec<(u64, BTreeMap<String, Value>)> {
        let identity = run(Some(60_000));
        let mark = |source, max_ts, finished| Mark { source, max_ts, finished };
        let held = |listed: &[i64], from| HeldRange { listed: listed.to_vec(), from };
        let epochs = [
            (
                position(2, &[(0, 10)]),
                vec![mark(0, Some(5), false), mark(1, None, false)],
                held(&[], Some(0)),
            ),
            (position(5, &[(0, 10), (1, 4)]), vec![mark(1, Some(9), false)], held(&[2, 4], Some(7))),
            (
                position(6, &[(0, 25), (1, 4)]),
                vec![mark(0, Some(12), false), mark(1, None, true)],
                held(&[], Some(12)),
            ),
        ];
        let mut history = Vec::new();
        let mut previous: Option<Position> = None;
        for (current, marks, held) in epochs {
            let held = BTreeMap::from([(0, held)]);
            history.push((current.epoch, commit_info(&identity, &current, previous.as_ref(), &marks, &held)));
            previous = Some(current);
        }
        history
    }

    fn resumed(history: Vec<(u64, BTreeMap<String, Value>)>) -> Resume {
        let (epoch, info) = history.iter().max_by_key(|(epoch, _)| *epoch).unwrap().clone();
        Resume::from_info("t", epoch, &info).unwrap().with_history("t", history).unwrap()
    }

    fn fed(plan: &ReplayPlan, offsets: std::ops::Range<i64>) -> Vec<i64> {
        offsets.filter(|o| *o >= plan.start && plan.feeds(*o)).collect()
    }

    #[test]
    fn issue_4_a_horizon_restart_feeds_what_the_state_held_before_the_last_epoch() {
        let resume = resumed(horizon_history());
        assert_eq!(resume.epochs[1].held.as_ref().unwrap()[&0].listed, [2, 4]);
        // What epoch 5, the one before the last, held of partition 0: offsets 2 and 4, then
        // everything from 7 on; the records read after epoch 5 are all fed.
        let plan = resume.replay_plan(0);
        assert_eq!((plan.start, plan.range), (2, 7));
        assert_eq!(fed(&plan, 0..25), [&[2, 4][..], &(7..25).collect::<Vec<_>>()].concat());
        // Nothing of partition 1: everything it read through epoch 5 (4 records) is skipped.
        let plan = resume.replay_plan(1);
        assert_eq!((plan.start, fed(&plan, 0..6)), (4, vec![4, 5]));
        assert_eq!(resume.replay_plan(2), ReplayPlan { start: 0, listed: vec![], range: 0 }, "not read yet");
        // The records fed replay at the epochs that first read them, as before.
        assert_eq!(
            (resume.replay_epoch(Feed::Transactions, 0, 2), resume.replay_epoch(Feed::Transactions, 0, 10)),
            (Some(2), Some(6))
        );
    }

    #[test]
    fn issue_4_commits_without_held_offsets_replay_everything() {
        let everything = ReplayPlan::everything();
        // Written before `held` was recorded: nothing can be skipped.
        let mut history = horizon_history();
        for (_, info) in &mut history {
            info.get_mut("horizon").and_then(Value::as_object_mut).unwrap().remove("held");
        }
        let resume = resumed(history);
        assert!(resume.epochs.iter().all(|e| e.held.is_none()));
        assert_eq!((resume.replay_plan(0), resume.replay_plan(1)), (everything.clone(), everything.clone()));
        assert_eq!(fed(&everything, 0..3), [0, 1, 2]);
        // Only the one before the last counts: the last one's is not enough.
        let mut history = horizon_history();
        let before_last = history.iter_mut().find(|(epoch, _)| *epoch == 5).unwrap();
        before_last.1.get_mut("horizon").and_then(Value::as_object_mut).unwrap().remove("held");
        assert_eq!(resumed(history).replay_plan(0), everything);
        // A run with one committed epoch replays it whole.
        let first = horizon_history().remove(0);
        assert_eq!(resumed(vec![first]).replay_plan(0), everything);
        // Held offsets past what the epoch read are not trusted beyond it.
        let mut history = horizon_history();
        let before_last = history.iter_mut().find(|(epoch, _)| *epoch == 5).unwrap();
        before_last.1.get_mut("horizon").unwrap()["held"] = json!({"0": {"from": 99, "listed": [3, 12]}});
        let plan = resumed(history).replay_plan(0);
        assert_eq!((plan.start, plan.listed, plan.range), (3, vec![3], 10));
        let mut history = horizon_history();
        history[1].1.get_mut("horizon").unwrap()["held"] = json!({"0": {"from": -1, "listed": []}});
        let last = Resume::from_info("t", 6, &history[2].1).unwrap();
        let error = last.with_history("t", history).unwrap_err().to_string();
        assert!(error.contains("bad held offsets"), "{error}");
    }

    #[test]
    fn issue_4_a_horizon_run_replays_every_committed_epoch_with_its_marks() {
        let history = horizon_history();
        let last = Resume::from_info("t", 6, &history[2].1).unwrap();
        // History arrives newest first from the log; order does not matter.
        let resume = last.with_history("t", history.into_iter().rev().collect()).unwrap();
        let epochs: Vec<u64> = resume.epochs.iter().map(|e| e.position.epoch).collect();
        assert_eq!(epochs, [2, 5, 6]);
        assert_eq!(resume.first_epoch(), 2);
        assert_eq!(resume.epochs[2].marks[1], Mark { source: 1, max_ts: None, finished: true });
        // Each record at the epoch whose offsets first covered it.
        assert_eq!(resume.replay_epoch(Feed::Transactions, 0, 0), Some(2));
        assert_eq!(resume.replay_epoch(Feed::Transactions, 0, 9), Some(2));
        assert_eq!(resume.replay_epoch(Feed::Transactions, 0, 10), Some(6));
        assert_eq!(resume.replay_epoch(Feed::Transactions, 0, 24), Some(6));
        assert_eq!(resume.replay_epoch(Feed::Transactions, 0, 25), None);
        assert_eq!(resume.replay_epoch(Feed::Transactions, 1, 3), Some(5));
        assert_eq!(resume.replay_epoch(Feed::Transactions, 1, 4), None);
        assert_eq!(resume.finished_sources(), BTreeMap::from([(0, false), (1, true)]));
    }

    #[test]
    fn issue_4_a_horizon_run_whose_log_lost_its_first_commits_is_refused() {
        let mut history = horizon_history();
        history.remove(0);
        let last = Resume::from_info("tbl", 6, &history[1].1).unwrap();
        let error = last.with_history("tbl", history).unwrap_err().to_string();
        assert!(error.contains("tbl") && error.contains("does not hold every commit"), "{error}");
        let mut history = horizon_history();
        history[1].1.remove("horizon");
        let last = Resume::from_info("tbl", 6, &history[2].1).unwrap();
        let error = last.with_history("tbl", history).unwrap_err().to_string();
        assert!(error.contains("no horizon marks"), "{error}");
    }

    #[test]
    fn issue_5_user_event_offsets_round_trip_and_replay_on_their_own() {
        let identity = RunIdentity { user_events_topic: Some("user-events".into()), ..run(None) };
        let mut last = position(9, &[(0, 120)]);
        last.user_events = [(0, 30), (1, 5)].into_iter().collect();
        let mut previous = position(4, &[(0, 100)]);
        previous.user_events = [(0, 10)].into_iter().collect();
        let info = commit_info(&identity, &last, Some(&previous), &[], &BTreeMap::new());
        let resume = Resume::from_info("t", 9, &info).unwrap();
        assert_eq!(resume.user_events_topic.as_deref(), Some("user-events"));
        assert_eq!((&resume.last, resume.previous.as_ref()), (&last, Some(&previous)));
        // Each topic's records replay by that topic's offsets.
        assert_eq!(resume.replay_epoch(Feed::UserEvents, 0, 9), Some(4));
        assert_eq!(resume.replay_epoch(Feed::UserEvents, 0, 10), Some(9));
        assert_eq!(resume.replay_epoch(Feed::UserEvents, 0, 30), None);
        assert_eq!(resume.replay_epoch(Feed::UserEvents, 1, 4), Some(9));
        assert_eq!(resume.replay_epoch(Feed::Transactions, 1, 4), None);
        assert_eq!((resume.target(Feed::UserEvents, 1), resume.target(Feed::Transactions, 1)), (5, 0));
        // A run that read no user events records none, and its position has none.
        let info = commit_info(
            &run(None),
            &position(9, &[(0, 120)]),
            Some(&position(4, &[])),
            &[],
            &BTreeMap::new(),
        );
        assert!(!info.contains_key("user_events") && info["previous"].get("user_events_offsets").is_none());
        assert_eq!(Resume::from_info("t", 9, &info).unwrap().user_events_topic, None);
    }

    #[test]
    fn a_commit_without_offsets_is_refused() {
        let error = Resume::from_info("tbl", 3, &BTreeMap::new()).unwrap_err().to_string();
        assert!(error.contains("tbl") && error.contains("no source offsets"), "{error}");
    }
}
