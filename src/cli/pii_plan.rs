//! `trustflow pii`: validated plans of `scan`, `corpus` and `eval`, and running them (the
//! file reading and writing around `governance::eval`).

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::pii_args::{CorpusArgs, EvalArgs, PiiArgs, PiiCommand, ScanArgs};
use super::plan::PlanError;
use crate::governance::eval::corpus::Corpus;
use crate::governance::eval::report::{CorpusSummary, DetectorResult, MATCHING_RULE, Report};
use crate::governance::eval::{Detection, EvalError, Item, detect, generate, score};
use crate::governance::pii::{Confidence, PiiError, Recognizers};

/// What a `pii` command will do.
#[derive(Debug)]
pub enum PiiPlan {
    /// `pii scan`.
    Scan(ScanPlan),
    /// `pii corpus`.
    Corpus(CorpusPlan),
    /// `pii eval`.
    Eval(EvalPlan),
}

/// What `pii scan` will do.
#[derive(Debug)]
pub struct ScanPlan {
    /// The texts; `None` for standard input.
    pub input: Option<PathBuf>,
    /// Where the findings go; `None` for standard output.
    pub output: Option<PathBuf>,
    /// The reporting threshold.
    pub threshold: Confidence,
}

/// What `pii corpus` will do.
#[derive(Debug)]
pub struct CorpusPlan {
    /// The corpus file.
    pub output: PathBuf,
    /// Generated texts.
    pub count: usize,
    /// Their seed.
    pub seed: u64,
    /// Hand-written case files appended.
    pub append: Vec<PathBuf>,
}

/// What `pii eval` will do.
#[derive(Debug)]
pub struct EvalPlan {
    /// The corpus.
    pub corpus: PathBuf,
    /// Other detectors: name and findings file.
    pub findings: Vec<(String, PathBuf)>,
    /// trustflow's reporting threshold.
    pub threshold: Confidence,
    /// Sets whose misses are printed.
    pub misses: Vec<String>,
    /// Where to write the JSON report.
    pub json: Option<PathBuf>,
}

/// The detector name of trustflow's own findings.
pub const TRUSTFLOW: &str = "trustflow";

fn threshold(value: f64) -> Result<Confidence, PlanError> {
    if !(0.0..=1.0).contains(&value) {
        return Err(PlanError::new(format!("--threshold must be between 0 and 1, not {value}")));
    }
    Ok(Confidence::from_milli((value * 1000.0).round() as i32))
}

impl PiiPlan {
    /// Validates `args`: thresholds in [0, 1], findings given as NAME=PATH with distinct
    /// names other than `trustflow`, something to write for `corpus`.
    pub fn from_args(args: PiiArgs) -> Result<PiiPlan, PlanError> {
        Ok(match args.command {
            PiiCommand::Scan(ScanArgs { input, output, threshold: t }) => PiiPlan::Scan(ScanPlan {
                input: (input.as_os_str() != "-").then_some(input),
                output,
                threshold: threshold(t)?,
            }),
            PiiCommand::Corpus(CorpusArgs { output, count, seed, append }) => {
                if count == 0 && append.is_empty() {
                    return Err(PlanError::new("--count 0 and no --append: the corpus would be empty"));
                }
                PiiPlan::Corpus(CorpusPlan { output, count, seed, append })
            }
            PiiCommand::Eval(EvalArgs { corpus, findings, threshold: t, misses, json }) => {
                let mut named: Vec<(String, PathBuf)> = Vec::new();
                for spec in findings {
                    let Some((name, path)) =
                        spec.split_once('=').filter(|(n, p)| !n.is_empty() && !p.is_empty())
                    else {
                        return Err(PlanError::new(format!("--findings `{spec}`: expected NAME=PATH")));
                    };
                    if name == TRUSTFLOW || named.iter().any(|(n, _)| n == name) {
                        return Err(PlanError::new(format!("--findings: the name `{name}` is taken")));
                    }
                    named.push((name.to_owned(), PathBuf::from(path)));
                }
                PiiPlan::Eval(EvalPlan { corpus, findings: named, threshold: threshold(t)?, misses, json })
            }
        })
    }
}

/// Why a `pii` command failed.
#[derive(Debug, thiserror::Error)]
pub enum PiiCommandError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A corpus or findings line is unusable.
    #[error(transparent)]
    Eval(#[from] EvalError),
    /// The recognizers could not be built.
    #[error(transparent)]
    Recognizers(#[from] PiiError),
}

fn display(path: Option<&Path>) -> String {
    path.map_or_else(|| "-".to_owned(), |p| p.display().to_string())
}

fn read(path: &Path) -> Result<String, PiiCommandError> {
    std::fs::read_to_string(path)
        .map_err(|source| PiiCommandError::Read { path: display(Some(path)), source })
}

/// A writer on `path`, or on `stdout` when `None`.
fn writer<'a>(
    path: Option<&Path>,
    stdout: &'a mut dyn Write,
) -> Result<Box<dyn Write + 'a>, PiiCommandError> {
    Ok(match path {
        Some(path) => Box::new(BufWriter::new(
            File::create(path)
                .map_err(|source| PiiCommandError::Write { path: display(Some(path)), source })?,
        )),
        None => Box::new(stdout),
    })
}

