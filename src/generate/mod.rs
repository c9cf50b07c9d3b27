//! The demo and test data generator: realistic transactions with planted quality problems.

pub mod events;
pub mod jsonl;
pub mod produce;
pub mod truth;

pub use events::{Event, Generator, GeneratorConfig, Timeline};
pub use truth::Truth;
