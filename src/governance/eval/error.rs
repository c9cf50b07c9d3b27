//! Why a corpus or a findings file cannot be used.

/// A corpus or findings line that cannot be used: bad JSON, a span outside its text, a
/// finding for a text the corpus does not hold. Every one is a usage error, never retryable.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The line is not the JSON object expected.
    #[error("{file}:{line}: {source}")]
    Json {
        /// The file (as given).
        file: String,
        /// 1-based line number.
        line: usize,
        /// serde_json's error.
        #[source]
        source: serde_json::Error,
    },
    /// The line parsed but does not make sense.
    #[error("{file}:{line}: {message}")]
    Invalid {
        /// The file (as given).
        file: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl EvalError {
    /// An [`EvalError::Invalid`] at `file:line`.
    pub fn invalid(file: &str, line: usize, message: impl Into<String>) -> EvalError {
        EvalError::Invalid { file: file.to_owned(), line, message: message.into() }
    }
}
