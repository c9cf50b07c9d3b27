//! Test doubles of the registry: a fixed set of schemas, and one that always fails.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use apache_avro::Schema;

use super::{RegisteredSchema, SchemaResolver};
use crate::codec::error::RegistryError;

/// A registry of a fixed list of schemas, counting its lookups by id.
///
/// Subjects are optional: [`FixedRegistry::with_subject`] registers an id under a subject
/// (versions numbered from 1 in the order added).
#[derive(Debug, Default)]
pub struct FixedRegistry {
    by_id: BTreeMap<u32, Arc<RegisteredSchema>>,
    subjects: BTreeMap<String, Vec<u32>>,
    lookups: AtomicUsize,
}

impl FixedRegistry {
    /// A registry holding `schemas` under their ids.
    pub fn new(schemas: impl IntoIterator<Item = (u32, Schema)>) -> Self {
        FixedRegistry {
            by_id: schemas
                .into_iter()
                .map(|(id, s)| (id, Arc::new(RegisteredSchema::new(id, None, None, s))))
                .collect(),
            ..Default::default()
        }
    }

    /// A registry of schemas given as Avro JSON text.
    pub fn from_avsc<'a>(schemas: impl IntoIterator<Item = (u32, &'a str)>) -> Result<Self, RegistryError> {
        let parsed = schemas
            .into_iter()
            .map(|(id, text)| {
                Schema::parse_str(text)
                    .map(|s| (id, s))
                    .map_err(|e| RegistryError::BadSchema { id, message: e.to_string() })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(parsed))
    }

    /// Register schema `id` as the next version of `subject`.
    pub fn with_subject(mut self, subject: &str, id: u32) -> Self {
        self.subjects.entry(subject.to_owned()).or_default().push(id);
        self
    }

    /// How many times [`SchemaResolver::schema_by_id`] was called.
    pub fn lookups(&self) -> usize {
        self.lookups.load(Ordering::Relaxed)
    }

    fn ids(&self, subject: &str) -> Result<&[u32], RegistryError> {
        self.subjects
            .get(subject)
            .map(Vec::as_slice)
            .ok_or_else(|| RegistryError::NotFound { what: format!("subject `{subject}`") })
    }
}

impl SchemaResolver for FixedRegistry {
    fn schema_by_id(&self, id: u32) -> Result<Arc<RegisteredSchema>, RegistryError> {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        self.by_id
            .get(&id)
            .cloned()
            .ok_or_else(|| RegistryError::NotFound { what: format!("schema id {id}") })
    }

    fn subjects(&self) -> Result<Vec<String>, RegistryError> {
        Ok(self.subjects.keys().cloned().collect())
    }

    fn versions(&self, subject: &str) -> Result<Vec<u32>, RegistryError> {
        Ok((1..=self.ids(subject)?.len() as u32).collect())
    }

    fn latest(&self, subject: &str) -> Result<Arc<RegisteredSchema>, RegistryError> {
        let ids = self.ids(subject)?;
        let (version, id) = (ids.len() as u32, ids.last().copied().unwrap_or_default());
        let schema = self.schema_by_id(id)?;
        Ok(Arc::new(RegisteredSchema {
            subject: Some(subject.to_owned()),
            version: Some(version),
            ..(*schema).clone()
        }))
    }
}

/// A registry that answers every request with the same error.
#[derive(Debug, Clone)]
pub struct FailingRegistry {
    error: RegistryError,
}

impl FailingRegistry {
    /// A registry failing with `error`.
    pub fn new(error: RegistryError) -> Self {
        FailingRegistry { error }
    }

    /// A registry that looks unreachable (a retryable failure).
    pub fn unreachable() -> Self {
        Self::new(RegistryError::Unreachable {
            url: "http://registry.invalid".into(),
            message: "connection refused".into(),
        })
    }
}

impl SchemaResolver for FailingRegistry {
    fn schema_by_id(&self, _id: u32) -> Result<Arc<RegisteredSchema>, RegistryError> {
        Err(self.error.clone())
    }

    fn subjects(&self) -> Result<Vec<String>, RegistryError> {
        Err(self.error.clone())
    }

    fn versions(&self, _subject: &str) -> Result<Vec<u32>, RegistryError> {
        Err(self.error.clone())
    }

    fn latest(&self, _subject: &str) -> Result<Arc<RegisteredSchema>, RegistryError> {
        Err(self.error.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = r#"{"type":"record","name":"A","fields":[{"name":"x","type":"long"}]}"#;

    #[test]
    fn fixed_registry_serves_its_schemas_and_counts_lookups() {
        let r = FixedRegistry::from_avsc([(7, A), (8, A)])
            .unwrap()
            .with_subject("a-value", 7)
            .with_subject("a-value", 8);
        assert_eq!(r.schema_by_id(7).unwrap().id, 7);
        assert!(matches!(r.schema_by_id(9), Err(RegistryError::NotFound { .. })));
        assert_eq!(r.lookups(), 2);
        assert_eq!(r.subjects().unwrap(), ["a-value"]);
        assert_eq!(r.versions("a-value").unwrap(), [1, 2]);
        let latest = r.latest("a-value").unwrap();
        assert_eq!((latest.id, latest.version), (8, Some(2)));
        assert_eq!(latest.subject.as_deref(), Some("a-value"));
        assert!(matches!(r.latest("b"), Err(RegistryError::NotFound { .. })));
    }

    #[test]
    fn failing_registry_always_fails_with_its_error() {
        let r = FailingRegistry::unreachable();
        let err = r.schema_by_id(1).unwrap_err();
        assert!(err.is_retryable());
        assert_eq!(err.reason(), "registry_unreachable");
        assert!(r.subjects().is_err() && r.versions("s").is_err() && r.latest("s").is_err());
    }
}
