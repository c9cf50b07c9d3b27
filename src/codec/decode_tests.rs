//! Tests of the decoder: round trips of every record kind and every error class.

use std::collections::BTreeMap;
use std::str::FromStr;

use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use rust_decimal::Decimal;

use super::*;
use crate::codec::{Encoder, FailingRegistry, FixedRegistry, LocalRegistry};
use crate::record::{MarketData, Transaction, UserEvent};

fn local() -> Arc<LocalRegistry> {
    Arc::new(LocalRegistry::embedded().unwrap())
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn tx(amount: &str, metadata: &[(&str, &str)]) -> Record {
    Record::Transaction(Transaction {
        origin: None,
        timestamp: Some(1_717_171_717_171),
        transaction_id: Some("tx-1".into()),
        amount: Some(dec(amount)),
        currency: Some("USD".into()),
        metadata: Some(
            metadata.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>().into(),
        ),
        user_id: Some("user-42".into()),
    })
}

fn encode(id: u32, record: &Record) -> Vec<u8> {
    Encoder::new(local()).encode_to_vec(id, record).unwrap()
}

/// A wire-format value whose body apache-avro's own writer produced from `value`.
fn avro_value(id: u32, schema: &Schema, value: Value) -> Vec<u8> {
    let body = GenericDatumWriter::builder(schema).build().unwrap().write_value_to_vec(value).unwrap();
    let mut out = Vec::new();
    wire::frame(id, &body, &mut out);
    out
}

/// The reference transaction schema with `amount`'s and `transactionId`'s types replaced.
fn tx_schema(id_type: &str, amount_type: &str) -> Schema {
    Schema::parse_str(&format!(
        r#"{{"type":"record","name":"FinancialTransaction","namespace":"com.fintech.events","fields":[
        {{"name":"transactionId","type":{id_type}}},{{"name":"userId","type":"string"}},
        {{"name":"amount","type":{amount_type}}},{{"name":"currency","type":"string"}},
        {{"name":"timestamp","type":{{"type":"long","logicalType":"timestamp-millis"}}}},
        {{"name":"metadata","type":{{"type":"map","values":"string"}},"default":{{}}}}]}}"#
    ))
    .unwrap()
}

fn tx_value(id: Value, amount: Value) -> Value {
    Value::Record(vec![
        ("transactionId".into(), id),
        ("userId".into(), Value::String("u".into())),
        ("amount".into(), amount),
        ("currency".into(), Value::String("EUR".into())),
        ("timestamp".into(), Value::TimestampMillis(5)),
        ("metadata".into(), Value::Map(Default::default())),
    ])
}

fn decimal_value(mantissa: i128) -> Value {
    let (buf, start) = crate::codec::decimal::minimal_be(mantissa);
    Value::Decimal(apache_avro::Decimal::from(&buf[start..]))
}

fn decode_with_schema(id: u32, schema: Schema, value: &[u8]) -> Result<Decoded, CodecError> {
    Decoder::new(Arc::new(FixedRegistry::new([(id, schema)]))).decode(value)
}

#[test]
fn transactions_round_trip_with_exact_decimals() {
    let mut decoder = Decoder::new(local());
    let metadata = [("channel", "web"), ("ip", "10.0.0.1")];
    for amount in ["0.01", "-5.00", "9999999999999999.99", "-9999999999999999.99", "0", "1.5", "42"] {
        for metadata in [&[][..], &metadata[..]] {
            let record = tx(amount, metadata);
            let decoded = decoder.decode(&encode(1, &record)).unwrap();
            assert_eq!(decoded, Decoded { schema_id: 1, record: record.clone() }, "{amount}");
            let Record::Transaction(t) = decoded.record else { panic!() };
            assert_eq!(t.amount.unwrap().scale(), 2, "{amount}");
            assert_eq!(t.amount.unwrap().to_string(), format!("{:.2}", dec(amount)));
        }
    }
}

#[test]
fn market_data_round_trips_at_scale_6() {
    let mut decoder = Decoder::new(local());
    for price in ["1.085432", "-0.000001", "123456789012.123456", "0", "2"] {
        let record = Record::MarketData(MarketData {
            symbol: "EURUSD".into(),
            price: dec(price),
            currency: "USD".into(),
            timestamp: -1,
        });
        let decoded = decoder.decode(&encode(2, &record)).unwrap();
        assert_eq!(decoded.record, record);
        let Record::MarketData(m) = decoded.record else { panic!() };
        assert_eq!(m.price.scale(), 6);
    }
}

#[test]
fn user_events_round_trip_with_and_without_optionals() {
    let mut decoder = Decoder::new(local());
    let some = UserEvent {
        user_id: "u".into(),
        event_type: "DEVICE_CHANGE".into(),
        device: Some("ios-17".into()),
        country: Some("FR".into()),
        ip: Some("::1".into()),
        timestamp: i64::MAX,
    };
    let none = UserEvent { device: None, country: None, ip: None, timestamp: i64::MIN, ..some.clone() };
    for event in [some, none] {
        let record = Record::UserEvent(event);
        assert_eq!(decoder.decode(&encode(3, &record)).unwrap().record, record);
    }
}

