//! Each window compared with its baseline (the windows before it), as alert records.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use differential_dataflow::VecCollection;
use differential_dataflow::lattice::Lattice;
use serde_json::{Value, json};
use timely::progress::Timestamp;

use super::stats::WindowStats;
use super::{Alert, AlertKind, AnomalyConfig, Field, Real};

/// The least standard deviation of a null ratio (one percentage point): a baseline without
/// nulls does not make one null an alert.
pub const NULL_RATIO_FLOOR: f64 = 0.01;
/// The least standard deviation of the amount's mean, in currency units (one cent).
pub const AMOUNT_FLOOR: f64 = 0.01;

/// The alerts of every window of `stats`. Each window's statistics are copied to the
/// `baseline_windows` windows after it (by event time) of the same source, and a `reduce`
/// per (source, window) judges the window against the copies it received: a window's
/// baseline is the windows `w - 1 .. w - K` that hold data. A change in any of them
/// re-judges the window, so the alerts stay exact under late rows and retractions.
pub fn alerts<'scope, T>(
    stats: VecCollection<'scope, T, WindowStats>,
    config: AnomalyConfig,
) -> VecCollection<'scope, T, Alert>
where
    T: Timestamp + Lattice + Ord,
{
    let (width, lags) = (config.window_ms, i64::from(config.baseline_windows));
    stats
        .flat_map(move |stats: WindowStats| {
            (0..=lags)
                .filter_map(|lag| {
                    let at = stats.start_ms.checked_add(lag.checked_mul(width)?)?;
                    Some(((stats.source.clone(), at), (lag, stats.clone())))
                })
                .collect::<Vec<_>>()
        })
        .reduce_named("AnomalyBaseline", move |_window, input, output| {
            let Some(((0, current), _)) = input.first() else { return };
            // Ordered by event time: the oldest baseline window first.
            let baseline: Vec<&WindowStats> = input[1..].iter().rev().map(|((_, stats), _)| stats).collect();
            for alert in judge(current, &baseline, &config) {
                output.push((alert, 1));
            }
        })
        .map(|(_, alert)| alert)
}

/// The population mean and standard deviation of `values` (not empty).
fn mean_stddev(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    (mean, variance.sqrt())
}

/// An i128 as a JSON number, or as a string where JSON numbers would lose it.
fn big(value: i128) -> Value {
    match i64::try_from(value) {
        Ok(small) => json!(small),
        Err(_) => json!(value.to_string()),
    }
}

/// The alerts of `current` against `baseline` (earlier windows of its source, ascending).
pub fn judge(current: &WindowStats, baseline: &[&WindowStats], config: &AnomalyConfig) -> Vec<Alert> {
    let min = config.min_baseline_windows as usize;
    let alert =
        |kind, field, observed: f64, stats: Option<(f64, f64, f64)>, threshold, windows, evidence| Alert {
            source: Arc::clone(&current.source),
            window_start_ms: current.start_ms,
            window_end_ms: current.start_ms.saturating_add(config.window_ms),
            kind,
            field,
            observed: Real(observed),
            baseline_mean: stats.map(|(mean, _, _)| Real(mean)),
            baseline_stddev: stats.map(|(_, stddev, _)| Real(stddev)),
            z_score: stats.map(|(_, _, z)| Real(z)),
            threshold: Real(threshold),
            baseline_windows: windows as u32,
            evidence: Value::to_string(&evidence),
        };
    let mut alerts = Vec::new();
    let z_threshold = config.z_threshold;
    if baseline.len() >= min {
        alerts.extend(volume(current, baseline, z_threshold).map(|(stats, evidence)| {
            alert(
                AlertKind::Volume,
                None,
                current.rows as f64,
                Some(stats),
                z_threshold,
                baseline.len(),
                evidence,
            )
        }));
        let judged = u64::try_from(current.rows).unwrap_or(0) >= config.min_window_rows;
        for field in Field::ALL.into_iter().filter(|_| judged) {
            if let Some((stats, evidence)) = null_ratio(current, baseline, field, z_threshold) {
                let observed = current.nulls_of(field) as f64 / current.rows as f64;
                alerts.push(alert(
                    AlertKind::NullRatio,
                    Some(field),
                    observed,
                    Some(stats),
                    z_threshold,
                    baseline.len(),
                    evidence,
                ));
            }
        }
        if let Some((new, evidence)) = schema_change(current, baseline) {
            alerts.push(alert(
                AlertKind::SchemaChange,
                None,
                new as f64,
                None,
                1.0,
                baseline.len(),
                evidence,
            ));
        }
    }
    let with_amounts: Vec<&WindowStats> = baseline.iter().copied().filter(|s| s.amounts > 0).collect();
    if with_amounts.len() >= min
        && u64::try_from(current.amounts).unwrap_or(0) >= config.min_window_rows.max(1)
        && let Some((stats, evidence)) = amount_shift(current, &with_amounts, z_threshold)
    {
        let observed = current.cents as f64 / current.amounts as f64 / 100.0;
        let windows = with_amounts.len();
        alerts.push(alert(
            AlertKind::Distribution,
            Some(Field::Amount),
            observed,
            Some(stats),
            z_threshold,
            windows,
            evidence,
        ));
    }
    let with_currencies: Vec<&WindowStats> =
        baseline.iter().copied().filter(|s| !s.currencies.is_empty()).collect();
    if with_currencies.len() >= min
        && !current.currencies.is_empty()
        && current.currencies.iter().map(|(_, n)| u64::try_from(*n).unwrap_or(0)).sum::<u64>()
            >= config.min_window_rows
        && let Some((tvd, evidence)) = currency_shift(current, &with_currencies, config.tvd_threshold)
    {
        let windows = with_currencies.len();
        let threshold = config.tvd_threshold;
        alerts.push(alert(
            AlertKind::Distribution,
            Some(Field::Currency),
            tvd,
            None,
            threshold,
            windows,
            evidence,
        ));
    }
    alerts
}

