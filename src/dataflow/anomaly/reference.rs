//! The monitor's alerts recomputed from scratch over a bounded set of rows, for tests.
//!
//! Written plainly and apart from the operators: rows are grouped into windows directly, and
//! every statistic is computed from the rows (decimals, floats, sets), not from integer sums.
//! Only the record types are shared. The alerts' `evidence` is not recomputed (left empty):
//! tests compare every other column.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::{Alert, AlertKind, AnomalyConfig, Field, NO_ORIGIN, Real};
use crate::record::Transaction;

/// Whether `field` of `row` is missing (null, or an empty string for the string fields).
fn missing(row: &Transaction, field: Field) -> bool {
    let empty = |s: &Option<String>| match s {
        None => true,
        Some(s) => s.is_empty(),
    };
    match field {
        Field::TransactionId => empty(&row.transaction_id),
        Field::Amount => row.amount.is_none(),
        Field::Currency => empty(&row.currency),
        Field::Metadata => row.metadata.is_none(),
        Field::UserId => empty(&row.user_id),
    }
}

/// The share of each present currency code among `rows`.
fn shares<'a>(rows: &[&&'a Transaction]) -> BTreeMap<&'a str, f64> {
    let codes: Vec<&str> =
        rows.iter().filter_map(|r| r.currency.as_deref()).filter(|c| !c.is_empty()).collect();
    let mut counts: BTreeMap<&str, f64> = BTreeMap::new();
    for code in &codes {
        *counts.entry(*code).or_default() += 1.0;
    }
    counts.values_mut().for_each(|n| *n /= codes.len() as f64);
    counts
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

fn stddev(values: &[f64]) -> f64 {
    let m = mean(values);
    (values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / values.len() as f64).sqrt()
}

