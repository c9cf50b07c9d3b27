//! The scorer: one matching rule for every detector, counts per type and per set.
//!
//! **Matching rule.** A finding is correct when it is in the same text as a true entity, of
//! the same type, and their character spans overlap; each true entity and each finding is
//! matched at most once (in each text and type, findings in span order take the first
//! unmatched overlapping entity). Correct findings are true positives; other findings false
//! positives; unmatched entities false negatives. Precision = correct / found, recall =
//! correct / entities, F1 their harmonic mean, micro-averaged for "all". How many correct
//! findings have exactly the entity's span is counted too (`exact`), not scored.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::corpus::{Corpus, Item};
use super::detection::Detection;
use super::error::EvalError;
use crate::governance::pii::PiiType;

/// Counts of one detector on one slice of the corpus (a type, a set, or all).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// True entities.
    pub entities: usize,
    /// Findings.
    pub found: usize,
    /// Findings matched to an entity.
    pub correct: usize,
    /// Of those, with exactly the entity's span.
    pub exact: usize,
}

impl Counts {
    /// correct / found; `None` when nothing was found.
    pub fn precision(&self) -> Option<f64> {
        (self.found > 0).then(|| self.correct as f64 / self.found as f64)
    }

    /// correct / entities; `None` when there were none.
    pub fn recall(&self) -> Option<f64> {
        (self.entities > 0).then(|| self.correct as f64 / self.entities as f64)
    }

    /// The harmonic mean of precision and recall (0 when both are 0); `None` when either is
    /// undefined.
    pub fn f1(&self) -> Option<f64> {
        let (p, r) = (self.precision()?, self.recall()?);
        Some(if p + r > 0.0 { 2.0 * p * r / (p + r) } else { 0.0 })
    }

    /// Findings that matched nothing.
    pub fn false_positives(&self) -> usize {
        self.found - self.correct
    }

    /// Entities nothing matched.
    pub fn false_negatives(&self) -> usize {
        self.entities - self.correct
    }

    fn add(&mut self, other: Counts) {
        self.entities += other.entities;
        self.found += other.found;
        self.correct += other.correct;
        self.exact += other.exact;
    }
}

/// A finding that matched nothing, or an entity nothing matched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Miss {
    /// The item.
    pub id: String,
    /// Its set.
    pub set: String,
    /// Its field.
    pub field: String,
    /// `false_positive` (found, not true) or `false_negative` (true, not found).
    pub error: MissKind,
    /// The type found or missed.
    #[serde(rename = "type")]
    pub kind: PiiType,
    /// Span, characters.
    pub start: usize,
    /// End of the span.
    pub end: usize,
    /// The span's text.
    pub text: String,
}

/// Which way a [`Miss`] went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissKind {
    /// Found but not a true entity (of that type, there).
    FalsePositive,
    /// A true entity not found.
    FalseNegative,
}

/// One detector scored on a corpus.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// Its name (`trustflow`, `presidio`, ...).
    pub detector: String,
    /// Over the whole corpus.
    pub all: Counts,
    /// Per type (every type with entities or findings).
    pub by_type: BTreeMap<PiiType, Counts>,
    /// Per set, all types together.
    pub by_set: BTreeMap<String, Counts>,
    /// Per set and type.
    pub by_set_type: BTreeMap<String, BTreeMap<PiiType, Counts>>,
    /// Every false positive and false negative, in corpus order.
    pub misses: Vec<Miss>,
}

/// Scores `detections` (the findings of `detector`, findings file `file`) on `corpus`. A
/// finding for an id the corpus lacks or outside its text is an error: the findings are not
/// of this corpus.
pub fn score(
    corpus: &Corpus,
    detector: &str,
    file: &str,
    detections: &[Detection],
) -> Result<Score, EvalError> {
    let mut by_id: HashMap<&str, Vec<&Detection>> = HashMap::new();
    for (n, detection) in detections.iter().enumerate() {
        let Some(item) = corpus.get(&detection.id) else {
            return Err(EvalError::invalid(
                file,
                n + 1,
                format!("finding for id `{}`, which the corpus does not have", detection.id),
            ));
        };
        if detection.end > item.chars() {
            return Err(EvalError::invalid(
                file,
                n + 1,
                format!("finding {}..{} outside the text of `{}`", detection.start, detection.end, item.id),
            ));
        }
        by_id.entry(detection.id.as_str()).or_default().push(detection);
    }
    let mut score = Score {
        detector: detector.to_owned(),
        all: Counts::default(),
        by_type: BTreeMap::new(),
        by_set: BTreeMap::new(),
        by_set_type: BTreeMap::new(),
        misses: Vec::new(),
    };
    for item in &corpus.items {
        let found = by_id.get(item.id.as_str()).map(Vec::as_slice).unwrap_or_default();
        for (kind, counts) in match_item(item, found, &mut score.misses) {
            score.all.add(counts);
            score.by_type.entry(kind).or_default().add(counts);
            score.by_set.entry(item.set.clone()).or_default().add(counts);
            score.by_set_type.entry(item.set.clone()).or_default().entry(kind).or_default().add(counts);
        }
    }
    Ok(score)
}

