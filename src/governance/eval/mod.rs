//! Precision and recall of PII detectors on a labelled corpus (issue 7).
//!
//! * [`corpus`]: the corpus, one JSON line per (field, text) with its true entities (types
//!   and character spans), and its reading and checking.
//! * [`generate`]: the seeded generated part: planted values (as `generate --pii-rate` plants
//!   them, and inside free text) and negatives that look like personal data.
//! * [`detection`]: a detector's findings in the same line shape (any detector: trustflow's
//!   recognizers via [`detection::detect`], or Presidio's analyzer via `scripts/presidio/`).
//! * [`score`]: the one scorer for every detector: the matching rule, counts per type and set,
//!   precision, recall, F1, and the misses.
//! * [`report`]: the side-by-side tables.
//!
//! Pure like the rest of `governance`: the `trustflow pii` command reads and writes the files.
//! The numbers and how to reproduce them: `docs/governance.md`.

pub mod corpus;
pub mod detection;
pub mod error;
pub mod generate;
pub mod report;
pub mod score;

pub use corpus::{Entity, Item};
pub use detection::{Detection, detect};
pub use error::EvalError;
pub use score::{Counts, Score, score};
