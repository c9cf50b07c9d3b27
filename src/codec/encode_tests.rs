//! Tests of the encoder: byte-for-byte agreement with apache-avro, and its errors.

use std::str::FromStr;

use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;

use super::*;
use crate::codec::registry::SchemaResolver;
use crate::codec::{FixedRegistry, LocalRegistry};

fn local() -> Arc<LocalRegistry> {
    Arc::new(LocalRegistry::embedded().unwrap())
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn transaction() -> Transaction {
    Transaction {
        origin: None,
        timestamp: Some(1_700_000_000_123),
        transaction_id: Some("t-9".into()),
        amount: Some(dec("-1234.5")),
        currency: Some("JPY".into()),
        metadata: Some(std::sync::Arc::new([("source".to_owned(), "pos".to_owned())].into())),
        user_id: Some("u-1".into()),
    }
}

/// What apache-avro's own writer makes of `value` with the registered schema `id`.
fn reference_body(id: u32, value: Value) -> Vec<u8> {
    let schema = local().schema_by_id(id).unwrap();
    GenericDatumWriter::builder(&schema.schema).build().unwrap().write_value_to_vec(value).unwrap()
}

fn decimal_value(mantissa: i128) -> Value {
    let (buf, start) = decimal::minimal_be(mantissa);
    Value::Decimal(apache_avro::Decimal::from(&buf[start..]))
}

#[test]
fn bytes_agree_with_apache_avro_writer() {
    let mut encoder = Encoder::new(local());
    let value = encoder.encode_to_vec(1, &Record::Transaction(transaction())).unwrap();
    let expected = reference_body(
        1,
        Value::Record(vec![
            ("transactionId".into(), Value::String("t-9".into())),
            ("userId".into(), Value::String("u-1".into())),
            ("amount".into(), decimal_value(-123_450)),
            ("currency".into(), Value::String("JPY".into())),
            ("timestamp".into(), Value::TimestampMillis(1_700_000_000_123)),
            ("metadata".into(), Value::Map([("source".to_owned(), Value::String("pos".into()))].into())),
        ]),
    );
    assert_eq!(&value[..5], [0, 0, 0, 0, 1]);
    assert_eq!(&value[5..], expected);

    let md = MarketData { symbol: "AAPL".into(), price: dec("189.25"), currency: "USD".into(), timestamp: 0 };
    let value = encoder.encode_to_vec(2, &Record::MarketData(md)).unwrap();
    let expected = reference_body(
        2,
        Value::Record(vec![
            ("symbol".into(), Value::String("AAPL".into())),
            ("price".into(), decimal_value(189_250_000)),
            ("currency".into(), Value::String("USD".into())),
            ("timestamp".into(), Value::TimestampMillis(0)),
        ]),
    );
    assert_eq!(&value[5..], expected);

    let ue = UserEvent {
        user_id: "u".into(),
        event_type: "LOGIN".into(),
        device: None,
        country: Some("NL".into()),
        ip: None,
        timestamp: -86_400_000,
    };
    let value = encoder.encode_to_vec(3, &Record::UserEvent(ue)).unwrap();
    let null = || Value::Union(0, Box::new(Value::Null));
    let expected = reference_body(
        3,
        Value::Record(vec![
            ("userId".into(), Value::String("u".into())),
            ("eventType".into(), Value::String("LOGIN".into())),
            ("device".into(), null()),
            ("country".into(), Value::Union(1, Box::new(Value::String("NL".into())))),
            ("ip".into(), null()),
            ("timestamp".into(), Value::TimestampMillis(-86_400_000)),
        ]),
    );
    assert_eq!(&value[5..], expected);
}

#[test]
fn encode_appends_and_leaves_out_untouched_on_error() {
    let mut encoder = Encoder::new(local());
    let mut out = vec![1, 2, 3];
    encoder.encode(1, &Record::Transaction(transaction()), &mut out).unwrap();
    assert_eq!(&out[..4], [1, 2, 3, 0]);
    let len = out.len();
    let none = Transaction { currency: None, ..transaction() };
    let err = encoder.encode(1, &Record::Transaction(none), &mut out).unwrap_err();
    assert!(matches!(err, CodecError::Unrepresentable { field: "currency" }), "{err}");
    assert_eq!(err.reason(), "unrepresentable");
    assert_eq!(out.len(), len);
}

#[test]
fn every_none_transaction_field_is_unrepresentable() {
    let mut encoder = Encoder::new(local());
    type Clear = fn(&mut Transaction);
    let cases: [(&str, Clear); 6] = [
        ("timestamp", |t| t.timestamp = None),
        ("transactionId", |t| t.transaction_id = None),
        ("amount", |t| t.amount = None),
        ("currency", |t| t.currency = None),
        ("metadata", |t| t.metadata = None),
        ("userId", |t| t.user_id = None),
    ];
    for (field, clear) in cases {
        let mut t = transaction();
        clear(&mut t);
        let err = encoder.encode_to_vec(1, &Record::Transaction(t)).unwrap_err();
        assert!(matches!(err, CodecError::Unrepresentable { field: f } if f == field), "{err}");
    }
}

#[test]
fn decimals_that_do_not_fit_the_schema() {
    let mut encoder = Encoder::new(local());
    let with = |amount: &str| Record::Transaction(Transaction { amount: Some(dec(amount)), ..transaction() });
    let err = encoder.encode_to_vec(1, &with("0.001")).unwrap_err();
    assert!(matches!(err, CodecError::DecimalPrecisionLoss { field: "amount", from: 3, to: 2 }), "{err}");
    assert!(encoder.encode_to_vec(1, &with("0.010")).is_ok());
    let err = encoder.encode_to_vec(1, &with("10000000000000000")).unwrap_err();
    assert!(matches!(err, CodecError::DecimalOutOfRange { field: "amount" }), "{err}");
    assert!(encoder.encode_to_vec(1, &with("9999999999999999.99")).is_ok());
}

#[test]
fn fixed_decimals_are_sign_extended() {
    let schema = Schema::parse_str(r#"{"type":"record","name":"MarketData","namespace":"com.fintech.events","fields":[
        {"name":"price","type":{"type":"fixed","name":"P","size":4,"logicalType":"decimal","precision":9,"scale":0}}]}"#).unwrap();
    let registry = FixedRegistry::new([(4, schema)]);
    let md = |price: &str| {
        Record::MarketData(MarketData {
            symbol: String::new(),
            price: dec(price),
            currency: String::new(),
            timestamp: 0,
        })
    };
    let mut encoder = Encoder::new(Arc::new(registry));
    assert_eq!(encoder.encode_to_vec(4, &md("-2")).unwrap()[5..], [0xFF, 0xFF, 0xFF, 0xFE]);
    assert_eq!(encoder.encode_to_vec(4, &md("258")).unwrap()[5..], [0, 0, 1, 2]);
    let err = encoder.encode_to_vec(4, &md("1000000000")).unwrap_err();
    assert!(matches!(err, CodecError::DecimalOutOfRange { field: "price" }), "{err}");
}

