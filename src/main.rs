//! The trustflow binary: parse the command line, run it, map errors to exit codes.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use clap::Parser;
use tracing_subscriber::EnvFilter;

use trustflow::cli::access::{AccessError, QueryError};
use trustflow::cli::audit::{AuditError, verify_audit_log};
use trustflow::cli::export::ExportError;
use trustflow::cli::fraud_args::{ModelsArgs, ModelsCommand};
use trustflow::cli::governance_args::{AuditArgs, AuditCommand};
use trustflow::cli::{
    BatchPlan, BenchPlan, Cli, Command, EvaluatePlan, ExportPlan, GeneratePlan, MaintainPlan, PiiPlan,
    QueryPlan, RetentionPlan, RunPlan, TrainPlan,
};
use trustflow::codec::{LocalRegistry, RestRegistry, SchemaResolver};
use trustflow::fraud::report::Listing;
use trustflow::fraud::{FraudError, Registry};
use trustflow::generate::Generator;
use trustflow::generate::produce::{Destinations, WireEncoder, produce};
use trustflow::location::AZURE_CREDENTIALS_HELP;
use trustflow::pipeline::{self, PipelineConfig, PipelineError};
use trustflow::sink::maintain::MaintainError;
use trustflow::source::KafkaSettings;

/// The dataflow allocates and frees many small records (strings, maps) per event; mimalloc
/// handles that pattern far better than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Log filter unless RUST_LOG says otherwise. delta-kernel logs a missing table as an error
/// before trustflow creates it; that is expected, not worth a line.
const DEFAULT_LOG: &str = "warn,trustflow=info,buoyant_kernel::snapshot::builder=off";

/// Exit code for invalid flags or specs (clap itself exits with 2 for unknown flags).
const EXIT_USAGE: u8 = 2;
/// Exit code for failures that may pass on retry (broker or store unavailable).
const EXIT_RETRYABLE: u8 = 75;
/// Exit code for a read or export the access policies deny (`query --role`, `export --role`;
/// sysexits' EX_NOPERM).
const EXIT_DENIED: u8 = 77;
/// Exit code for an audit log whose hash chain is broken (`audit verify`; sysexits'
/// EX_DATAERR).
const EXIT_BROKEN_AUDIT: u8 = 65;
/// Exit code for other failures.
const EXIT_FAILURE: u8 = 1;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG)))
        .with_writer(std::io::stderr)
        // A log line that cannot be written is lost, never fatal: on a write error the
        // subscriber would report it with `eprintln!`, which panics when stderr is a closed
        // pipe (`trustflow run 2>&1 | head`), and a worker that panics stalls the others.
        .log_internal_errors(false)
        .init();
    let cli = Cli::parse();
    match execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", describe(&error));
            let short = |c: &(dyn std::error::Error + 'static)| {
                matches!(c.downcast_ref::<MaintainError>(), Some(MaintainError::RetentionTooShort { .. }))
            };
            if error.chain().any(short) {
                eprintln!("hint: pass --allow-short-retention to vacuum with it anyway.");
            }
            if error.chain().any(trustflow::location::is_access_denied) {
                eprintln!("hint: the object store refused the credentials. {AZURE_CREDENTIALS_HELP}.");
            }
            ExitCode::from(exit_code(&error))
        }
    }
}

/// The error and its causes, leaving out a cause whose text the previous message already
/// contains (many errors name their source in their own message).
fn describe(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let message = cause.to_string();
        if !text.contains(&message) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&message);
        }
    }
    text
}

