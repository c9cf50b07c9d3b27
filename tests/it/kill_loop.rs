//! The crash tests' SIGKILL loop: start a run, kill it at a random moment, again and again.

use std::ops::{Range, RangeInclusive};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use rand::Rng;
use rand::rngs::StdRng;

use crate::support::commits;

/// When the runs are killed. Every other run is killed at a random moment from its start
/// (often while it replays); the others once they have committed a random number of epochs,
/// plus a random delay (often during the next commit), so that the runs make progress.
pub struct Kills {
    /// How many runs are started and killed.
    pub kills: u64,
    /// The even runs live this long, in milliseconds.
    pub early_ms: Range<u64>,
    /// The odd runs are killed after this many commits...
    pub commits: RangeInclusive<usize>,
    /// ...or after this long, if they commit fewer (the input may be all read and committed).
    pub patience: Duration,
    /// ...and then this many milliseconds more.
    pub late_ms: Range<u64>,
}

/// Runs `start(log)` `kills.kills` times, each run logging to `run-{i}.log` in `dir` and killed
/// with SIGKILL as `kills` says; a run that ends by itself fails the test with its log.
/// Returns the epochs each run committed before its kill.
pub fn kill_again_and_again(
    kills: &Kills,
    rng: &mut StdRng,
    dir: &Path,
    mut start: impl FnMut(&Path) -> Child,
) -> Vec<usize> {
    let mut progress = Vec::new();
    for kill in 0..kills.kills {
        let log: PathBuf = dir.join(format!("run-{kill}.log"));
        let mut child = start(&log);
        let begun = Instant::now();
        let alive = |child: &mut Child| {
            let ended = child.try_wait().unwrap().is_some();
            assert!(!ended, "run {kill} ended:\n{}", std::fs::read_to_string(&log).unwrap_or_default());
        };
        if kill % 2 == 0 {
            std::thread::sleep(Duration::from_millis(rng.random_range(kills.early_ms.clone())));
        } else {
            let wanted = rng.random_range(kills.commits.clone());
            while commits(&log) < wanted && begun.elapsed() < kills.patience {
                alive(&mut child);
                std::thread::sleep(Duration::from_millis(10));
            }
            std::thread::sleep(Duration::from_millis(rng.random_range(kills.late_ms.clone())));
        }
        alive(&mut child);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        progress.push(commits(&log));
    }
    progress
}
