//! The differential-dataflow graphs: quality checks and anomaly monitoring over transactions.

pub mod anomaly;
pub mod expectations;
pub mod horizon;
pub mod quality;
pub mod windows;
