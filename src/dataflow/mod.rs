//! The differential-dataflow graphs: quality checks over transactions.

pub mod quality;
pub mod windows;
pub mod expectations;
