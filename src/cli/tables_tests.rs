//! Tests of the `query` and `maintain` flags and plans.

use std::time::Duration;

use clap::Parser;

use super::*;
use crate::cli::{Cli, Command};

fn parse(argv: &[&str]) -> Result<Command, PlanError> {
    let cli = Cli::try_parse_from(std::iter::once("trustflow").chain(argv.iter().copied()))
        .map_err(|e| PlanError::new(e.to_string()))?;
    Ok(cli.command)
}

fn query_plan(argv: &[&str]) -> Result<QueryPlan, PlanError> {
    match parse(&[&["query"], argv].concat())? {
        Command::Query(args) => QueryPlan::from_args(args),
        other => panic!("{other:?}"),
    }
}

fn maintain_plan(argv: &[&str]) -> Result<MaintainPlan, PlanError> {
    match parse(&[&["maintain"], argv].concat())? {
        Command::Maintain(args) => MaintainPlan::from_args(args),
        other => panic!("{other:?}"),
    }
}

#[test]
fn query_reads_a_version_or_a_time_not_both() {
    assert_eq!(query_plan(&["t"]).unwrap().as_of, AsOf::Latest);
    let plan = query_plan(&["t", "--version", "3", "--rows", "5", "--consolidated", "--json"]).unwrap();
    assert_eq!((plan.as_of, plan.rows, plan.consolidated, plan.json), (AsOf::Version(3), 5, true, true));
    let time = |text: &str| match query_plan(&["t", "--as-of", text]).unwrap().as_of {
        AsOf::Time(time) => time.timestamp_millis(),
        other => panic!("{other:?}"),
    };
    assert_eq!(time("2026-01-31T12:00:00Z"), 1_769_860_800_000);
    assert_eq!(time("2026-01-31T13:00:00+01:00"), 1_769_860_800_000);
    assert_eq!(time("2026-01-31 12:00:00"), 1_769_860_800_000);
    assert!(query_plan(&["t", "--as-of", "yesterday"]).unwrap_err().to_string().contains("--as-of"));
    assert!(query_plan(&["t", "--version", "1", "--as-of", "2026-01-31T12:00:00Z"]).is_err());
    assert!(query_plan(&["t", "--version", "-1"]).is_err());
    assert!(query_plan(&["s3://b/t"]).unwrap_err().to_string().contains("unsupported scheme"));
    assert!(query_plan(&[]).is_err(), "TABLE is required");
}

#[test]
fn maintain_needs_an_action_and_checks_its_values() {
    assert!(maintain_plan(&["t"]).unwrap_err().to_string().contains("nothing to do"));
    let plan = maintain_plan(&["a", "b", "--compact", "--checkpoint", "--vacuum"]).unwrap();
    assert_eq!(plan.tables.len(), 2);
    assert_eq!((plan.compact, plan.checkpoint), (Some(None), true));
    assert_eq!(plan.vacuum, Some(VacuumOptions::default()));
    let plan = maintain_plan(&[
        "a",
        "--compact",
        "--target-size",
        "64MiB",
        "--vacuum",
        "--retain",
        "36h",
        "--allow-short-retention",
        "--dry-run",
        "--snapshot",
        "a_current",
    ])
    .unwrap();
    assert_eq!(plan.compact, Some(Some(64 << 20)));
    let vacuum = plan.vacuum.unwrap();
    assert_eq!(vacuum.retention, Some(Duration::from_secs(36 * 3600)));
    assert!(vacuum.dry_run && vacuum.allow_short_retention);
    assert_eq!(plan.snapshot.unwrap().0.to_string(), "a_current");
    let error = |argv: &[&str]| maintain_plan(argv).unwrap_err().to_string();
    assert!(error(&["a", "b", "--snapshot", "s"]).contains("exactly one TABLE"));
    assert!(error(&["a", "--retain", "7d"]).contains("--vacuum"), "--retain needs --vacuum");
    assert!(error(&["a", "--vacuum", "--retain", "soon"]).contains("--retain"));
    assert!(error(&["a", "--compact", "--target-size", "0"]).contains("--target-size"));
    assert!(error(&["--compact"]).contains("TABLE"));
}

#[test]
fn sizes_take_binary_units() {
    assert_eq!(parse_size("1048576").unwrap(), 1 << 20);
    assert_eq!(parse_size("128MiB").unwrap(), 128 << 20);
    assert_eq!(parse_size("64m").unwrap(), 64 << 20);
    assert_eq!(parse_size("1 G").unwrap(), 1 << 30);
    assert_eq!(parse_size("512k").unwrap(), 512 << 10);
    for bad in ["", "MiB", "1.5G", "12Q", "99999999999999999999G"] {
        assert!(parse_size(bad).is_err(), "{bad}");
    }
}

#[test]
fn help_explains_the_table_commands() {
    use clap::CommandFactory;
    // clap's own consistency checks (e.g. `query --version` against the version flag).
    Cli::command().debug_assert();
    let mut cli = Cli::command();
    let query = cli.find_subcommand_mut("query").unwrap().render_long_help().to_string();
    for needle in ["--version <N>", "--as-of <TIME>", "consolidated", "az://CONTAINER/PATH", "RFC 3339"] {
        assert!(query.contains(needle), "`query --help` lacks {needle}:\n{query}");
    }
    assert!(!query.contains("Print version"), "query's --version is the table version:\n{query}");
    let maintain = cli.find_subcommand_mut("maintain").unwrap().render_long_help().to_string();
    for needle in
        ["--compact", "--snapshot <DEST>", "--vacuum", "--retain", "--allow-short-retention", "dataChange"]
    {
        assert!(maintain.contains(needle), "`maintain --help` lacks {needle}:\n{maintain}");
    }
}
