//! The commit side of a run: buffers each epoch's changes and commits finished epochs to Delta.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use differential_dataflow::consolidation::consolidate;
use tokio::runtime::Runtime;

use super::error::PipelineError;
use super::summary::TableStats;
use crate::dataflow::quality::QualityRow;
use crate::sink::DeltaSink;

/// Changes that reached the committing worker, by epoch, and how far the graph has progressed.
#[derive(Default)]
pub struct Pending {
    /// Changes per epoch, not yet committed.
    pub by_epoch: BTreeMap<u64, Vec<(QualityRow, isize)>>,
    /// The graph's output frontier: epochs before every element are complete.
    pub frontier: Vec<u64>,
}

impl Pending {
    /// A buffer shared between the sink operator and the worker loop.
    pub fn shared() -> Rc<RefCell<Pending>> {
        Rc::new(RefCell::new(Pending { by_epoch: BTreeMap::new(), frontier: vec![0] }))
    }

    /// Removes and returns the next complete epoch, if any.
    fn pop_complete(&mut self) -> Option<(u64, Vec<(QualityRow, isize)>)> {
        let (&epoch, _) = self.by_epoch.first_key_value()?;
        if self.frontier.iter().any(|f| *f <= epoch) {
            return None;
        }
        self.by_epoch.pop_first()
    }
}

/// Commits complete epochs, one Delta transaction each, and keeps the run's table statistics.
pub struct Committer {
    sink: DeltaSink,
    runtime: Runtime,
    /// What has been committed so far.
    pub stats: TableStats,
    last_progress: Instant,
}

/// How often a long run reports its progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

impl Committer {
    /// Opens (or creates) the table at `output`, refusing one that already holds epochs of
    /// `app_id` (resuming is the exactly-once issue's work).
    pub fn open(output: &str, app_id: &str) -> Result<Committer, PipelineError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(PipelineError::Runtime)?;
        let sink = runtime.block_on(DeltaSink::open(output, app_id))?;
        if let Some(epoch) = sink.last_committed_epoch() {
            return Err(PipelineError::AlreadyStarted {
                table: sink.table_url().to_string(),
                app_id: app_id.to_owned(),
                epoch,
            });
        }
        let stats = TableStats { table: sink.table_url().to_string(), ..TableStats::default() };
        Ok(Committer { sink, runtime, stats, last_progress: Instant::now() })
    }

    /// Commits every epoch that the frontier has passed, oldest first. Epochs without changes
    /// are skipped: they have nothing to make visible.
    pub fn commit_ready(&mut self, pending: &RefCell<Pending>) -> Result<(), PipelineError> {
        loop {
            let Some((epoch, mut changes)) = pending.borrow_mut().pop_complete() else { return Ok(()) };
            consolidate(&mut changes);
            if changes.is_empty() {
                continue;
            }
            let outcome = self.runtime.block_on(self.sink.commit_epoch(epoch, &changes))?;
            self.stats.record(epoch, outcome.version, outcome.rows, &changes);
            tracing::debug!(epoch, version = outcome.version, rows = outcome.rows, "committed epoch");
            if self.last_progress.elapsed() >= PROGRESS_EVERY {
                self.last_progress = Instant::now();
                tracing::info!(
                    epoch,
                    version = outcome.version,
                    rows = self.stats.rows,
                    change_rows = self.stats.change_rows,
                    "progress"
                );
            }
        }
    }
}
