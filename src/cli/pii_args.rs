//! Raw flags of `trustflow pii` (validated in [`super::pii_plan`]).

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// Flags of `trustflow pii`.
#[derive(Args, Debug, Clone)]
pub struct PiiArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: PiiCommand,
}

/// The `pii` subcommands.
#[derive(Subcommand, Debug, Clone)]
pub enum PiiCommand {
    /// Find personal data in texts: JSON lines in, one JSON line per finding out.
    ///
    /// Each input line is an object {"text": "...", "field": "...", "id": "..."}: the text is
    /// scanned as a value of the field (its name is context, as a metadata key is: `order_id`
    /// lowers a phone-shaped number, `dob` makes a date a date of birth, `customer_name` makes
    /// the value a name). `field` and `id` (a string or a number) may be left out (id: the
    /// line number); other keys are ignored, except a corpus line's `entities`, which are
    /// checked. Each finding is printed as {"id", "type", "start", "end", "score",
    /// "field", "matched", "evidence"}, spans in characters (Unicode code points), `end`
    /// exclusive. Types: email, phone, payment_card, iban, us_ssn, ip_address,
    /// date_of_birth, person_name, address (docs/governance.md).
    Scan(ScanArgs),
    /// Write the labelled evaluation corpus: generated texts with their true entities, plus
    /// hand-written cases.
    ///
    /// The generated part is seeded: values as `generate --pii-rate` plants them (alone under
    /// their keys, inside sentences, two in one text) and negatives that only look like
    /// personal data (order numbers, versions, timestamps, expiry dates, merchant ids,
    /// card-shaped numbers failing Luhn, IBANs with bad check digits, SSNs in never-issued
    /// areas). Lines: {"id", "set", "field", "text", "entities": [{"type", "start", "end"}]}.
    Corpus(CorpusArgs),
    /// Precision and recall per type on a labelled corpus: trustflow's recognizers, and the
    /// findings of other detectors (e.g. Presidio's, written by scripts/presidio/analyze.py),
    /// scored by the same rule side by side.
    ///
    /// A finding is correct when it is in the same text as a true entity, of the same type,
    /// and the spans overlap; each entity and each finding counts once. Precision = correct /
    /// found, recall = correct / entities, F1 their harmonic mean; per type, per set, and
    /// over everything (micro-averaged). Prints Markdown tables; --json writes the report
    /// with every miss.
    Eval(EvalArgs),
}

/// Flags of `trustflow pii scan`.
#[derive(Args, Debug, Clone)]
pub struct ScanArgs {
    /// JSON lines to scan ({"text", "field", "id"} per line); `-` reads standard input.
    #[arg(long, value_name = "PATH")]
    pub input: PathBuf,
    /// Write the findings here instead of standard output.
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Report findings at or above this confidence (0 to 1).
    #[arg(long, default_value_t = 0.4, value_name = "SCORE")]
    pub threshold: f64,
}

/// Flags of `trustflow pii corpus`.
#[derive(Args, Debug, Clone)]
pub struct CorpusArgs {
    /// The corpus to write (JSON lines).
    #[arg(long, value_name = "PATH")]
    pub output: PathBuf,
    /// Generated texts (set `generated`, ids gen-000001, ...); 0 for none.
    #[arg(long, default_value_t = 3_000, value_name = "N")]
    pub count: usize,
    /// Seed of the generated part: the same seed gives the same texts.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Append the labelled cases of this JSON lines file (repeatable), e.g.
    /// tests/fixtures/pii/hard_cases.jsonl. Lines without a set get the file's name without
    /// extension as their set; lines without an id get <set>-<line>.
    #[arg(long, value_name = "PATH")]
    pub append: Vec<PathBuf>,
}

/// Flags of `trustflow pii eval`.
#[derive(Args, Debug, Clone)]
pub struct EvalArgs {
    /// The labelled corpus (`trustflow pii corpus` writes one).
    #[arg(long, value_name = "PATH")]
    pub corpus: PathBuf,
    /// Also score another detector's findings on the same corpus, as NAME=PATH (repeatable):
    /// JSON lines {"id", "type", "start", "end", "score"} (`pii scan` and
    /// scripts/presidio/analyze.py write them).
    #[arg(long, value_name = "NAME=PATH")]
    pub findings: Vec<String>,
    /// trustflow's reporting threshold for this run (0 to 1).
    #[arg(long, default_value_t = 0.4, value_name = "SCORE")]
    pub threshold: f64,
    /// Also print every false positive and false negative of each detector in this set
    /// (repeatable), e.g. --misses hard_cases.
    #[arg(long, value_name = "SET")]
    pub misses: Vec<String>,
    /// Write the whole report as JSON here (counts per type and set, every miss).
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
}
