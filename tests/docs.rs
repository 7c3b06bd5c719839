//! The docs check: every shell command shown in README.md and docs/*.md stays true.
//!
//! Every fenced block whose language is `sh`, `bash`, `shell`, `zsh` or `console` carries exactly
//! one tag after the language in its info string (GitHub renders only the language):
//!
//! - ```` ```sh run ````: executed with `bash -euo pipefail` in a fresh temporary folder, with the
//!   folder of the freshly built `micromodel` first on `PATH`; it must exit 0 within
//!   [`BLOCK_TIMEOUT`]. Anything it leaves running is killed with its process group.
//! - ```` ```sh run-with-demo ````: the same, but first the harness starts `micromodel demo`, one
//!   per doc file, in a temporary folder shared by all that file's `run-with-demo` blocks (run in
//!   document order, so a tour can send a request and then look at the record). The demo listens on
//!   a free port and an admin listener on another: `127.0.0.1:3001` and `127.0.0.1:9464` in the
//!   block are replaced by those addresses. Before each block the harness waits (bounded) until
//!   every recorded answer so far has reached the disk, as a person typing would.
//! - ```` ```sh covered-by=PATH ```` or `covered-by=PATH::NAME`: exercised elsewhere; PATH (a test
//!   file or `.ci/run`) must exist in the repository, and NAME, when given, must appear in it as
//!   `fn NAME` (a test) or as a line of the file.
//! - ```` ```sh not-run=REASON ````: cannot run here (a cluster, a container engine, systemd).
//!
//! Python blocks (`python`, `py`) carry the same tags; a runnable one is fed to `python3` (the
//! `openai` package is installed by `.ci/run` before the tests). Blocks in other languages
//! (json, yaml, text) are not commands and need no tag. The runnable
//! blocks need `bash` and `curl`. Relative links must point at files inside the repository.
//! Every long flag of every subcommand (from `micromodel help`) must be mentioned somewhere in the
//! docs, and every flag row of the tables in docs/configuration.md and docs/data-tools.md must be
//! a real flag.

#[path = "docs_check/blocks.rs"]
mod blocks;
#[path = "docs_check/run.rs"]
mod run;

use std::path::Path;

use blocks::{all_blocks, doc_files, normalise, read, root, shell_blocks, Block, Tag};
use run::{run_script, Demo};

/// The addresses the docs show for the demo workflow and its admin listener.
const DOC_PORT: &str = "127.0.0.1:3001";
const DOC_ADMIN: &str = "127.0.0.1:9464";

#[test]
fn every_shell_block_says_how_it_is_checked() {
    let blocks = all_blocks();
    assert!(blocks.len() > 5, "found only {} shell blocks", blocks.len());
    let bad: Vec<String> = blocks
        .iter()
        .filter_map(|b| b.tag.as_ref().err().map(|e| format!("{}: {e}", b.place)))
        .collect();
    assert!(bad.is_empty(), "untagged shell blocks:\n{}", bad.join("\n"));
}

