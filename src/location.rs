//! Output locations: a local directory or an Azure Blob URL, the tables under them, and the
//! object store settings (credentials) for URLs, which are never printed.
//!
//! A [`Location`] is parsed once, from `--output` or the spec: a local path, or a URL of
//! Azure Blob Storage (`az://CONTAINER/PATH`, `abfss://CONTAINER@ACCOUNT.dfs.core.windows.net/PATH`,
//! also `abfs`, `azure` and `adl`). [`Location::join`] puts a table under it without losing
//! path segments, whatever slashes the user typed.
//!
//! Credentials are not part of a location: [`StorageOptions::from_env`] takes them from the
//! usual `AZURE_*` environment variables (those object_store's Azure client knows) and they
//! are handed to deltalake as storage options. Their `Debug` shows only which keys are set,
//! and a URL carrying a query string (where a SAS token would sit) is refused, so that no
//! error, log line or summary that prints a location can print a secret.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Once};

use deltalake::logstore::object_store::ObjectStore;
use deltalake::logstore::object_store::azure::AzureConfigKey;
use deltalake::{DeltaTableBuilder, DeltaTableError, ObjectStoreError};
use futures::{StreamExt, TryStreamExt};
use url::Url;

/// The URL schemes of Azure Blob Storage (object_store's spellings).
pub const AZURE_SCHEMES: [&str; 5] = ["az", "abfs", "abfss", "azure", "adl"];

/// Where the Azure credentials come from, for help texts and error hints.
pub const AZURE_CREDENTIALS_HELP: &str = "Azure credentials come from the environment: \
     AZURE_STORAGE_ACCOUNT_NAME with AZURE_STORAGE_ACCOUNT_KEY, or AZURE_STORAGE_SAS_KEY, or a \
     service principal (AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_TENANT_ID), or the managed \
     identity; AZURE_STORAGE_USE_EMULATOR=true for Azurite (address in AZURITE_BLOB_STORAGE_URL)";

/// Makes deltalake open Azure URLs. deltalake registers its Azure handlers from a static
/// constructor, which the linker may drop from a binary that never names the crate, so
/// trustflow registers them itself (once) before any Azure URL reaches deltalake.
pub fn register_object_stores() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| deltalake::azure::register_handlers(None));
}

/// An output root or table: a local directory or a directory in an Azure Blob container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A local directory, as given (relative paths are relative to the working directory).
    Local(PathBuf),
    /// A directory in an Azure Blob container; the path has no empty segments and no
    /// trailing slash, and the URL has no query, fragment or password.
    Azure(Url),
}

/// A location that cannot be used, or an object store request about one that failed.
#[derive(Debug, thiserror::Error)]
pub enum LocationError {
    /// The text is not a usable location.
    #[error("invalid location `{location}`: {reason}")]
    Invalid {
        /// The location, without any query string or password it carried.
        location: String,
        /// What is wrong.
        reason: String,
    },
    /// The object store of a URL location could not be set up (bad settings).
    #[error("cannot open the object store of {location}: {source}")]
    Open {
        /// The location.
        location: String,
        /// deltalake's error.
        #[source]
        source: Box<DeltaTableError>,
    },
    /// Listing or deleting objects under a URL location failed.
    #[error("cannot {action} {location}: {source}")]
    Store {
        /// What was being done, e.g. `list`.
        action: &'static str,
        /// The location.
        location: String,
        /// object_store's error.
        #[source]
        source: Box<ObjectStoreError>,
    },
}

impl LocationError {
    /// Whether trying again later may succeed (the store was unreachable or throttling), as
    /// opposed to a bad location, bad settings or refused credentials.
    pub fn is_retryable(&self) -> bool {
        match self {
            LocationError::Invalid { .. } => false,
            LocationError::Open { source, .. } => crate::sink::error::delta_is_retryable(source),
            LocationError::Store { source, .. } => crate::sink::error::store_is_retryable(source),
        }
    }
}

/// Whether `error` or one of its causes is an object store refusing the credentials (HTTP 401
/// or 403). object_store reports Azure's refusals as generic errors whose text carries the
/// status, and does not export the type that holds it, so the text is what can be checked.
pub fn is_access_denied(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if matches!(
            error.downcast_ref::<ObjectStoreError>(),
            Some(ObjectStoreError::PermissionDenied { .. } | ObjectStoreError::Unauthenticated { .. })
        ) {
            return true;
        }
        let text = error.to_string();
        if ["status code: 401", "status code: 403"].iter().any(|status| text.contains(status)) {
            return true;
        }
        cause = error.source();
    }
    false
}

