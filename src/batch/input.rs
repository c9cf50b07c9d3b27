//! The bounded input: JSON lines or Parquet (by extension or content), and the rejects file.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::error::BatchError;
use super::{jsonl, parquet_in};
use crate::record::{Metadata, Transaction};

/// The input formats batch mode reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InputFormat {
    /// One JSON object per line (`.jsonl`, `.json`, `.ndjson`, or content starting with `{`).
    Jsonl,
    /// A Parquet file (`.parquet`, or content starting with `PAR1`), or a directory of them.
    Parquet,
}

/// What reading the input saw.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReadStats {
    /// The format read.
    pub format: Option<InputFormat>,
    /// Files read.
    pub files: u64,
    /// Input records: physical lines (JSON lines, blank ones included) or Parquet rows.
    pub records: u64,
    /// Blank lines skipped.
    pub blank: u64,
    /// Records rejected (written to the rejects file with the reason).
    pub rejected: u64,
    /// Transactions read: records less blank and rejected ones.
    pub rows: u64,
}

/// Reads the whole input at `path` in `format` (see [`detect`]); bad records go to `rejects`.
pub fn read(
    path: &Path,
    format: InputFormat,
    rejects: &mut Rejects,
) -> Result<(Vec<Transaction>, ReadStats), BatchError> {
    let mut stats = ReadStats { format: Some(format), ..ReadStats::default() };
    let rows = match format {
        InputFormat::Jsonl => {
            let file = File::open(path).map_err(|source| BatchError::Input { path: path.into(), source })?;
            stats.files = 1;
            jsonl::read(path, BufReader::with_capacity(1 << 20, file), rejects, &mut stats)?
        }
        InputFormat::Parquet => parquet_in::read(path, rejects, &mut stats)?,
    };
    Ok((rows, stats))
}

/// The format of `path`: a directory is Parquet files; a file goes by its extension, else by
/// its first bytes.
pub fn detect(path: &Path) -> Result<InputFormat, BatchError> {
    let input_error = |source| BatchError::Input { path: path.into(), source };
    let metadata = std::fs::metadata(path).map_err(input_error)?;
    if metadata.is_dir() {
        if path.join("_delta_log").is_dir() {
            return Err(BatchError::InputFormat {
                path: path.into(),
                reason: "is a Delta table; batch mode reads JSON lines or Parquet files".into(),
            });
        }
        return Ok(InputFormat::Parquet);
    }
    let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("jsonl" | "json" | "ndjson") => return Ok(InputFormat::Jsonl),
        Some("parquet") => return Ok(InputFormat::Parquet),
        _ => {}
    }
    let mut head = Vec::with_capacity(256);
    File::open(path).and_then(|f| f.take(256).read_to_end(&mut head)).map_err(input_error)?;
    if head.starts_with(b"PAR1") {
        return Ok(InputFormat::Parquet);
    }
    let first = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head).iter().find(|b| !b.is_ascii_whitespace());
    match first {
        Some(b'{') | None => Ok(InputFormat::Jsonl),
        Some(_) => Err(BatchError::InputFormat {
            path: path.into(),
            reason: "is neither JSON lines (first character `{`) nor Parquet (magic `PAR1`); \
                     name it .jsonl or .parquet if it is one of them"
                .into(),
        }),
    }
}

/// Where rejected records go: a JSON lines file (or memory, in tests), one object per record.
pub struct Rejects {
    path: PathBuf,
    out: Option<BufWriter<File>>,
    kept: Vec<(u64, String)>,
    count: u64,
}

impl Rejects {
    /// Creates (truncates) the rejects file at `path`.
    pub fn create(path: &Path) -> Result<Rejects, BatchError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|source| BatchError::Output { path: path.into(), source })?;
        }
        let file = File::create(path).map_err(|source| BatchError::Output { path: path.into(), source })?;
        Ok(Rejects { path: path.into(), out: Some(BufWriter::new(file)), kept: Vec::new(), count: 0 })
    }

    /// Rejects kept in memory (see [`take`](Self::take)).
    pub fn in_memory() -> Rejects {
        Rejects { path: PathBuf::from("<memory>"), out: None, kept: Vec::new(), count: 0 }
    }

    /// Rejects JSON line `line` (1-based) with `error`; `text` is the line as read.
    pub fn line(&mut self, line: u64, error: &str, text: &[u8]) -> Result<(), BatchError> {
        #[derive(Serialize)]
        struct Record<'a> {
            line: u64,
            error: &'a str,
            text: &'a str,
        }
        let text = String::from_utf8_lossy(text);
        self.write(line, error, &Record { line, error, text: &text })
    }

    /// Rejects row `row` (1-based) of Parquet file `file` with `error`.
    pub fn row(&mut self, file: &Path, row: u64, error: &str) -> Result<(), BatchError> {
        #[derive(Serialize)]
        struct Record<'a> {
            file: &'a str,
            row: u64,
            error: &'a str,
        }
        let name = file.to_string_lossy();
        self.write(row, error, &Record { file: &name, row, error })
    }

    fn write(&mut self, at: u64, error: &str, record: &impl Serialize) -> Result<(), BatchError> {
        self.count += 1;
        let Some(out) = self.out.as_mut() else {
            self.kept.push((at, error.to_string()));
            return Ok(());
        };
        let io = |source| BatchError::Output { path: self.path.clone(), source };
        serde_json::to_writer(&mut *out, record).map_err(|e| io(e.into()))?;
        out.write_all(b"\n").map_err(io)
    }

    /// Rejected records so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The rejects file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The in-memory rejects: (line or row number, error).
    pub fn take(&mut self) -> Vec<(u64, String)> {
        std::mem::take(&mut self.kept)
    }

    /// Flushes the file.
    pub fn finish(mut self) -> Result<u64, BatchError> {
        if let Some(out) = self.out.as_mut() {
            out.flush().map_err(|source| BatchError::Output { path: self.path.clone(), source })?;
        }
        Ok(self.count)
    }
}

/// Distinct metadata maps remembered so that equal maps share one `Arc` (memory, and cheaper
/// clones in the graph), keyed by a text form of the map; at most this many.
const METADATA_CACHE: usize = 1 << 16;

/// Equal metadata maps, shared: looked up by a text key (the JSON object as written, or the
/// Parquet entries joined), remembered up to a bound.
#[derive(Debug, Default)]
pub struct MetadataCache {
    maps: HashMap<Box<str>, Metadata>,
}

impl MetadataCache {
    /// The map remembered under `key`.
    pub fn get(&self, key: &str) -> Option<Metadata> {
        self.maps.get(key).cloned()
    }

    /// Remembers `map` under `key`, unless the cache is full.
    pub fn insert(&mut self, key: &str, map: &Metadata) {
        if self.maps.len() < METADATA_CACHE {
            self.maps.insert(key.into(), map.clone());
        }
    }
}