#[test]
fn schemas_are_fetched_once_per_id() {
    let registry = Arc::new(FixedRegistry::new([(1, local().schema_by_id(1).unwrap().schema.clone())]));
    let mut decoder = Decoder::new(registry.clone());
    let value = encode(1, &tx("1.00", &[]));
    for _ in 0..100 {
        decoder.decode(&value).unwrap();
    }
    assert_eq!(registry.lookups(), 1);
}

#[test]
fn bad_magic_byte_and_truncated_header() {
    let mut decoder = Decoder::new(local());
    let mut value = encode(1, &tx("1.00", &[]));
    value[0] = 7;
    let err = decoder.decode(&value).unwrap_err();
    assert!(matches!(err, CodecError::BadMagicByte { found: 7 }), "{err}");
    let err = decoder.decode(&[0, 0, 0]).unwrap_err();
    assert!(matches!(err, CodecError::Truncated { len: 3 }), "{err}");
    assert_eq!(err.reason(), "truncated");
}

#[test]
fn unknown_schema_id_is_final_and_remembered() {
    let registry = Arc::new(FixedRegistry::default());
    let mut decoder = Decoder::new(registry.clone());
    let value = [0, 0, 0, 0, 99, 0];
    for _ in 0..3 {
        let err = decoder.decode(&value).unwrap_err();
        assert!(matches!(err, CodecError::UnknownSchemaId { id: 99 }), "{err}");
        assert!(!err.is_retryable());
        assert_eq!(err.reason(), "unknown_schema_id");
    }
    assert_eq!(registry.lookups(), 1, "unknown ids are cached for a while");
}

#[test]
fn registry_failures_are_passed_on_with_their_retryability() {
    let mut decoder = Decoder::new(Arc::new(FailingRegistry::unreachable()));
    let err = decoder.decode(&[0, 0, 0, 0, 1]).unwrap_err();
    assert!(matches!(err, CodecError::Registry(RegistryError::Unreachable { .. })), "{err}");
    assert!(err.is_retryable());
    assert_eq!(err.reason(), "registry_unreachable");
    let malformed = RegistryError::Malformed { message: "x".into() };
    let mut decoder = Decoder::new(Arc::new(FailingRegistry::new(malformed)));
    let err = decoder.decode(&[0, 0, 0, 0, 1]).unwrap_err();
    assert!(!err.is_retryable());
}

#[test]
fn every_truncation_of_the_body_is_an_avro_body_error() {
    let mut decoder = Decoder::new(local());
    let records = [
        (1, tx("-5.00", &[("k", "v")])),
        (
            2,
            Record::MarketData(MarketData {
                symbol: "X".into(),
                price: dec("1.5"),
                currency: "EUR".into(),
                timestamp: 300,
            }),
        ),
        (
            3,
            Record::UserEvent(UserEvent {
                user_id: "u".into(),
                event_type: "LOGIN".into(),
                device: Some("d".into()),
                country: None,
                ip: None,
                timestamp: 1,
            }),
        ),
    ];
    for (id, record) in records {
        let value = encode(id, &record);
        for len in wire::HEADER_LEN..value.len() {
            let err = decoder.decode(&value[..len]).unwrap_err();
            assert!(
                matches!(err, CodecError::AvroBody { schema_id, .. } if schema_id == id),
                "{id} cut at {len}: {err}"
            );
            assert_eq!(err.reason(), "invalid_avro_body");
        }
    }
}

#[test]
fn trailing_bytes_are_an_error() {
    let mut decoder = Decoder::new(local());
    let mut value = encode(1, &tx("1.00", &[]));
    value.extend_from_slice(&[0, 1, 2]);
    let err = decoder.decode(&value).unwrap_err();
    assert!(matches!(err, CodecError::TrailingBytes { schema_id: 1, count: 3 }), "{err}");
    assert_eq!(err.reason(), "trailing_bytes");
}

