//! The local registry: the `schemas/` folder (`manifest.yaml` + one `.avsc` per subject).
//!
//! The manifest maps each subject to its topic, schema file and schema id. Every subject has
//! one version, 1. The repository's folder is also compiled into the binary
//! ([`LocalRegistry::embedded`]) so `trustflow` runs from any directory.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use super::{RegisteredSchema, SchemaResolver};
use crate::codec::error::RegistryError;

/// Name of the manifest file in a schemas folder.
pub const MANIFEST_FILE: &str = "manifest.yaml";

/// The repository's `schemas/` folder, as compiled in: (file name, contents).
const EMBEDDED: [(&str, &str); 4] = [
    (MANIFEST_FILE, include_str!("../../../schemas/manifest.yaml")),
    ("financial_transaction.avsc", include_str!("../../../schemas/financial_transaction.avsc")),
    ("market_data.avsc", include_str!("../../../schemas/market_data.avsc")),
    ("user_event.avsc", include_str!("../../../schemas/user_event.avsc")),
];

/// One entry of `manifest.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestEntry {
    /// The registry subject, e.g. `financial-transactions-value`.
    pub subject: String,
    /// The Kafka topic whose values use this subject.
    pub topic: String,
    /// The `.avsc` file, relative to the manifest.
    pub schema: String,
    /// The schema id written in the wire-format header.
    pub id: u32,
}

/// A registry read from a schemas folder (or the copy embedded in the binary).
#[derive(Debug, Clone)]
pub struct LocalRegistry {
    entries: Vec<ManifestEntry>,
    by_id: HashMap<u32, Arc<RegisteredSchema>>,
}

impl LocalRegistry {
    /// Read `dir/manifest.yaml` and the schema files it names.
    pub fn load(dir: &Path) -> Result<Self, RegistryError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|e| RegistryError::io(path, e))
        };
        Self::from_manifest(&read(MANIFEST_FILE)?, read)
    }

    /// The repository's `schemas/` folder as it was when the binary was built.
    pub fn embedded() -> Result<Self, RegistryError> {
        let read = |name: &str| {
            EMBEDDED
                .iter()
                .find(|(file, _)| *file == name)
                .map(|(_, text)| (*text).to_owned())
                .ok_or_else(|| RegistryError::NotFound { what: format!("embedded schema file `{name}`") })
        };
        Self::from_manifest(&read(MANIFEST_FILE)?, read)
    }

    /// Build from a manifest's text, reading schema files with `read`.
    ///
    /// Ids, subjects and topics must each be unique ([`RegistryError::Malformed`]).
    pub fn from_manifest(
        manifest: &str,
        mut read: impl FnMut(&str) -> Result<String, RegistryError>,
    ) -> Result<Self, RegistryError> {
        let entries: Vec<ManifestEntry> = serde_yaml_ng::from_str(manifest)
            .map_err(|e| RegistryError::Malformed { message: format!("{MANIFEST_FILE}: {e}") })?;
        let mut by_id = HashMap::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            let duplicate = |what: &str| RegistryError::Malformed {
                message: format!("{MANIFEST_FILE}: {what} of `{}` is used twice", entry.subject),
            };
            let earlier = &entries[..i];
            if earlier.iter().any(|e| e.subject == entry.subject) {
                return Err(duplicate("subject"));
            }
            if earlier.iter().any(|e| e.topic == entry.topic) {
                return Err(duplicate("topic"));
            }
            if by_id.contains_key(&entry.id) {
                return Err(duplicate("id"));
            }
            let text = read(&entry.schema)?;
            let schema = RegisteredSchema::parse(entry.id, Some(entry.subject.clone()), Some(1), &text)?;
            by_id.insert(entry.id, Arc::new(schema));
        }
        Ok(LocalRegistry { entries, by_id })
    }

    /// The manifest's entries, in file order.
    pub fn entries(&self) -> &[ManifestEntry] {
        &self.entries
    }

    /// The topic of `subject`.
    pub fn topic_for_subject(&self, subject: &str) -> Option<&str> {
        self.find(|e| e.subject == subject).map(|e| e.topic.as_str())
    }

    /// The subject of `topic`.
    pub fn subject_for_topic(&self, topic: &str) -> Option<&str> {
        self.find(|e| e.topic == topic).map(|e| e.subject.as_str())
    }

    /// The schema id values of `topic` are encoded with.
    pub fn id_for_topic(&self, topic: &str) -> Option<u32> {
        self.find(|e| e.topic == topic).map(|e| e.id)
    }

    fn find(&self, pred: impl Fn(&ManifestEntry) -> bool) -> Option<&ManifestEntry> {
        self.entries.iter().find(|e| pred(e))
    }

    fn by_subject(&self, subject: &str) -> Result<&ManifestEntry, RegistryError> {
        self.find(|e| e.subject == subject)
            .ok_or_else(|| RegistryError::NotFound { what: format!("subject `{subject}`") })
    }
}

impl SchemaResolver for LocalRegistry {
    fn schema_by_id(&self, id: u32) -> Result<Arc<RegisteredSchema>, RegistryError> {
        self.by_id
            .get(&id)
            .cloned()
            .ok_or_else(|| RegistryError::NotFound { what: format!("schema id {id}") })
    }

