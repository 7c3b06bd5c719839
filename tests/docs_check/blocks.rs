//! Finding the doc files and their fenced shell blocks, and reading each block's tag.

use std::path::{Path, PathBuf};

/// Info-string languages that are shell.
const SHELL_LANGUAGES: [&str; 5] = ["sh", "bash", "shell", "zsh", "console"];
/// Info-string languages that are Python: tagged like shell blocks, run with `python3`.
const PYTHON_LANGUAGES: [&str; 2] = ["python", "py"];

/// How a shell block is checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Tag {
    /// `run`: executed in an empty temporary folder.
    Run,
    /// `run-with-demo`: executed beside a running `micromodel demo`.
    RunWithDemo,
    /// `covered-by=PATH[::NAME]`: exercised by that test or CI step.
    CoveredBy(String),
    /// `not-run=REASON`: cannot run on a test machine, for that reason.
    NotRun(String),
}

/// One fenced shell block.
#[derive(Debug)]
pub struct Block {
    /// `README.md:12`: where the block starts.
    pub place: String,
    /// The tag, or why the info string is not a valid tag.
    pub tag: Result<Tag, String>,
    /// The commands.
    pub script: String,
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every docs/*.md, relative to the root, sorted.
pub fn doc_files() -> Vec<String> {
    let mut files = vec!["README.md".to_string()];
    let mut docs: Vec<String> = std::fs::read_dir(root().join("docs"))
        .expect("docs/ exists")
        .map(|e| {
            e.expect("read docs/")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".md"))
        .map(|n| format!("docs/{n}"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

pub fn read(file: &str) -> String {
    std::fs::read_to_string(root().join(file)).unwrap_or_else(|e| panic!("read {file}: {e}"))
}

pub fn parse_tag(rest: &str) -> Result<Tag, String> {
    match rest {
        "run" => Ok(Tag::Run),
        "run-with-demo" => Ok(Tag::RunWithDemo),
        _ if rest.starts_with("covered-by=") => {
            let target = &rest["covered-by=".len()..];
            let path = target.split("::").next().unwrap_or("");
            if path.is_empty() || path.contains(char::is_whitespace) {
                return Err(format!("covered-by needs a path: {rest:?}"));
            }
            Ok(Tag::CoveredBy(target.to_string()))
        }
        _ if rest.starts_with("not-run=") && rest.len() > 8 => {
            Ok(Tag::NotRun(rest["not-run=".len()..].to_string()))
        }
        "" => Err("no tag: add run, run-with-demo, covered-by=PATH or not-run=REASON".into()),
        other => Err(format!("unknown tag {other:?}")),
    }
}

/// Every fenced shell or Python block of `file` (a Python block's script is a shell command
/// that feeds it to `python3`).
pub fn shell_blocks(file: &str) -> Vec<Block> {
    let text = read(file);
    let mut blocks = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let trimmed = line.trim_start();
        let fence_len = trimmed.chars().take_while(|&c| c == '`').count();
        if fence_len < 3 {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let info = trimmed[fence_len..].trim();
        let (lang, rest) = info.split_once(char::is_whitespace).unwrap_or((info, ""));
        let mut script = String::new();
        for (_, body) in lines.by_ref() {
            let t = body.trim_start();
            if t.starts_with(&"`".repeat(fence_len)) && t.trim_end().chars().all(|c| c == '`') {
                break;
            }
            let cut = body.len() - t.len();
            script.push_str(if cut >= indent { &body[indent..] } else { t });
            script.push('\n');
        }
        let script = if PYTHON_LANGUAGES.contains(&lang) {
            format!("python3 - <<'MICROMODEL_DOC_PY'\n{script}MICROMODEL_DOC_PY\n")
        } else if SHELL_LANGUAGES.contains(&lang) {
            script
        } else {
            continue;
        };
        blocks.push(Block {
            place: format!("{file}:{}", n + 1),
            tag: parse_tag(rest.trim()),
            script,
        });
    }
    blocks
}

pub fn all_blocks() -> Vec<Block> {
    doc_files().iter().flat_map(|f| shell_blocks(f)).collect()
}

/// `a/./b/../c` → `a/c`; `None` when it climbs above the root.
pub fn normalise(path: &Path) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for part in path.components() {
        match part {
            std::path::Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            std::path::Component::ParentDir => {
                parts.pop()?;
            }
            std::path::Component::CurDir => {}
            _ => return None,
        }
    }
    Some(parts.join("/"))
}