fn exit_code(error: &anyhow::Error) -> u8 {
    if error.downcast_ref::<trustflow::cli::PlanError>().is_some() {
        return EXIT_USAGE;
    }
    let denied = error.chain().any(|cause| {
        cause.downcast_ref::<AccessError>().is_some_and(AccessError::is_denied)
            || cause.downcast_ref::<QueryError>().is_some_and(QueryError::is_denied)
            || cause.downcast_ref::<ExportError>().is_some_and(ExportError::is_denied)
    });
    if denied {
        return EXIT_DENIED;
    }
    if matches!(error.downcast_ref::<AuditError>(), Some(AuditError::Broken { .. })) {
        return EXIT_BROKEN_AUDIT;
    }
    let retryable = error.chain().any(|cause| {
        cause.downcast_ref::<PipelineError>().is_some_and(PipelineError::is_retryable)
            || cause.downcast_ref::<trustflow::source::SourceError>().is_some_and(|e| e.is_retryable())
            || cause.downcast_ref::<trustflow::batch::BatchError>().is_some_and(|e| e.is_retryable())
            || cause.downcast_ref::<trustflow::demo::DemoError>().is_some_and(|e| e.is_retryable())
            || cause.downcast_ref::<MaintainError>().is_some_and(MaintainError::is_retryable)
            || cause.downcast_ref::<QueryError>().is_some_and(QueryError::is_retryable)
            || cause.downcast_ref::<ExportError>().is_some_and(ExportError::is_retryable)
            || cause.downcast_ref::<FraudError>().is_some_and(FraudError::is_retryable)
            || cause.downcast_ref::<trustflow::bench::BenchError>().is_some_and(|e| e.is_retryable())
    });
    if retryable { EXIT_RETRYABLE } else { EXIT_FAILURE }
}

fn execute(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(args) => run(RunPlan::from_args(*args)?),
        Command::Generate(args) => generate(GeneratePlan::from_args(args)?),
        Command::Batch(args) => batch(BatchPlan::from_args(args)?),
        Command::Query(args) => query(QueryPlan::from_args(args)?),
        Command::Maintain(args) => maintain(MaintainPlan::from_args(args)?),
        Command::Retention(args) => {
            retention(RetentionPlan::from_args(args, chrono::Utc::now().timestamp_millis())?)
        }
        Command::Export(args) => export(ExportPlan::from_args(args)?),
        Command::Audit(args) => audit(args),
        Command::Train(args) => train(TrainPlan::from_args(args)?),
        Command::Evaluate(args) => evaluate(EvaluatePlan::from_args(args)),
        Command::Models(args) => models(args),
        Command::Bench(args) => bench(BenchPlan::from_args(*args)?),
        Command::Pii(args) => pii(PiiPlan::from_args(args)?),
    }
}

/// A runtime for the table commands (deltalake is async).
fn table_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// stdout errors: a closed pipe (`| head`) ends the output quietly, others fail.
fn printed(result: std::io::Result<()>) -> anyhow::Result<()> {
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to stdout"),
    }
}

fn query(plan: QueryPlan) -> anyhow::Result<()> {
    let runtime = table_runtime()?;
    let report = match &plan.access {
        None => runtime.block_on(trustflow::cli::tables::run_query(&plan))?,
        Some(access) => {
            let now = chrono::Utc::now().timestamp_millis();
            runtime.block_on(trustflow::cli::access::run_query_as(&plan, access, now))?
        }
    };
    let mut out = std::io::stdout().lock();
    printed(trustflow::cli::render::write_query(&mut out, &report, plan.json).and_then(|()| out.flush()))
}

fn maintain(plan: MaintainPlan) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let mut written = Ok(());
    let result = table_runtime()?.block_on(trustflow::cli::tables::run_maintain(&plan, |report| {
        if written.is_ok() {
            written = trustflow::cli::render::write_maintain(&mut out, report, plan.json)
                .and_then(|()| out.flush());
        }
    }));
    printed(written)?;
    Ok(result?)
}

fn retention(plan: RetentionPlan) -> anyhow::Result<()> {
    if let Some(note) = trustflow::cli::retention::now_note(&plan) {
        eprintln!("{note}");
    }
    let mut out = std::io::stdout().lock();
    let mut written = Ok(());
    let result = table_runtime()?.block_on(trustflow::cli::retention::run_retention(&plan, |report| {
        if written.is_ok() {
            written = trustflow::cli::retention::write_retention(&mut out, report, plan.json)
                .and_then(|()| out.flush());
        }
    }));
    printed(written)?;
    Ok(result?)
}

fn export(plan: ExportPlan) -> anyhow::Result<()> {
    let now = chrono::Utc::now().timestamp_millis();
    let report = table_runtime()?.block_on(trustflow::cli::export::run_export(&plan, now))?;
    let mut out = std::io::stdout().lock();
    printed(trustflow::cli::export::write_export(&mut out, &report, plan.json).and_then(|()| out.flush()))
}

