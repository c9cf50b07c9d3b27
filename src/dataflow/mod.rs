//! The differential-dataflow graphs: quality checks over transactions.

pub mod expectations;
pub mod horizon;
pub mod quality;
pub mod windows;