/// What `pii scan` did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanTally {
    /// Texts scanned.
    pub texts: usize,
    /// Findings written.
    pub findings: usize,
}

/// Runs `pii scan`, line by line, writing findings to the plan's output or `stdout`.
pub fn run_scan(
    plan: &ScanPlan,
    stdin: &mut dyn BufRead,
    stdout: &mut dyn Write,
) -> Result<ScanTally, PiiCommandError> {
    let recognizers = Recognizers::new()?.with_threshold(plan.threshold);
    let name = display(plan.input.as_deref());
    let mut file_reader;
    let input: &mut dyn BufRead = match &plan.input {
        Some(path) => {
            let file =
                File::open(path).map_err(|source| PiiCommandError::Read { path: name.clone(), source })?;
            file_reader = BufReader::new(file);
            &mut file_reader
        }
        None => stdin,
    };
    let output_name = display(plan.output.as_deref());
    let write_error = |source| PiiCommandError::Write { path: output_name.clone(), source };
    let mut out = writer(plan.output.as_deref(), stdout)?;
    let mut tally = ScanTally::default();
    for (n, line) in input.lines().enumerate() {
        let line = line.map_err(|source| PiiCommandError::Read { path: name.clone(), source })?;
        let Some(item) = Item::parse(&name, n + 1, &line)? else { continue };
        tally.texts += 1;
        for detection in detect(&recognizers, &item) {
            serde_json::to_writer(&mut out, &detection).map_err(|e| write_error(e.into()))?;
            out.write_all(b"\n").map_err(write_error)?;
            tally.findings += 1;
        }
    }
    out.flush().map_err(write_error)?;
    Ok(tally)
}

/// Runs `pii corpus`: the generated items, then each appended file's; returns the corpus.
pub fn run_corpus(plan: &CorpusPlan) -> Result<Corpus, PiiCommandError> {
    let mut corpus = Corpus::default();
    for item in generate::corpus(plan.seed, plan.count) {
        corpus.push(item).map_err(|message| EvalError::invalid("(generated)", 0, message))?;
    }
    for path in &plan.append {
        let name = display(Some(path));
        let set = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        for (n, line) in read(path)?.lines().enumerate() {
            let Some(mut item) = Item::parse(&name, n + 1, line)? else { continue };
            if item.set.is_empty() {
                item.set = set.clone();
            }
            if item.id == (n + 1).to_string() && !line.contains("\"id\"") {
                item.id = format!("{}-{}", item.set, n + 1);
            }
            corpus.push(item).map_err(|message| EvalError::invalid(&name, n + 1, message))?;
        }
    }
    let out_name = display(Some(&plan.output));
    let write_error = |source| PiiCommandError::Write { path: out_name.clone(), source };
    let file = File::create(&plan.output).map_err(write_error)?;
    let mut out = BufWriter::new(file);
    for item in &corpus.items {
        serde_json::to_writer(&mut out, item).map_err(|e| write_error(e.into()))?;
        out.write_all(b"\n").map_err(write_error)?;
    }
    out.flush().map_err(write_error)?;
    Ok(corpus)
}

