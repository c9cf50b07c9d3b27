//! The quality graph: completeness, validity, consistency and uniqueness, incrementally.

pub mod bounded;
pub mod frame;
pub mod graph;
pub mod reference;
pub mod row;
pub mod rules;

pub use bounded::evaluate_bounded;
pub use graph::quality;
pub use row::QualityRow;
