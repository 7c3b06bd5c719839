//! `micromodel stats`: per workflow and day (replicas' folders added up): records, models,
//! finish reasons, streamed share, tool-call share, prompt/completion tokens from `usage`,
//! bytes, and lines that are not valid records.
//!
//! `usage` describes a whole request, and the `n` choices of one request are `n` lines that
//! repeat it: tokens are counted once per `request_id` within a day (every line when it has
//! no `request_id`).

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use serde::Serialize;
use xxhash_rust::xxh3::xxh3_64;

use super::args::StatsArgs;
use super::error::DatasetError;
use super::labels::DayLabels;
use super::reader::{Line, LineReader};
use super::record::Record;
use super::scan::{scan, Selection};
use crate::labels::Label;
use crate::layout;

/// Counts of one workflow's day (or of everything, for the total).
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct DayStats {
    /// The workflow (`*` for the total).
    pub workflow: String,
    /// The day, `YYYY-MM-DD` as `--since`/`--until` take it (`*` for the total).
    pub date: String,
    /// The day folder's name, `DD-MM-YYYY` (`*` for the total).
    pub folder: String,
    /// Valid records.
    pub records: u64,
    /// Lines that are not valid records (torn last lines included).
    pub invalid: u64,
    /// Bytes of the data files.
    pub bytes: u64,
    /// Records per model.
    pub models: BTreeMap<String, u64>,
    /// Records per finish reason (`none` for null or missing).
    pub finish_reasons: BTreeMap<String, u64>,
    /// Records of streamed answers.
    pub streamed: u64,
    /// `streamed / records`.
    pub streamed_share: f64,
    /// Records whose answer has tool calls.
    pub tool_calls: u64,
    /// `tool_calls / records`.
    pub tool_call_share: f64,
    /// Sum of `usage.prompt_tokens` (once per request).
    pub prompt_tokens: u64,
    /// Sum of `usage.completion_tokens` (once per request).
    pub completion_tokens: u64,
    /// Records whose last label is `good` (docs/labels.md).
    pub labelled_good: u64,
    /// Records whose last label is `bad`.
    pub labelled_bad: u64,
    /// Records without a label (or whose last label is `none`).
    pub unlabelled: u64,
}

impl DayStats {
    fn add(&mut self, other: &DayStats) {
        self.records += other.records;
        self.invalid += other.invalid;
        self.bytes += other.bytes;
        for (k, v) in &other.models {
            *self.models.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.finish_reasons {
            *self.finish_reasons.entry(k.clone()).or_default() += v;
        }
        self.streamed += other.streamed;
        self.tool_calls += other.tool_calls;
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.labelled_good += other.labelled_good;
        self.labelled_bad += other.labelled_bad;
        self.unlabelled += other.unlabelled;
    }

    fn finish(&mut self) {
        let share = |n: u64| match self.records {
            0 => 0.0,
            r => n as f64 / r as f64,
        };
        self.streamed_share = share(self.streamed);
        self.tool_call_share = share(self.tool_calls);
    }
}

/// All days and the total.
#[derive(Debug, Default, Serialize)]
pub struct Stats {
    /// One entry per workflow and day, by workflow then date.
    pub days: Vec<DayStats>,
    /// Everything added up.
    pub total: DayStats,
    /// One line per bucket read (listings, objects): printed on stderr, not in the JSON.
    #[serde(skip)]
    pub buckets: Vec<String>,
}

/// Runs `stats`: prints text or JSON on stdout; exit 0.
pub fn run(args: &StatsArgs) -> anyhow::Result<i32> {
    let stats = collect(&args.data_dirs)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&stats)?);
    } else {
        print!("{}", render(&stats));
    }
    for bucket in &stats.buckets {
        eprintln!("note: {bucket}");
    }
    Ok(0)
}

