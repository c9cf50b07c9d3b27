//! The command line, in two stages: raw flags ([`args`]) and validated plans ([`plan`]).

pub mod args;
pub mod cluster;
pub mod plan;

pub use args::{Cli, Command};
pub use plan::{BatchPlan, GeneratePlan, PlanError, RunPlan};