#[test]
fn covered_by_names_a_file_and_test_that_exist() {
    let mut bad = Vec::new();
    for block in all_blocks() {
        let Ok(Tag::CoveredBy(target)) = &block.tag else {
            continue;
        };
        let (path, name) = target.split_once("::").unwrap_or((target, ""));
        let Ok(text) = std::fs::read_to_string(root().join(path)) else {
            bad.push(format!("{}: {path} does not exist", block.place));
            continue;
        };
        let named = text.contains(&format!("fn {name}(")) || text.lines().any(|l| l.trim() == name);
        if !name.is_empty() && !named {
            bad.push(format!(
                "{}: {path} has no `fn {name}` nor a line `{name}`",
                block.place
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn links_stay_inside_the_repository() {
    let mut bad = Vec::new();
    for file in doc_files() {
        let text = read(&file);
        let base = Path::new(&file).parent().expect("a doc file has a folder");
        for (n, line) in text.lines().enumerate() {
            for target in line.split("](").skip(1).filter_map(|s| s.split(')').next()) {
                let target = target.split('#').next().unwrap_or("");
                if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                let joined = base.join(target);
                let normal = normalise(&joined);
                let inside = normal.as_ref().is_some_and(|p| root().join(p).exists());
                if !inside {
                    bad.push(format!(
                        "{file}:{}: link to {target} leaves the repository or is dead",
                        n + 1
                    ));
                }
            }
            if line.contains("../shared") || line.contains("SPEC.md") {
                bad.push(format!("{file}:{}: points outside the repository", n + 1));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn run_blocks_pass() {
    let mut failures = Vec::new();
    for block in all_blocks().iter().filter(|b| b.tag == Ok(Tag::Run)) {
        let dir = tempfile::tempdir().expect("temp dir");
        if let Err(e) = run_script(&block.script, dir.path()) {
            failures.push(format!("{}:\n{}\n{e}", block.place, block.script));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n---\n"));
}

#[test]
fn run_with_demo_blocks_pass() {
    let mut failures = Vec::new();
    for file in doc_files() {
        let blocks: Vec<Block> = shell_blocks(&file)
            .into_iter()
            .filter(|b| b.tag == Ok(Tag::RunWithDemo))
            .collect();
        if blocks.is_empty() {
            continue;
        }
        let demo = Demo::start();
        for block in &blocks {
            demo.settle();
            let script = block
                .script
                .replace(DOC_PORT, &format!("127.0.0.1:{}", demo.port))
                .replace(DOC_ADMIN, &format!("127.0.0.1:{}", demo.admin));
            if let Err(e) = run_script(&script, demo.dir.path()) {
                failures.push(format!(
                    "{}:\n{script}\n{e}\ndemo log:\n{}",
                    block.place,
                    demo.log()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n---\n"));
}

/// The subcommands whose flags the docs describe.
const SUBCOMMANDS: [&str; 6] = ["serve", "demo", "check", "export", "stats", "validate"];

/// The long flags `micromodel help SUBCOMMAND` lists (without `--help` and `--version`).
fn flags_of(subcommand: &str) -> Vec<String> {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_micromodel"))
        .args(["help", subcommand])
        .output()
        .expect("run micromodel help");
    assert!(
        output.status.success(),
        "micromodel help {subcommand} failed"
    );
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut flags: Vec<String> = text
        .lines()
        .filter(|l| l.trim_start().starts_with('-'))
        .flat_map(|l| {
            l.split([' ', ',', '=', '<'])
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|w| w.starts_with("--") && w.len() > 2 && w != "--help" && w != "--version")
        .collect();
    flags.dedup();
    flags
}

/// Whether `text` mentions `flag` as a whole word (`--data-dir` is not `--data`).
fn mentions(text: &str, flag: &str) -> bool {
    text.match_indices(flag).any(|(at, _)| {
        let next = text[at + flag.len()..].chars().next();
        !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    })
}

#[test]
fn every_flag_is_documented_and_every_documented_flag_exists() {
    let docs: String = doc_files().iter().map(|f| read(f)).collect();
    let known: Vec<String> = SUBCOMMANDS.iter().flat_map(|s| flags_of(s)).collect();
    assert!(
        known.len() > 30,
        "found only {} flags: {known:?}",
        known.len()
    );
    let mut bad: Vec<String> = SUBCOMMANDS
        .iter()
        .flat_map(|s| flags_of(s).into_iter().map(move |f| (s, f)))
        .filter(|(_, flag)| !mentions(&docs, flag))
        .map(|(s, flag)| format!("`micromodel {s} {flag}` is not described in README.md or docs/"))
        .collect();
    for file in ["docs/configuration.md", "docs/data-tools.md"] {
        for line in read(file).lines().filter(|l| l.starts_with("| `--")) {
            let flag = line[3..].split(['`', ' ', ',']).next().unwrap_or("");
            if !known.iter().any(|k| k == flag) {
                bad.push(format!(
                    "{file}: table row for {flag}, which no subcommand has"
                ));
            }
        }
    }
    bad.sort();
    bad.dedup();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
