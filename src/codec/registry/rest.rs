//! A Confluent Schema Registry REST client (blocking), caching parsed schemas by id.
//!
//! Endpoints used: `GET /schemas/ids/{id}`, `GET /subjects`, `GET /subjects/{s}/versions`,
//! `GET /subjects/{s}/versions/{version|latest}`. Call it from plain threads (timely
//! workers), not from inside a tokio runtime: the blocking client would panic there.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use reqwest::blocking::Client;
use reqwest::header::ACCEPT;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use super::{RegisteredSchema, SchemaResolver};
use crate::codec::error::RegistryError;

/// The media type the registry API speaks (sent as `Accept`).
pub const SCHEMA_REGISTRY_MEDIA_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// Timeout of a whole request with the default client.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A Confluent-compatible Schema Registry at a base URL.
#[derive(Debug)]
pub struct RestRegistry {
    base: Url,
    client: Client,
    cache: RwLock<HashMap<u32, Arc<RegisteredSchema>>>,
}

/// Body of `GET /schemas/ids/{id}`.
#[derive(Deserialize)]
struct SchemaById {
    schema: String,
    #[serde(rename = "schemaType")]
    schema_type: Option<String>,
}

/// Body of `GET /subjects/{subject}/versions/{version}`.
#[derive(Deserialize)]
struct SubjectVersion {
    subject: String,
    version: u32,
    id: u32,
    schema: String,
    #[serde(rename = "schemaType")]
    schema_type: Option<String>,
}

/// Body of an error answer.
#[derive(Deserialize)]
struct ErrorBody {
    error_code: Option<u32>,
    message: Option<String>,
}

impl RestRegistry {
    /// A client of the registry at `base_url` (e.g. `http://localhost:8081`), with a 10 s
    /// request timeout.
    pub fn new(base_url: &str) -> Result<Self, RegistryError> {
        let client = Client::builder()
            .timeout(DEFAULT_TIMEOUT)
            .build()
            .map_err(|e| RegistryError::Unreachable { url: base_url.to_owned(), message: chain(&e) })?;
        Self::with_client(base_url, client)
    }

    /// A client of the registry at `base_url` using `client` (for TLS, auth headers, timeouts).
    pub fn with_client(base_url: &str, client: Client) -> Result<Self, RegistryError> {
        let bad =
            |message: &str| RegistryError::BadUrl { url: base_url.to_owned(), message: message.to_owned() };
        let base = Url::parse(base_url).map_err(|e| bad(&e.to_string()))?;
        if base.cannot_be_a_base() || !matches!(base.scheme(), "http" | "https") {
            return Err(bad("not an http(s) base URL"));
        }
        Ok(RestRegistry { base, client, cache: RwLock::new(HashMap::new()) })
    }

    /// The registry's base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// Version `version` of `subject`.
    pub fn subject_version(
        &self,
        subject: &str,
        version: u32,
    ) -> Result<Arc<RegisteredSchema>, RegistryError> {
        self.fetch_version(subject, &version.to_string())
    }

    fn fetch_version(&self, subject: &str, version: &str) -> Result<Arc<RegisteredSchema>, RegistryError> {
        let url = self.url(&["subjects", subject, "versions", version])?;
        let body: SubjectVersion = self.get(&url)?;
        check_avro(body.id, body.schema_type.as_deref())?;
        let schema = RegisteredSchema::parse(body.id, Some(body.subject), Some(body.version), &body.schema)?;
        Ok(Arc::new(schema))
    }

    /// The base URL with `segments` appended (each percent-encoded).
    fn url(&self, segments: &[&str]) -> Result<Url, RegistryError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| RegistryError::BadUrl {
                url: self.base.to_string(),
                message: "not a base URL".into(),
            })?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// GET `url` and parse its JSON body, mapping every failure to a typed error.
    fn get<T: DeserializeOwned>(&self, url: &Url) -> Result<T, RegistryError> {
        let unreachable =
            |e: reqwest::Error| RegistryError::Unreachable { url: url.to_string(), message: chain(&e) };
        let response = self
            .client
            .get(url.clone())
            .header(ACCEPT, SCHEMA_REGISTRY_MEDIA_TYPE)
            .send()
            .map_err(unreachable)?;
        let status = response.status();
        let body = response.bytes().map_err(unreachable)?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|e| RegistryError::Malformed { message: format!("GET {url}: {e}") });
        }
        let (code, message) = match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(e) => (e.error_code, e.message),
            Err(_) => (None, None),
        };
        let message = message.unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
        if status == reqwest::StatusCode::NOT_FOUND {
            let code = code.map(|c| format!(", error code {c}")).unwrap_or_default();
            return Err(RegistryError::NotFound { what: format!("GET {}: {message}{code}", url.path()) });
        }
        Err(RegistryError::Http { status: status.as_u16(), code, message })
    }
}

impl SchemaResolver for RestRegistry {
    fn schema_by_id(&self, id: u32) -> Result<Arc<RegisteredSchema>, RegistryError> {
        let cached = self.cache.read().unwrap_or_else(PoisonError::into_inner).get(&id).cloned();
        if let Some(schema) = cached {
            return Ok(schema);
        }
        let url = self.url(&["schemas", "ids", &id.to_string()])?;
        let body: SchemaById = self.get(&url)?;
        check_avro(id, body.schema_type.as_deref())?;
        let schema = Arc::new(RegisteredSchema::parse(id, None, None, &body.schema)?);
        let mut cache = self.cache.write().unwrap_or_else(PoisonError::into_inner);
        Ok(cache.entry(id).or_insert(schema).clone())
    }

    fn subjects(&self) -> Result<Vec<String>, RegistryError> {
        self.get(&self.url(&["subjects"])?)
    }

    fn versions(&self, subject: &str) -> Result<Vec<u32>, RegistryError> {
        self.get(&self.url(&["subjects", subject, "versions"])?)
    }

    fn latest(&self, subject: &str) -> Result<Arc<RegisteredSchema>, RegistryError> {
        self.fetch_version(subject, "latest")
    }
}

/// Only Avro schemas are usable (`schemaType` is absent for Avro in most registries).
fn check_avro(id: u32, schema_type: Option<&str>) -> Result<(), RegistryError> {
    match schema_type {
        None | Some("AVRO") => Ok(()),
        Some(other) => Err(RegistryError::BadSchema {
            id,
            message: format!("schemaType {other} is not supported, only AVRO"),
        }),
    }
}

/// An error and its sources, `: `-separated.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
#[path = "rest_tests.rs"]
mod tests;
