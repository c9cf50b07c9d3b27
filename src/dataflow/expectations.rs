//! Expectations: each quality rule with an action (warn, drop, quarantine, fail), applied to
//! the verdicts as stateless routing, so a retracted verdict is un-routed exactly.

use differential_dataflow::VecCollection;
use differential_dataflow::lattice::Lattice;
use serde::{Deserialize, Serialize};
use timely::progress::Timestamp;

use super::quality::QualityRow;
use super::quality::rules::string_complete;

/// What a rule checks, in the reference design's policy vocabulary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The column is present (strings: and not `""`).
    NotNull,
    /// `amount > 0`.
    PositiveNumber,
    /// `currency` matches `^[A-Z]{3}$`.
    CurrencyFormat,
    /// `currency` is an ISO 4217 code (stricter than the format).
    #[serde(rename = "iso_4217_code")]
    Iso4217Code,
    /// `timestamp` is within the 24 hours before "now".
    #[serde(rename = "within_24_hours")]
    Within24Hours,
    /// The row is CONSISTENT with its user's recent average.
    Consistent,
    /// The row's transactionId is UNIQUE.
    Unique,
}

/// What happens to a row that fails a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Flag it and keep it (the verdict columns say what failed).
    Warn,
    /// Keep it out of the main table and count it.
    Drop,
    /// Route it to the quarantine table with the rules it failed.
    Quarantine,
    /// Stop the pipeline with an error naming the rule and the record.
    Fail,
}

/// One named rule on one column with its action.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// A name for metrics, quarantine records and errors.
    pub name: String,
    /// The input column the rule reads (`amount`, `currency`, ...).
    pub column: String,
    /// The rule.
    pub rule: Rule,
    /// The action on failure.
    #[serde(default = "warn")]
    pub action: Action,
}

fn warn() -> Action {
    Action::Warn
}

/// The input columns rules may name.
pub const COLUMNS: [&str; 5] = ["transactionId", "userId", "amount", "currency", "timestamp"];

impl Expectation {
    /// Why this expectation cannot be evaluated (unknown column, rule that does not apply to
    /// the column), or `None`.
    pub fn problem(&self) -> Option<String> {
        if !COLUMNS.contains(&self.column.as_str()) {
            return Some(format!(
                "expectation `{}`: unknown column `{}` (one of {COLUMNS:?})",
                self.name, self.column
            ));
        }
        let column = match self.rule {
            Rule::NotNull => return None,
            Rule::PositiveNumber => "amount",
            Rule::CurrencyFormat | Rule::Iso4217Code => "currency",
            Rule::Within24Hours => "timestamp",
            Rule::Consistent => "amount",
            Rule::Unique => "transactionId",
        };
        (self.column != column).then(|| {
            format!(
                "expectation `{}`: rule {:?} applies to `{column}`, not `{}`",
                self.name, self.rule, self.column
            )
        })
    }

    /// Whether `row` passes.
    pub fn passes(&self, row: &QualityRow) -> bool {
        let record = &row.record;
        match self.rule {
            Rule::NotNull => match self.column.as_str() {
                "transactionId" => string_complete(&record.transaction_id),
                "userId" => string_complete(&record.user_id),
                "amount" => record.amount.is_some(),
                "currency" => string_complete(&record.currency),
                _ => record.timestamp.is_some(),
            },
            Rule::PositiveNumber => row.amount_valid,
            Rule::CurrencyFormat => row.currency_valid,
            Rule::Iso4217Code => record.currency.as_deref().is_some_and(is_iso_4217),
            Rule::Within24Hours => row.timestamp_valid,
            Rule::Consistent => row.consistent,
            Rule::Unique => row.unique,
        }
    }
}

/// Whether `code` is an active ISO 4217 alphabetic code.
pub fn is_iso_4217(code: &str) -> bool {
    iso_currency::Currency::from_code(code).is_some()
}

/// The reference design's policy rules, each with `warn`: amount positive_number, currency
/// iso_4217_code, timestamp within_24_hours.
pub fn reference_policy() -> Vec<Expectation> {
    [
        ("amount_positive", "amount", Rule::PositiveNumber),
        ("currency_iso_4217", "currency", Rule::Iso4217Code),
        ("timestamp_within_24_hours", "timestamp", Rule::Within24Hours),
    ]
    .into_iter()
    .map(|(name, column, rule)| Expectation {
        name: name.into(),
        column: column.into(),
        rule,
        action: Action::Warn,
    })
    .collect()
}

