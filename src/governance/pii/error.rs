//! Why the PII recognizers could not be built.

/// A recognizer that could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PiiError {
    /// A recognizer's pattern does not compile: a bug, since the patterns are constants
    /// (internal, not retryable).
    #[error("PII pattern `{name}` does not compile: {source}")]
    Pattern {
        /// The recognizer.
        name: &'static str,
        /// The regex crate's error.
        #[source]
        source: regex::Error,
    },
}
