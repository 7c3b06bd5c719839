//! `export`, `stats` and `validate` with `--data-dir s3://bucket/prefix` against a real S3 store
//! (SeaweedFS): two instances' records, written by the real recorder, uploaded by hand as the sink
//! names segments (each day file cut in two, every compression): the tools must read from the
//! bucket exactly what they read from the folders. Also: mixed sources, `file://`, pruning by
//! `--workflow`/`--since`/`--until` (counted), the errors, and DuckDB over a copy of the bucket.

mod common;
mod records_support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::seaweed::{Seaweed, SECRET_KEY};
use micromodel::record::EndpointKind;
use micromodel::recorder::RecordLine;
use tempfile::TempDir;

const INSTANCES: [&str; 2] = ["mm-a", "mm-b"];
const WORKFLOWS: [&str; 2] = ["w1", "w2"];
const DAYS: [&str; 2] = ["2025-08-24", "2025-08-25"];
const PREFIX: &str = "fleet/records"; // the sink's --sink s3://<bucket>/fleet/records

/// Four chat records per instance, workflow and day, interleaved in time across instances.
fn records(instance: usize) -> Vec<RecordLine> {
    let mut out = Vec::new();
    for workflow in WORKFLOWS {
        for day in DAYS {
            for n in 0..4 {
                let at = format!("{day}T10:{:02}:{:02}.000Z", n * 10, instance * 5);
                let request = format!(
                    r#"{{"model":"m","messages":[{{"role":"user","content":"{workflow} {day} #{n} from {instance}"}}]}}"#
                );
                let answer = format!(
                    r#"{{"id":"c{instance}{n}","choices":[{{"index":0,"message":{{"role":"assistant","content":"answer {n}"}},"finish_reason":"stop"}}]}}"#
                );
                out.extend(records_support::lines(
                    EndpointKind::Chat,
                    workflow,
                    &request,
                    &answer,
                    &at,
                ));
            }
        }
    }
    out
}

/// The two instances' local data folders, and the store holding the same records as segments.
struct Fleet {
    root: TempDir,
    store: Seaweed,
}

impl Fleet {
    fn start(bucket: &str) -> Option<Fleet> {
        let store = Seaweed::start(bucket)?;
        let root = TempDir::new().expect("temp dir");
        for (i, instance) in INSTANCES.iter().enumerate() {
            records_support::write(&root.path().join(instance), records(i));
        }
        let fleet = Fleet { root, store };
        let mut seq = 0;
        for instance in INSTANCES {
            for workflow in WORKFLOWS {
                for day in DAYS {
                    let file = fleet.local(instance).join(workflow).join(day_folder(day));
                    let text = std::fs::read_to_string(file.join("data.jsonl")).expect("day file");
                    let lines: Vec<&str> = text.split_inclusive('\n').collect();
                    assert_eq!(lines.len(), 4);
                    for part in lines.chunks(2) {
                        seq += 1;
                        fleet.upload(instance, workflow, day, seq, &part.concat());
                    }
                }
            }
        }
        // Objects that are not segments are listed and ignored, never read.
        for key in ["README.txt", "workflow=w1/notes.txt"] {
            fleet
                .store
                .put(&format!("{PREFIX}/{key}"), b"not a segment");
        }
        Some(fleet)
    }

    /// Uploads `text` as the sink would name it; the compression turns with `seq`.
    fn upload(&self, instance: &str, workflow: &str, day: &str, seq: u64, text: &str) {
        let first: serde_json::Value =
            serde_json::from_str(text.lines().next().expect("a line")).expect("json");
        let time = chrono::DateTime::parse_from_rfc3339(first["timestamp"].as_str().expect("ts"))
            .expect("rfc 3339")
            .format("%Y%m%dT%H%M%SZ");
        let (ext, bytes) = match seq % 3 {
            0 => ("jsonl.gz", gzip(text.as_bytes())),
            1 => (
                "jsonl.zst",
                zstd::encode_all(text.as_bytes(), 3).expect("zstd"),
            ),
            _ => ("jsonl", text.as_bytes().to_vec()),
        };
        let key =
            format!("{PREFIX}/workflow={workflow}/date={day}/{instance}-{time}-{seq:06}.{ext}");
        self.store.put(&key, &bytes);
    }

    fn local(&self, instance: &str) -> PathBuf {
        self.root.path().join(instance).join("data")
    }

    fn url(&self) -> String {
        self.store.url_for(PREFIX)
    }

    /// `micromodel <tool> --data-dir D... args...` with the store's environment.
    fn run(&self, tool: &str, dirs: &[String], args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_micromodel"));
        command.arg(tool);
        for dir in dirs {
            command.arg("--data-dir").arg(dir);
        }
        command
            .args(args)
            .env_remove("MICROMODEL_DATA_DIR")
            .envs(self.store.env());
        command.output().expect("binary runs")
    }

    fn locals(&self) -> Vec<String> {
        INSTANCES
            .iter()
            .map(|i| self.local(i).display().to_string())
            .collect()
    }

