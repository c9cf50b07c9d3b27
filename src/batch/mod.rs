//! Batch mode: a bounded input (JSON lines or Parquet) through the quality graph to a table.