/// The verdicts routed by their expectations.
pub struct Routed<'scope, T: Timestamp> {
    /// Rows for the main table: failing no `drop` or `quarantine` expectation.
    pub kept: VecCollection<'scope, T, QualityRow>,
    /// Rows failing a `quarantine` expectation, with the names of every expectation they fail.
    pub quarantined: VecCollection<'scope, T, (QualityRow, Vec<String>)>,
    /// Rows failing a `drop` expectation (and no `quarantine` one): counted, not written.
    pub dropped: VecCollection<'scope, T, QualityRow>,
    /// Rows failing a `fail` expectation, with its name: the pipeline stops on the first.
    pub fatal: VecCollection<'scope, T, (QualityRow, String)>,
    /// Per expectation name and outcome (`true` = passed), the row count, kept current.
    pub outcomes: VecCollection<'scope, T, ((String, bool), isize)>,
}

/// Routes `rows` by `expectations` (a row failing both a `quarantine` and a `drop`
/// expectation is quarantined: keeping the evidence wins).
pub fn route<'scope, T>(
    rows: VecCollection<'scope, T, QualityRow>,
    expectations: &[Expectation],
) -> Routed<'scope, T>
where
    T: Timestamp + Lattice + Ord,
{
    let failing = |action: Action, row: &QualityRow, expectations: &[Expectation]| -> Vec<String> {
        expectations.iter().filter(|e| e.action == action && !e.passes(row)).map(|e| e.name.clone()).collect()
    };
    let (e1, e2, e3, e4, e5) = (
        expectations.to_vec(),
        expectations.to_vec(),
        expectations.to_vec(),
        expectations.to_vec(),
        expectations.to_vec(),
    );
    let kept = rows.clone().filter(move |row| {
        failing(Action::Quarantine, row, &e1).is_empty() && failing(Action::Drop, row, &e1).is_empty()
    });
    let quarantined = rows.clone().flat_map(move |row| {
        let failed: Vec<String> = e2.iter().filter(|e| !e.passes(&row)).map(|e| e.name.clone()).collect();
        let quarantine = e2.iter().any(|e| e.action == Action::Quarantine && !e.passes(&row));
        quarantine.then_some((row, failed))
    });
    let dropped = rows.clone().filter(move |row| {
        failing(Action::Quarantine, row, &e3).is_empty() && !failing(Action::Drop, row, &e3).is_empty()
    });
    let fatal = rows.clone().flat_map(move |row| {
        let first = failing(Action::Fail, &row, &e4).into_iter().next();
        first.map(|name| (row, name))
    });
    let outcomes = rows
        .flat_map(move |row| e5.iter().map(|e| (e.name.clone(), e.passes(&row))).collect::<Vec<_>>())
        .count();
    Routed { kept, quarantined, dropped, fatal, outcomes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataflow::quality::rules::verdict;
    use crate::record::Transaction;

    fn row(amount: &str, currency: &str) -> QualityRow {
        let record = Transaction {
            origin: None,
            timestamp: Some(1_000),
            transaction_id: Some("t".into()),
            amount: Some(amount.parse().unwrap()),
            currency: Some(currency.into()),
            metadata: None,
            user_id: Some("u".into()),
        };
        verdict(record, None, true, 2_000)
    }

    fn expectation(rule: Rule, column: &str) -> Expectation {
        Expectation { name: format!("{rule:?}"), column: column.into(), rule, action: Action::Warn }
    }

    #[test]
    fn iso_4217_is_stricter_than_the_format() {
        assert!(is_iso_4217("USD") && is_iso_4217("EUR") && is_iso_4217("JPY"));
        assert!(!is_iso_4217("XYZ") && !is_iso_4217("usd") && !is_iso_4217("US"));
        let iso = expectation(Rule::Iso4217Code, "currency");
        let format = expectation(Rule::CurrencyFormat, "currency");
        assert!(format.passes(&row("1", "XYZ")) && !iso.passes(&row("1", "XYZ")));
    }

    #[test]
    fn rules_must_fit_their_column() {
        assert!(expectation(Rule::PositiveNumber, "amount").problem().is_none());
        assert!(
            expectation(Rule::PositiveNumber, "currency").problem().unwrap().contains("applies to `amount`")
        );
        assert!(expectation(Rule::NotNull, "nope").problem().unwrap().contains("unknown column"));
        assert!(reference_policy().iter().all(|e| e.problem().is_none()));
    }

    #[test]
    fn rules_read_the_verdicts() {
        let bad = row("-1", "usd");
        assert!(!expectation(Rule::PositiveNumber, "amount").passes(&bad));
        assert!(!expectation(Rule::CurrencyFormat, "currency").passes(&bad));
        assert!(expectation(Rule::NotNull, "amount").passes(&bad));
        assert!(expectation(Rule::Within24Hours, "timestamp").passes(&bad));
    }
}