    /// stdout of a run that must succeed, and its stderr.
    fn ok(&self, tool: &str, dirs: &[String], args: &[&str]) -> (String, String) {
        let output = self.run(tool, dirs, args);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(
            output.status.success(),
            "{tool} {dirs:?} {args:?}: {stderr}"
        );
        (String::from_utf8(output.stdout).expect("utf-8"), stderr)
    }
}

fn day_folder(day: &str) -> String {
    let date = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").expect("date");
    date.format("%d-%m-%Y").to_string()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// The bucket note of a summary: (listings, objects selected, objects read).
fn bucket_note(stderr: &str, url: &str) -> (u64, u64, u64) {
    let line = stderr
        .lines()
        .find(|l| l.starts_with(&format!("note: bucket {url}: ")))
        .unwrap_or_else(|| panic!("no bucket note in {stderr}"));
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().expect("number"))
        .collect();
    let n = numbers.len();
    (numbers[n - 3], numbers[n - 2], numbers[n - 1])
}

#[test]
fn export_stats_and_validate_read_the_bucket_as_the_folders() {
    let Some(fleet) = Fleet::start("same") else {
        return;
    };
    let bucket = vec![fleet.url()];
    for args in [
        &[][..],
        &["--format", "openai", "--dedupe"][..],
        &["--format", "hf", "--since", "2025-08-25"][..],
    ] {
        let (local, _) = fleet.ok("export", &fleet.locals(), args);
        let (remote, _) = fleet.ok("export", &bucket, args);
        assert!(!local.is_empty());
        assert_eq!(remote, local, "export {args:?}");
    }
    assert_eq!(
        fleet.ok("export", &fleet.locals(), &[]).0.lines().count(),
        32
    );

    let out = fleet.root.path().join("out");
    std::fs::create_dir(&out).expect("mkdir");
    let target = |name: &str| out.join(name).display().to_string();
    let (l, r) = (target("local.jsonl"), target("bucket.jsonl"));
    fleet.ok("export", &fleet.locals(), &["--split", "0.5", "--out", &l]);
    fleet.ok("export", &bucket, &["--split", "0.5", "--out", &r]);
    for part in ["train", "valid"] {
        let read = |stem: &str| {
            std::fs::read(out.join(format!("{stem}.{part}.jsonl"))).expect("split part")
        };
        assert_eq!(read("bucket"), read("local"), "{part}");
    }

    let (local, _) = fleet.ok("stats", &fleet.locals(), &["--json"]);
    let (remote, stderr) = fleet.ok("stats", &bucket, &["--json"]);
    assert_eq!(remote, local, "stats --json");
    assert_eq!(bucket_note(&stderr, &fleet.url()), (7, 16, 16), "{stderr}");

    let (problems, stderr) = fleet.ok("validate", &bucket, &[]);
    assert_eq!(problems, "", "{stderr}");
    assert!(stderr.contains("8 files, 32 lines: 0 problems"), "{stderr}");
}

#[test]
fn a_folder_and_a_bucket_merge_as_two_folders() {
    let Some(fleet) = Fleet::start("mixed") else {
        return;
    };
    let only_b = "only-b";
    for key in fleet.store.keys(&format!("{PREFIX}/")) {
        if key.contains("/mm-b-") {
            let to = key.replacen(PREFIX, only_b, 1);
            fleet.store.put(&to, &fleet.store.get(&key));
        }
    }
    let mixed = vec![
        fleet.local("mm-a").display().to_string(),
        fleet.store.url_for(only_b),
    ];
    let (local, _) = fleet.ok("export", &fleet.locals(), &["--dedupe"]);
    assert_eq!(fleet.ok("export", &mixed, &["--dedupe"]).0, local);

    // The same layout in a folder (`--sink file:///...`), as a file:// URL.
    let copy = fleet.root.path().join("copy");
    for key in fleet.store.keys(&format!("{only_b}/")) {
        let path = copy.join(&key);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, fleet.store.get(&key)).expect("write copy");
    }
    let folder = format!("file://{}", copy.join(only_b).display());
    let mixed = [mixed[0].clone(), folder.clone()];
    assert_eq!(fleet.ok("export", &mixed, &["--dedupe"]).0, local);
    let missing = format!("{folder}-missing");
    fails(
        &fleet.run("export", std::slice::from_ref(&missing), &[]),
        &missing,
    );
}

#[test]
fn workflow_and_days_prune_before_listing() {
    let Some(fleet) = Fleet::start("prune") else {
        return;
    };
    let bucket = vec![fleet.url()];
    type Case<'a> = (&'a [&'a str], (u64, u64, u64));
    let cases: [Case; 4] = [
        // root, 2 workflows, 4 days; 16 segments, each read twice (Responses pre-pass).
        (&[], (7, 16, 32)),
        // Only workflow=w1/ is listed (not the root, not w2).
        (&["--workflow", "w1"], (3, 8, 16)),
        (&["--since", "2025-08-25"], (5, 8, 16)),
        (&["--workflow", "w2", "--until", "2025-08-24"], (2, 4, 8)),
    ];
    for (args, expected) in cases {
        let (local, _) = fleet.ok("export", &fleet.locals(), args);
        let (remote, stderr) = fleet.ok("export", &bucket, args);
        assert_eq!(remote, local, "{args:?}");
        assert_eq!(
            bucket_note(&stderr, &fleet.url()),
            expected,
            "{args:?}: {stderr}"
        );
    }
}

/// A failed run: exit 1, and stderr (checked to name `names`, never the secret key).
fn fails(output: &Output, names: &str) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(names), "{names:?} not in {stderr}");
    assert!(!stderr.contains(SECRET_KEY), "{stderr}");
    assert!(output.stdout.is_empty(), "{:?}", output.stdout);
    stderr
}

