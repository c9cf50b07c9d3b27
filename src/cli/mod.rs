//! The command line, in two stages: raw flags ([`args`]) and validated plans ([`plan`];
//! [`tables`] for `query` and `maintain`, whose output [`render`] writes; [`bench_args`] and
//! [`bench_plan`] for `bench`; [`pii_args`] and [`pii_plan`] for `pii`; [`governance_args`] for
//! `retention` ([`retention`]), `export` ([`export`]) and `audit`, with [`access`], [`masking`]
//! and [`audit`] shared by the read paths).

pub mod access;
pub mod args;
pub mod audit;
pub mod bench_args;
pub mod bench_plan;
pub mod cluster;
pub mod export;
pub mod fraud_args;
pub mod fraud_plan;
pub mod governance_args;
pub mod masking;
pub mod pii_args;
pub mod pii_plan;
pub mod plan;
pub mod render;
pub mod retention;
pub mod tables;

pub use args::{Cli, Command};
pub use bench_plan::BenchPlan;
pub use export::ExportPlan;
pub use fraud_plan::{EvaluatePlan, TrainPlan};
pub use pii_plan::PiiPlan;
pub use plan::{BatchPlan, GeneratePlan, PlanError, RunPlan};
pub use retention::RetentionPlan;
pub use tables::{MaintainPlan, QueryPlan};
