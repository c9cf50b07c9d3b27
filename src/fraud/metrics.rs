//! Ranking and threshold metrics of scores against labels: ROC AUC, PR AUC, precision, recall.
//!
//! Tied scores are one threshold: a tie between a fraud and a non-fraud counts half in ROC
//! AUC, and PR AUC (average precision) steps once per distinct score, so the order of tied
//! rows never matters. A row is flagged at threshold `x` iff its score is strictly greater.

use serde::{Deserialize, Serialize};

/// Precision and recall of "score > threshold".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AtThreshold {
    /// The threshold (flagged iff score > threshold).
    pub threshold: f64,
    /// Rows flagged.
    pub flagged: u64,
    /// Flagged rows that are fraud.
    pub true_positives: u64,
    /// `true_positives / flagged`; null when nothing is flagged.
    pub precision: Option<f64>,
    /// `true_positives / fraud rows`; null without fraud rows.
    pub recall: Option<f64>,
}

/// How well one scorer separates fraud on one set of rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Rows scored.
    pub rows: u64,
    /// Fraud rows among them.
    pub fraud: u64,
    /// Area under the ROC curve; null unless both classes are present.
    pub roc_auc: Option<f64>,
    /// Area under the precision-recall curve (average precision); null without fraud rows.
    pub pr_auc: Option<f64>,
    /// At the HIGH threshold.
    pub high: AtThreshold,
    /// At the MEDIUM threshold.
    pub medium: AtThreshold,
}

impl Metrics {
    /// The metrics of `scores` against `labels` (true = fraud), with the given HIGH and MEDIUM
    /// thresholds.
    pub fn of(scores: &[f64], labels: &[bool], high: f64, medium: f64) -> Metrics {
        Metrics {
            rows: scores.len() as u64,
            fraud: labels.iter().filter(|l| **l).count() as u64,
            roc_auc: roc_auc(scores, labels),
            pr_auc: pr_auc(scores, labels),
            high: at_threshold(scores, labels, high),
            medium: at_threshold(scores, labels, medium),
        }
    }
}

/// Per distinct score, highest first: (fraud rows, other rows) with that score.
fn groups(scores: &[f64], labels: &[bool]) -> Vec<(u64, u64)> {
    let mut pairs: Vec<(f64, bool)> = scores.iter().copied().zip(labels.iter().copied()).collect();
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut out: Vec<(u64, u64)> = Vec::new();
    let mut last: Option<f64> = None;
    for (score, fraud) in pairs {
        if last.is_none_or(|l| l.total_cmp(&score).is_ne()) {
            out.push((0, 0));
            last = Some(score);
        }
        let group = out.last_mut().expect("pushed above");
        if fraud { group.0 += 1 } else { group.1 += 1 }
    }
    out
}

/// ROC AUC: the chance that a random fraud row scores above a random other row, ties
/// counting half (Mann-Whitney). `None` unless both classes occur.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let groups = groups(scores, labels);
    let (positives, negatives) = groups.iter().fold((0u64, 0u64), |(p, n), g| (p + g.0, n + g.1));
    if positives == 0 || negatives == 0 {
        return None;
    }
    // Walk from the lowest score up: negatives seen so far are below the current group.
    let mut below = 0u64;
    let mut twice_wins = 0u128;
    for (pos, neg) in groups.iter().rev() {
        twice_wins += u128::from(*pos) * u128::from(2 * below + neg);
        below += neg;
    }
    Some(twice_wins as f64 / (2.0 * positives as f64 * negatives as f64))
}

/// PR AUC as average precision: the sum over distinct scores, highest first, of (recall
/// gained) x (precision at that score). `None` without fraud rows.
pub fn pr_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let groups = groups(scores, labels);
    let positives: u64 = groups.iter().map(|g| g.0).sum();
    if positives == 0 {
        return None;
    }
    let (mut tp, mut fp, mut area) = (0u64, 0u64, 0.0f64);
    for (pos, neg) in groups {
        tp += pos;
        fp += neg;
        if pos > 0 {
            area += (pos as f64 / positives as f64) * (tp as f64 / (tp + fp) as f64);
        }
    }
    Some(area)
}

