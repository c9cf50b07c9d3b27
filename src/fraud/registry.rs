//! The model registry: one immutable, verified artifact per training run, and stage pointers.
//!
//! Layout under the registry directory `DIR`:
//!
//! ```text
//! DIR/1/model.bin    the model (bincode), with its feature list
//! DIR/1/meta.json    version, algorithm, features, SHA-256 of model.bin, metrics, training data
//! DIR/2/...          versions count up from 1, one per `train`
//! DIR/stages.json    {"production": 2, "staging": 3}: which version each stage points to
//! ```
//!
//! A version is written under a temporary name and renamed into place, so a reader never
//! sees half an artifact. Loading checks, before trusting a byte of the model: the meta's
//! format and version, the feature list against this build's, the SHA-256 of model.bin, then
//! that the decoded model agrees with its meta. Any failure is a [`RegistryError`].

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use bincode::Options;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::dataset::hex;
use super::inputs::{INPUTS, feature_list};
use super::model::{Algorithm, Model};
use super::train::TrainingRecord;

pub use super::registry_error::RegistryError;

/// The model file of a version.
pub const MODEL_FILE: &str = "model.bin";
/// The metadata file of a version.
pub const META_FILE: &str = "meta.json";
/// The stage pointers.
pub const STAGES_FILE: &str = "stages.json";
/// Artifact format written and read by this build.
pub const FORMAT: u32 = 1;

/// A stage a version can be promoted to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// The version scoring uses by default.
    Production,
    /// A candidate under trial.
    Staging,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Production => "production",
            Stage::Staging => "staging",
        })
    }
}

impl FromStr for Stage {
    type Err = String;
    fn from_str(text: &str) -> Result<Stage, String> {
        match text {
            "production" => Ok(Stage::Production),
            "staging" => Ok(Stage::Staging),
            other => Err(format!("unknown stage `{other}` (production or staging)")),
        }
    }
}

/// Which version of a registry to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selector {
    /// The production version if one is promoted, else the latest.
    Default,
    /// The highest version.
    Latest,
    /// This version.
    Version(u32),
    /// The version a stage points to.
    Stage(Stage),
}

/// A model reference as the command line takes it: `DIR`, `DIR@3`, `DIR@production`,
/// `DIR@staging` or `DIR@latest`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelRef {
    /// The registry directory.
    pub dir: PathBuf,
    /// The version in it.
    pub selector: Selector,
}

impl FromStr for ModelRef {
    type Err = String;
    fn from_str(text: &str) -> Result<ModelRef, String> {
        let (dir, selector) = match text.rsplit_once('@') {
            None => (text, Selector::Default),
            Some((_, tail)) if tail.contains(['/', '\\']) => (text, Selector::Default),
            Some((dir, "latest")) => (dir, Selector::Latest),
            Some((dir, tail)) => match (tail.parse::<u32>(), tail.parse::<Stage>()) {
                (Ok(0), _) => return Err("versions start at 1".into()),
                (Ok(v), _) => (dir, Selector::Version(v)),
                (_, Ok(stage)) => (dir, Selector::Stage(stage)),
                _ => {
                    return Err(format!(
                        "`@{tail}`: expected a version (1, 2, ..), production, staging or latest"
                    ));
                }
            },
        };
        if dir.is_empty() {
            return Err("the registry directory is missing before `@`".into());
        }
        Ok(ModelRef { dir: PathBuf::from(dir), selector })
    }
}

/// A version's metadata (`meta.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// Artifact format.
    pub format: u32,
    /// The version (its directory's name).
    pub version: u32,
    /// When it was saved, epoch milliseconds.
    pub created_ms: i64,
    /// The algorithm.
    pub algorithm: Algorithm,
    /// The feature list: the feature set's version, then the model inputs in order.
    pub features: Vec<String>,
    /// SHA-256 (hex) of model.bin.
    pub model_sha256: String,
    /// Size of model.bin.
    pub model_bytes: u64,
    /// The trustflow version that trained it.
    pub trustflow_version: String,
    /// The training run: data, labels, split, settings, metrics.
    pub training: TrainingRecord,
}

/// What model.bin holds.
#[derive(Serialize, Deserialize)]
struct Body {
    format: u32,
    features: Vec<String>,
    model: Model,
}

/// A verified model and its metadata.
#[derive(Debug)]
pub struct Loaded {
    /// The metadata.
    pub meta: ModelMeta,
    /// The model.
    pub model: Model,
}

/// One version in a listing: its metadata if readable, and whether it loads.
#[derive(Debug)]
pub struct Listed {
    /// The version.
    pub version: u32,
    /// Its metadata, if meta.json is readable.
    pub meta: Option<ModelMeta>,
    /// `Ok` if it loads and verifies, else why not.
    pub check: Result<(), String>,
    /// Stages pointing to it.
    pub stages: Vec<Stage>,
}

/// The bincode settings of model.bin (decoding never reads past the file's size).
fn bincode_options() -> impl Options {
    bincode::DefaultOptions::new().with_fixint_encoding().reject_trailing_bytes()
}

