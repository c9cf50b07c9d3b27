//! Decrypting readers: Parquet reader options that find each file's key, and an encrypted table's rows.
//!
//! [`reader_options`] carries decryption properties whose key retriever reads a file's
//! footer key metadata ([`FileKeyMetadata`]) and takes the key of that id from the keyring,
//! or from the variable the metadata names. Plaintext files read with these options as
//! without them, so every trustflow reader passes them.

use std::sync::Arc;

use deltalake::datafile::BatchStream;
use deltalake::errors::DeltaResult;
use deltalake::logstore::object_store::ObjectStore;
use deltalake::logstore::object_store::path::Path;
use deltalake::parquet::arrow::arrow_reader::ArrowReaderOptions;
#[allow(deprecated)]
use deltalake::parquet::arrow::async_reader::ParquetObjectReader;
use deltalake::parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
use deltalake::parquet::encryption::decrypt::{FileDecryptionProperties, KeyRetriever};
use deltalake::parquet::errors::ParquetError;
use deltalake::{DeltaTable, DeltaTableError};
use futures::{StreamExt, TryStreamExt};

use super::error::EncryptionError;
use super::{ALGORITHM, FILE_KEY_FORMAT, FileKeyMetadata, key_for};

/// Finds a file's key by the id in its footer key metadata.
struct KeyringRetriever;

impl KeyRetriever for KeyringRetriever {
    fn retrieve_key(&self, key_metadata: &[u8]) -> Result<Vec<u8>, ParquetError> {
        let metadata: FileKeyMetadata = serde_json::from_slice(key_metadata)
            .ok()
            .filter(|m: &FileKeyMetadata| m.trustflow == FILE_KEY_FORMAT)
            .ok_or_else(|| {
                ParquetError::General(
                    "the file is encrypted, but its key metadata is not trustflow's: trustflow \
                     cannot tell which key it needs"
                        .into(),
                )
            })?;
        key_for("a data file", ALGORITHM, &metadata.key_id, &metadata.key_env)
            .map(|key| key.bytes())
            .map_err(|e| ParquetError::General(e.to_string()))
    }
}

/// Decryption through the keyring (and the variables files name).
pub fn decryption() -> Result<Arc<FileDecryptionProperties>, EncryptionError> {
    Ok(FileDecryptionProperties::with_key_retriever(Arc::new(KeyringRetriever)).build()?)
}

/// Arrow reader options that decrypt trustflow's encrypted files (and read plaintext ones
/// as usual).
pub fn reader_options() -> Result<ArrowReaderOptions, EncryptionError> {
    Ok(ArrowReaderOptions::new().with_file_decryption_properties(decryption()?))
}

/// The rows of an encrypted table's current data files, several files at once, each batch
/// in its file's schema (as deltalake's `ParquetTableReader`, which cannot decrypt, reads a
/// plaintext table). Tables with partitions, deletion vectors or column mapping, which
/// trustflow never writes, are refused.
pub async fn table_stream(table: &DeltaTable) -> DeltaResult<BatchStream> {
    let unsupported = |what: &str| {
        DeltaTableError::Generic(format!("the encrypted-table reader cannot read a table that uses {what}"))
    };
    let snapshot = table.snapshot()?;
    let configuration = snapshot.metadata().configuration();
    if configuration.get("delta.columnMapping.mode").is_some_and(|mode| mode != "none") {
        return Err(unsupported("column mapping"));
    }
    if !snapshot.metadata().partition_columns().is_empty() {
        return Err(unsupported("partition columns"));
    }
    let log_store = table.log_store();
    let mut files = Vec::new();
    let mut views = snapshot.snapshot().file_views(log_store.as_ref(), None);
    while let Some(view) = views.try_next().await? {
        if view.deletion_vector_descriptor().is_some() {
            return Err(unsupported("deletion vectors"));
        }
        files.push((view.object_store_path(), u64::try_from(view.size()).unwrap_or(0)));
    }
    let options = reader_options().map_err(|e| DeltaTableError::Generic(e.to_string()))?;
    let store = log_store.object_store(None);
    let concurrency = std::thread::available_parallelism().map_or(1, |n| n.get());
    let stream = futures::stream::iter(files)
        .map(move |(path, size)| file_stream(store.clone(), path, size, options.clone()))
        .buffered(concurrency)
        .flat_map(|opened| match opened {
            Ok(stream) => stream,
            Err(error) => futures::stream::once(std::future::ready(Err(error))).boxed(),
        })
        .boxed();
    Ok(stream)
}

/// One data file's batches, decrypted.
#[allow(deprecated)]
async fn file_stream(
    store: Arc<dyn ObjectStore>,
    path: Path,
    size: u64,
    options: ArrowReaderOptions,
) -> DeltaResult<BatchStream> {
    let mut reader = ParquetObjectReader::new(store, path);
    if size > 0 {
        reader = reader.with_file_size(size);
    }
    let stream = ParquetRecordBatchStreamBuilder::new_with_options(reader, options).await?.build()?;
    Ok(stream.map_err(|source| DeltaTableError::Parquet { source }).boxed())
}
