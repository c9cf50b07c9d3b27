//! Training data: transactions from JSON lines, Parquet or a Delta table, with their identity.
//!
//! JSON lines and Parquet are read as `trustflow batch` reads them (malformed records are
//! counted and left out). A Delta table is read at its latest version: its active files'
//! six transaction columns; a changelog table (a `_change_type` column, as `run` writes) is
//! consolidated first (inserts minus deletes). Encrypted tables and files (trustflow's under
//! `encryption_required`) are decrypted with the key from the environment. The identity
//! recorded in an artifact is the path, the format, a SHA-256 and, for Delta, the table
//! version.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use deltalake::arrow::array::{Array, AsArray};
use deltalake::parquet::arrow::ProjectionMask;
use deltalake::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::FraudError;
use crate::batch::input::{self, InputFormat, ReadStats, Rejects};
use crate::batch::{BatchError, parquet_in};
use crate::record::{Transaction, UserEvent};
use crate::sink::ChangeType;
use crate::sink::columns::CHANGE_TYPE;

/// What a model was trained (or evaluated) on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataIdentity {
    /// The input, made absolute.
    pub path: String,
    /// `jsonl`, `parquet` or `delta`.
    pub format: String,
    /// SHA-256 (hex) of the file's bytes; for a Parquet directory, of each file's name and
    /// bytes in name order; for Delta, of the active files' paths in order (Delta data
    /// files are immutable, so their names identify the content).
    pub sha256: String,
    /// The Delta table version read, for Delta input.
    pub delta_version: Option<u64>,
    /// Transactions read (after consolidation, for a changelog table).
    pub rows: u64,
    /// Records left out because they are not transactions.
    pub rejected: u64,
}

/// A file recorded by path and content hash (the labels file).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileIdentity {
    /// The file, made absolute.
    pub path: String,
    /// SHA-256 (hex) of its bytes.
    pub sha256: String,
}

impl FileIdentity {
    /// The identity of the file at `path`.
    pub fn of(path: &Path) -> Result<FileIdentity, FraudError> {
        let absolute =
            std::path::absolute(path).map_err(|source| FraudError::Io { path: path.into(), source })?;
        let sha256 = hash_files(std::slice::from_ref(&absolute), false)?;
        Ok(FileIdentity { path: absolute.display().to_string(), sha256 })
    }
}

/// The user events a model's login features came from (`--user-events`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserEventsIdentity {
    /// The JSON lines file, by path and hash.
    pub file: FileIdentity,
    /// User events read.
    pub events: u64,
    /// Of which logins (the only events the features use).
    pub logins: u64,
}

/// The user events at `path` (JSON lines, `batch::user_events`) and their identity.
pub fn load_user_events(path: &Path) -> Result<(Vec<UserEvent>, UserEventsIdentity), FraudError> {
    let events = crate::batch::user_events::read(path)?;
    let logins = events.iter().filter(|e| super::logins::Login::of(e).is_some()).count() as u64;
    let identity = UserEventsIdentity { file: FileIdentity::of(path)?, events: events.len() as u64, logins };
    Ok((events, identity))
}

/// Transactions read from an input, and where they came from.
pub struct Input {
    /// The transactions.
    pub rows: Vec<Transaction>,
    /// The input's identity.
    pub identity: DataIdentity,
}

/// Reads the transactions at `path`: a Delta table (a directory with `_delta_log`), or what
/// `trustflow batch` reads (JSON lines, a Parquet file or a directory of them).
pub fn load(path: &Path) -> Result<Input, FraudError> {
    let absolute =
        std::path::absolute(path).map_err(|source| FraudError::Io { path: path.into(), source })?;
    if absolute.join("_delta_log").is_dir() {
        return load_delta(&absolute);
    }
    let format = input::detect(&absolute)?;
    let mut rejects = Rejects::in_memory();
    let (rows, stats) = input::read(&absolute, format, &mut rejects)?;
    if stats.rejected > 0 {
        tracing::warn!(rejected = stats.rejected, input = %absolute.display(), "records that are not transactions were left out");
    }
    let (format, sha256) = match format {
        InputFormat::Jsonl => ("jsonl", hash_files(std::slice::from_ref(&absolute), false)?),
        InputFormat::Parquet => {
            let files = if absolute.is_dir() { parquet_files(&absolute)? } else { vec![absolute.clone()] };
            ("parquet", hash_files(&files, absolute.is_dir())?)
        }
    };
    let identity = DataIdentity {
        path: absolute.display().to_string(),
        format: format.to_owned(),
        sha256,
        delta_version: None,
        rows: rows.len() as u64,
        rejected: stats.rejected,
    };
    Ok(Input { rows, identity })
}

