//! The command line, in two stages: raw flags ([`args`]) and validated plans ([`plan`]).

pub mod args;
pub mod cluster;
pub mod fraud_args;
pub mod fraud_plan;
pub mod plan;

pub use args::{Cli, Command};
pub use fraud_plan::{EvaluatePlan, TrainPlan};
pub use plan::{BatchPlan, GeneratePlan, PlanError, RunPlan};