/// Runs `pii eval`: trustflow scans the corpus here (timed), every findings file is read, and
/// all are scored by the same rule.
pub fn run_eval(plan: &EvalPlan) -> Result<Report, PiiCommandError> {
    let corpus_name = display(Some(&plan.corpus));
    let corpus = Corpus::parse(&corpus_name, &read(&plan.corpus)?)?;
    let recognizers = Recognizers::new()?.with_threshold(plan.threshold);
    let started = Instant::now();
    let found: Vec<Detection> = corpus.items.iter().flat_map(|item| detect(&recognizers, item)).collect();
    let seconds = started.elapsed().as_secs_f64();
    let mut detectors = vec![DetectorResult {
        source: format!("scanned in-process, threshold {}", plan.threshold),
        seconds: Some(seconds),
        score: score(&corpus, TRUSTFLOW, "(trustflow)", &found)?,
    }];
    for (name, path) in &plan.findings {
        let file = display(Some(path));
        let mut detections = Vec::new();
        for (n, line) in read(path)?.lines().enumerate() {
            detections.extend(Detection::parse(&file, n + 1, line)?);
        }
        detectors.push(DetectorResult {
            source: format!("findings file {file}"),
            seconds: None,
            score: score(&corpus, name, &file, &detections)?,
        });
    }
    Ok(Report {
        corpus: CorpusSummary::of(&corpus_name, &corpus),
        matching: MATCHING_RULE.to_owned(),
        detectors,
    })
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;
    use crate::cli::{Cli, Command};

    fn plan(argv: &[&str]) -> Result<PiiPlan, String> {
        let cli = Cli::try_parse_from(std::iter::once("trustflow").chain(argv.iter().copied()))
            .map_err(|e| e.to_string())?;
        match cli.command {
            Command::Pii(args) => PiiPlan::from_args(args).map_err(|e| e.to_string()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn flags_are_checked() {
        let Ok(PiiPlan::Scan(scan)) = plan(&["pii", "scan", "--input", "-"]) else { panic!() };
        assert_eq!((scan.input, scan.threshold.milli()), (None, 400));
        assert!(
            plan(&["pii", "scan", "--input", "x", "--threshold", "1.5"])
                .unwrap_err()
                .contains("between 0 and 1")
        );
        assert!(plan(&["pii", "corpus", "--output", "c", "--count", "0"]).unwrap_err().contains("empty"));
        let Ok(PiiPlan::Eval(eval)) =
            plan(&["pii", "eval", "--corpus", "c", "--findings", "presidio=p.jsonl"])
        else {
            panic!()
        };
        assert_eq!(eval.findings, [("presidio".to_owned(), PathBuf::from("p.jsonl"))]);
        assert!(
            plan(&["pii", "eval", "--corpus", "c", "--findings", "p.jsonl"])
                .unwrap_err()
                .contains("NAME=PATH")
        );
        assert!(
            plan(&["pii", "eval", "--corpus", "c", "--findings", "trustflow=x"])
                .unwrap_err()
                .contains("taken")
        );
        assert!(
            plan(&["pii", "eval", "--corpus", "c", "--findings", "a=x", "--findings", "a=y"])
                .unwrap_err()
                .contains("taken")
        );
    }

    #[test]
    fn help_says_what_goes_in_and_out() {
        let cli = Cli::command();
        let pii = cli.find_subcommand("pii").unwrap();
        let help = |name: &str| pii.find_subcommand(name).unwrap().clone().render_long_help().to_string();
        assert!(help("scan").contains("Unicode code points"), "{}", help("scan"));
        assert!(help("eval").contains("the spans overlap"), "{}", help("eval"));
        assert!(help("corpus").contains("failing Luhn"), "{}", help("corpus"));
    }

    #[test]
    fn scan_eval_and_corpus_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let hard = dir.path().join("hard.jsonl");
        std::fs::write(
            &hard,
            concat!(
                r#"{"field":"card_number","text":"4111 1111 1111 1112","entities":[]}"#,
                "\n",
                r#"{"id":"h2","field":"note","text":"mail jane@example.com","entities":[{"type":"email","start":5,"end":21}]}"#,
                "\n"
            ),
        )
        .unwrap();
        let corpus_path = dir.path().join("corpus.jsonl");
        let corpus =
            run_corpus(&CorpusPlan { output: corpus_path.clone(), count: 50, seed: 1, append: vec![hard] })
                .unwrap();
        assert_eq!(corpus.items.len(), 52);
        assert_eq!(corpus.get("hard-1").unwrap().set, "hard");
        assert_eq!(corpus.get("h2").unwrap().set, "hard");

        let findings = dir.path().join("findings.jsonl");
        let mut stdout = Vec::new();
        let scan = ScanPlan {
            input: Some(corpus_path.clone()),
            output: Some(findings.clone()),
            threshold: Confidence::from_milli(400),
        };
        let tally = run_scan(&scan, &mut std::io::empty(), &mut stdout).unwrap();
        assert!(stdout.is_empty());
        assert_eq!(tally.texts, 52);

        let report = run_eval(&EvalPlan {
            corpus: corpus_path,
            findings: vec![("cli".into(), findings)],
            threshold: Confidence::from_milli(400),
            misses: vec![],
            json: None,
        })
        .unwrap();
        // The scan command's findings score exactly as the in-process scan.
        let (ours, cli) = (&report.detectors[0].score, &report.detectors[1].score);
        assert_eq!((ours.all, &ours.by_type, &ours.misses), (cli.all, &cli.by_type, &cli.misses));
        assert_eq!(ours.by_set["hard"].correct, 1);
        assert_eq!(ours.by_set["hard"].found, 1);
        let text = report.to_string();
        assert!(text.contains("| **all** |") && text.contains("| hard |"), "{text}");

        // Standard input, standard output.
        let mut stdin =
            std::io::Cursor::new(b"{\"field\":\"email\",\"text\":\"a.b@example.org\"}\n".to_vec());
        let mut stdout = Vec::new();
        let plan = ScanPlan { input: None, output: None, threshold: Confidence::from_milli(400) };
        assert_eq!(run_scan(&plan, &mut stdin, &mut stdout).unwrap(), ScanTally { texts: 1, findings: 1 });
        assert!(
            String::from_utf8(stdout).unwrap().starts_with(r#"{"id":"1","type":"email","start":0,"end":15"#)
        );
    }
}
