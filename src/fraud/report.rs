//! Readable reports of training, evaluation and the registry listing.

use std::fmt::{self, Display, Formatter};
use std::time::{Duration, UNIX_EPOCH};

use super::dataset::{DataIdentity, FileIdentity, UserEventsIdentity};
use super::evaluation::{AmountRule, Evaluation};
use super::examples::Coverage;
use super::jobs::{EvaluateReport, TrainReport};
use super::metrics::Metrics;
use super::registry::Listed;
use super::{HIGH, MEDIUM};

/// `x` with 3 decimals, or `n/a`.
fn num(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".to_owned(), |x| format!("{x:.3}"))
}

/// A share as a percentage.
fn percent(part: u64, whole: u64) -> String {
    if whole == 0 { "n/a".to_owned() } else { format!("{:.2}%", 100.0 * part as f64 / whole as f64) }
}

/// Epoch milliseconds as RFC 3339.
fn time(ms: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_millis(at).to_string()
}

/// The first and last 6 hex digits of a hash.
fn short(hash: &str) -> String {
    if hash.len() > 12 { format!("{}..{}", &hash[..6], &hash[hash.len() - 6..]) } else { hash.to_owned() }
}

fn data_lines(
    f: &mut Formatter<'_>,
    verb: &str,
    data: &DataIdentity,
    labels: &FileIdentity,
    c: &Coverage,
) -> fmt::Result {
    let version = data.delta_version.map(|v| format!(", version {v}")).unwrap_or_default();
    writeln!(
        f,
        "{verb:<12} {} ({}{version}, sha256 {}): {} transactions, {} not transactions left out",
        data.path,
        data.format,
        short(&data.sha256),
        c.rows,
        data.rejected
    )?;
    writeln!(
        f,
        "{:<12} {} (sha256 {}): {} labelled examples, {} fraud ({}); {} without a label, {} without a timestamp",
        "labels",
        labels.path,
        short(&labels.sha256),
        c.labelled,
        c.fraud,
        percent(c.fraud, c.labelled),
        c.unlabelled,
        c.no_timestamp
    )
}

fn user_events_line(f: &mut Formatter<'_>, events: Option<&UserEventsIdentity>) -> fmt::Result {
    match events {
        Some(e) => writeln!(
            f,
            "{:<12} {} (sha256 {}): {} user events, {} logins joined",
            "user events",
            e.file.path,
            short(&e.file.sha256),
            e.events,
            e.logins
        ),
        None => writeln!(
            f,
            "{:<12} none (--user-events not given): every login feature says \"no login\"",
            "user events"
        ),
    }
}

fn metrics_header(f: &mut Formatter<'_>) -> fmt::Result {
    writeln!(
        f,
        "  {:<30} {:>8} {:>8}   {:>9} {:>7} {:>8}   {:>9} {:>7} {:>8}",
        "", "ROC AUC", "PR AUC", "HIGH prec", "recall", "flagged", "MED prec", "recall", "flagged"
    )
}

fn metrics_row(f: &mut Formatter<'_>, name: &str, m: &Metrics, extra: &str) -> fmt::Result {
    writeln!(
        f,
        "  {name:<30} {:>8} {:>8}   {:>9} {:>7} {:>8}   {:>9} {:>7} {:>8}{extra}",
        num(m.roc_auc),
        num(m.pr_auc),
        num(m.high.precision),
        num(m.high.recall),
        m.high.flagged,
        num(m.medium.precision),
        num(m.medium.recall),
        m.medium.flagged
    )
}

fn rule_and_patterns(f: &mut Formatter<'_>, rule: &AmountRule, evaluation: &Evaluation) -> fmt::Result {
    metrics_row(f, "amount rule", &evaluation.rule, "")?;
    writeln!(
        f,
        "  (amount rule: HIGH amount > {:.2}, MEDIUM amount > {:.2}, the training split's 99th and 95th \
         percentiles; its AUCs rank by amount)",
        rule.high_amount, rule.medium_amount
    )?;
    writeln!(f, "recall by pattern (HIGH | MEDIUM)")?;
    for (pattern, r) in &evaluation.patterns {
        let share = |k: u64| num(Some(k as f64 / r.fraud.max(1) as f64));
        writeln!(
            f,
            "  {pattern:<18} {:>6} fraud rows   model {} | {}   amount rule {} | {}",
            r.fraud,
            share(r.model_high),
            share(r.model_medium),
            share(r.rule_high),
            share(r.rule_medium)
        )?;
    }
    Ok(())
}