/// The bytes of model.bin for `model`.
pub fn encode(model: &Model) -> Result<Vec<u8>, RegistryError> {
    let body = Body { format: FORMAT, features: feature_list(), model: clone_model(model)? };
    bincode_options().serialize(&body).map_err(|e| RegistryError::Encode(e.to_string()))
}

/// A model decoded from model.bin bytes, with the feature list it records.
fn decode(bytes: &[u8], path: &Path) -> Result<(Model, Vec<String>), RegistryError> {
    let undecodable = |reason: String| RegistryError::Undecodable { path: path.into(), reason };
    let body: Body = bincode_options()
        .with_limit(bytes.len() as u64)
        .deserialize(bytes)
        .map_err(|e| undecodable(e.to_string()))?;
    if body.format != FORMAT {
        return Err(undecodable(format!("format {} (this build reads {FORMAT})", body.format)));
    }
    Ok((body.model, body.features))
}

/// A copy of `model` (through its serde form: models hold smartcore trees, which do not
/// implement `Clone`).
fn clone_model(model: &Model) -> Result<Model, RegistryError> {
    let bytes = bincode_options().serialize(model).map_err(|e| RegistryError::Encode(e.to_string()))?;
    bincode_options().deserialize(&bytes).map_err(|e| RegistryError::Encode(e.to_string()))
}

/// SHA-256 (hex) of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// A registry directory.
#[derive(Clone, Debug)]
pub struct Registry {
    dir: PathBuf,
}

#[path = "registry_store.rs"]
mod store;

impl Registry {
    /// The registry at `dir` (created on the first save).
    pub fn new(dir: impl Into<PathBuf>) -> Registry {
        Registry { dir: dir.into() }
    }

    /// The registry directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Loads and verifies `version`.
    pub fn load_version(&self, version: u32) -> Result<Loaded, RegistryError> {
        let dir = self.dir.join(version.to_string());
        if !dir.is_dir() {
            return Err(RegistryError::NoSuchVersion { dir: self.dir.clone(), version });
        }
        let meta = self.meta(version)?;
        let model_path = dir.join(MODEL_FILE);
        let bytes = store::read(&model_path)?;
        let found = sha256(&bytes);
        if found != meta.model_sha256 || bytes.len() as u64 != meta.model_bytes {
            return Err(RegistryError::Corrupt {
                path: model_path,
                expected: meta.model_sha256.clone(),
                found,
            });
        }
        if meta.features != feature_list() {
            return Err(RegistryError::FeatureMismatch {
                path: dir.join(META_FILE),
                artifact: meta.features.clone(),
                expected: feature_list(),
            });
        }
        let (model, features) = decode(&bytes, &model_path)?;
        let undecodable = |reason: String| RegistryError::Undecodable { path: model_path.clone(), reason };
        if features != meta.features {
            return Err(undecodable("its feature list differs from meta.json's".into()));
        }
        if model.algorithm() != meta.algorithm || !model.takes(INPUTS) {
            return Err(undecodable(format!(
                "the model is not the {} of {INPUTS} inputs meta.json names",
                meta.algorithm.name()
            )));
        }
        Ok(Loaded { meta, model })
    }

    /// Loads and verifies the version `selector` picks.
    pub fn load(&self, selector: Selector) -> Result<Loaded, RegistryError> {
        self.load_version(self.resolve(selector)?)
    }

    /// The version `selector` picks.
    pub fn resolve(&self, selector: Selector) -> Result<u32, RegistryError> {
        let latest = || {
            self.versions()?.last().copied().ok_or_else(|| RegistryError::NoModels { dir: self.dir.clone() })
        };
        match selector {
            Selector::Version(v) => Ok(v),
            Selector::Latest => latest(),
            Selector::Stage(stage) => self
                .stages()?
                .get(&stage)
                .copied()
                .ok_or(RegistryError::NoStage { dir: self.dir.clone(), stage }),
            Selector::Default => match self.stages()?.get(&Stage::Production) {
                Some(v) => Ok(*v),
                None => latest(),
            },
        }
    }

    /// Every version with its metadata, verification result and stages, oldest first.
    pub fn list(&self) -> Result<Vec<Listed>, RegistryError> {
        let stages = self.stages()?;
        let mut out = Vec::new();
        for version in self.versions()? {
            out.push(Listed {
                version,
                meta: self.meta(version).ok(),
                check: self.load_version(version).map(|_| ()).map_err(|e| e.to_string()),
                stages: stages.iter().filter(|(_, v)| **v == version).map(|(s, _)| *s).collect(),
            });
        }
        Ok(out)
    }

    /// Points `stage` at `version`, after verifying that it loads.
    pub fn promote(&self, version: u32, stage: Stage) -> Result<BTreeMap<Stage, u32>, RegistryError> {
        self.load_version(version)?;
        let mut stages = self.stages()?;
        stages.insert(stage, version);
        let text = serde_json::to_vec_pretty(&stages).map_err(|e| RegistryError::Encode(e.to_string()))?;
        store::write_atomic(&self.dir.join(STAGES_FILE), &text)?;
        Ok(stages)
    }
}