    fn subjects(&self) -> Result<Vec<String>, RegistryError> {
        Ok(self.entries.iter().map(|e| e.subject.clone()).collect())
    }

    fn versions(&self, subject: &str) -> Result<Vec<u32>, RegistryError> {
        self.by_subject(subject).map(|_| vec![1])
    }

    fn latest(&self, subject: &str) -> Result<Arc<RegisteredSchema>, RegistryError> {
        let id = self.by_subject(subject)?.id;
        self.schema_by_id(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::registry::RecordKind;
    use apache_avro::Schema;

    fn json(schema: &Schema) -> serde_json::Value {
        serde_json::to_value(schema).unwrap()
    }

    fn repo_schemas() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas")
    }

    #[test]
    fn loads_the_repository_schemas() {
        let r = LocalRegistry::load(&repo_schemas()).unwrap();
        let kinds: Vec<_> = [1, 2, 3].map(|id| r.schema_by_id(id).unwrap().kind.clone()).into();
        assert_eq!(kinds, [RecordKind::Transaction, RecordKind::MarketData, RecordKind::UserEvent]);
        assert_eq!(
            r.subjects().unwrap(),
            ["financial-transactions-value", "market-data-value", "user-events-value"]
        );
        let tx = r.latest("financial-transactions-value").unwrap();
        assert_eq!((tx.id, tx.version), (1, Some(1)));
        assert_eq!(r.versions("user-events-value").unwrap(), [1]);
        assert!(matches!(r.schema_by_id(4), Err(RegistryError::NotFound { .. })));
        assert!(matches!(r.versions("nope"), Err(RegistryError::NotFound { .. })));
    }

    #[test]
    fn topic_and_subject_lookups() {
        let r = LocalRegistry::embedded().unwrap();
        assert_eq!(r.id_for_topic("financial-transactions"), Some(1));
        assert_eq!(r.id_for_topic("market-data"), Some(2));
        assert_eq!(r.id_for_topic("user-events"), Some(3));
        assert_eq!(r.id_for_topic("other"), None);
        assert_eq!(r.subject_for_topic("market-data"), Some("market-data-value"));
        assert_eq!(r.topic_for_subject("user-events-value"), Some("user-events"));
        assert_eq!(r.topic_for_subject("user-events"), None);
    }

    #[test]
    fn embedded_copy_equals_the_folder() {
        let (dir, emb) = (LocalRegistry::load(&repo_schemas()).unwrap(), LocalRegistry::embedded().unwrap());
        assert_eq!(dir.entries(), emb.entries());
        for e in dir.entries() {
            let (a, b) = (dir.schema_by_id(e.id).unwrap(), emb.schema_by_id(e.id).unwrap());
            assert_eq!(json(&a.schema), json(&b.schema));
            assert_eq!((&a.subject, a.version, &a.kind), (&b.subject, b.version, &b.kind));
            let text = std::fs::read_to_string(repo_schemas().join(&e.schema)).unwrap();
            assert!(EMBEDDED.iter().any(|(f, t)| *f == e.schema && *t == text));
        }
    }

    #[test]
    fn reference_schema_has_the_documented_shape() {
        // The reference design's schema, verbatim.
        let reference = r#"{"type":"record","name":"FinancialTransaction","namespace":"com.fintech.events","fields":[
         {"name":"transactionId","type":"string"},
         {"name":"userId","type":"string"},
         {"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":18,"scale":2}},
         {"name":"currency","type":"string"},
         {"name":"timestamp","type":{"type":"long","logicalType":"timestamp-millis"}},
         {"name":"metadata","type":{"type":"map","values":"string"},"default":{}}]}"#;
        let reference = Schema::parse_str(reference).unwrap();
        let ours = LocalRegistry::embedded().unwrap().schema_by_id(1).unwrap();
        // Canonical form drops logical types, so compare the full JSON too.
        assert_eq!(ours.schema.canonical_form(), reference.canonical_form());
        assert_eq!(json(&ours.schema), json(&reference));
    }

    #[test]
    fn manifest_errors() {
        let ok = |_: &str| Ok(r#""string""#.to_owned());
        let dup = "- {subject: a, topic: t, schema: a.avsc, id: 1}\n- {subject: b, topic: u, schema: b.avsc, id: 1}";
        assert!(matches!(
            LocalRegistry::from_manifest(dup, ok),
            Err(RegistryError::Malformed { message }) if message.contains("id")
        ));
        let extra = "- {subject: a, topic: t, schema: a.avsc, id: 1, color: red}";
        assert!(matches!(LocalRegistry::from_manifest(extra, ok), Err(RegistryError::Malformed { .. })));
        let missing = LocalRegistry::load(Path::new("/nonexistent/schemas")).unwrap_err();
        assert!(matches!(missing, RegistryError::Io { .. }), "{missing}");
        let bad = |_: &str| Ok("{".to_owned());
        let one = "- {subject: a, topic: t, schema: a.avsc, id: 5}";
        assert!(matches!(
            LocalRegistry::from_manifest(one, bad),
            Err(RegistryError::BadSchema { id: 5, .. })
        ));
    }
}