fn audit(args: AuditArgs) -> anyhow::Result<()> {
    match args.command {
        AuditCommand::Verify { log, json } => {
            let chain = verify_audit_log(&log)?;
            if json {
                let summary = serde_json::json!({
                    "log": log.display().to_string(), "entries": chain.entries, "head": chain.head,
                });
                println!("{summary}");
            } else {
                println!(
                    "ok: {} entries of {} verified, hash chain intact; last hash {}",
                    chain.entries,
                    log.display(),
                    chain.head
                );
            }
        }
    }
    Ok(())
}

/// Writes `value` as pretty JSON to `path`, if given.
fn write_json(path: Option<&std::path::Path>, value: &impl serde::Serialize) -> anyhow::Result<()> {
    if let Some(path) = path {
        let file = File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
        serde_json::to_writer_pretty(BufWriter::new(file), value)?;
    }
    Ok(())
}

fn train(plan: TrainPlan) -> anyhow::Result<()> {
    let report = trustflow::fraud::jobs::run_train(&plan.job)?;
    print!("{report}");
    write_json(plan.report_json.as_deref(), &report)
}

fn evaluate(plan: EvaluatePlan) -> anyhow::Result<()> {
    let report = trustflow::fraud::jobs::run_evaluate(&plan.job)?;
    print!("{report}");
    write_json(plan.report_json.as_deref(), &report)
}

fn models(args: ModelsArgs) -> anyhow::Result<()> {
    match args.command {
        ModelsCommand::List { model_dir } => {
            let listed = Registry::new(&model_dir).list()?;
            if listed.is_empty() {
                println!("no models in {}", model_dir.display());
            } else {
                print!("{}", Listing(&listed));
            }
        }
        ModelsCommand::Promote { model_dir, version, stage } => {
            let stages = Registry::new(&model_dir).promote(version, stage)?;
            let stages: Vec<String> = stages.iter().map(|(s, v)| format!("{s}={v}")).collect();
            println!(
                "{stage} -> version {version} in {} (stages: {})",
                model_dir.display(),
                stages.join(", ")
            );
        }
        ModelsCommand::Check { model } => {
            let loaded = Registry::new(&model.dir).load(model.selector)?;
            let meta = &loaded.meta;
            println!(
                "ok: {} version {} ({}, {} inputs of {}, model.bin sha256 {} verified)",
                model.dir.display(),
                meta.version,
                meta.algorithm.name(),
                meta.features.len().saturating_sub(1),
                meta.features.first().map(String::as_str).unwrap_or("?"),
                meta.model_sha256
            );
        }
    }
    Ok(())
}

/// The verified model of `model`, ready to score.
fn load_scorer(model: &trustflow::fraud::ModelRef) -> anyhow::Result<Arc<trustflow::fraud::score::Scorer>> {
    let loaded = Registry::new(&model.dir).load(model.selector)?;
    let scorer = trustflow::fraud::score::Scorer::new(loaded)?;
    eprintln!("scoring with fraud model {} version {}", model.dir.display(), scorer.version());
    Ok(scorer)
}

fn batch(mut plan: BatchPlan) -> anyhow::Result<()> {
    plan.job.scorer = plan.model.as_ref().map(load_scorer).transpose()?;
    if plan.now_defaulted {
        tracing::warn!(
            now_ms = plan.job.now_ms,
            "no --now: \"now\" defaulted to the wall clock; timestamp_validity depends on it, \
             pass --now for a reproducible run"
        );
    }
    let summary = trustflow::batch::run(&plan.job)?;
    print!("{summary}");
    if summary.read.rejected > 0 {
        eprintln!("{} input record(s) rejected: see {}", summary.read.rejected, summary.rejects);
    }
    if let Some(path) = &plan.summary_json {
        let file = File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
        serde_json::to_writer_pretty(BufWriter::new(file), &summary)?;
    }
    Ok(())
}

