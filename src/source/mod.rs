//! Kafka sources: which worker reads which partitions, the reader, and the dead-letter path.

pub mod assign;
pub mod client;
pub mod dead_letter;
pub mod delivery;
pub mod error;
pub mod reader;

pub use assign::partitions_for_worker;
pub use client::KafkaSettings;
pub use dead_letter::{DeadLetter, Rejection};
pub use delivery::DeliveryTracker;
pub use error::SourceError;
pub use reader::{KafkaReader, SourceMessage};
