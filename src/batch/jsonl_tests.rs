//! Tests of the JSON line parser: every field form, every error class, the reader's numbering.

use super::*;

/// Rows, rejects (line number, error) and stats of a read.
type Read = (Vec<Transaction>, Vec<(u64, String)>, ReadStats);

fn read_str(text: &str) -> Read {
    let (mut rejects, mut stats) = (Rejects::in_memory(), ReadStats::default());
    let rows = read(Path::new("<memory>"), text.as_bytes(), &mut rejects, &mut stats).unwrap();
    (rows, rejects.take(), stats)
}

fn parse(line: &str) -> Result<Transaction, LineError> {
    LineParser::new().parse(line.as_bytes())
}

fn amount_of(json: &str) -> Result<String, LineError> {
    parse(&format!(r#"{{"amount": {json}}}"#)).map(|t| t.amount.map(|a| a.to_string()).unwrap_or_default())
}

#[test]
fn a_full_line_borrows_and_converts_every_field() {
    let row = parse(
        r#"{"transactionId":"tx-1","userId":"u\"1","amount":"371.03","currency":"GBP","timestamp":1767142800000,"metadata":{"channel":"mobile","m":"\u00e9"},"extra":[1,{"a":null}]}"#,
    )
    .unwrap();
    assert_eq!(row.transaction_id.as_deref(), Some("tx-1"));
    assert_eq!(row.user_id.as_deref(), Some("u\"1"));
    assert_eq!(row.amount.map(|a| a.to_string()).as_deref(), Some("371.03"));
    assert_eq!(row.currency.as_deref(), Some("GBP"));
    assert_eq!(row.timestamp, Some(1_767_142_800_000));
    let metadata = row.metadata.unwrap();
    assert_eq!(metadata.get("m").map(String::as_str), Some("é"));
    assert_eq!(metadata.len(), 2);
}

#[test]
fn nulls_missing_fields_and_empty_strings() {
    let row = parse(r#"{"transactionId":null,"userId":"","amount":null,"metadata":null}"#).unwrap();
    assert_eq!(row, Transaction { user_id: Some(String::new()), ..Transaction::default() });
    assert_eq!(parse("{}").unwrap(), Transaction::default());
    let empty = parse(r#"{"metadata":{}}"#).unwrap();
    assert_eq!(empty.metadata.as_deref(), Some(&BTreeMap::new()));
}

#[test]
fn amounts_are_exact_and_rounded_half_up() {
    for (json, expected) in [
        ("100", "100.00"),
        ("100.5", "100.50"),
        (r#""300.02""#, "300.02"),
        ("1e2", "100.00"),
        ("0.125", "0.13"),
        ("-0.125", "-0.13"),
        (r#""1,000.5""#, "1000.50"),
        (r#""\u0031\u0032""#, "12.00"),
        ("0.1000000000000000055511151231257827", "0.10"),
        ("12345678901234.565", "12345678901234.57"),
    ] {
        assert_eq!(amount_of(json).unwrap(), expected, "{json}");
    }
}

#[test]
fn bad_amounts_are_amount_errors() {
    for json in [r#""""#, r#""abc""#, "true", "{}", "[1]", r#"" 1""#, r#""NaN""#] {
        assert!(matches!(amount_of(json), Err(LineError::Amount(AmountError::NotANumber(_)))), "{json}");
    }
    let error = amount_of("1e17").unwrap_err();
    assert!(matches!(error, LineError::Amount(AmountError::OutOfRange(_))));
    assert!(error.to_string().starts_with("amount: 1e17 does not fit decimal(18,2)"), "{error}");
}

#[test]
fn timestamps_must_be_integers() {
    assert_eq!(parse(r#"{"timestamp":-5}"#).unwrap().timestamp, Some(-5));
    for json in ["1.5", "1767142800000.0", "1e12", r#""1767142800000""#, "true", "18446744073709551615"] {
        let error = parse(&format!(r#"{{"timestamp":{json}}}"#)).unwrap_err();
        assert!(
            matches!(&error, LineError::Shape(m) if m.contains("expected timestamp as an integer")),
            "{json}: {error}"
        );
    }
}

#[test]
fn wrong_types_are_shape_errors_naming_field_and_column() {
    let error = parse(r#"{"transactionId":5}"#).unwrap_err();
    assert_eq!(
        error,
        LineError::Shape(
            "invalid type: integer `5`, expected transactionId as a string or null (column 18)".into()
        )
    );
    assert!(matches!(parse(r#"{"userId":["a"]}"#), Err(LineError::Shape(m)) if m.contains("userId")));
    assert!(matches!(parse(r#"{"currency":{"c":1}}"#), Err(LineError::Shape(m)) if m.contains("currency")));
    for (line, found) in
        [(r#"["a","b"]"#, "an array"), ("5", "a number"), ("null", "null"), (r#" "t""#, "a string")]
    {
        let expected = format!("expected a transaction object, found {found}");
        assert_eq!(parse(line), Err(LineError::Shape(expected)), "{line}");
    }
    assert!(matches!(parse("[1,"), Err(LineError::Syntax(_))));
    let twice = parse(r#"{"amount":1,"amount":2}"#).unwrap_err();
    assert!(matches!(&twice, LineError::Shape(m) if m.contains("duplicate field `amount`")), "{twice}");
}

#[test]
fn metadata_must_be_an_object_of_strings() {
    let null_value = parse(r#"{"userId":"u","metadata":{"a":"x","b":null}}"#).unwrap_err();
    assert!(
        matches!(&null_value, LineError::Shape(m) if m.starts_with("metadata `b` is null, not a string (column ")),
        "{null_value}"
    );
    for (value, what) in [
        ("5", "the number 5"),
        ("true", "the boolean true"),
        ("[1]", "an array"),
        (r#"{"x":1}"#, "an object"),
    ] {
        let error = parse(&format!(r#"{{"metadata":{{"k":{value}}}}}"#)).unwrap_err();
        assert!(
            matches!(&error, LineError::Shape(m) if m.contains(&format!("`k` is {what}, not a string"))),
            "{error}"
        );
    }
    let twice = parse(r#"{"metadata":{"k":"1","k":"2"}}"#).unwrap_err();
    assert!(matches!(&twice, LineError::Shape(m) if m.contains("`k` appears twice")), "{twice}");
    let not_object = parse(r#"{"metadata":"k=v"}"#).unwrap_err();
    assert!(
        matches!(&not_object, LineError::Shape(m) if m.contains("metadata as an object")),
        "{not_object}"
    );
}

#[test]
fn syntax_and_encoding_errors() {
    for broken in [r#"{"amount": 1"#, r#"{"amount" 1}"#, "{", r#"{"a":1}x"#, "{'a':1}", r#"{"amount":01}"#] {
        assert!(matches!(parse(broken), Err(LineError::Syntax(_))), "{broken}");
    }
    let error = LineParser::new().parse(b"{\"userId\":\"\xff\"}").unwrap_err();
    assert_eq!(error, LineError::Utf8(11));
    let nested = parse(r#"{"metadata":{"a":"x"#).unwrap_err();
    assert!(matches!(nested, LineError::Syntax(_)), "{nested:?}");
}

#[test]
fn equal_metadata_objects_share_one_map() {
    let mut parser = LineParser::new();
    let line = br#"{"metadata":{"channel":"atm"}}"#;
    let (a, b) = (parser.parse(line).unwrap(), parser.parse(line).unwrap());
    assert!(Arc::ptr_eq(a.metadata.as_ref().unwrap(), b.metadata.as_ref().unwrap()));
}

#[test]
fn the_reader_numbers_lines_and_counts_blank_ones() {
    let text = "\u{feff}{\"userId\":\"a\"}\r\n\n   \n{\"userId\":\n{\"timestamp\":1.5}\n{\"userId\":\"b\"}";
    let (rows, rejects, stats) = read_str(text);
    assert_eq!(rows.iter().map(|r| r.user_id.as_deref().unwrap()).collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(rejects.iter().map(|(line, _)| *line).collect::<Vec<_>>(), [4, 5]);
    assert!(rejects[0].1.starts_with("malformed JSON"), "{rejects:?}");
    assert_eq!((stats.records, stats.blank, stats.rejected, stats.rows), (6, 2, 2, 2));
}
