//! Tests of the REST client against recorded responses (`tests/fixtures/registry/`).

use super::*;
use crate::codec::registry::RecordKind;
use crate::codec::registry::test_server::{Route, TestServer};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../tests/fixtures/registry/", $name))
    };
}

fn routes() -> Vec<Route> {
    let ok = |path, body| Route { path, status: 200, body };
    vec![
        ok("/schemas/ids/1", fixture!("schemas_ids_1.json")),
        ok("/schemas/ids/2", fixture!("schemas_ids_2.json")),
        ok("/schemas/ids/9", fixture!("schemas_ids_9_protobuf.json")),
        ok("/schemas/ids/10", fixture!("schemas_ids_10_invalid_avro.json")),
        ok("/schemas/ids/11", fixture!("malformed_schema_by_id.json")),
        ok("/subjects", fixture!("subjects.json")),
        ok(
            "/subjects/financial-transactions-value/versions",
            fixture!("subjects_financial-transactions-value_versions.json"),
        ),
        ok(
            "/subjects/financial-transactions-value/versions/latest",
            fixture!("subjects_financial-transactions-value_versions_latest.json"),
        ),
        ok("/subjects/user-events-value/versions/1", fixture!("subjects_user-events-value_versions_1.json")),
        ok("/prefix/schemas/ids/1", fixture!("schemas_ids_1.json")),
        Route { path: "/schemas/ids/404", status: 404, body: fixture!("error_40403_schema_not_found.json") },
        Route {
            path: "/subjects/nope-value/versions",
            status: 404,
            body: fixture!("error_40401_subject_not_found.json"),
        },
        Route {
            path: "/subjects/a%2Fb%20c/versions",
            status: 404,
            body: fixture!("error_40401_subject_not_found.json"),
        },
        Route { path: "/schemas/ids/500", status: 500, body: fixture!("error_50001_backend_store.json") },
    ]
}

fn setup() -> (TestServer, RestRegistry) {
    let server = TestServer::start(routes());
    let registry = RestRegistry::new(&server.url("")).unwrap();
    (server, registry)
}

#[test]
fn schema_by_id_parses_the_recorded_response_with_accept_header() {
    let (server, registry) = setup();
    let schema = registry.schema_by_id(1).unwrap();
    assert_eq!((schema.id, &schema.kind), (1, &RecordKind::Transaction));
    assert_eq!((schema.subject.as_deref(), schema.version), (None, None));
    let got = server.received();
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].method.as_str(), got[0].path.as_str()), ("GET", "/schemas/ids/1"));
    assert_eq!(got[0].accept.as_deref(), Some(SCHEMA_REGISTRY_MEDIA_TYPE));
}

#[test]
fn schema_by_id_is_cached() {
    let (server, registry) = setup();
    let a = registry.schema_by_id(1).unwrap();
    let b = registry.schema_by_id(1).unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    assert_eq!(server.received().len(), 1);
}

#[test]
fn explicit_avro_schema_type_is_accepted() {
    let (_server, registry) = setup();
    assert_eq!(registry.schema_by_id(2).unwrap().kind, RecordKind::MarketData);
}

#[test]
fn non_avro_schema_type_is_bad_schema() {
    let (_server, registry) = setup();
    let err = registry.schema_by_id(9).unwrap_err();
    assert!(
        matches!(&err, RegistryError::BadSchema { id: 9, message } if message.contains("PROTOBUF")),
        "{err}"
    );
    assert!(!err.is_retryable());
}

#[test]
fn invalid_avro_text_is_bad_schema() {
    let (_server, registry) = setup();
    let err = registry.schema_by_id(10).unwrap_err();
    assert!(matches!(err, RegistryError::BadSchema { id: 10, .. }), "{err}");
    assert_eq!(err.reason(), "registry_bad_schema");
}

#[test]
fn subjects_and_versions() {
    let (server, registry) = setup();
    assert_eq!(
        registry.subjects().unwrap(),
        ["financial-transactions-value", "market-data-value", "user-events-value"]
    );
    assert_eq!(registry.versions("financial-transactions-value").unwrap(), [1, 2]);
    let paths: Vec<_> = server.received().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/subjects", "/subjects/financial-transactions-value/versions"]);
    assert!(server.received().iter().all(|r| r.accept.as_deref() == Some(SCHEMA_REGISTRY_MEDIA_TYPE)));
}

#[test]
fn latest_and_numbered_versions_carry_subject_version_and_id() {
    let (server, registry) = setup();
    let latest = registry.latest("financial-transactions-value").unwrap();
    assert_eq!((latest.id, latest.version), (1, Some(2)));
    assert_eq!(latest.subject.as_deref(), Some("financial-transactions-value"));
    assert_eq!(latest.kind, RecordKind::Transaction);
    let v1 = registry.subject_version("user-events-value", 1).unwrap();
    assert_eq!((v1.id, v1.version, &v1.kind), (3, Some(1), &RecordKind::UserEvent));
    let paths: Vec<_> = server.received().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        ["/subjects/financial-transactions-value/versions/latest", "/subjects/user-events-value/versions/1"]
    );
}