/// The alerts the monitor should hold for `rows` (a multiset: repeated rows count).
pub fn alerts(rows: &[Transaction], config: &AnomalyConfig) -> Vec<Alert> {
    let width = config.window_ms;
    let mut windows: BTreeMap<(Arc<str>, i64), Vec<&Transaction>> = BTreeMap::new();
    for row in rows {
        let Some(ts) = row.timestamp else { continue };
        let source = row.origin.as_ref().map_or_else(|| Arc::from(NO_ORIGIN), |o| o.topic.clone());
        let start = ts - ts.rem_euclid(width);
        windows.entry((source, start)).or_default().push(row);
    }
    let mut out = Vec::new();
    for ((source, start), now) in &windows {
        // The windows before, oldest first, that hold rows.
        let mut baseline: Vec<&Vec<&Transaction>> = Vec::new();
        for lag in (1..=i64::from(config.baseline_windows)).rev() {
            if let Some(rows) = windows.get(&(source.clone(), start - lag * width)) {
                baseline.push(rows);
            }
        }
        let make = |kind, field, observed: f64, stats: Option<(f64, f64)>, threshold, windows: usize| {
            let (mean, sd) = stats.unzip();
            Alert {
                source: source.clone(),
                window_start_ms: *start,
                window_end_ms: start + width,
                kind,
                field,
                observed: Real(observed),
                baseline_mean: mean.map(Real),
                baseline_stddev: sd.map(Real),
                z_score: stats.map(|(m, sd)| Real((observed - m) / sd)),
                threshold: Real(threshold),
                baseline_windows: windows as u32,
                evidence: String::new(),
            }
        };
        let z = config.z_threshold;
        let enough = |n: usize| n >= config.min_baseline_windows as usize;
        if enough(baseline.len()) {
            // Volume, both ways; stddev at least sqrt(mean) and 1.
            let counts: Vec<f64> = baseline.iter().map(|w| w.len() as f64).collect();
            let (m, sd) = (mean(&counts), stddev(&counts));
            let sd = sd.max(m.sqrt()).max(1.0);
            let observed = now.len() as f64;
            if ((observed - m) / sd).abs() >= z {
                out.push(make(AlertKind::Volume, None, observed, Some((m, sd)), z, baseline.len()));
            }
            // Null ratio per field, rises only; stddev at least the binomial error and 0.01.
            // Null ratios only of windows of at least min_window_rows rows.
            let judged = now.len() as u64 >= config.min_window_rows;
            for field in Field::ALL.iter().copied().filter(|_| judged) {
                let ratio = |rows: &[&Transaction]| {
                    rows.iter().filter(|r| missing(r, field)).count() as f64 / rows.len() as f64
                };
                let ratios: Vec<f64> = baseline.iter().map(|w| ratio(w)).collect();
                let (m, sd) = (mean(&ratios), stddev(&ratios));
                let binomial = (m * (1.0 - m) / now.len() as f64).sqrt();
                let sd = sd.max(binomial).max(0.01);
                let observed = ratio(now);
                if (observed - m) / sd >= z {
                    out.push(make(
                        AlertKind::NullRatio,
                        Some(field),
                        observed,
                        Some((m, sd)),
                        z,
                        baseline.len(),
                    ));
                }
            }
            // Schema ids never seen in the baseline.
            let seen: BTreeSet<u32> = baseline
                .iter()
                .flat_map(|w| w.iter().filter_map(|r| r.origin.as_ref().map(|o| o.schema_id)))
                .collect();
            let new: BTreeSet<u32> = now
                .iter()
                .filter_map(|r| r.origin.as_ref().map(|o| o.schema_id))
                .filter(|id| !seen.contains(id))
                .collect();
            if !new.is_empty() {
                out.push(make(AlertKind::SchemaChange, None, new.len() as f64, None, 1.0, baseline.len()));
            }
        }
        // The amount's mean, against the means of the baseline windows with amounts.
        let amounts =
            |rows: &[&Transaction]| -> Vec<Decimal> { rows.iter().filter_map(|r| r.amount).collect() };
        let window_mean = |values: &[Decimal]| {
            (values.iter().sum::<Decimal>() / Decimal::from(values.len())).to_f64().unwrap_or(f64::NAN)
        };
        let with_amounts: Vec<Vec<Decimal>> =
            baseline.iter().map(|w| amounts(w)).filter(|a| !a.is_empty()).collect();
        let now_amounts = amounts(now);
        if enough(with_amounts.len()) && now_amounts.len() as u64 >= config.min_window_rows.max(1) {
            let means: Vec<f64> = with_amounts.iter().map(|a| window_mean(a)).collect();
            let pooled: Vec<f64> =
                with_amounts.iter().flatten().map(|a| a.to_f64().unwrap_or(f64::NAN)).collect();
            let standard_error = stddev(&pooled) / (now_amounts.len() as f64).sqrt();
            let (m, sd) = (mean(&means), stddev(&means).max(standard_error).max(0.01));
            let observed = window_mean(&now_amounts);
            if ((observed - m) / sd).abs() >= z {
                let stats = Some((m, sd));
                out.push(make(
                    AlertKind::Distribution,
                    Some(Field::Amount),
                    observed,
                    stats,
                    z,
                    with_amounts.len(),
                ));
            }
        }
        // Currency shares against the pooled baseline's, by total variation distance.
        let with_codes: Vec<&Vec<&Transaction>> =
            baseline.iter().copied().filter(|w| w.iter().any(|r| !missing(r, Field::Currency))).collect();
        let before: Vec<&&Transaction> = with_codes.iter().flat_map(|w| w.iter()).collect();
        let now_refs: Vec<&&Transaction> = now.iter().collect();
        let (p, q) = (shares(&now_refs), shares(&before));
        let coded = now.iter().filter(|r| !missing(r, Field::Currency)).count() as u64;
        if enough(with_codes.len()) && !p.is_empty() && coded >= config.min_window_rows {
            let codes: BTreeSet<&str> = p.keys().chain(q.keys()).copied().collect();
            let tvd = codes
                .iter()
                .map(|c| (p.get(c).copied().unwrap_or(0.0) - q.get(c).copied().unwrap_or(0.0)).abs())
                .sum::<f64>()
                / 2.0;
            if tvd >= config.tvd_threshold {
                let windows = with_codes.len();
                out.push(make(
                    AlertKind::Distribution,
                    Some(Field::Currency),
                    tvd,
                    None,
                    config.tvd_threshold,
                    windows,
                ));
            }
        }
    }
    out
}