/// (mean, floored stddev, z) of a statistic, if |z| (or z, `rises_only`) reaches `threshold`.
fn z_test(
    observed: f64,
    values: &[f64],
    floor: impl Fn(f64) -> f64,
    threshold: f64,
    rises_only: bool,
) -> Option<(f64, f64, f64)> {
    let (mean, stddev) = mean_stddev(values);
    let stddev = stddev.max(floor(mean));
    let z = (observed - mean) / stddev;
    let score = if rises_only { z } else { z.abs() };
    (score >= threshold).then_some((mean, stddev, z))
}

/// The row count against the baseline's, the stddev floored at the Poisson sampling error
/// `sqrt(mean)` (and 1).
fn volume(
    current: &WindowStats,
    baseline: &[&WindowStats],
    threshold: f64,
) -> Option<((f64, f64, f64), Value)> {
    let counts: Vec<f64> = baseline.iter().map(|s| s.rows as f64).collect();
    let stats = z_test(current.rows as f64, &counts, |mean| mean.max(1.0).sqrt(), threshold, false)?;
    let windows: Vec<Value> =
        baseline.iter().map(|s| json!({"window_start": s.start_ms, "rows": s.rows})).collect();
    Some((stats, json!({"rows": current.rows, "baseline": windows})))
}

/// A field's null ratio against the baseline's, rises only; the stddev floored at the
/// binomial sampling error of this window's size at the baseline's ratio, and at
/// [`NULL_RATIO_FLOOR`].
fn null_ratio(
    current: &WindowStats,
    baseline: &[&WindowStats],
    field: Field,
    threshold: f64,
) -> Option<((f64, f64, f64), Value)> {
    let ratios: Vec<f64> = baseline.iter().map(|s| s.nulls_of(field) as f64 / s.rows as f64).collect();
    let rows = current.rows as f64;
    let observed = current.nulls_of(field) as f64 / rows;
    let floor = |mean: f64| (mean * (1.0 - mean) / rows).sqrt().max(NULL_RATIO_FLOOR);
    let stats = z_test(observed, &ratios, floor, threshold, true)?;
    let windows: Vec<Value> = baseline
        .iter()
        .map(|s| json!({"window_start": s.start_ms, "rows": s.rows, "nulls": s.nulls_of(field)}))
        .collect();
    Some((stats, json!({"rows": current.rows, "nulls": current.nulls_of(field), "baseline": windows})))
}

/// Schema ids of this window that no baseline window had: how many, and the evidence.
fn schema_change(current: &WindowStats, baseline: &[&WindowStats]) -> Option<(usize, Value)> {
    let before: BTreeSet<u32> = baseline.iter().flat_map(|s| s.schema_ids.iter().copied()).collect();
    let new: Vec<u32> = current.schema_ids.iter().copied().filter(|id| !before.contains(id)).collect();
    (!new.is_empty()).then(|| (new.len(), json!({"now": current.schema_ids, "baseline": before, "new": new})))
}

