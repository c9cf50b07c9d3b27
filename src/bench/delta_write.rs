//! Code of the Delta write micro-benchmark: one `DeltaSink` commit of N verdicts, local disk.

use std::path::Path;

use crate::dataflow::quality::QualityRow;
use crate::dataflow::quality::reference::evaluate;
use crate::generate::GeneratorConfig;
use crate::sink::{CommitOutcome, QualitySink, SinkError};

use super::micro::transactions;

/// `count` verdicts of generated transactions (the from-scratch evaluation), as inserts.
pub fn verdict_rows(count: usize) -> Vec<(QualityRow, isize)> {
    evaluate(&transactions(count, GeneratorConfig::default().users), GeneratorConfig::default().now_ms)
        .into_iter()
        .map(|row| (row, 1))
        .collect()
}

/// A quality table under `dir` (created), whose epochs 1, 2, ... the benchmark commits.
pub struct DeltaWrite {
    runtime: tokio::runtime::Runtime,
    sink: QualitySink,
    epoch: u64,
}

impl DeltaWrite {
    /// Creates the table at `dir` (which should not hold one).
    pub fn create(dir: &Path) -> Result<DeltaWrite, SinkError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| SinkError::internal(format!("cannot start a runtime: {e}")))?;
        let url = dir.to_string_lossy().into_owned();
        let sink = runtime.block_on(QualitySink::open(&url, "bench"))?;
        Ok(DeltaWrite { runtime, sink, epoch: 0 })
    }

    /// Commits `rows` as the next epoch: Arrow conversion, Parquet file, Delta commit.
    pub fn commit(&mut self, rows: &[(QualityRow, isize)]) -> Result<CommitOutcome, SinkError> {
        self.epoch += 1;
        self.runtime.block_on(self.sink.commit_epoch(self.epoch, rows))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_one_file_per_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let rows = verdict_rows(200);
        let mut write = DeltaWrite::create(&dir.path().join("quality")).unwrap();
        let first = write.commit(&rows).unwrap();
        assert_eq!((first.rows, first.files), (200, 1));
        assert_eq!(write.commit(&rows).unwrap().version, first.version + 1);
    }
}