#[test]
fn int_where_the_string_is_is_a_type_mismatch() {
    let schema =
        tx_schema(r#""int""#, r#"{"type":"bytes","logicalType":"decimal","precision":18,"scale":2}"#);
    let value = avro_value(5, &schema, tx_value(Value::Int(7), decimal_value(100)));
    let err = decode_with_schema(5, schema, &value).unwrap_err();
    assert!(
        matches!(err, CodecError::TypeMismatch { field: "transactionId", expected: "string", found: "int" }),
        "{err}"
    );
    assert_eq!(err.reason(), "type_mismatch");
}

#[test]
fn decimal_beyond_28_digits_is_out_of_range() {
    let schema =
        tx_schema(r#""string""#, r#"{"type":"bytes","logicalType":"decimal","precision":38,"scale":2}"#);
    let huge = 10i128.pow(30);
    let value = avro_value(6, &schema, tx_value(Value::String("t".into()), decimal_value(huge)));
    let err = decode_with_schema(6, schema, &value).unwrap_err();
    assert!(matches!(err, CodecError::DecimalOutOfRange { field: "amount" }), "{err}");
}

#[test]
fn writer_scale_other_than_2_is_rescaled_exactly_or_rejected() {
    let schema =
        tx_schema(r#""string""#, r#"{"type":"bytes","logicalType":"decimal","precision":18,"scale":3}"#);
    let id = Value::String("t".into());
    let ok = avro_value(7, &schema, tx_value(id.clone(), decimal_value(1230)));
    let Record::Transaction(t) = decode_with_schema(7, schema.clone(), &ok).unwrap().record else { panic!() };
    assert_eq!((t.amount.unwrap().mantissa(), t.amount.unwrap().scale()), (123, 2));
    let lossy = avro_value(7, &schema, tx_value(id, decimal_value(1234)));
    let err = decode_with_schema(7, schema, &lossy).unwrap_err();
    assert!(matches!(err, CodecError::DecimalPrecisionLoss { field: "amount", from: 3, to: 2 }), "{err}");
}

#[test]
fn fixed_decimal_and_nullable_fields_in_the_writer_schema() {
    let schema = tx_schema(
        r#"["null","string"]"#,
        r#"{"type":"fixed","name":"Amount","size":8,"logicalType":"decimal","precision":18,"scale":2}"#,
    );
    let amount = {
        let Value::Decimal(d) = decimal_value(-500) else { unreachable!() };
        let bytes = Vec::<u8>::try_from(&d).unwrap();
        let mut fixed = vec![0xFF; 8 - bytes.len()];
        fixed.extend(bytes);
        Value::Decimal(apache_avro::Decimal::from(fixed))
    };
    let value = avro_value(8, &schema, tx_value(Value::Union(0, Box::new(Value::Null)), amount));
    let Record::Transaction(t) = decode_with_schema(8, schema, &value).unwrap().record else { panic!() };
    assert_eq!((t.transaction_id, t.amount), (None, Some(dec("-5.00"))));
}

#[test]
fn unknown_record_name_is_unsupported() {
    let schema = Schema::parse_str(
        r#"{"type":"record","name":"Thing","namespace":"com.other","fields":[{"name":"x","type":"long"}]}"#,
    )
    .unwrap();
    let value = avro_value(9, &schema, Value::Record(vec![("x".into(), Value::Long(1))]));
    let err = decode_with_schema(9, schema, &value).unwrap_err();
    assert!(matches!(&err, CodecError::UnsupportedRecord { name } if name == "com.other.Thing"), "{err}");
    assert_eq!(err.reason(), "unsupported_record");
}

#[test]
fn fields_by_name_defaults_and_missing_fields() {
    // Reordered, an extra field, a plain long and an int timestamp, no metadata (default {}).
    let schema = Schema::parse_str(r#"{"type":"record","name":"FinancialTransaction","namespace":"com.fintech.events","fields":[
        {"name":"extra","type":"double"},{"name":"currency","type":"string"},{"name":"userId","type":"string"},
        {"name":"timestamp","type":"int"},{"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":9,"scale":2}},
        {"name":"transactionId","type":"string"}]}"#).unwrap();
    let value = avro_value(
        10,
        &schema,
        Value::Record(vec![
            ("extra".into(), Value::Double(1.5)),
            ("currency".into(), Value::String("GBP".into())),
            ("userId".into(), Value::String("u".into())),
            ("timestamp".into(), Value::Int(-3)),
            ("amount".into(), decimal_value(1)),
            ("transactionId".into(), Value::String("t".into())),
        ]),
    );
    let Record::Transaction(t) = decode_with_schema(10, schema, &value).unwrap().record else { panic!() };
    assert_eq!(
        (t.timestamp, t.amount, t.metadata),
        (Some(-3), Some(dec("0.01")), Some(BTreeMap::new().into()))
    );

    let schema = Schema::parse_str(
        r#"{"type":"record","name":"MarketData","namespace":"com.fintech.events","fields":[
        {"name":"symbol","type":"string"},{"name":"timestamp","type":"long"}]}"#,
    )
    .unwrap();
    let value = avro_value(
        11,
        &schema,
        Value::Record(vec![
            ("symbol".into(), Value::String("X".into())),
            ("timestamp".into(), Value::Long(1)),
        ]),
    );
    let err = decode_with_schema(11, schema, &value).unwrap_err();
    assert!(matches!(err, CodecError::MissingField { field: "price" }), "{err}");
    assert_eq!(err.reason(), "missing_field");
}

#[test]
fn decode_body_without_header() {
    let registry = local();
    let value = encode(
        3,
        &Record::UserEvent(UserEvent {
            user_id: "u".into(),
            event_type: "LOGIN".into(),
            device: None,
            country: None,
            ip: None,
            timestamp: 0,
        }),
    );
    let schema = registry.schema_by_id(3).unwrap();
    assert!(matches!(decode_body(&schema, &value[5..]), Ok(Record::UserEvent(_))));
}
