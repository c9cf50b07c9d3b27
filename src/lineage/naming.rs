//! Dataset names by the OpenLineage naming conventions: Kafka topics, local and Azure tables.
//!
//! | store | namespace | name |
//! |---|---|---|
//! | Kafka | `kafka://{first bootstrap host}:{port}` | the topic |
//! | local file system | `file` | the table's absolute path |
//! | Azure (ADLS Gen2 / Blob) | `abfss://{container}@{account}.dfs.core.windows.net` | the table's path in the container, no leading `/` |
//!
//! Every Azure spelling trustflow accepts (`az://`, `azure://`, `abfs[s]://`, `adl://`) is named
//! in the one `abfss://` form, so that a table has one identity whichever way it was written to;
//! `az://CONTAINER/PATH` has no account in it, which then comes from the storage options
//! (`AZURE_STORAGE_ACCOUNT_NAME`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::LineageError;
use crate::location::{Location, StorageOptions};

/// Kafka's default port, for a bootstrap server given without one.
const KAFKA_DEFAULT_PORT: u16 = 9092;

/// A dataset's identity: namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DatasetId {
    /// The namespace (the store).
    pub namespace: String,
    /// The name within it.
    pub name: String,
}

impl DatasetId {
    /// A Kafka topic read through the bootstrap servers `bootstrap` (`host:port[,host:port...]`):
    /// the namespace is the first server's, as the naming conventions have one server.
    pub fn kafka(bootstrap: &str, topic: &str) -> Result<DatasetId, LineageError> {
        let naming = |reason: &str| LineageError::Naming {
            what: format!("topic `{topic}` on `{bootstrap}`"),
            reason: reason.to_owned(),
        };
        if topic.is_empty() {
            return Err(naming("the topic is empty"));
        }
        let first = bootstrap.split(',').map(str::trim).find(|s| !s.is_empty());
        let first = first.ok_or_else(|| naming("no bootstrap server"))?;
        // librdkafka accepts `PROTOCOL://host:port`; the namespace has only host and port.
        let server = first.rsplit_once("://").map_or(first, |(_, rest)| rest).trim_end_matches('/');
        let has_port = match server.rsplit_once(':') {
            // An IPv6 address without a port ends in `]`, or has several colons unbracketed.
            Some((host, port)) => !host.is_empty() && !port.contains(']') && port.parse::<u16>().is_ok(),
            None => false,
        };
        if server.is_empty() || server.starts_with(':') {
            return Err(naming("the bootstrap server has no host"));
        }
        let namespace = if has_port {
            format!("kafka://{server}")
        } else {
            format!("kafka://{server}:{KAFKA_DEFAULT_PORT}")
        };
        Ok(DatasetId { namespace, name: topic.to_owned() })
    }

    /// A table at `location`; an `az://` location takes its account from `storage`.
    pub fn table(location: &Location, storage: &StorageOptions) -> Result<DatasetId, LineageError> {
        DatasetId::table_in_account(location, storage.account_name())
    }

    /// A table at `location`, with `account` the storage account for URLs that do not name
    /// one (`az://CONTAINER/PATH`).
    pub fn table_in_account(location: &Location, account: Option<&str>) -> Result<DatasetId, LineageError> {
        match location {
            Location::Local(path) => local(path),
            Location::Azure(url) => {
                let naming =
                    |reason: &str| LineageError::Naming { what: url.to_string(), reason: reason.to_owned() };
                let host = url.host_str().unwrap_or_default();
                let (container, account) = if url.username().is_empty() {
                    // az://CONTAINER/PATH (also azure://, adl://): the host is the container.
                    let account = account.filter(|a| !a.is_empty()).ok_or_else(|| {
                        naming(
                            "the URL names no storage account and AZURE_STORAGE_ACCOUNT_NAME is not \
                             set",
                        )
                    })?;
                    (host.to_owned(), account.to_owned())
                } else {
                    // abfss://CONTAINER@ACCOUNT.dfs.core.windows.net/PATH (or .blob.): the account is
                    // the host's first label.
                    let account = host.split('.').next().filter(|a| !a.is_empty());
                    let account = account.ok_or_else(|| naming("the URL's host names no account"))?;
                    (url.username().to_owned(), account.to_owned())
                };
                if container.is_empty() {
                    return Err(naming("the URL names no container"));
                }
                let name = url.path().trim_matches('/');
                if name.is_empty() {
                    return Err(naming("the URL names no path in the container"));
                }
                Ok(DatasetId {
                    namespace: format!("abfss://{container}@{account}.dfs.core.windows.net"),
                    name: name.to_owned(),
                })
            }
        }
    }