/// Precision and recall of flagging the rows whose score is greater than `threshold`.
pub fn at_threshold(scores: &[f64], labels: &[bool], threshold: f64) -> AtThreshold {
    let (mut flagged, mut tp, mut positives) = (0u64, 0u64, 0u64);
    for (score, fraud) in scores.iter().zip(labels) {
        positives += u64::from(*fraud);
        if *score > threshold {
            flagged += 1;
            tp += u64::from(*fraud);
        }
    }
    AtThreshold {
        threshold,
        flagged,
        true_positives: tp,
        precision: (flagged > 0).then(|| tp as f64 / flagged as f64),
        recall: (positives > 0).then(|| tp as f64 / positives as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABELS: [bool; 6] = [true, true, false, false, false, false];

    #[test]
    fn a_perfect_ranking_scores_one() {
        let scores = [0.9, 0.8, 0.3, 0.2, 0.1, 0.0];
        assert_eq!(roc_auc(&scores, &LABELS), Some(1.0));
        assert_eq!(pr_auc(&scores, &LABELS), Some(1.0));
    }

    #[test]
    fn a_reversed_ranking_scores_zero_roc() {
        let scores = [0.0, 0.1, 0.3, 0.4, 0.5, 0.6];
        assert_eq!(roc_auc(&scores, &LABELS), Some(0.0));
        // Fraud found last: precision 1/5 at the 5th row and 2/6 at the 6th.
        let expected = 0.5 * (1.0 / 5.0) + 0.5 * (2.0 / 6.0);
        assert!((pr_auc(&scores, &LABELS).unwrap() - expected).abs() < 1e-12);
    }

    #[test]
    fn a_random_ranking_is_one_half_and_the_prevalence() {
        // All tied: no information at all.
        let scores = [0.5; 6];
        assert_eq!(roc_auc(&scores, &LABELS), Some(0.5));
        assert!((pr_auc(&scores, &LABELS).unwrap() - 2.0 / 6.0).abs() < 1e-12);
        // Alternating, large: about one half.
        let labels: Vec<bool> = (0..10_000).map(|i| i % 7 == 0).collect();
        let scores: Vec<f64> = (0..10_000).map(|i| ((i * 7_919) % 10_007) as f64).collect();
        let auc = roc_auc(&scores, &labels).unwrap();
        assert!((auc - 0.5).abs() < 0.03, "{auc}");
    }

    #[test]
    fn ties_count_half() {
        // One fraud tied with one of two others, above the other.
        let auc = roc_auc(&[0.5, 0.5, 0.1], &[true, false, false]).unwrap();
        assert_eq!(auc, 0.75);
    }

    #[test]
    fn one_class_has_no_auc() {
        assert_eq!(roc_auc(&[0.1, 0.2], &[false, false]), None);
        assert_eq!(pr_auc(&[0.1, 0.2], &[false, false]), None);
        assert_eq!(roc_auc(&[0.1, 0.2], &[true, true]), None);
        assert_eq!(pr_auc(&[0.1, 0.2], &[true, true]), Some(1.0));
    }

    #[test]
    fn thresholds_are_strict() {
        let scores = [0.9, 0.8, 0.8, 0.5, 0.2, 0.0];
        let high = at_threshold(&scores, &LABELS, 0.8);
        assert_eq!(
            (high.flagged, high.true_positives, high.precision, high.recall),
            (1, 1, Some(1.0), Some(0.5))
        );
        let medium = at_threshold(&scores, &LABELS, 0.5);
        assert_eq!((medium.flagged, medium.true_positives), (3, 2));
        let none = at_threshold(&scores, &LABELS, 1.0);
        assert_eq!((none.precision, none.recall), (None, Some(0.0)));
        let m = Metrics::of(&scores, &LABELS, 0.8, 0.5);
        assert_eq!((m.rows, m.fraud), (6, 2));
    }
}
