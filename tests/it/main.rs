//! trustflow's integration tests: one binary, a module per area, regression tests named after
//! their issue.

mod access_control;
mod anomaly;
mod azure;
mod batch_mode;
mod bench;
mod cluster;
mod crash;
mod encryption;
mod expectations;
mod fraud_logins;
mod fraud_scoring;
mod fraud_stream;
mod fraud_training;
mod governance_sinks;
mod graph_support;
mod horizon;
mod horizon_replay;
mod horizon_resume;
mod kafka_output;
mod kafka_output_support;
mod kafka_pipeline;
mod kill_loop;
mod maintenance;
mod openlineage;
mod openlineage_run;
mod pii_eval;
mod quality_graph;
mod retention;
mod support;
mod window_metrics;
mod worked_cases;
mod worker_failure;
mod zero_install;
