//! trustflow: financial events from Kafka, checked incrementally, written exactly once.
//!
//! The pieces, in the order data flows through them:
//!
//! * [`source`]: one Kafka reader per timely worker, owning a deterministic share of the
//!   partitions; undecodable records go to a dead-letter topic with the reason in headers.
//! * [`codec`]: the Confluent wire format and Avro, to the typed [`record`]s, with schemas from
//!   a [`codec::SchemaResolver`] (the local `schemas/` folder, or a Confluent REST registry).
//! * [`dataflow`]: the differential-dataflow graphs. [`dataflow::quality`] computes the
//!   reference design's completeness, validity, consistency and uniqueness verdicts
//!   incrementally: a late or duplicate event retracts and re-emits the rows it changes.
//! * [`sink`]: each epoch's changes appended to a Delta table as one commit carrying the
//!   pipeline's app id and epoch (`txn`), with a change-type column so that the consolidated
//!   table is the current truth.
//! * [`pipeline`]: the run loop that ties them together on timely workers; [`demo`] wraps it
//!   with an in-process Kafka cluster and generated data ([`generate`]).
//! * [`governance`]: PII recognizers with confidence and evidence, per-record classification
//!   (PII, FINANCIAL, sensitivity, GDPR / PCI-DSS / SOX) as a differential operator, and the
//!   policies of a spec (masking, keyed tokens, role-based access decisions).
//! * [`fraud`]: labelled fraud data, per-transaction features, smartcore models trained on a
//!   time-based holdout and evaluated against an amount rule, and a versioned model registry.
//! * [`cli`] and [`config`]: flags and YAML pipeline specs, validated into plans.
//! * [`bench`]: `trustflow bench`, the end-to-end harness on a real broker (throughput,
//!   latency, memory), and the code of the criterion suites in `benches/`.
//! * [`lineage`]: OpenLineage run events (START, one per committed epoch, COMPLETE or FAIL)
//!   with the topic as input, the tables as outputs and their column lineage, to a JSON-lines
//!   file or an HTTP endpoint such as Marquez.
//! * [`location`]: output locations (a local directory or an Azure Blob URL) and the object
//!   store settings for URLs, taken from the environment and never printed.
#![forbid(missing_docs)]

pub mod batch;
pub mod bench;
pub mod cli;
pub mod codec;
pub mod config;
pub mod dataflow;
pub mod demo;
pub mod fraud;
pub mod generate;
pub mod governance;
pub mod lineage;
pub mod location;
pub mod pipeline;
pub mod record;
pub mod sink;
pub mod source;
