//! The registry's files: numbered version directories renamed into place, meta and stages.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use super::{
    FORMAT, META_FILE, MODEL_FILE, ModelMeta, Registry, RegistryError, STAGES_FILE, Stage, encode, sha256,
};
use crate::fraud::inputs::feature_list;
use crate::fraud::model::Model;
use crate::fraud::train::TrainingRecord;

/// Attempts at claiming a version number before giving up (other writers racing).
const CLAIM_ATTEMPTS: u32 = 100;

/// The bytes of the file at `path`.
pub(super) fn read(path: &Path) -> Result<Vec<u8>, RegistryError> {
    fs::read(path).map_err(|source| RegistryError::Io { path: path.into(), source })
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub(super) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RegistryError> {
    let io = |source| RegistryError::Io { path: path.into(), source };
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", std::process::id()));
    let temporary = path.with_file_name(name);
    fs::write(&temporary, bytes).map_err(io)?;
    fs::rename(&temporary, path).map_err(io)
}

impl Registry {
    /// The versions present (numbered directories), ascending.
    pub fn versions(&self) -> Result<Vec<u32>, RegistryError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(RegistryError::Io { path: self.dir.clone(), source }),
        };
        let mut versions = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| RegistryError::Io { path: self.dir.clone(), source })?;
            let name = entry.file_name();
            let number = name.to_str().and_then(|n| n.parse::<u32>().ok()).filter(|v| *v > 0);
            if let Some(version) = number.filter(|_| entry.path().is_dir()) {
                versions.push(version);
            }
        }
        versions.sort_unstable();
        Ok(versions)
    }

    /// The stage pointers (empty before the first promotion).
    pub fn stages(&self) -> Result<BTreeMap<Stage, u32>, RegistryError> {
        let path = self.dir.join(STAGES_FILE);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| RegistryError::Meta { path, reason: e.to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(source) => Err(RegistryError::Io { path, source }),
        }
    }

    /// The parsed meta.json of `version`, its format and version checked.
    pub fn meta(&self, version: u32) -> Result<ModelMeta, RegistryError> {
        let path = self.dir.join(version.to_string()).join(META_FILE);
        let meta: ModelMeta = serde_json::from_slice(&read(&path)?)
            .map_err(|e| RegistryError::Meta { path: path.clone(), reason: e.to_string() })?;
        if meta.format != FORMAT {
            let reason = format!("artifact format {} (this build reads format {FORMAT})", meta.format);
            return Err(RegistryError::Meta { path, reason });
        }
        if meta.version != version {
            let reason =
                format!("says version {} but lies in the directory of version {version}", meta.version);
            return Err(RegistryError::Meta { path, reason });
        }
        Ok(meta)
    }

    /// Saves `model` as the next version, with `training` and `created_ms` in its meta.
    pub fn save(
        &self,
        model: &Model,
        training: TrainingRecord,
        created_ms: i64,
    ) -> Result<ModelMeta, RegistryError> {
        fs::create_dir_all(&self.dir)
            .map_err(|source| RegistryError::Io { path: self.dir.clone(), source })?;
        let bytes = encode(model)?;
        let mut meta = ModelMeta {
            format: FORMAT,
            version: 0,
            created_ms,
            algorithm: model.algorithm(),
            features: feature_list(),
            model_sha256: sha256(&bytes),
            model_bytes: bytes.len() as u64,
            trustflow_version: env!("CARGO_PKG_VERSION").to_owned(),
            training,
        };
        for _ in 0..CLAIM_ATTEMPTS {
            meta.version = self.versions()?.last().map_or(1, |v| v + 1);
            let target = self.dir.join(meta.version.to_string());
            let incoming = self.dir.join(format!(".incoming-{}-{}", meta.version, std::process::id()));
            let io = |source| RegistryError::Io { path: incoming.clone(), source };
            fs::create_dir_all(&incoming).map_err(io)?;
            fs::write(incoming.join(MODEL_FILE), &bytes).map_err(io)?;
            let text = serde_json::to_vec_pretty(&meta).map_err(|e| RegistryError::Encode(e.to_string()))?;
            fs::write(incoming.join(META_FILE), text).map_err(io)?;
            if target.exists() {
                fs::remove_dir_all(&incoming).map_err(io)?;
                continue;
            }
            match fs::rename(&incoming, &target) {
                Ok(()) => return Ok(meta),
                Err(_) if target.exists() => fs::remove_dir_all(&incoming).map_err(io)?,
                Err(source) => return Err(RegistryError::Io { path: target, source }),
            }
        }
        Err(RegistryError::Encode(format!("could not claim a version number in {}", self.dir.display())))
    }
}
