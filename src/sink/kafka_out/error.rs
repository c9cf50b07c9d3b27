//! Errors of the Kafka output topic, each saying whether the epoch may be visible.

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use crate::sink::SinkError;
use crate::source::SourceError;

/// What can go wrong opening the output or publishing an epoch to it.
///
/// After [`KafkaOutputError::Aborted`] nothing of the epoch is visible to `read_committed`
/// readers and the same output may publish the epoch again. After
/// [`KafkaOutputError::InDoubt`] or [`KafkaOutputError::Fatal`] the producer is unusable: drop
/// the output, open it again (which completes or aborts whatever was pending) and consult
/// [`last_published_epoch`](super::KafkaOutput::last_published_epoch).
#[derive(Debug, thiserror::Error)]
pub enum KafkaOutputError {
    /// A Kafka client could not be created from the settings (bad option, bad value).
    #[error("invalid Kafka client settings for the output topic: {0}")]
    Config(#[source] KafkaError),
    /// The output or progress topic could not be looked up or created.
    #[error("cannot prepare the output topics: {0}")]
    Topics(#[source] Box<SourceError>),
    /// The producer could not register its transactional id (and fence older producers).
    #[error("cannot initialise transactions for `{transactional_id}`: {source}")]
    Init {
        /// The producer's `transactional.id`.
        transactional_id: String,
        /// The client's error.
        #[source]
        source: KafkaError,
    },
    /// Reading the progress topic failed.
    #[error("cannot read the progress topic `{topic}`: {source}")]
    Progress {
        /// The progress topic.
        topic: String,
        /// The client's error.
        #[source]
        source: KafkaError,
    },
    /// The progress topic was not read to its end in time (another producer's open
    /// transaction holds its last stable offset back, or the broker is slow).
    #[error("the progress topic `{topic}` was not read to its end within {seconds} s")]
    ProgressTimeout {
        /// The progress topic.
        topic: String,
        /// How long the read waited.
        seconds: u64,
    },
    /// A committed progress record of this app id is not `{"epoch":N,"records":M}`.
    #[error("progress record at offset {offset} of `{topic}` is not trustflow's: {reason}")]
    BadProgress {
        /// The progress topic.
        topic: String,
        /// The record's offset.
        offset: i64,
        /// Why it could not be read.
        reason: String,
    },
    /// The epoch is not after the last published one: it is already on the topic.
    #[error("epoch {epoch} is already published (last published epoch: {last})")]
    EpochAlreadyPublished {
        /// The epoch offered.
        epoch: u64,
        /// The last epoch published under this app id.
        last: u64,
    },
    /// A row cannot be written exactly (a decimal beyond its column's precision or scale);
    /// nothing was produced.
    #[error("epoch {epoch} cannot be encoded: {source}")]
    Encode {
        /// The epoch offered.
        epoch: u64,
        /// The column and value at fault.
        #[source]
        source: Box<SinkError>,
    },
    /// The epoch's transaction was aborted: none of its records is visible to
    /// `read_committed` readers; publishing it again may succeed.
    #[error("epoch {epoch} was not published (transaction aborted) after {what} failed: {source}")]
    Aborted {
        /// The epoch.
        epoch: u64,
        /// The step that failed: `produce`, `flush`, `delivery` or `commit`.
        what: &'static str,
        /// The client's error.
        #[source]
        source: KafkaError,
    },
    /// The commit of the epoch did not finish in time and may still land: reopen the
    /// output and consult its last published epoch.
    #[error("the outcome of epoch {epoch}'s commit is unknown: {source}")]
    InDoubt {
        /// The epoch.
        epoch: u64,
        /// The client's last error.
        #[source]
        source: KafkaError,
    },
    /// Another producer with the same transactional id took over (a second instance of the
    /// pipeline): this one must stop.
    #[error("producer `{transactional_id}` was fenced by a newer instance with the same id: {source}")]
    Fenced {
        /// The producer's `transactional.id`.
        transactional_id: String,
        /// The client's error.
        #[source]
        source: KafkaError,
    },
    /// The producer hit a fatal error (or an earlier call left it unusable): reopen.
    #[error("the output producer `{transactional_id}` is unusable: {source}")]
    Fatal {
        /// The producer's `transactional.id`.
        transactional_id: String,
        /// The client's error.
        #[source]
        source: KafkaError,
    },
}

impl KafkaOutputError {
    /// Whether trying again may succeed: the same call after [`KafkaOutputError::Aborted`],
    /// or a new [`KafkaOutput::open`](super::KafkaOutput::open) (a restart) after a fatal
    /// or in-doubt producer. Not after a mistake, bad data or a fenced producer.
    pub fn is_retryable(&self) -> bool {
        match self {
            KafkaOutputError::Topics(source) => source.is_retryable(),
            KafkaOutputError::Init { source, .. } => !is_fenced(source),
            // A record the brokers refuse as such is refused again.
            KafkaOutputError::Aborted { source, .. } => !matches!(
                source.rdkafka_error_code(),
                Some(
                    RDKafkaErrorCode::MessageSizeTooLarge
                        | RDKafkaErrorCode::InvalidMessage
                        | RDKafkaErrorCode::InvalidRecord
                )
            ),
            KafkaOutputError::Progress { .. }
            | KafkaOutputError::ProgressTimeout { .. }
            | KafkaOutputError::InDoubt { .. }
            | KafkaOutputError::Fatal { .. } => true,
            KafkaOutputError::Config(_)
            | KafkaOutputError::BadProgress { .. }
            | KafkaOutputError::EpochAlreadyPublished { .. }
            | KafkaOutputError::Encode { .. }
            | KafkaOutputError::Fenced { .. } => false,
        }
    }
}

/// Whether librdkafka says the producer was fenced by a newer one with its transactional id.
pub(crate) fn is_fenced(error: &KafkaError) -> bool {
    error.rdkafka_error_code().is_some_and(is_fenced_code)
}

/// Whether `code` means that a newer producer with the same transactional id took over.
pub(crate) fn is_fenced_code(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::Fenced | RDKafkaErrorCode::ProducerFenced | RDKafkaErrorCode::InvalidProducerEpoch
    )
}

/// Whether a transactional call failed fatally (the producer is unusable).
pub(crate) fn is_fatal(error: &KafkaError) -> bool {
    matches!(error, KafkaError::Transaction(e) if e.is_fatal()) || is_fenced(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let timeout = || KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut);
        assert!(KafkaOutputError::Aborted { epoch: 1, what: "flush", source: timeout() }.is_retryable());
        assert!(KafkaOutputError::InDoubt { epoch: 1, source: timeout() }.is_retryable());
        let too_large = KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge);
        assert!(!KafkaOutputError::Aborted { epoch: 1, what: "delivery", source: too_large }.is_retryable());
        assert!(!KafkaOutputError::EpochAlreadyPublished { epoch: 2, last: 3 }.is_retryable());
        let fenced = KafkaError::MessageProduction(RDKafkaErrorCode::ProducerFenced);
        assert!(is_fenced(&fenced) && is_fatal(&fenced));
        assert!(!KafkaOutputError::Init { transactional_id: "t".into(), source: fenced }.is_retryable());
        assert!(!is_fatal(&timeout()));
        // Small enough for callers' `Result`s (clippy's result_large_err: 128 bytes).
        assert!(
            std::mem::size_of::<KafkaOutputError>() <= 128,
            "{}",
            std::mem::size_of::<KafkaOutputError>()
        );
    }
}
