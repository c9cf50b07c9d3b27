//! Cluster flags in timely's vocabulary, mapped onto timely's own configuration.

use std::path::PathBuf;

use clap::Args;

use super::plan::PlanError;

/// Timely cluster flags: `-w` workers per process, `-n` processes, `-p` this process's index,
/// `--hostfile` one `host:port` line per process (clap keeps `-h` for help).
#[derive(Args, Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterArgs {
    /// Worker threads per process.
    #[arg(short = 'w', long = "workers", default_value_t = 1, value_name = "N")]
    pub workers: usize,
    /// Number of processes in the cluster.
    #[arg(short = 'n', long = "processes", default_value_t = 1, value_name = "N")]
    pub processes: usize,
    /// This process's index, 0 to processes - 1.
    #[arg(short = 'p', long = "process", default_value_t = 0, value_name = "INDEX")]
    pub process: usize,
    /// File with one `host:port` line per process (default: 127.0.0.1, ports from 2101).
    #[arg(long = "hostfile", value_name = "PATH")]
    pub hostfile: Option<PathBuf>,
}

impl ClusterArgs {
    /// Timely's configuration for these flags: one thread, a process of `w` threads, or a
    /// cluster of `n` processes of `w` threads each.
    pub fn timely_config(&self) -> Result<timely::Config, PlanError> {
        if self.workers == 0 {
            return Err(PlanError::new("--workers must be at least 1"));
        }
        if self.processes == 0 || self.process >= self.processes {
            return Err(PlanError::new(format!(
                "--process {} must be below --processes {}",
                self.process, self.processes
            )));
        }
        let communication = if self.processes > 1 {
            timely::CommunicationConfig::Cluster {
                threads: self.workers,
                process: self.process,
                addresses: self.addresses()?,
                report: false,
                zerocopy: false,
            }
        } else if self.workers > 1 {
            timely::CommunicationConfig::Process(self.workers)
        } else {
            timely::CommunicationConfig::Thread
        };
        Ok(timely::Config { communication, worker: timely::WorkerConfig::default() })
    }

    fn addresses(&self) -> Result<Vec<String>, PlanError> {
        let Some(path) = &self.hostfile else {
            return Ok((0..self.processes).map(|i| format!("127.0.0.1:{}", 2101 + i)).collect());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| PlanError::new(format!("cannot read --hostfile {}: {e}", path.display())))?;
        let hosts: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect();
        if hosts.len() < self.processes {
            return Err(PlanError::new(format!(
                "--hostfile {} lists {} hosts, fewer than --processes {}",
                path.display(),
                hosts.len(),
                self.processes
            )));
        }
        Ok(hosts.into_iter().take(self.processes).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use timely::CommunicationConfig;

    fn args(workers: usize, processes: usize, process: usize) -> ClusterArgs {
        ClusterArgs { workers, processes, process, hostfile: None }
    }

    #[test]
    fn one_worker_is_a_thread() {
        assert!(matches!(args(1, 1, 0).timely_config().unwrap().communication, CommunicationConfig::Thread));
    }

    #[test]
    fn workers_flag_is_a_process() {
        assert!(matches!(
            args(4, 1, 0).timely_config().unwrap().communication,
            CommunicationConfig::Process(4)
        ));
    }

    #[test]
    fn processes_flag_is_a_cluster_with_default_addresses() {
        match args(2, 2, 1).timely_config().unwrap().communication {
            CommunicationConfig::Cluster { threads, process, addresses, .. } => {
                assert_eq!((threads, process), (2, 1));
                assert_eq!(addresses, vec!["127.0.0.1:2101", "127.0.0.1:2102"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn hostfile_supplies_addresses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts");
        std::fs::write(&path, "# cluster\n127.0.0.1:3000\n\n127.0.0.1:3001\n").unwrap();
        let cluster = ClusterArgs { hostfile: Some(path.clone()), ..args(1, 2, 0) };
        match cluster.timely_config().unwrap().communication {
            CommunicationConfig::Cluster { addresses, .. } => {
                assert_eq!(addresses, vec!["127.0.0.1:3000", "127.0.0.1:3001"])
            }
            other => panic!("{other:?}"),
        }
        let short = ClusterArgs { hostfile: Some(path), ..args(1, 3, 0) };
        assert!(short.timely_config().unwrap_err().to_string().contains("fewer than"));
    }

    #[test]
    fn bad_indexes_are_refused() {
        assert!(args(0, 1, 0).timely_config().is_err());
        assert!(args(1, 2, 2).timely_config().is_err());
    }
}