/// The counts per type in one item, misses appended to `misses`.
fn match_item(item: &Item, found: &[&Detection], misses: &mut Vec<Miss>) -> BTreeMap<PiiType, Counts> {
    let mut counts: BTreeMap<PiiType, Counts> = BTreeMap::new();
    let mut found: Vec<&Detection> = found.to_vec();
    found.sort_by_key(|d| (d.start, d.end));
    let mut matched = vec![false; item.entities.len()];
    let miss = |error, kind, start, end| Miss {
        id: item.id.clone(),
        set: item.set.clone(),
        field: item.field.clone(),
        error,
        kind,
        start,
        end,
        text: item.slice(start, end),
    };
    for entity in &item.entities {
        counts.entry(entity.kind).or_default().entities += 1;
    }
    for detection in found {
        let counts = counts.entry(detection.kind).or_default();
        counts.found += 1;
        let hit = item.entities.iter().enumerate().position(|(i, e)| {
            !matched[i] && e.kind == detection.kind && e.start < detection.end && detection.start < e.end
        });
        match hit {
            Some(i) => {
                matched[i] = true;
                counts.correct += 1;
                let entity = &item.entities[i];
                if (entity.start, entity.end) == (detection.start, detection.end) {
                    counts.exact += 1;
                }
            }
            None => {
                misses.push(miss(MissKind::FalsePositive, detection.kind, detection.start, detection.end))
            }
        }
    }
    for (entity, _) in item.entities.iter().zip(&matched).filter(|(_, m)| !**m) {
        misses.push(miss(MissKind::FalseNegative, entity.kind, entity.start, entity.end));
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detection(id: &str, kind: PiiType, start: usize, end: usize) -> Detection {
        Detection {
            id: id.into(),
            kind,
            start,
            end,
            score: 0.9,
            field: String::new(),
            matched: String::new(),
            evidence: vec![],
        }
    }

    fn corpus() -> Corpus {
        Corpus::parse(
            "c",
            concat!(
                r#"{"id":"a","set":"s","text":"mail a@b.de or c@d.de","entities":[{"type":"email","start":5,"end":11},{"type":"email","start":15,"end":21}]}"#,
                "\n",
                r#"{"id":"b","set":"t","text":"order 4155552671","entities":[]}"#,
                "\n",
                r#"{"id":"c","set":"t","field":"dob","text":"14.03.1985","entities":[{"type":"date_of_birth","start":0,"end":10}]}"#,
            ),
        )
        .unwrap()
    }

    #[test]
    fn same_type_and_overlap_each_used_once() {
        use PiiType::*;
        let found = [
            // Overlaps the first e-mail, not exactly: correct, not exact.
            detection("a", Email, 4, 11),
            // The same entity again: a false positive (each entity matches once).
            detection("a", Email, 5, 11),
            // Right place, wrong type: a false positive, and the second e-mail is missed.
            detection("a", Phone, 15, 21),
            // A phone in an order number: false positive.
            detection("b", Phone, 6, 16),
            detection("c", DateOfBirth, 0, 10),
        ];
        let s = score(&corpus(), "x", "f", &found).unwrap();
        assert_eq!(s.all, Counts { entities: 3, found: 5, correct: 2, exact: 1 });
        assert_eq!(s.by_type[&Email], Counts { entities: 2, found: 2, correct: 1, exact: 0 });
        assert_eq!(s.by_type[&Phone], Counts { entities: 0, found: 2, correct: 0, exact: 0 });
        assert_eq!(s.by_type[&DateOfBirth].f1(), Some(1.0));
        assert_eq!(s.by_set["t"], Counts { entities: 1, found: 2, correct: 1, exact: 1 });
        assert_eq!(s.by_set_type["t"][&Phone].false_positives(), 1);
        assert_eq!((s.all.precision(), s.all.recall()), (Some(0.4), Some(2.0 / 3.0)));
        assert_eq!(s.by_type[&Phone].recall(), None);
        let misses: Vec<(&str, MissKind, &str)> =
            s.misses.iter().map(|m| (m.id.as_str(), m.error, m.text.as_str())).collect();
        assert_eq!(
            misses,
            [
                ("a", MissKind::FalsePositive, "a@b.de"),
                ("a", MissKind::FalsePositive, "c@d.de"),
                ("a", MissKind::FalseNegative, "c@d.de"),
                ("b", MissKind::FalsePositive, "4155552671"),
            ]
        );
    }

    #[test]
    fn findings_of_another_corpus_are_refused() {
        let error = score(&corpus(), "x", "f", &[detection("zz", PiiType::Email, 0, 1)]).unwrap_err();
        assert!(error.to_string().contains("`zz`"), "{error}");
        let error = score(&corpus(), "x", "f", &[detection("b", PiiType::Email, 0, 99)]).unwrap_err();
        assert!(error.to_string().contains("outside"), "{error}");
        let empty = score(&corpus(), "x", "f", &[]).unwrap();
        assert_eq!((empty.all.precision(), empty.all.recall(), empty.all.f1()), (None, Some(0.0), None));
    }
}