fn run(plan: RunPlan) -> anyhow::Result<()> {
    let registry: Arc<dyn SchemaResolver> = match &plan.schema_registry {
        Some(url) => Arc::new(RestRegistry::new(url)?),
        None => Arc::new(LocalRegistry::embedded()?),
    };
    if plan.processes > 1 && std::env::args().all(|a| !a.starts_with("--now")) {
        tracing::warn!("each process takes its own clock as \"now\": pass the same --now to every process");
    }
    let scorer = match &plan.model {
        Some(model) => Some(load_scorer(model)?),
        None => {
            tracing::info!("no --model: rows are written UNSCORED (fraud_score null)");
            None
        }
    };
    let lineage = match &plan.spec.sink.lineage {
        Some(target) => {
            let emitter = trustflow::lineage::LineageEmitter::from_target(target)
                .map_err(|e| trustflow::cli::PlanError::new(format!("--lineage: {e}")))?;
            let emitter = match std::env::var("OPENLINEAGE_API_KEY") {
                Ok(token) if !token.is_empty() => emitter.with_bearer_token(token),
                _ => emitter,
            };
            Some(Arc::new(emitter))
        }
        None => None,
    };
    let config = PipelineConfig {
        kafka: KafkaSettings {
            brokers: plan.brokers.clone().unwrap_or_default(),
            options: plan.kafka_options.clone(),
        },
        topic: plan.spec.source.topic.clone(),
        user_events_topic: plan.user_events_topic.clone(),
        dead_letter_topic: plan.spec.source.dead_letter_topic.clone(),
        output_topic: plan.spec.sink.topic.clone(),
        group: plan.spec.source.group.clone(),
        output: plan.output.clone(),
        storage: plan.storage.clone(),
        expectations: plan.spec.expectations.clone(),
        app_id: plan.spec.app_id.clone(),
        epoch: plan.epoch(),
        max_epoch_records: plan.spec.max_epoch_records,
        now_ms: plan.now_ms,
        now_fixed: plan.now_fixed,
        horizon: plan.horizon,
        anomaly: plan.spec.anomaly()?,
        maintain_every: plan.maintain_every,
        lineage,
        encryption: plan.encryption.clone(),
        scorer,
        governor: Arc::new(trustflow::governance::Governor::from_env(
            plan.spec.governance_policies.as_ref().map(|g| g.pii_handling.clone()).unwrap_or_default(),
        )?),
        bounded: plan.bounded,
        registry,
        stop: stop_on_signal()?,
    };
    let summary = match &plan.brokers {
        Some(_) => pipeline::run(config, plan.timely.clone())?,
        None => {
            eprintln!(
                "no --brokers: running the demo on an in-process Kafka cluster with {} generated events",
                plan.demo_events
            );
            trustflow::demo::run(config, plan.timely.clone(), plan.demo_events, plan.demo_span_ms)?.summary
        }
    };
    print!("{summary}");
    if let Some(table) = summary.table.as_ref().filter(|_| plan.encryption.is_some()) {
        println!(
            "the tables are encrypted (AES-256-GCM, key in ${}): read them with   trustflow query {} --rows 10",
            plan.encryption.as_ref().map_or("", |k| k.var()),
            table.table
        );
    } else if let Some(table) = &summary.table {
        // Python's deltalake reads the same AZURE_* variables for a URL table.
        let environment = if plan.output.local_path().is_none() { " (same AZURE_* environment)" } else { "" };
        println!(
            "read it with   python3 -c \"import deltalake as d; print(d.QueryBuilder().register('t', d.DeltaTable('{}')).execute('select _change_type, count(*) from t group by 1').read_all())\"{environment}",
            table.table
        );
    }
    if let Some(path) = &plan.summary_json {
        let file = File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
        serde_json::to_writer_pretty(BufWriter::new(file), &summary)?;
    }
    Ok(())
}

fn bench(plan: BenchPlan) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let progress = |line: &str| eprintln!("[{:>6.1} s] {line}", started.elapsed().as_secs_f64());
    let report = trustflow::bench::run(&plan.config, &progress)?;
    let markdown = report.markdown();
    print!("{markdown}");
    write_json(plan.json.as_deref(), &report)?;
    if let Some(path) = &plan.markdown {
        std::fs::write(path, &markdown).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if !plan.config.keep {
        // Only what this run created: the directory is removed if it is empty now.
        let _ = std::fs::remove_dir(&plan.config.work_dir);
    }
    Ok(())
}

