//! The evaluation's result: the corpus, each detector's score, side by side as tables.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use serde::{Deserialize, Serialize};

use super::corpus::Corpus;
use super::score::{Counts, MissKind, Score};
use crate::governance::pii::PiiType;

/// The matching rule, as printed and written into the JSON report.
pub const MATCHING_RULE: &str = "a finding is correct when it is in the same text as a true entity, of the \
     same type, and the spans overlap; each entity and each finding is matched at most once";

/// What the corpus holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CorpusSummary {
    /// The corpus file.
    pub file: String,
    /// Texts.
    pub texts: usize,
    /// Texts per set.
    pub sets: BTreeMap<String, usize>,
    /// True entities per type.
    pub entities: BTreeMap<PiiType, usize>,
}

impl CorpusSummary {
    /// The summary of `corpus`, read from `file`.
    pub fn of(file: &str, corpus: &Corpus) -> CorpusSummary {
        CorpusSummary {
            file: file.to_owned(),
            texts: corpus.items.len(),
            sets: corpus.sets(),
            entities: corpus.entities(),
        }
    }
}

/// One detector's result and where its findings came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DetectorResult {
    /// How the findings were made (`scanned in-process, threshold 0.400`, `findings file X`).
    pub source: String,
    /// Seconds the detector took over the corpus, when measured here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    /// The score.
    pub score: Score,
}

/// The whole evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The corpus.
    pub corpus: CorpusSummary,
    /// [`MATCHING_RULE`].
    pub matching: String,
    /// Each detector, in the order given.
    pub detectors: Vec<DetectorResult>,
}

impl Report {
    /// The detector named `name`.
    pub fn detector(&self, name: &str) -> Option<&DetectorResult> {
        self.detectors.iter().find(|d| d.score.detector == name)
    }

    /// The false positives and negatives of every detector in `set`, one line each.
    pub fn misses(&self, set: &str) -> String {
        let mut out = String::new();
        let width = self.detectors.iter().map(|d| d.score.detector.len()).max().unwrap_or(0);
        for detector in &self.detectors {
            for miss in detector.score.misses.iter().filter(|m| m.set == set) {
                let error = match miss.error {
                    MissKind::FalsePositive => "found, not true",
                    MissKind::FalseNegative => "missed",
                };
                let _ = writeln!(
                    out,
                    "{:<width$} {:<15} {:<14} {} [{}] {:?}",
                    detector.score.detector,
                    error,
                    miss.kind.name(),
                    miss.id,
                    miss.field,
                    miss.text
                );
            }
        }
        out
    }
}

fn rate(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"))
}

/// `| found | P | R | F1 |` cells of `counts`.
fn cells(counts: Option<&Counts>) -> String {
    let counts = counts.copied().unwrap_or_default();
    format!(
        " {} | {} | {} | {} |",
        counts.found,
        rate(counts.precision()),
        rate(counts.recall()),
        rate(counts.f1())
    )
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entities: usize = self.corpus.entities.values().sum();
        let sets: Vec<String> = self
            .corpus
            .sets
            .iter()
            .map(|(s, n)| format!("{} {n}", if s.is_empty() { "(none)" } else { s }))
            .collect();
        writeln!(
            f,
            "corpus: {}, {} texts ({}), {entities} entities",
            self.corpus.file,
            self.corpus.texts,
            sets.join(", ")
        )?;
        writeln!(f, "matching: {}", self.matching)?;
        for detector in &self.detectors {
            let speed = detector.seconds.map_or_else(String::new, |s| {
                format!(", {s:.3} s, {:.0} texts/s", self.corpus.texts as f64 / s.max(1e-9))
            });
            writeln!(f, "{}: {}{speed}", detector.score.detector, detector.source)?;
        }
        let header = |f: &mut fmt::Formatter<'_>, first: &str| -> fmt::Result {
            write!(f, "\n| {first} | entities |")?;
            for d in &self.detectors {
                write!(f, " {} found | precision | recall | F1 |", d.score.detector)?;
            }
            write!(f, "\n|---|---:|")?;
            for _ in &self.detectors {
                write!(f, "---:|---:|---:|---:|")?;
            }
            writeln!(f)
        };
        header(f, "type")?;
        let mut kinds: Vec<PiiType> = self.corpus.entities.keys().copied().collect();
        for d in &self.detectors {
            kinds.extend(d.score.by_type.keys().copied());
        }
        kinds.sort();
        kinds.dedup();
        for kind in kinds {
            write!(f, "| {kind} | {} |", self.corpus.entities.get(&kind).copied().unwrap_or(0))?;
            for d in &self.detectors {
                write!(f, "{}", cells(d.score.by_type.get(&kind)))?;
            }
            writeln!(f)?;
        }
        write!(f, "| **all** | {entities} |")?;
        for d in &self.detectors {
            write!(f, "{}", cells(Some(&d.score.all)))?;
        }
        writeln!(f)?;
        if self.corpus.sets.len() > 1 {
            header(f, "set")?;
            for set in self.corpus.sets.keys() {
                let truth =
                    self.detectors.first().and_then(|d| d.score.by_set.get(set)).map_or(0, |c| c.entities);
                write!(f, "| {set} | {truth} |")?;
                for d in &self.detectors {
                    write!(f, "{}", cells(d.score.by_set.get(set)))?;
                }
                writeln!(f)?;
            }
        }
        Ok(())
    }
}
