//! Why a governance policy could not be read or applied.

/// A policy that is invalid, or that cannot be applied as asked.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A value in `governance_policies` or `rbac_policies` is out of range or inconsistent
    /// (user error, not retryable).
    #[error("{what}: {message}")]
    Invalid {
        /// The key path, e.g. `governance_policies.data_retention.retention_period`.
        what: String,
        /// What is wrong.
        message: String,
    },
    /// A tokenization key shorter than [`super::token::MIN_KEY_BYTES`] (user error).
    #[error("the tokenization key has {len} bytes; at least {min} are needed")]
    ShortKey {
        /// The key's length.
        len: usize,
        /// The minimum.
        min: usize,
    },
    /// A tokenization key that is not hexadecimal (user error).
    #[error("the tokenization key is not hexadecimal: {0}")]
    KeyNotHex(String),
    /// A policy asks for tokens but no key was given (user error: set the key's variable).
    #[error("PII handling `tokenize` needs a key, and none was given (set ${0})")]
    MissingKey(String),
}

impl PolicyError {
    /// An [`PolicyError::Invalid`] for `what`.
    pub fn invalid(what: impl Into<String>, message: impl Into<String>) -> PolicyError {
        PolicyError::Invalid { what: what.into(), message: message.into() }
    }
}