fn pii(plan: PiiPlan) -> anyhow::Result<()> {
    use trustflow::cli::pii_plan::{run_corpus, run_eval, run_scan};
    match plan {
        PiiPlan::Scan(plan) => {
            let tally = {
                let mut stdout = std::io::stdout().lock();
                run_scan(&plan, &mut std::io::stdin().lock(), &mut stdout)
            };
            match tally {
                Ok(tally) => eprintln!("scanned {} texts: {} findings", tally.texts, tally.findings),
                Err(trustflow::cli::pii_plan::PiiCommandError::Write { source, .. })
                    if source.kind() == std::io::ErrorKind::BrokenPipe => {}
                Err(error) => return Err(error.into()),
            }
        }
        PiiPlan::Corpus(plan) => {
            let corpus = run_corpus(&plan)?;
            let sets: Vec<String> = corpus.sets().iter().map(|(s, n)| format!("{s} {n}")).collect();
            eprintln!(
                "wrote {} texts ({}) with {} entities to {}",
                corpus.items.len(),
                sets.join(", "),
                corpus.entities().values().sum::<usize>(),
                plan.output.display()
            );
        }
        PiiPlan::Eval(plan) => {
            let report = run_eval(&plan)?;
            let mut out = std::io::stdout().lock();
            let mut text = report.to_string();
            for set in &plan.misses {
                text.push_str(&format!("\nmisses in set `{set}`:\n{}", report.misses(set)));
            }
            printed(out.write_all(text.as_bytes()).and_then(|()| out.flush()))?;
            write_json(plan.json.as_deref(), &report)?;
        }
    }
    Ok(())
}

/// A flag that SIGINT/SIGTERM set: the run stops reading, commits what it read, and exits.
fn stop_on_signal() -> anyhow::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || {
        // (Not eprintln!, which panics when stderr is a closed pipe.)
        let mut stderr = std::io::stderr();
        if flag.swap(true, Ordering::Relaxed) {
            let _ = writeln!(stderr, "interrupted twice: exiting without committing");
            std::process::exit(130);
        }
        let _ = writeln!(stderr, "stopping: committing what was read (interrupt again to exit at once)");
    })
    .context("cannot install the SIGINT/SIGTERM handler")?;
    Ok(stop)
}

fn generate(plan: GeneratePlan) -> anyhow::Result<()> {
    let registry = LocalRegistry::embedded()?;
    let schema_id = registry.id_for_topic(&plan.topic).unwrap_or(1);
    // User events (logins) exist in fraud mode only; they keep the user-events subject's id.
    let fraud_mode = plan.generator.fraud_rate > 0.0;
    let user_schema_id = registry.id_for_topic("user-events").unwrap_or(3);
    if let Some(kafka) = &plan.kafka {
        kafka.ensure_topics(&[(&plan.topic, plan.partitions)])?;
        if fraud_mode {
            kafka.ensure_topics(&[(&plan.user_events_topic, plan.partitions)])?;
        }
    }
    let mut jsonl = match &plan.jsonl {
        Some(path) => Some(BufWriter::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => None,
    };
    let mut labels = match &plan.labels {
        Some(path) => Some(BufWriter::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => None,
    };
    let mut user_events = match &plan.user_events_jsonl {
        Some(path) => Some(BufWriter::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => None,
    };
    let destinations = Destinations {
        kafka: plan.kafka.as_ref().map(|k| (k, plan.topic.as_str())),
        jsonl: jsonl.as_mut().map(|w| w as &mut dyn std::io::Write),
        labels: labels.as_mut().map(|w| w as &mut dyn std::io::Write),
        user_events: user_events.as_mut().map(|w| w as &mut dyn std::io::Write),
        user_events_topic: fraud_mode.then_some((plan.user_events_topic.as_str(), user_schema_id)),
    };
    let started = std::time::Instant::now();
    let truth = produce(
        Generator::new(plan.generator.clone()),
        plan.count,
        plan.rate,
        WireEncoder::new(Arc::new(registry), schema_id),
        destinations,
        |sent| tracing::info!(sent, "generated"),
    )?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "generated {} events ({} transactions, {} undecodable) in {seconds:.2} s = {:.0} events/s",
        truth.events,
        truth.transactions,
        truth.garbage_total(),
        truth.events as f64 / seconds.max(1e-9)
    );
    if truth.fraud_total() > 0 {
        eprintln!("planted {} fraudulent transactions: {:?}", truth.fraud_total(), truth.fraud);
    }
    if truth.user_events > 0 {
        eprintln!("generated {} user events (logins)", truth.user_events);
    }
    if let Some(path) = &plan.truth {
        let file = File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
        serde_json::to_writer_pretty(BufWriter::new(file), &truth)?;
    }
    Ok(())
}