#[test]
fn schema_and_record_must_agree() {
    let mut encoder = Encoder::new(local());
    let err = encoder.encode_to_vec(2, &Record::Transaction(transaction())).unwrap_err();
    assert!(
        matches!(&err, CodecError::RecordKindMismatch { schema_id: 2, record: "Transaction", .. }),
        "{err}"
    );
    let err = encoder.encode_to_vec(42, &Record::Transaction(transaction())).unwrap_err();
    assert!(matches!(err, CodecError::UnknownSchemaId { id: 42 }), "{err}");

    let schema = Schema::parse_str(
        r#"{"type":"record","name":"FinancialTransaction","namespace":"com.fintech.events","fields":[
        {"name":"transactionId","type":"int"}]}"#,
    )
    .unwrap();
    let mut encoder = Encoder::new(Arc::new(FixedRegistry::new([(5, schema)])));
    let err = encoder.encode_to_vec(5, &Record::Transaction(transaction())).unwrap_err();
    assert!(
        matches!(err, CodecError::TypeMismatch { field: "transactionId", expected: "int", found: "string" }),
        "{err}"
    );

    let schema = Schema::parse_str(
        r#"{"type":"record","name":"UserEvent","namespace":"com.fintech.events","fields":[
        {"name":"sessionId","type":"string"}]}"#,
    )
    .unwrap();
    let mut encoder = Encoder::new(Arc::new(FixedRegistry::new([(6, schema)])));
    let ue = UserEvent {
        user_id: String::new(),
        event_type: String::new(),
        device: None,
        country: None,
        ip: None,
        timestamp: 0,
    };
    let err = encoder.encode_to_vec(6, &Record::UserEvent(ue)).unwrap_err();
    assert!(matches!(&err, CodecError::UnknownField { name } if name == "sessionId"), "{err}");
}

#[test]
fn codecs_move_into_worker_threads() {
    fn send<T: Send>() {}
    send::<Encoder>();
    send::<crate::codec::Decoder>();
}
