//! The labelled corpus: one JSON object per line, a text, the field it came from, and the
//! personal data in it.
//!
//! ```json
//! {"id": "hard-007", "set": "hard_cases", "field": "card_number", "text": "4111 1111 1111 1112",
//!  "entities": [], "note": "fails Luhn"}
//! ```
//!
//! `text` is required; `field` (the key or column the text was read from: context) defaults
//! to none, `id` to the line number, `set` (a part of the corpus scored on its own) to none,
//! `entities` to none. Spans are in **characters** (Unicode code points, as Python counts
//! them), `end` exclusive.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::error::EvalError;
use crate::governance::pii::PiiType;

/// One true piece of personal data in a text.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entity {
    /// Its type (`email`, `payment_card`, ...).
    #[serde(rename = "type")]
    pub kind: PiiType,
    /// First character.
    pub start: usize,
    /// One past the last character.
    pub end: usize,
}

/// One text of the corpus.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// Unique in the corpus (a string, or a whole number read as its digits); the line number
    /// when not given.
    #[serde(default, deserialize_with = "string_or_number")]
    pub id: String,
    /// The part of the corpus it belongs to (`generated`, `hard_cases`, ...).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub set: String,
    /// The field name the text was found under (context for the detectors); may be empty.
    #[serde(default)]
    pub field: String,
    /// The text.
    pub text: String,
    /// The true entities, by start.
    #[serde(default)]
    pub entities: Vec<Entity>,
    /// Why the case is there (hand-written cases).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Item {
    /// The item on line `line` (1-based) of `file`, checked: spans inside the text, not empty,
    /// not overlapping. `None` for a blank line.
    pub fn parse(file: &str, line: usize, json: &str) -> Result<Option<Item>, EvalError> {
        if json.trim().is_empty() {
            return Ok(None);
        }
        let mut item: Item = serde_json::from_str(json).map_err(|source| EvalError::Json {
            file: file.to_owned(),
            line,
            source,
        })?;
        if item.id.is_empty() {
            item.id = line.to_string();
        }
        let chars = item.text.chars().count();
        item.entities.sort();
        for (i, entity) in item.entities.iter().enumerate() {
            if entity.start >= entity.end || entity.end > chars {
                return Err(EvalError::invalid(
                    file,
                    line,
                    format!(
                        "entity {} at {}..{} is empty or outside the text ({chars} characters)",
                        entity.kind, entity.start, entity.end
                    ),
                ));
            }
            if i > 0 && item.entities[i - 1].end > entity.start {
                return Err(EvalError::invalid(file, line, "entities overlap"));
            }
        }
        Ok(Some(item))
    }

    /// The characters `start..end` of the text (empty if out of range).
    pub fn slice(&self, start: usize, end: usize) -> String {
        self.text.chars().skip(start).take(end.saturating_sub(start)).collect()
    }

    /// The number of characters in the text.
    pub fn chars(&self) -> usize {
        self.text.chars().count()
    }
}

/// A whole corpus, ids unique.
#[derive(Clone, Debug, Default)]
pub struct Corpus {
    /// The items in file order.
    pub items: Vec<Item>,
    index: HashMap<String, usize>,
}

impl Corpus {
    /// The corpus in `contents`, the text of `file`.
    pub fn parse(file: &str, contents: &str) -> Result<Corpus, EvalError> {
        let mut corpus = Corpus::default();
        for (n, line) in contents.lines().enumerate() {
            if let Some(item) = Item::parse(file, n + 1, line)? {
                corpus.push(item).map_err(|message| EvalError::invalid(file, n + 1, message))?;
            }
        }
        Ok(corpus)
    }

    /// Adds `item`; an error if its id is taken.
    pub fn push(&mut self, item: Item) -> Result<(), String> {
        if self.index.contains_key(&item.id) {
            return Err(format!("id `{}` appears twice", item.id));
        }
        self.index.insert(item.id.clone(), self.items.len());
        self.items.push(item);
        Ok(())
    }

    /// The item with id `id`.
    pub fn get(&self, id: &str) -> Option<&Item> {
        self.index.get(id).map(|&i| &self.items[i])
    }

    /// Texts per set (`""` for items without one).
    pub fn sets(&self) -> BTreeMap<String, usize> {
        let mut sets = BTreeMap::new();
        for item in &self.items {
            *sets.entry(item.set.clone()).or_insert(0) += 1;
        }
        sets
    }

    /// True entities per type.
    pub fn entities(&self) -> BTreeMap<PiiType, usize> {
        let mut counts = BTreeMap::new();
        for entity in self.items.iter().flat_map(|i| &i.entities) {
            *counts.entry(entity.kind).or_insert(0) += 1;
        }
        counts
    }
}

/// An id given as a string or as a whole number.
fn string_or_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(u64),
    }
    Ok(match Id::deserialize(deserializer)? {
        Id::Text(text) => text,
        Id::Number(n) => n.to_string(),
    })
}

/// The byte offset `byte` of `text` as a character offset.
pub fn char_offset(text: &str, byte: usize) -> usize {
    text.get(..byte).map_or_else(|| text.chars().count(), |head| head.chars().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_with_defaults_and_checked_spans() {
        let corpus = Corpus::parse(
            "c.jsonl",
            "{\"text\":\"Jürgen: j@x.de\",\"field\":\"note\",\"entities\":[{\"type\":\"email\",\"start\":8,\"end\":14}]}\n\n\
             {\"id\":\"b\",\"set\":\"hard\",\"text\":\"none\"}\n",
        )
        .unwrap();
        assert_eq!(corpus.items.len(), 2);
        let first = corpus.get("1").unwrap();
        assert_eq!(first.slice(8, 14), "j@x.de");
        assert_eq!((first.field.as_str(), first.set.as_str()), ("note", ""));
        assert_eq!(corpus.get("b").unwrap().entities, []);
        let numbered = Item::parse("c", 1, r#"{"id": 17, "text": "x", "other": [1]}"#).unwrap().unwrap();
        assert_eq!(numbered.id, "17");
        assert_eq!(corpus.sets().get("hard"), Some(&1));
        assert_eq!(corpus.entities().get(&PiiType::Email), Some(&1));

        let error = |text: &str| Corpus::parse("c.jsonl", text).unwrap_err().to_string();
        assert!(
            error("{\"text\":\"abc\",\"entities\":[{\"type\":\"email\",\"start\":1,\"end\":4}]}")
                .contains("c.jsonl:1")
        );
        assert!(
            error("{\"text\":\"abc\",\"entities\":[{\"type\":\"nope\",\"start\":0,\"end\":1}]}")
                .contains("nope")
        );
        assert!(error("{\"field\":\"x\"}").contains("text"));
        assert!(
            error("{\"id\":\"a\",\"text\":\"x\"}\n{\"id\":\"a\",\"text\":\"y\"}")
                .contains("c.jsonl:2: id `a`")
        );
        assert!(error("{\"text\":\"abcdef\",\"entities\":[{\"type\":\"email\",\"start\":0,\"end\":3},{\"type\":\"phone\",\"start\":2,\"end\":5}]}").contains("overlap"));
    }

    #[test]
    fn byte_offsets_become_character_offsets() {
        assert_eq!(char_offset("Jürgen x", 8), 7);
        assert_eq!(char_offset("abc", 3), 3);
        assert_eq!(char_offset("abc", 9), 3);
    }
}
