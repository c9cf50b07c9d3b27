//! Raw flags of the fraud model commands: `train`, `evaluate` and `models`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::fraud::{ModelRef, Stage};

/// Flags of `trustflow train`.
#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// Transactions to learn from: JSON lines or Parquet (what `batch` reads), or a local
    /// Delta table (its latest version; a changelog table is consolidated first).
    #[arg(long, value_name = "PATH")]
    pub input: PathBuf,
    /// Ground-truth labels, JSON lines {"transactionId", "fraud", "pattern"} (`generate
    /// --labels` writes them); joined to the input by transactionId.
    #[arg(long, value_name = "PATH")]
    pub labels: PathBuf,
    /// User events, JSON lines {"userId", "eventType", "device", "country", "ip",
    /// "timestamp"} (`generate --user-events-jsonl` writes them), whose logins the features
    /// join (`fraud-features/2`: a login from a new device or country in the 30 minutes before
    /// a payment). Without it every row's login features say "no login".
    #[arg(long, value_name = "PATH")]
    pub user_events: Option<PathBuf>,
    /// The model registry: the kept model is saved as its next version, DIR/<version>/.
    #[arg(long, value_name = "DIR")]
    pub model_dir: PathBuf,
    /// Share of the labelled examples, the latest by event time, held out for evaluation.
    #[arg(long, default_value_t = 0.2, value_name = "FRACTION")]
    pub holdout: f64,
    /// Class imbalance: non-fraud training examples kept per fraud example (a seeded random
    /// sample; every fraud example is kept). Scores are calibrated back to the real balance.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub negatives_per_fraud: u32,
    /// Trees of the random forest.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub trees: u16,
    /// Maximum depth of a tree.
    #[arg(long, default_value_t = 12, value_name = "N")]
    pub max_depth: u16,
    /// L2 penalty of logistic regression.
    #[arg(long, default_value_t = 1.0, value_name = "ALPHA")]
    pub alpha: f64,
    /// Seed of the undersampling and of the forest.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Also write the report as JSON here.
    #[arg(long, value_name = "PATH")]
    pub report_json: Option<PathBuf>,
}

/// Flags of `trustflow evaluate`.
#[derive(Args, Debug, Clone)]
pub struct EvaluateArgs {
    /// The model: DIR (the production version, else the latest), DIR@VERSION,
    /// DIR@production, DIR@staging or DIR@latest. It is verified before use.
    #[arg(long, value_name = "DIR[@REF]")]
    pub model: ModelRef,
    /// Labelled transactions the model never saw (JSON lines, Parquet or a Delta table).
    #[arg(long, value_name = "PATH")]
    pub input: PathBuf,
    /// Their labels (JSON lines).
    #[arg(long, value_name = "PATH")]
    pub labels: PathBuf,
    /// User events, JSON lines {"userId", "eventType", "device", "country", "ip",
    /// "timestamp"} (`generate --user-events-jsonl` writes them), whose logins the features
    /// join (`fraud-features/2`: a login from a new device or country in the 30 minutes before
    /// a payment). Without it every row's login features say "no login".
    #[arg(long, value_name = "PATH")]
    pub user_events: Option<PathBuf>,
    /// Also write the report as JSON here.
    #[arg(long, value_name = "PATH")]
    pub report_json: Option<PathBuf>,
}

/// Flags of `trustflow models`.
#[derive(Args, Debug, Clone)]
pub struct ModelsArgs {
    /// What to do with the registry.
    #[command(subcommand)]
    pub command: ModelsCommand,
}

/// The registry subcommands.
#[derive(Subcommand, Debug, Clone)]
pub enum ModelsCommand {
    /// List every version: stages, creation time, algorithm, held-out PR AUC, ROC AUC and
    /// recall at HIGH, and whether it loads (hash and feature list verified).
    List {
        /// The model registry.
        #[arg(long, value_name = "DIR")]
        model_dir: PathBuf,
    },
    /// Point a stage (production or staging) at a version, after verifying that it loads.
    /// Scoring and `evaluate --model DIR` use the production version.
    Promote {
        /// The model registry.
        #[arg(long, value_name = "DIR")]
        model_dir: PathBuf,
        /// The version to promote.
        #[arg(value_name = "VERSION")]
        version: u32,
        /// The stage.
        #[arg(long, value_parser = parse_stage, value_name = "production|staging")]
        stage: Stage,
    },
    /// Load and verify a version (meta, SHA-256 of model.bin, feature list, decoding) without
    /// using it; exits non-zero if it would be refused.
    Check {
        /// The model: DIR, DIR@VERSION, DIR@production, DIR@staging or DIR@latest.
        #[arg(long, value_name = "DIR[@REF]")]
        model: ModelRef,
    },
}

fn parse_stage(text: &str) -> Result<Stage, String> {
    text.parse()
}