    /// The URI of the store (for the `dataSource` facet): the namespace when it is a URL, and
    /// `file:///` for the local file system.
    pub fn source_uri(&self) -> String {
        if self.namespace.contains("://") {
            self.namespace.clone()
        } else {
            format!("{}:///", self.namespace)
        }
    }
}

/// A local table: namespace `file`, name the absolute path without a trailing slash.
fn local(path: &Path) -> Result<DatasetId, LineageError> {
    let naming = |reason: String| LineageError::Naming { what: path.display().to_string(), reason };
    let absolute = std::path::absolute(path).map_err(|e| naming(format!("no absolute path: {e}")))?;
    let text = absolute.to_str().ok_or_else(|| naming("the path is not UTF-8".to_owned()))?;
    let trimmed = text.trim_end_matches('/');
    let name = if trimmed.is_empty() { "/" } else { trimmed };
    Ok(DatasetId { namespace: "file".to_owned(), name: name.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_namespaces_take_the_first_server() {
        let id = DatasetId::kafka("127.0.0.1:19092,other:9093", "transactions").unwrap();
        assert_eq!(id.namespace, "kafka://127.0.0.1:19092");
        assert_eq!(id.name, "transactions");
        assert_eq!(DatasetId::kafka(" broker ", "t").unwrap().namespace, "kafka://broker:9092");
        assert_eq!(
            DatasetId::kafka("SSL://b.example:9093", "t").unwrap().namespace,
            "kafka://b.example:9093"
        );
        assert_eq!(DatasetId::kafka("[::1]:9092", "t").unwrap().namespace, "kafka://[::1]:9092");
        assert_eq!(DatasetId::kafka("[::1]", "t").unwrap().namespace, "kafka://[::1]:9092");
        assert!(DatasetId::kafka("", "t").is_err());
        assert!(DatasetId::kafka(" , ", "t").is_err());
        assert!(DatasetId::kafka("b:9092", "").is_err());
        assert!(DatasetId::kafka(":9092", "t").is_err());
    }

    #[test]
    fn local_tables_are_absolute_paths_in_file() {
        let id = DatasetId::table_in_account(&Location::parse("/data/out/quality/").unwrap(), None).unwrap();
        assert_eq!((id.namespace.as_str(), id.name.as_str()), ("file", "/data/out/quality"));
        assert_eq!(id.source_uri(), "file:///");
        let relative = DatasetId::table_in_account(&Location::parse("out/quality").unwrap(), None).unwrap();
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(relative.name, cwd.join("out/quality").to_str().unwrap());
        let url = DatasetId::table_in_account(&Location::parse("file:///data/q").unwrap(), None).unwrap();
        assert_eq!(url.name, "/data/q");
    }

    #[test]
    fn azure_tables_are_named_in_abfss_form_whatever_the_spelling() {
        let want = DatasetId {
            namespace: "abfss://lake@acct.dfs.core.windows.net".into(),
            name: "runs/one/quality".into(),
        };
        for (text, account) in [
            ("az://lake/runs/one/quality", Some("acct")),
            ("azure://lake//runs/one/quality/", Some("acct")),
            ("abfss://lake@acct.dfs.core.windows.net/runs/one/quality", None),
            ("abfs://lake@acct.blob.core.windows.net/runs/one/quality", Some("other")),
        ] {
            let location = Location::parse(text).unwrap();
            assert_eq!(DatasetId::table_in_account(&location, account).unwrap(), want, "{text}");
        }
        let storage =
            StorageOptions::from_vars([("AZURE_STORAGE_ACCOUNT_NAME".to_owned(), "acct".to_owned())]);
        let location = Location::parse("az://lake/runs/one/quality").unwrap();
        assert_eq!(DatasetId::table(&location, &storage).unwrap(), want);
        let error = DatasetId::table(&location, &StorageOptions::default()).unwrap_err().to_string();
        assert!(error.contains("AZURE_STORAGE_ACCOUNT_NAME"), "{error}");
        let root = Location::parse("az://lake").unwrap();
        assert!(DatasetId::table_in_account(&root, Some("acct")).is_err());
    }
}
