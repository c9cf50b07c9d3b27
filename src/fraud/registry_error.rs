//! Why the model registry refused: missing versions, corrupt or mismatched artifacts, I/O.

use std::path::PathBuf;

use super::registry::Stage;

/// A registry operation that failed; loading never panics on a bad artifact, it ends here.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// A registry file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The registry has no versions yet.
    #[error("no model in {dir}: train one first (trustflow train --model-dir {dir})")]
    NoModels {
        /// The registry directory.
        dir: PathBuf,
    },
    /// The requested version does not exist.
    #[error("no version {version} in {dir} (trustflow models list --model-dir {dir})")]
    NoSuchVersion {
        /// The registry directory.
        dir: PathBuf,
        /// The version asked for.
        version: u32,
    },
    /// No version has been promoted to the stage.
    #[error(
        "no version of {dir} is promoted to {stage} (trustflow models promote --model-dir {dir} VERSION --stage {stage})"
    )]
    NoStage {
        /// The registry directory.
        dir: PathBuf,
        /// The stage.
        stage: Stage,
    },
    /// meta.json or stages.json is not what this build wrote.
    #[error("{path}: unreadable registry metadata: {reason}")]
    Meta {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// model.bin does not match the SHA-256 its meta.json records: changed or damaged since
    /// it was saved.
    #[error("{path} is corrupt: its SHA-256 is {found}, meta.json records {expected}; refusing to load it")]
    Corrupt {
        /// model.bin.
        path: PathBuf,
        /// The hash meta.json records.
        expected: String,
        /// The hash of the file as found.
        found: String,
    },
    /// The artifact was trained on other features than this build computes.
    #[error(
        "{path}: the model was trained on {} ({} inputs), this build computes {} ({} inputs); retrain it with \
         this build (`trustflow train`). The model's feature list: {artifact:?}; this build's: {expected:?}",
        artifact.first().map_or("no feature set", String::as_str),
        artifact.len().saturating_sub(1),
        expected.first().map_or("no feature set", String::as_str),
        expected.len().saturating_sub(1)
    )]
    FeatureMismatch {
        /// meta.json.
        path: PathBuf,
        /// The artifact's feature list.
        artifact: Vec<String>,
        /// This build's feature list.
        expected: Vec<String>,
    },
    /// model.bin has the recorded hash but does not decode into the model meta.json describes.
    #[error("{path} cannot be loaded: {reason}")]
    Undecodable {
        /// model.bin.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A model or metadata could not be serialized (a bug), or no version number could be
    /// claimed.
    #[error("cannot save the model: {0}")]
    Encode(String),
}