/// The amount's mean against the baseline windows' means; the stddev floored at the
/// standard error of this window's mean (the pooled baseline stddev over sqrt(its amounts))
/// and at [`AMOUNT_FLOOR`].
fn amount_shift(
    current: &WindowStats,
    baseline: &[&WindowStats],
    threshold: f64,
) -> Option<((f64, f64, f64), Value)> {
    let means: Vec<f64> = baseline.iter().map(|s| s.cents as f64 / s.amounts as f64 / 100.0).collect();
    let (n, sum, sum_sq) = baseline.iter().fold((0i128, 0i128, 0i128), |(n, sum, sq), s| {
        (n + i128::from(s.amounts), sum + s.cents, sq.saturating_add(s.cents_sq))
    });
    // The pooled variance (n * sum_sq - sum^2) / n^2, exactly where it fits.
    let variance_cents = match n.checked_mul(sum_sq).and_then(|a| sum.checked_mul(sum).map(|b| a - b)) {
        Some(numerator) => numerator as f64 / (n as f64 * n as f64),
        None => sum_sq as f64 / n as f64 - (sum as f64 / n as f64).powi(2),
    };
    let pooled_stddev = variance_cents.max(0.0).sqrt() / 100.0;
    let standard_error = pooled_stddev / (current.amounts as f64).sqrt();
    let observed = current.cents as f64 / current.amounts as f64 / 100.0;
    let floor = |_mean: f64| standard_error.max(AMOUNT_FLOOR);
    let stats = z_test(observed, &means, floor, threshold, false)?;
    let windows: Vec<Value> = baseline
        .iter()
        .map(|s| {
            json!({"window_start": s.start_ms, "amounts": s.amounts, "sum_cents": big(s.cents), "sum_sq_cents": big(s.cents_sq)})
        })
        .collect();
    let evidence = json!({
        "amounts": current.amounts,
        "sum_cents": big(current.cents),
        "sum_sq_cents": big(current.cents_sq),
        "baseline": windows,
    });
    Some((stats, evidence))
}

/// The total variation distance between this window's currency shares and the pooled
/// baseline's, if it reaches `threshold`.
fn currency_shift(current: &WindowStats, baseline: &[&WindowStats], threshold: f64) -> Option<(f64, Value)> {
    let mut before: BTreeMap<&str, i64> = BTreeMap::new();
    for (code, rows) in baseline.iter().flat_map(|s| &s.currencies) {
        *before.entry(code).or_default() += rows;
    }
    let now: BTreeMap<&str, i64> =
        current.currencies.iter().map(|(code, rows)| (code.as_str(), *rows)).collect();
    let (total_before, total_now) = (before.values().sum::<i64>() as f64, now.values().sum::<i64>() as f64);
    let codes: BTreeSet<&str> = before.keys().chain(now.keys()).copied().collect();
    let share =
        |counts: &BTreeMap<&str, i64>, code, total| counts.get(code).copied().unwrap_or(0) as f64 / total;
    let tvd = codes
        .iter()
        .map(|code| (share(&now, code, total_now) - share(&before, code, total_before)).abs())
        .sum::<f64>()
        / 2.0;
    (tvd >= threshold).then(|| (tvd, json!({"now": now, "baseline": before})))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(start_ms: i64, rows: i64) -> WindowStats {
        WindowStats { source: Arc::from("t"), start_ms, rows, ..WindowStats::default() }
    }

    #[test]
    fn a_constant_baseline_is_floored_not_divided_by_zero() {
        let config = AnomalyConfig { min_baseline_windows: 2, ..AnomalyConfig::default() };
        let baseline = [window(0, 100), window(60_000, 100), window(120_000, 100)];
        let baseline: Vec<&WindowStats> = baseline.iter().collect();
        // sqrt(100) = 10: 125 is z = 2.5, no alert; 131 is z = 3.1.
        assert!(judge(&window(180_000, 125), &baseline, &config).is_empty());
        let alerts = judge(&window(180_000, 131), &baseline, &config);
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        let alert = &alerts[0];
        assert_eq!(
            (alert.kind, alert.baseline_stddev, alert.baseline_windows),
            (AlertKind::Volume, Some(Real(10.0)), 3)
        );
        assert!((alert.z_score.unwrap().0 - 3.1).abs() < 1e-12);
        let evidence: Value = serde_json::from_str(&alert.evidence).unwrap();
        assert_eq!(evidence["baseline"][2], json!({"window_start": 120_000, "rows": 100}));
        // Too few baseline windows: nothing.
        assert!(judge(&window(180_000, 1_000), &baseline[..1], &config).is_empty());
    }

    #[test]
    fn null_ratios_alert_on_rises_only() {
        let config = AnomalyConfig { min_baseline_windows: 1, ..AnomalyConfig::default() };
        let mut before = window(0, 100);
        before.nulls[Field::UserId as usize] = 50;
        let mut now = window(60_000, 100);
        assert!(judge(&now, &[&before], &config).is_empty());
        now.nulls[Field::UserId as usize] = 100;
        let alerts = judge(&now, &[&before], &config);
        assert_eq!(
            alerts.iter().map(|a| (a.kind, a.field)).collect::<Vec<_>>(),
            [(AlertKind::NullRatio, Some(Field::UserId))]
        );
    }
}