/// `text` without a query string, fragment or password, to name it in an error.
fn printable(text: &str) -> String {
    let cut = text.find(['?', '#']).map_or(text, |end| &text[..end]);
    match Url::parse(cut) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(None);
            url.to_string()
        }
        _ => cut.to_owned(),
    }
}

impl Location {
    /// Parses a local path or an Azure Blob URL. `file://` URLs are local paths; other URL
    /// schemes (s3://, gs://, https://) are refused, as is a URL with a query string,
    /// fragment or password (credentials belong in the environment, not in a location that
    /// is printed).
    pub fn parse(text: &str) -> Result<Location, LocationError> {
        let invalid =
            |reason: &str| LocationError::Invalid { location: printable(text), reason: reason.into() };
        if text.trim().is_empty() {
            return Err(invalid("the location is empty"));
        }
        let url = match Url::parse(text) {
            // A one-letter scheme is a Windows drive, not a URL.
            Ok(url) if url.scheme().len() > 1 => url,
            _ => return Ok(Location::Local(PathBuf::from(text))),
        };
        match url.scheme() {
            "file" => url
                .to_file_path()
                .map(Location::Local)
                .map_err(|()| invalid("a file:// URL must name an absolute local path")),
            scheme if AZURE_SCHEMES.contains(&scheme) => {
                if url.query().is_some() || url.fragment().is_some() {
                    return Err(invalid(
                        "an Azure URL must not carry a query string or fragment (a SAS token \
                         belongs in AZURE_STORAGE_SAS_KEY, not in a location that is printed)",
                    ));
                }
                if url.password().is_some() {
                    return Err(invalid("an Azure URL must not carry a password"));
                }
                if url.host_str().is_none_or(str::is_empty) {
                    return Err(invalid("an Azure URL must name a container: az://CONTAINER/PATH"));
                }
                register_object_stores();
                let mut url = url;
                url.set_path(&normalized_path(url.path(), None));
                Ok(Location::Azure(url))
            }
            scheme => Err(invalid(&format!(
                "unsupported scheme `{scheme}://`: outputs are local paths or Azure Blob URLs ({})",
                AZURE_SCHEMES.map(|s| format!("{s}://")).join(", ")
            ))),
        }
    }

    /// The location `name` (one path segment, e.g. a table) under this one.
    pub fn join(&self, name: &str) -> Location {
        debug_assert!(!name.is_empty() && !name.contains('/'), "{name}");
        match self {
            Location::Local(path) => Location::Local(path.join(name)),
            Location::Azure(url) => {
                let mut url = url.clone();
                url.set_path(&normalized_path(url.path(), Some(name)));
                Location::Azure(url)
            }
        }
    }

    /// The location as deltalake takes it: the path, or the URL.
    pub fn table_uri(&self) -> String {
        match self {
            Location::Local(path) => path.to_string_lossy().into_owned(),
            Location::Azure(url) => url.to_string(),
        }
    }

    /// The local path, if the location is local.
    pub fn local_path(&self) -> Option<&Path> {
        match self {
            Location::Local(path) => Some(path),
            Location::Azure(_) => None,
        }
    }

    /// The last path segment (a table's or directory's name), if there is one.
    pub fn name(&self) -> Option<String> {
        match self {
            Location::Local(path) => path.file_name().map(|n| n.to_string_lossy().into_owned()),
            Location::Azure(url) => url.path_segments()?.rfind(|s| !s.is_empty()).map(str::to_owned),
        }
    }

    /// The object store settings for this location: for an Azure URL those in the environment
    /// ([`StorageOptions::from_env`]), for a local path none.
    pub fn storage_from_env(&self) -> StorageOptions {
        match self {
            Location::Local(_) => StorageOptions::default(),
            Location::Azure(_) => StorageOptions::from_env(),
        }
    }
}

/// `path`'s non-empty segments, then `name`, as an absolute path without a trailing slash.
fn normalized_path(path: &str, name: Option<&str>) -> String {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).chain(name).collect();
    format!("/{}", segments.join("/"))
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(path) => write!(f, "{}", path.display()),
            Location::Azure(url) => write!(f, "{url}"),
        }
    }
}

