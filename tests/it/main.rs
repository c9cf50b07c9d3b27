//! trustflow's integration tests: one binary, a module per area, regression tests named after
//! their issue.

mod azure;
mod batch_mode;
mod expectations;
mod horizon;
mod kafka_pipeline;
mod maintenance;
mod quality_graph;
mod support;
mod window_metrics;
mod worked_cases;
mod zero_install;