/// The `*.parquet` files directly in `dir`, in name order (as batch mode reads them).
fn parquet_files(dir: &Path) -> Result<Vec<PathBuf>, FraudError> {
    let io = |source| FraudError::Io { path: dir.into(), source };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        if name.ends_with(".parquet") && !name.starts_with(['.', '_']) && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// SHA-256 of the files' bytes, in order; with `named`, each file's name goes first.
fn hash_files(files: &[PathBuf], named: bool) -> Result<String, FraudError> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    for path in files {
        let io = |source| FraudError::Io { path: path.clone(), source };
        if named {
            hasher.update(path.file_name().unwrap_or_default().as_encoded_bytes());
            hasher.update(b"\n");
        }
        let mut file = File::open(path).map_err(io)?;
        loop {
            let n = file.read(&mut buffer).map_err(io)?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
        }
    }
    Ok(hex(&hasher.finalize()))
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads a local Delta table's latest version.
fn load_delta(path: &Path) -> Result<Input, FraudError> {
    let delta_error = |source| FraudError::Delta { path: path.into(), source };
    let shape = |reason: String| FraudError::DeltaShape { path: path.into(), reason };
    let url = url::Url::from_directory_path(path).map_err(|()| shape("not an absolute local path".into()))?;
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(FraudError::Runtime)?;
    let table = runtime.block_on(deltalake::open_table(url)).map_err(delta_error)?;
    // An encrypted table: its key first (a clear error naming the variable), then its files
    // decrypt through the keyring.
    let configuration = table.snapshot().map_err(delta_error)?.metadata().configuration();
    crate::sink::encryption::reader_key(&path.display().to_string(), configuration)
        .map_err(BatchError::from)?;
    let version = table.version();
    let mut files = Vec::new();
    for uri in table.get_file_uris().map_err(delta_error)? {
        // Local tables list plain paths; file:// URLs are taken too.
        let file = match url::Url::parse(&uri) {
            Ok(url) if url.scheme() == "file" => url.to_file_path().ok(),
            Ok(_) => None,
            Err(_) => Some(PathBuf::from(&uri)).filter(|p| p.is_absolute()),
        };
        let file = file.ok_or_else(|| shape(format!("data file {uri} is not a local file")))?;
        files.push(file);
    }
    files.sort();
    let mut hasher = Sha256::new();
    for file in &files {
        hasher.update(file.strip_prefix(path).unwrap_or(file).as_os_str().as_encoded_bytes());
        hasher.update(b"\n");
    }
    let mut rejects = Rejects::in_memory();
    let mut stats = ReadStats::default();
    let mut changes: BTreeMap<Transaction, i64> = BTreeMap::new();
    let mut rows = Vec::new();
    for file in &files {
        let before = stats.rejected;
        let read = parquet_in::read_files(std::slice::from_ref(file), &mut rejects, &mut stats)?;
        match change_types(file)? {
            None => rows.extend(read),
            Some(_) if stats.rejected > before => {
                return Err(shape(format!("{} has rows that are not transactions", file.display())));
            }
            Some(types) => {
                for (row, change) in read.into_iter().zip(types) {
                    *changes.entry(row).or_default() += change.diff() as i64;
                }
            }
        }
    }
    for (row, copies) in changes {
        rows.extend(std::iter::repeat_n(row, copies.max(0) as usize));
    }
    let identity = DataIdentity {
        path: path.display().to_string(),
        format: "delta".into(),
        sha256: hex(&hasher.finalize()),
        delta_version: version,
        rows: rows.len() as u64,
        rejected: stats.rejected,
    };
    Ok(Input { rows, identity })
}

/// The `_change_type` of every row of the Parquet file `path`, or `None` without that column.
fn change_types(path: &Path) -> Result<Option<Vec<ChangeType>>, FraudError> {
    let parquet = |source| FraudError::Input(BatchError::Parquet { path: path.into(), source });
    let file = File::open(path).map_err(|source| FraudError::Io { path: path.into(), source })?;
    let options = crate::sink::encryption::read::reader_options().map_err(BatchError::from)?;
    let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(file, options).map_err(parquet)?;
    let Ok(index) = builder.schema().index_of(CHANGE_TYPE) else {
        return Ok(None);
    };
    let mask = ProjectionMask::roots(builder.parquet_schema(), [index]);
    let shape = |reason: String| FraudError::DeltaShape { path: path.into(), reason };
    let mut types = Vec::new();
    for batch in builder.with_projection(mask).build().map_err(parquet)? {
        let batch = batch.map_err(|e| shape(e.to_string()))?;
        let column = batch.column(0);
        let strings = column
            .as_string_opt::<i32>()
            .ok_or_else(|| shape(format!("column {CHANGE_TYPE} is not a string column")))?;
        for i in 0..strings.len() {
            types.push(match strings.is_valid(i).then(|| strings.value(i)) {
                Some("insert") => ChangeType::Insert,
                Some("delete") => ChangeType::Delete,
                other => return Err(shape(format!("{CHANGE_TYPE} {other:?} is neither insert nor delete"))),
            });
        }
    }
    Ok(Some(types))
}
