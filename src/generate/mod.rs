//! The demo and test data generator: transactions with planted quality problems, labelled
//! fraud (with the user events, logins, that account takeover needs) and, optionally, planted
//! PII.

pub mod events;
pub mod fraud;
pub mod jsonl;
pub mod logins;
pub mod pii;
pub mod produce;
pub mod truth;

pub use events::{Event, Generator, GeneratorConfig, Planted, Timeline};
pub use fraud::FraudPattern;
pub use truth::Truth;