#[test]
fn schema_not_found_40403_is_not_found() {
    let (_server, registry) = setup();
    let err = registry.schema_by_id(404).unwrap_err();
    assert!(
        matches!(&err, RegistryError::NotFound { what } if what.contains("Schema not found") && what.contains("40403")),
        "{err}"
    );
    assert!(!err.is_retryable());
    assert_eq!(err.reason(), "registry_not_found");
}

#[test]
fn subject_not_found_40401_is_not_found() {
    let (_server, registry) = setup();
    let err = registry.versions("nope-value").unwrap_err();
    assert!(matches!(&err, RegistryError::NotFound { what } if what.contains("40401")), "{err}");
}

#[test]
fn subject_names_are_percent_encoded() {
    let (server, registry) = setup();
    assert!(matches!(registry.versions("a/b c"), Err(RegistryError::NotFound { .. })));
    assert_eq!(server.received()[0].path, "/subjects/a%2Fb%20c/versions");
}

#[test]
fn server_error_500_is_retryable_http_error() {
    let (_server, registry) = setup();
    let err = registry.schema_by_id(500).unwrap_err();
    assert!(
        matches!(&err, RegistryError::Http { status: 500, code: Some(50001), message } if message == "Error in the backend data store"),
        "{err}"
    );
    assert!(err.is_retryable());
    assert_eq!(err.reason(), "registry_http_error");
}

#[test]
fn unknown_path_404_without_confluent_body_is_not_found() {
    let (_server, registry) = setup();
    let err = registry.schema_by_id(77).unwrap_err();
    assert!(matches!(&err, RegistryError::NotFound { what } if what.contains("Not Found")), "{err}");
}

#[test]
fn malformed_body_is_malformed() {
    let (_server, registry) = setup();
    let err = registry.schema_by_id(11).unwrap_err();
    assert!(matches!(err, RegistryError::Malformed { .. }), "{err}");
    assert!(!err.is_retryable());
    assert_eq!(err.reason(), "registry_malformed_response");
}

#[test]
fn unreachable_registry_is_retryable() {
    // A port that was just free: nothing listens on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let registry = RestRegistry::new(&format!("http://127.0.0.1:{port}")).unwrap();
    let err = registry.schema_by_id(1).unwrap_err();
    assert!(
        matches!(&err, RegistryError::Unreachable { url, .. } if url.ends_with("/schemas/ids/1")),
        "{err}"
    );
    assert!(err.is_retryable());
    let codec = crate::codec::CodecError::from(err);
    assert!(codec.is_retryable());
}

#[test]
fn base_url_with_a_path_prefix() {
    let server = TestServer::start(routes());
    let registry = RestRegistry::new(&server.url("/prefix")).unwrap();
    assert_eq!(registry.schema_by_id(1).unwrap().id, 1);
    assert_eq!(server.received()[0].path, "/prefix/schemas/ids/1");
}

#[test]
fn bad_base_urls() {
    for url in ["not a url", "mailto:someone@example.com", "ftp://host/"] {
        let err = RestRegistry::new(url).unwrap_err();
        assert!(matches!(err, RegistryError::BadUrl { .. }), "{url}: {err}");
    }
}

#[test]
fn decoder_over_the_rest_registry() {
    use crate::codec::{Decoder, Encoder, LocalRegistry};
    use crate::record::{Record, Transaction};
    let (server, registry) = setup();
    let tx = Record::Transaction(Transaction {
        origin: None,
        timestamp: Some(1_700_000_000_000),
        transaction_id: Some("t1".into()),
        amount: Some(rust_decimal::Decimal::new(1234, 2)),
        currency: Some("EUR".into()),
        metadata: Some(Default::default()),
        user_id: Some("u1".into()),
    });
    let value = Encoder::new(Arc::new(LocalRegistry::embedded().unwrap())).encode_to_vec(1, &tx).unwrap();
    let mut decoder = Decoder::new(Arc::new(registry));
    for _ in 0..3 {
        assert_eq!(decoder.decode(&value).unwrap().record, tx);
    }
    assert_eq!(server.received().len(), 1);
    let err = decoder.decode(&[0, 0, 0, 1, 0xF4]).unwrap_err(); // id 500
    assert!(err.is_retryable(), "{err}");
    let err = decoder.decode(&[0, 0, 0, 1, 0x94]).unwrap_err(); // id 404
    assert!(matches!(err, crate::codec::CodecError::UnknownSchemaId { id: 404 }), "{err}");
    assert_eq!(err.reason(), "unknown_schema_id");
}
