//! Where a run resumes: the last committed epoch and the source offsets behind it.
//!
//! Every commit of the main table carries, in its `commitInfo`, the topic, the offset after
//! the last record of each partition read through that epoch, and the same for the epoch
//! committed before it. The main table is committed first in each epoch, so after a crash the
//! other sinks are at that epoch or at the one before. On restart the run replays the topic
//! from its beginning: records before the previous position are fed at the previous epoch,
//! records up to the last position at the last epoch (so that epoch's changes are computed
//! again exactly, for the sinks that missed it), and everything after at new epochs. The
//! graph's output is a function of its accumulated input, so the epochs after the last one
//! change the tables exactly as the failure-free run would have.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::error::PipelineError;

/// Per partition, the offset after the last record read.
pub type Offsets = BTreeMap<i32, i64>;

/// A committed epoch and the source offsets it covers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Position {
    /// The epoch.
    pub epoch: u64,
    /// Per partition, the offset after the last record of this epoch or an earlier one.
    pub offsets: Offsets,
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
    /// The fraud model the committed epochs were scored with (`None`: not scored).
    pub model: Option<ModelId>,
    /// The PII policy the committed rows were written under ([`Governor::id`]).
    ///
    /// [`Governor::id`]: crate::governance::Governor::id
    pub pii_policy: Option<String>,
    /// The last committed epoch.
    pub last: Position,
    /// The epoch committed before it, if any.
    pub previous: Option<Position>,
}

/// The `commitInfo` metadata of the main table's commit of `current`, scored by `model`,
/// its rows written under the PII policy `pii_policy`.
pub fn commit_info(
    topic: &str,
    current: &Position,
    previous: Option<&Position>,
    model: Option<&ModelId>,
    pii_policy: Option<&str>,
) -> BTreeMap<String, Value> {
    let offsets =
        |o: &Offsets| o.iter().map(|(p, off)| (p.to_string(), json!(off))).collect::<serde_json::Map<_, _>>();
    let mut info = BTreeMap::new();
    info.insert("source".to_owned(), json!({ "topic": topic, "offsets": offsets(&current.offsets) }));
    if let Some(previous) = previous {
        info.insert(
            "previous".to_owned(),
            json!({ "epoch": previous.epoch, "offsets": offsets(&previous.offsets) }),
        );
    }
    if let Some(model) = model {
        info.insert("model".to_owned(), json!({ "version": model.version, "sha256": model.sha256 }));
    }
    if let Some(policy) = pii_policy {
        info.insert("governance".to_owned(), json!({ "pii_policy": policy }));
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
        let last = Position {
            epoch,
            offsets: parse_offsets(&source["offsets"]).ok_or_else(|| invalid("bad offsets"))?,
        };
        let previous = match info.get("previous") {
            None => None,
            Some(p) => {
                let epoch = p["epoch"]
                    .as_u64()
                    .filter(|e| *e < epoch)
                    .ok_or_else(|| invalid("bad previous epoch"))?;
                let offsets = parse_offsets(&p["offsets"]).ok_or_else(|| invalid("bad previous offsets"))?;
                Some(Position { epoch, offsets })
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
        Ok(Resume { topic, model, pii_policy, last, previous })
    }

    /// The epoch at which a replayed record of `partition` at `offset` is fed: the previous
    /// epoch, the last one, or `None` for a record after the last position (a new epoch).
    pub fn replay_epoch(&self, partition: i32, offset: i64) -> Option<u64> {
        if let Some(previous) = &self.previous
            && offset < previous.offsets.get(&partition).copied().unwrap_or(0)
        {
            return Some(previous.epoch);
        }
        (offset < self.last.offsets.get(&partition).copied().unwrap_or(0)).then_some(self.last.epoch)
    }

    /// The earliest epoch the replay feeds.
    pub fn first_epoch(&self) -> u64 {
        self.previous.as_ref().map_or(self.last.epoch, |p| p.epoch)
    }

    /// The offset `partition` must be replayed to (0: nothing to replay).
    pub fn target(&self, partition: i32) -> i64 {
        self.last.offsets.get(&partition).copied().unwrap_or(0)
    }
}

fn parse_offsets(value: &Value) -> Option<Offsets> {
    value.as_object()?.iter().map(|(p, o)| Some((p.parse().ok()?, o.as_i64().filter(|o| *o >= 0)?))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(epoch: u64, offsets: &[(i32, i64)]) -> Position {
        Position { epoch, offsets: offsets.iter().copied().collect() }
    }

    #[test]
    fn info_round_trips() {
        let last = position(9, &[(0, 120), (1, 7)]);
        let previous = position(4, &[(0, 100)]);
        let info = commit_info("transactions", &last, Some(&previous), None, None);
        let resume = Resume::from_info("t", 9, &info).unwrap();
        assert_eq!(
            resume,
            Resume {
                topic: "transactions".into(),
                model: None,
                pii_policy: None,
                last,
                previous: Some(previous)
            }
        );
        assert_eq!(resume.first_epoch(), 4);
        let model = ModelId { version: 3, sha256: "ab".into() };
        let info = commit_info("transactions", &position(2, &[]), None, Some(&model), Some("0123abcd"));
        let resume = Resume::from_info("t", 2, &info).unwrap();
        assert_eq!((resume.model, resume.pii_policy.as_deref()), (Some(model), Some("0123abcd")));
    }

    #[test]
    fn records_replay_at_the_epoch_that_first_covered_them() {
        let resume = Resume {
            topic: "t".into(),
            model: None,
            pii_policy: None,
            last: position(9, &[(0, 120), (1, 7)]),
            previous: Some(position(4, &[(0, 100)])),
        };
        assert_eq!(resume.replay_epoch(0, 99), Some(4));
        assert_eq!(resume.replay_epoch(0, 100), Some(9));
        assert_eq!(resume.replay_epoch(0, 119), Some(9));
        assert_eq!(resume.replay_epoch(0, 120), None);
        assert_eq!(resume.replay_epoch(1, 0), Some(9));
        assert_eq!(resume.replay_epoch(1, 7), None);
        assert_eq!(resume.replay_epoch(2, 0), None, "a partition no epoch read");
        assert_eq!((resume.target(0), resume.target(2)), (120, 0));
    }

    #[test]
    fn a_commit_without_offsets_is_refused() {
        let error = Resume::from_info("tbl", 3, &BTreeMap::new()).unwrap_err().to_string();
        assert!(error.contains("tbl") && error.contains("no source offsets"), "{error}");
    }
}