#[test]
fn bucket_errors_name_the_url() {
    let Some(mut fleet) = Fleet::start("errors") else {
        return;
    };
    let missing = fleet.store.url_for("nothing/here");
    let missing = missing.replace("s3://errors/", "s3://no-such-bucket/");
    for tool in ["export", "stats", "validate"] {
        let stderr = fails(
            &fleet.run(tool, std::slice::from_ref(&missing), &[]),
            &missing,
        );
        assert!(stderr.contains("NoSuchBucket"), "{stderr}");
    }

    let bad_key = Command::new(env!("CARGO_BIN_EXE_micromodel"))
        .args(["export", "--data-dir", &fleet.url()])
        .envs(fleet.store.env())
        .env("AWS_SECRET_ACCESS_KEY", "wrong-secret")
        .output()
        .expect("binary runs");
    let stderr = fails(&bad_key, &fleet.url());
    assert!(stderr.contains("SignatureDoesNotMatch"), "{stderr}");
    assert!(!stderr.contains("wrong-secret"), "{stderr}");

    for (url, names) in [
        ("s3://", "no bucket name"),
        ("ftp://host/x", "unsupported scheme"),
        ("s3://bucket:9000/p", "AWS_ENDPOINT_URL"),
        ("s3://key:hunter2@bucket/p", "s3://<redacted>@bucket/p"),
    ] {
        let stderr = fails(&fleet.run("export", &[url.to_owned()], &[]), names);
        assert!(!stderr.contains("hunter2"), "{stderr}"); // never the URL's password
    }

    let repair = fleet.run("validate", &[fleet.url()], &["--repair"]);
    fails(&repair, "local folders only");

    // An object that does not decompress: the error names it.
    let corrupt =
        format!("{PREFIX}/workflow=w3/date=2025-08-24/mm-a-20250824T100000Z-000099.jsonl.gz");
    fleet.store.put(&corrupt, b"not gzip at all");
    let output = fleet.run("export", &[fleet.url()], &["--workflow", "w3"]);
    fails(&output, &format!("s3://errors/{corrupt}"));

    // The store down: connections refused.
    fleet.store.stop();
    let stderr = fails(&fleet.run("export", &[fleet.url()], &[]), &fleet.url());
    assert!(stderr.contains("the store does not answer"), "{stderr}");
}

/// DuckDB (`pip install duckdb`; `.ci/run` installs it) over a downloaded copy of the bucket,
/// as docs/data-tools.md shows: `read_json(..., hive_partitioning=true)` sees the `workflow`
/// and `date` partitions as columns, and every record once.
#[test]
fn duckdb_reads_a_copy_of_the_bucket_with_hive_partitions() {
    let probe = Command::new("python3")
        .args(["-c", "import duckdb"])
        .output();
    if !probe.as_ref().is_ok_and(|o| o.status.success()) {
        let why = "SKIPPED: python3 cannot import duckdb (pip install duckdb)";
        assert!(
            std::env::var_os("MICROMODEL_REQUIRE_TOOLS").is_none(),
            "{why}"
        );
        eprintln!("{why}");
        return;
    }
    let Some(fleet) = Fleet::start("duck") else {
        return;
    };
    let copy = fleet.root.path().join("bucket-copy");
    for key in fleet.store.keys("") {
        let path = copy.join(&key);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, fleet.store.get(&key)).expect("write copy");
    }
    let rows = duckdb(
        &copy,
        "SELECT workflow, CAST(date AS VARCHAR), count(*), count(DISTINCT request_id) \
         FROM read_json('{root}/**/*.jsonl*', hive_partitioning = true) \
         GROUP BY ALL ORDER BY ALL",
    );
    let mut expected = Vec::new();
    for workflow in WORKFLOWS {
        for day in DAYS {
            expected.push(format!("{workflow}|{day}|8|8"));
        }
    }
    assert_eq!(rows, expected);
}

/// Runs `sql` (`{root}` replaced by `root`) in DuckDB from Python; rows as `a|b|c`.
fn duckdb(root: &Path, sql: &str) -> Vec<String> {
    let sql = sql.replace("{root}", &root.display().to_string());
    let script = "import duckdb, sys\n\
                  for row in duckdb.sql(sys.argv[1]).fetchall():\n    \
                  print('|'.join(str(v) for v in row))\n";
    let output = Command::new("python3")
        .args(["-c", script, &sql])
        .output()
        .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "duckdb: {stderr}");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}