/// Object store settings for URL locations, credentials included, as deltalake's storage
/// options. `Debug` names every key but shows only the values of keys that are no secret
/// (account name, emulator switch, endpoint, ...); there is no `Display` or `Serialize`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct StorageOptions(BTreeMap<String, String>);

/// Keys whose values may be shown: they name things, they do not grant access.
const PUBLIC_KEYS: [AzureConfigKey; 7] = [
    AzureConfigKey::AccountName,
    AzureConfigKey::UseEmulator,
    AzureConfigKey::Endpoint,
    AzureConfigKey::ContainerName,
    AzureConfigKey::UseAzureCli,
    AzureConfigKey::SkipSignature,
    AzureConfigKey::UseFabricEndpoint,
];

impl StorageOptions {
    /// The Azure settings in this process's environment: see [`from_vars`](Self::from_vars).
    pub fn from_env() -> StorageOptions {
        StorageOptions::from_vars(
            std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    /// Every `AZURE_*` variable of `vars` that object_store's Azure client knows (account,
    /// key, SAS, service principal, managed identity, emulator, endpoint, client options),
    /// under its canonical key (e.g. `AZURE_STORAGE_ACCESS_KEY` becomes
    /// `azure_storage_account_key`). Others are ignored.
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> StorageOptions {
        let mut options = BTreeMap::new();
        for (name, value) in vars {
            if !name.starts_with("AZURE_") {
                continue;
            }
            if let Ok(key) = AzureConfigKey::from_str(&name.to_ascii_lowercase()) {
                options.insert(key.as_ref().to_owned(), value);
            }
        }
        StorageOptions(options)
    }

    /// These options and `key` = `value` (any deltalake storage option, e.g. `max_retries`).
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> StorageOptions {
        self.0.insert(key.into(), value.into());
        self
    }

    /// Whether no option is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The storage account's name (`AZURE_STORAGE_ACCOUNT_NAME`), if set: it names things and
    /// grants nothing, so it may be shown (lineage names Azure tables by it).
    pub fn account_name(&self) -> Option<&str> {
        self.0.get(AzureConfigKey::AccountName.as_ref()).map(String::as_str)
    }

    /// The keys that are set.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// The options as deltalake takes them.
    pub fn to_map(&self) -> HashMap<String, String> {
        self.0.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Whether `key`'s value may be shown.
    fn is_public(key: &str) -> bool {
        AzureConfigKey::from_str(key).is_ok_and(|key| PUBLIC_KEYS.contains(&key))
    }
}

impl fmt::Debug for StorageOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (key, value) in &self.0 {
            if StorageOptions::is_public(key) {
                map.entry(key, value);
            } else {
                map.entry(key, &format_args!("<redacted>"));
            }
        }
        map.finish()
    }
}

/// The object store rooted at `location` (an Azure URL), built by deltalake's registered
/// factory with `storage`, so it authenticates exactly like the Delta tables there.
pub fn object_store(
    location: &Location,
    storage: &StorageOptions,
) -> Result<Arc<dyn ObjectStore>, LocationError> {
    register_object_stores();
    let store_error =
        |source| LocationError::Open { location: location.to_string(), source: Box::new(source) };
    let url = Url::parse(&location.table_uri())
        .map_err(|e| store_error(DeltaTableError::InvalidTableLocation(e.to_string())))?;
    let log_store = DeltaTableBuilder::from_url(url)
        .and_then(|builder| builder.with_storage_options(storage.to_map()).build_storage())
        .map_err(store_error)?;
    Ok(log_store.object_store(None))
}

/// The paths of every object under the root of `store`, relative to it, sorted.
pub async fn list_all(store: &dyn ObjectStore, location: &Location) -> Result<Vec<String>, LocationError> {
    let objects: Vec<_> = store.list(None).try_collect().await.map_err(|source| LocationError::Store {
        action: "list",
        location: location.to_string(),
        source: Box::new(source),
    })?;
    let mut paths: Vec<String> = objects.into_iter().map(|o| o.location.to_string()).collect();
    paths.sort();
    Ok(paths)
}

/// Deletes every object under the root of `store`.
pub async fn delete_all(store: &dyn ObjectStore, location: &Location) -> Result<(), LocationError> {
    let delete_error = |source: ObjectStoreError| LocationError::Store {
        action: "delete objects under",
        location: location.to_string(),
        source: Box::new(source),
    };
    let listed = store.list(None).map_ok(|o| o.location).boxed();
    store.delete_stream(listed).try_collect::<Vec<_>>().await.map_err(delete_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn azure(text: &str) -> String {
        match Location::parse(text).unwrap() {
            Location::Azure(url) => url.to_string(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn local_paths_and_file_urls_are_local() {
        assert_eq!(Location::parse("out").unwrap(), Location::Local("out".into()));
        assert_eq!(Location::parse("./a/b/").unwrap(), Location::Local("./a/b/".into()));
        assert_eq!(Location::parse("file:///tmp/x").unwrap(), Location::Local("/tmp/x".into()));
        assert_eq!(Location::parse("out").unwrap().join("quality").table_uri(), "out/quality");
        assert_eq!(Location::parse("/data/run/").unwrap().join("quality").table_uri(), "/data/run/quality");
    }

    #[test]
    fn azure_urls_are_normalized_and_joined_without_losing_segments() {
        assert_eq!(azure("az://trustflow/a/b"), "az://trustflow/a/b");
        assert_eq!(azure("az://trustflow/a//b/"), "az://trustflow/a/b");
        assert_eq!(azure("az://trustflow"), "az://trustflow/");
        let join = |root: &str| Location::parse(root).unwrap().join("quality").to_string();
        assert_eq!(join("az://trustflow/runs/2024/"), "az://trustflow/runs/2024/quality");
        assert_eq!(join("az://trustflow/runs/2024"), "az://trustflow/runs/2024/quality");
        assert_eq!(join("az://trustflow"), "az://trustflow/quality");
        assert_eq!(join("az://trustflow/"), "az://trustflow/quality");
        assert_eq!(
            join("abfss://data@acct.dfs.core.windows.net/lake/trust/"),
            "abfss://data@acct.dfs.core.windows.net/lake/trust/quality"
        );
        let nested = Location::parse("az://c/x").unwrap().join("a").join("b");
        assert_eq!(nested.to_string(), "az://c/x/a/b");
        assert_eq!(nested.name().as_deref(), Some("b"));
        assert_eq!(Location::parse("az://c").unwrap().name(), None);
    }

    #[test]
    fn other_schemes_and_secrets_in_urls_are_refused() {
        let error = |text: &str| Location::parse(text).unwrap_err().to_string();
        assert!(error("s3://bucket/x").contains("unsupported scheme `s3://`"), "{}", error("s3://bucket/x"));
        assert!(error("https://acct.blob.core.windows.net/c").contains("unsupported scheme"));
        assert!(error("az:///path").contains("must name a container"));
        assert!(error("").contains("empty"));
        let sas = error("az://c/x?sv=2024&sig=SECRETSIG");
        assert!(sas.contains("query string") && !sas.contains("SECRETSIG"), "{sas}");
        let password = error("abfss://c:hunter2@acct.dfs.core.windows.net/x");
        assert!(password.contains("password") && !password.contains("hunter2"), "{password}");
    }

    /// Azurite's well-known development key (public), standing in for a real secret.
    const KEY: &str =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    fn vars() -> Vec<(String, String)> {
        [
            ("AZURE_STORAGE_ACCOUNT_NAME", "devstoreaccount1"),
            ("AZURE_STORAGE_ACCESS_KEY", KEY),
            ("AZURE_STORAGE_SAS_KEY", "sv=2024&sig=SASSECRET"),
            ("AZURE_CLIENT_SECRET", "CLIENTSECRET"),
            ("AZURE_STORAGE_USE_EMULATOR", "true"),
            ("AZURE_NOT_A_SETTING", "x"),
            ("HOME", "/root"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into()
    }

    #[test]
    fn storage_options_come_from_azure_variables_under_canonical_keys() {
        let options = StorageOptions::from_vars(vars());
        let keys: Vec<&str> = options.keys().collect();
        assert_eq!(
            keys,
            [
                "azure_storage_account_key",
                "azure_storage_account_name",
                "azure_storage_client_secret",
                "azure_storage_sas_key",
                "azure_storage_use_emulator"
            ]
        );
        assert_eq!(options.to_map()["azure_storage_account_key"], KEY);
    }

    #[test]
    fn storage_options_never_show_secrets() {
        let debug =
            format!("{:?} {:#?}", StorageOptions::from_vars(vars()), StorageOptions::from_vars(vars()));
        for secret in [KEY, "SASSECRET", "CLIENTSECRET"] {
            assert!(!debug.contains(secret), "{debug}");
        }
        assert!(debug.contains("devstoreaccount1") && debug.contains("<redacted>"), "{debug}");
    }
}