impl Display for TrainReport {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        data_lines(f, "trained on", &self.data, &self.labels, &self.coverage)?;
        user_events_line(f, self.user_events.as_ref())?;
        let s = &self.split;
        writeln!(
            f,
            "{:<12} by event time: fit on {} examples ({} fraud), calibrate on {} from {} ({} fraud), \
             hold out {} from {} ({} fraud)",
            "split",
            s.fit_rows,
            s.fit_fraud,
            s.calibration_rows,
            time(s.calibration_from_ms),
            s.calibration_fraud,
            s.holdout_rows,
            time(s.holdout_from_ms),
            s.holdout_fraud
        )?;
        writeln!(
            f,
            "{:<12} fitting negatives undersampled to {} ({} of them), every fraud row kept; scores \
             calibrated on the untouched calibration slice",
            "imbalance",
            s.sampled_negatives,
            percent((s.negative_share * 1e6) as u64, 1_000_000)
        )?;
        writeln!(f, "held-out metrics (HIGH: score > {HIGH}, MEDIUM: score > {MEDIUM})")?;
        metrics_header(f)?;
        for candidate in &self.candidates {
            let kept = if candidate.algorithm == self.chosen { " (kept)" } else { "" };
            let name = format!("{}{kept}", candidate.algorithm.name());
            let c = &candidate.calibration;
            let extra = format!(
                "   fit {:.1} s, {} {:.2}*logit{:+.2}",
                candidate.fit_seconds, candidate.calibration_method, c.slope, c.intercept
            );
            metrics_row(f, &name, &candidate.metrics, &extra)?;
        }
        rule_and_patterns(f, &self.rule, &self.holdout)?;
        writeln!(
            f,
            "saved        {} as version {} in {} (model.bin sha256 {})",
            self.chosen.name(),
            self.saved.version,
            self.saved.dir,
            short(&self.saved.sha256)
        )?;
        let (read, fit, total) = self.seconds;
        writeln!(
            f,
            "time         read and features {read:.1} s, fit and evaluate {fit:.1} s, total {total:.1} s"
        )
    }
}

impl Display for EvaluateReport {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "model        {} version {} ({}, model.bin sha256 {}, verified)",
            self.model.dir,
            self.model.version,
            self.algorithm.name(),
            short(&self.model.sha256)
        )?;
        data_lines(f, "evaluated on", &self.data, &self.labels, &self.coverage)?;
        user_events_line(f, self.user_events.as_ref())?;
        writeln!(f, "metrics (HIGH: score > {HIGH}, MEDIUM: score > {MEDIUM})")?;
        metrics_header(f)?;
        metrics_row(f, "model", &self.evaluation.model, "")?;
        metrics_row(f, "model on its training holdout", &self.trained_holdout, "")?;
        rule_and_patterns(f, &self.rule, &self.evaluation)
    }
}

/// The `trustflow models list` table.
pub struct Listing<'a>(pub &'a [Listed]);

impl Display for Listing<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:>7}  {:<20} {:<24} {:<20} {:>8} {:>8} {:>9}  status",
            "version", "stages", "created", "algorithm", "PR AUC", "ROC AUC", "rec@HIGH"
        )?;
        for listed in self.0 {
            let stages: Vec<String> = listed.stages.iter().map(|s| s.to_string()).collect();
            let (created, algorithm, pr, roc, recall) = match &listed.meta {
                Some(m) => {
                    let holdout = &m.training.holdout.model;
                    (
                        time(m.created_ms),
                        m.algorithm.name(),
                        holdout.pr_auc,
                        holdout.roc_auc,
                        holdout.high.recall,
                    )
                }
                None => ("?".to_owned(), "?", None, None, None),
            };
            let status = match &listed.check {
                Ok(()) => "ok".to_owned(),
                Err(e) => format!("REFUSED: {e}"),
            };
            writeln!(
                f,
                "{:>7}  {:<20} {created:<24} {algorithm:<20} {:>8} {:>8} {:>9}  {status}",
                listed.version,
                stages.join(","),
                num(pr),
                num(roc),
                num(recall)
            )?;
        }
        Ok(())
    }
}
