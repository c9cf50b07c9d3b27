//! Validated plans of the fraud model commands.

use std::path::PathBuf;

use super::fraud_args::{EvaluateArgs, TrainArgs};
use super::plan::{PlanError, wall_clock_ms};
use crate::fraud::jobs::{EvaluateJob, TrainJob};
use crate::fraud::train::TrainConfig;

/// What `trustflow train` will do.
#[derive(Debug)]
pub struct TrainPlan {
    /// The job.
    pub job: TrainJob,
    /// Where to write the report as JSON.
    pub report_json: Option<PathBuf>,
}

impl TrainPlan {
    /// Validates `args`: a holdout between 5% and 50%, at least one negative per fraud
    /// example, one tree and depth 1, a non-negative penalty.
    pub fn from_args(args: TrainArgs) -> Result<TrainPlan, PlanError> {
        if !(0.05..=0.5).contains(&args.holdout) {
            return Err(PlanError::new(format!(
                "--holdout must be between 0.05 and 0.5, not {}",
                args.holdout
            )));
        }
        if args.negatives_per_fraud == 0 {
            return Err(PlanError::new("--negatives-per-fraud must be at least 1"));
        }
        if args.trees == 0 || args.max_depth == 0 {
            return Err(PlanError::new("--trees and --max-depth must be at least 1"));
        }
        if !(args.alpha >= 0.0 && args.alpha.is_finite()) {
            return Err(PlanError::new(format!("--alpha must be a finite number >= 0, not {}", args.alpha)));
        }
        let config = TrainConfig {
            holdout: args.holdout,
            calibration: TrainConfig::default().calibration,
            negatives_per_fraud: args.negatives_per_fraud,
            trees: args.trees,
            max_depth: args.max_depth,
            alpha: args.alpha,
            seed: args.seed,
        };
        let job = TrainJob {
            input: args.input,
            labels: args.labels,
            user_events: args.user_events,
            model_dir: args.model_dir,
            config,
            created_ms: wall_clock_ms(),
        };
        Ok(TrainPlan { job, report_json: args.report_json })
    }
}

/// What `trustflow evaluate` will do.
#[derive(Debug)]
pub struct EvaluatePlan {
    /// The job.
    pub job: EvaluateJob,
    /// Where to write the report as JSON.
    pub report_json: Option<PathBuf>,
}

impl EvaluatePlan {
    /// Takes `args` as they are (the model reference is parsed by clap).
    pub fn from_args(args: EvaluateArgs) -> EvaluatePlan {
        EvaluatePlan {
            job: EvaluateJob {
                model: args.model,
                input: args.input,
                labels: args.labels,
                user_events: args.user_events,
            },
            report_json: args.report_json,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;
    use crate::cli::{Cli, Command};
    use crate::fraud::{Selector, Stage};

    fn parse(argv: &[&str]) -> Result<Command, clap::Error> {
        Cli::try_parse_from(std::iter::once("trustflow").chain(argv.iter().copied())).map(|cli| cli.command)
    }

    fn train_plan(extra: &[&str]) -> Result<TrainPlan, PlanError> {
        let base = ["train", "--input", "e.jsonl", "--labels", "l.jsonl", "--model-dir", "m"];
        match parse(&[&base[..], extra].concat()).map_err(|e| PlanError::new(e.to_string()))? {
            Command::Train(args) => TrainPlan::from_args(args),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn train_defaults_and_checks() {
        let plan = train_plan(&[]).unwrap();
        assert_eq!(plan.job.config, TrainConfig::default());
        assert!(train_plan(&["--holdout", "0.9"]).is_err());
        assert!(train_plan(&["--negatives-per-fraud", "0"]).is_err());
        assert!(train_plan(&["--trees", "0"]).is_err());
        assert!(train_plan(&["--alpha", "-1"]).is_err());
        let plan = train_plan(&["--trees", "30", "--seed", "3", "--report-json", "r.json"]).unwrap();
        assert_eq!((plan.job.config.trees, plan.job.config.seed), (30, 3));
        assert_eq!(plan.report_json, Some(PathBuf::from("r.json")));
    }

    #[test]
    fn evaluate_and_models_take_model_references() {
        let Command::Evaluate(args) =
            parse(&["evaluate", "--model", "m@2", "--input", "e", "--labels", "l"]).unwrap()
        else {
            panic!("not evaluate")
        };
        assert_eq!(EvaluatePlan::from_args(args).job.model.selector, Selector::Version(2));
        assert!(parse(&["evaluate", "--model", "m@nope", "--input", "e", "--labels", "l"]).is_err());
        assert!(parse(&["models", "promote", "--model-dir", "m", "3", "--stage", "production"]).is_ok());
        assert!(parse(&["models", "promote", "--model-dir", "m", "3", "--stage", "prod"]).is_err());
        let Command::Models(args) = parse(&["models", "check", "--model", "m@staging"]).unwrap() else {
            panic!("not models")
        };
        let super::super::fraud_args::ModelsCommand::Check { model } = args.command else {
            panic!("not check")
        };
        assert_eq!(model.selector, Selector::Stage(Stage::Staging));
    }

    #[test]
    fn help_explains_references_stages_and_imbalance() {
        let mut cli = Cli::command();
        let help = |cli: &mut clap::Command, path: &[&str]| {
            let mut command = cli.clone();
            for name in path {
                command = command.find_subcommand(name).unwrap().clone();
            }
            command.render_long_help().to_string()
        };
        let train = help(&mut cli, &["train"]);
        assert!(train.contains("--negatives-per-fraud") && train.contains("Platt"), "{train}");
        let promote = help(&mut cli, &["models", "promote"]);
        assert!(promote.contains("production|staging"), "{promote}");
        let evaluate = help(&mut cli, &["evaluate"]);
        assert!(evaluate.contains("DIR@production") && evaluate.contains("verified"), "{evaluate}");
    }
}