/// Reads every data file of `data_dirs` once.
pub fn collect(data_dirs: &[std::path::PathBuf]) -> Result<Stats, DatasetError> {
    let scan = scan(data_dirs, &Selection::default())?;
    type Day = (DayStats, HashSet<u64>, DayLabels);
    let mut days: BTreeMap<(String, chrono::NaiveDate), Day> = BTreeMap::new();
    for file in &scan.files {
        let key = (file.workflow.clone(), file.date);
        if !days.contains_key(&key) {
            // Read once per workflow and day, from every data folder.
            let labels = DayLabels::read(data_dirs, std::slice::from_ref(file))?;
            let stats = DayStats {
                workflow: file.workflow.clone(),
                date: file.date.format("%Y-%m-%d").to_string(),
                folder: layout::day_folder_name(file.date),
                ..DayStats::default()
            };
            days.insert(key.clone(), (stats, HashSet::new(), labels));
        }
        let (day, seen, labels) = days.get_mut(&key).expect("inserted above");
        let mut reader = LineReader::open_file(file)?;
        while let Some((_, line)) = reader.next_line()? {
            let record = match line {
                Line::Complete(bytes) => Record::parse(bytes).ok(),
                Line::Torn(_) => None,
            };
            match record {
                Some(record) => {
                    count(day, seen, &record);
                    match labels.of(&record).map(|l| l.label) {
                        Some(Label::Good) => day.labelled_good += 1,
                        Some(Label::Bad) => day.labelled_bad += 1,
                        _ => day.unlabelled += 1,
                    }
                }
                None => day.invalid += 1,
            }
        }
        day.bytes += reader.bytes();
    }
    let mut stats = Stats {
        total: DayStats {
            workflow: "*".to_owned(),
            date: "*".to_owned(),
            folder: "*".to_owned(),
            ..DayStats::default()
        },
        ..Stats::default()
    };
    for (_, (mut day, _, _)) in days {
        day.finish();
        stats.total.add(&day);
        stats.days.push(day);
    }
    stats.total.finish();
    stats.buckets = scan.bucket_notes();
    Ok(stats)
}

fn count(day: &mut DayStats, seen: &mut HashSet<u64>, record: &Record) {
    day.records += 1;
    *day.models.entry(record.model().to_owned()).or_default() += 1;
    let reason = record.finish_reason().unwrap_or("none");
    *day.finish_reasons.entry(reason.to_owned()).or_default() += 1;
    day.streamed += u64::from(record.stream());
    day.tool_calls += u64::from(record.answer_has_tool_calls());
    let first_of_request = record
        .request_id()
        .map_or(true, |id| seen.insert(xxh3_64(id.as_bytes())));
    if first_of_request {
        day.prompt_tokens += record.usage_tokens("prompt_tokens").unwrap_or(0);
        day.completion_tokens += record.usage_tokens("completion_tokens").unwrap_or(0);
    }
}

/// The name of the day folder holding `data_file`, as it is on disk.
/// The first line of the text report: which date notation it uses.
pub const DATES_NOTE: &str = "Days are UTC dates written YYYY-MM-DD, as --since and --until \
                              take them; their folders are named DD-MM-YYYY (shown as `folder`).";

/// The text report.
pub fn render(stats: &Stats) -> String {
    let mut out = String::new();
    if !stats.days.is_empty() {
        let _ = writeln!(out, "{DATES_NOTE}");
    }
    for day in stats.days.iter().chain(std::iter::once(&stats.total)) {
        let title = if day.workflow == "*" {
            "total".to_owned()
        } else {
            format!("{} {}", day.workflow, day.date)
        };
        let _ = write!(out, "{title}: {} records", day.records);
        if day.invalid > 0 {
            let _ = write!(out, " ({} invalid lines)", day.invalid);
        }
        let _ = writeln!(
            out,
            ", {} bytes, streamed {:.1}%, tool calls {:.1}%, tokens {} prompt / {} completion",
            day.bytes,
            day.streamed_share * 100.0,
            day.tool_call_share * 100.0,
            day.prompt_tokens,
            day.completion_tokens
        );
        if day.workflow != "*" {
            let _ = writeln!(out, "  folder: {}/{}", day.workflow, day.folder);
        }
        let _ = writeln!(out, "  models: {}", counts(&day.models));
        let _ = writeln!(out, "  finish reasons: {}", counts(&day.finish_reasons));
        let _ = writeln!(
            out,
            "  labels: good {}, bad {}, unlabelled {}",
            day.labelled_good, day.labelled_bad, day.unlabelled
        );
    }
    out
}

fn counts(map: &BTreeMap<String, u64>) -> String {
    if map.is_empty() {
        return "-".to_owned();
    }
    map.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}
