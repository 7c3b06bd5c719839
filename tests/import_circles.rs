//! No import circle among the files of `src/`: file `a.rs` naming an item of `b.rs` (by `use`,
//! or a `crate::`/`super::` path in the code) while `b.rs` names one of `a.rs`, directly or
//! through other files. A module's own `mod.rs` and its children are not compared (a parent
//! declares its children, and a child may use what its parent re-exports).
//!
//! The parser is deliberately small: comments and string literals are blanked out, `use`
//! trees are expanded, paths are resolved against the module tree read from `mod` items
//! (with `#[path]`), and one level of `pub use` re-export is followed, so that naming an item
//! through a re-export counts as using the file that defines it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

mod circles_support;
use circles_support::{scc, strip};

/// Circles accepted for now: none. An entry matches a found circle made of some of its
/// files; an entry that no longer matches fails the test, so the list can only shrink.
const KNOWN: &[&[&str]] = &[];

type ModPath = Vec<String>;

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a valid pattern")
}
static INLINE_MOD: LazyLock<Regex> = LazyLock::new(|| re(r"\bmod\s+([a-z_0-9]+)\s*\{"));
static MOD_DECL: LazyLock<Regex> = LazyLock::new(|| re(r"\bmod\s+([a-z_0-9]+)\s*;"));
static PATH_ATTR: LazyLock<Regex> = LazyLock::new(|| re(r#"#\[path\s*=\s*"([^"]+)"\]\s*$"#));
static USE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?m)(?:^|[^\w:])((?:pub(?:\([^)]*\))?\s+)?)use\s+([^;]+);"));
static INLINE_PATH: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:^|[^\w:])((?:(?:crate|super)::)(?:\w+::)*\w+)"));

struct Tree {
    root: PathBuf,
    file_mod: BTreeMap<PathBuf, ModPath>,
    mod_file: HashMap<ModPath, PathBuf>,
    /// File → re-exported name → absolute path of what it names.
    reexports: HashMap<PathBuf, HashMap<String, ModPath>>,
}

fn read(path: &Path) -> String {
    strip(&fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// Inline `mod name { ... }` blocks: (start, end, name), by byte offset.
fn inline_scopes(text: &str) -> Vec<(usize, usize, String)> {
    INLINE_MOD
        .captures_iter(text)
        .map(|c| {
            let start = c.get(0).expect("group 0 is the match").end() - 1;
            let mut depth = 0;
            let mut end = text.len();
            for (k, ch) in text[start..].char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = start + k;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            (start, end, c[1].to_owned())
        })
        .collect()
}

fn discover(tree: &mut Tree, path: PathBuf, modpath: ModPath) {
    let raw = fs::read_to_string(&path).expect("a readable source file");
    let text = strip(&raw);
    let dir = path.parent().expect("a file in a folder").to_path_buf();
    let base = path
        .file_name()
        .and_then(|n| n.to_str())
        .expect("a UTF-8 file name");
    let own = if matches!(base, "mod.rs" | "lib.rs") {
        dir.clone()
    } else {
        dir.join(base.trim_end_matches(".rs"))
    };
    for c in MOD_DECL.captures_iter(&text) {
        let name = &c[1];
        let before = raw[..c.get(0).expect("group 0 is the match").start()].trim_end();
        let child = match PATH_ATTR.captures(before) {
            Some(p) => dir.join(&p[1]),
            None if own.join(format!("{name}.rs")).exists() => own.join(format!("{name}.rs")),
            None => own.join(name).join("mod.rs"),
        };
        assert!(child.exists(), "{}: mod {name} not found", path.display());
        let mut m = modpath.clone();
        m.push(name.to_owned());
        discover(tree, child, m);
    }
    tree.mod_file.insert(modpath.clone(), path.clone());
    tree.file_mod.insert(path, modpath);
}

/// `a::{b, c::{d, e as f}}` → [[a, b], [a, c, d], [a, c, e]].
fn expand(tree: &str, prefix: &[String], out: &mut Vec<ModPath>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let mut head = prefix.to_vec();
        head.extend(segments(&tree[..open]));
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let (mut depth, mut from) = (0, 0);
        for (k, ch) in inner.char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&inner[from..k], &head, out);
                    from = k + 1;
                }
                _ => {}
            }
        }
        expand(&inner[from..], &head, out);
    } else if !tree.is_empty() {
        let mut p = prefix.to_vec();
        p.extend(segments(tree.split(" as ").next().unwrap_or(tree)));
        out.push(p);
    }
}

fn segments(s: &str) -> Vec<String> {
    s.split("::")
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Tree {
    /// The absolute module path of `items` as written in module `here`; `None` for other crates.
    fn absolute(&self, here: &[String], items: &[String]) -> Option<ModPath> {
        let first = items.first()?;
        if first == "crate" {
            return Some(items[1..].to_vec());
        }
        let mut cur = here.to_vec();
        let mut rest = items;
        if first == "super" || first == "self" {
            while let Some(s) = rest.first().filter(|s| *s == "super" || *s == "self") {
                if s == "super" {
                    cur.pop();
                }
                rest = &rest[1..];
            }
        } else {
            let mut child = cur.clone();
            child.push(first.clone());
            if !self.mod_file.contains_key(&child) {
                return None;
            }
        }
        cur.extend(rest.iter().cloned());
        Some(cur)
    }

    fn file_of(&self, path: &[String]) -> (PathBuf, Vec<String>) {
        (0..=path.len())
            .rev()
            .find_map(|k| {
                self.mod_file
                    .get(&path[..k])
                    .map(|f| (f.clone(), path[k..].to_vec()))
            })
            .expect("the crate root always matches")
    }

    /// The file defining what `path` names, following one `pub use` hop per step.
    fn resolve(&self, path: &[String]) -> PathBuf {
        let (file, rest) = self.file_of(path);
        match rest.first().and_then(|n| self.reexports.get(&file)?.get(n)) {
            Some(target) if !path.starts_with(target) => {
                let mut next = target.clone();
                next.extend(rest[1..].iter().cloned());
                self.file_of(&next).0
            }
            _ => file,
        }
    }

    fn is_ancestor(&self, a: &Path, b: &Path) -> bool {
        let (ma, mb) = (&self.file_mod[a], &self.file_mod[b]);
        mb.starts_with(ma) || ma.starts_with(mb)
    }

    /// For each file, the paths it names (module path of the site, path as written).
    fn uses(&self, file: &Path) -> Vec<(ModPath, Vec<String>, bool)> {
        let text = read(file);
        let scopes = inline_scopes(&text);
        let here = |pos: usize| {
            let mut m = self.file_mod[file].clone();
            m.extend(
                scopes
                    .iter()
                    .filter(|s| s.0 < pos && pos < s.1)
                    .map(|s| s.2.clone()),
            );
            m
        };
        let mut found = Vec::new();
        let mut spans = Vec::new();
        for c in USE.captures_iter(&text) {
            let whole = c.get(0).expect("group 0 is the match");
            spans.push(whole.range());
            let mut items = Vec::new();
            expand(&c[2], &[], &mut items);
            for item in items {
                found.push((here(whole.start()), item, !c[1].trim().is_empty()));
            }
        }
        for c in INLINE_PATH.captures_iter(&text) {
            let m = c.get(1).expect("one group");
            if !spans.iter().any(|s| s.contains(&m.start())) {
                found.push((here(m.start()), segments(m.as_str()), false));
            }
        }
        found
    }
}

/// The circles among `src/` files, as sorted lists of paths relative to the crate.
fn circles(root: &Path) -> Vec<Vec<String>> {
    let mut tree = Tree {
        root: root.to_path_buf(),
        file_mod: BTreeMap::new(),
        mod_file: HashMap::new(),
        reexports: HashMap::new(),
    };
    discover(&mut tree, root.join("src/lib.rs"), Vec::new());
    let files: Vec<PathBuf> = tree.file_mod.keys().cloned().collect();
    let all: Vec<_> = files.iter().map(|f| (f.clone(), tree.uses(f))).collect();
    for (file, uses) in &all {
        for (here, item, public) in uses.iter().filter(|u| u.2) {
            let _ = public;
            if let Some(abs) = tree.absolute(here, item).filter(|a| !a.is_empty()) {
                let name = abs.last().expect("not empty").clone();
                tree.reexports
                    .entry(file.clone())
                    .or_default()
                    .insert(name, abs);
            }
        }
    }
    let mut adj: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for (file, uses) in &all {
        let entry = adj.entry(file.clone()).or_default();
        for (here, item, _) in uses {
            if let Some(abs) = tree.absolute(here, item) {
                let dst = tree.resolve(&abs);
                if dst != *file && !tree.is_ancestor(file, &dst) {
                    entry.insert(dst);
                }
            }
        }
    }
    let rel = |p: &PathBuf| {
        p.strip_prefix(&tree.root)
            .expect("under the root")
            .display()
            .to_string()
    };
    scc(&adj)
        .iter()
        .map(|c| c.iter().map(rel).collect())
        .collect()
}

#[test]
fn no_import_circle_among_src_files() {
    let found = circles(Path::new(env!("CARGO_MANIFEST_DIR")));
    for circle in &found {
        eprintln!("circle: {}", circle.join(", "));
    }
    let known = |c: &Vec<String>| {
        KNOWN
            .iter()
            .any(|k| c.iter().all(|f| k.contains(&f.as_str())))
    };
    let new: Vec<_> = found.iter().filter(|c| !known(c)).collect();
    assert!(new.is_empty(), "new import circles in src/: {new:#?}");
    let gone: Vec<_> = KNOWN
        .iter()
        .filter(|k| {
            !found
                .iter()
                .any(|c| c.iter().all(|f| k.contains(&f.as_str())))
        })
        .collect();
    assert!(
        gone.is_empty(),
        "circles gone, remove them from KNOWN: {gone:#?}"
    );
}

#[test]
fn the_finder_sees_a_circle_and_resolves_re_exports() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    fs::create_dir_all(src.join("m")).unwrap();
    let write = |p: &str, t: &str| fs::write(src.join(p), t).unwrap();
    write(
        "lib.rs",
        "pub mod m;\nmod leaf;\n// use crate::m::a::X; (a comment)\n",
    );
    write("leaf.rs", "pub struct L;\n");
    write("m/mod.rs", "mod a;\nmod b;\nmod c;\npub use c::C;\n");
    write(
        "m/a.rs",
        "use super::b::B;\npub struct A;\nconst S: &str = \"crate::m::c::C\";\n",
    );
    write("m/b.rs", "pub struct B(pub super::a::A, crate::leaf::L);\n");
    write("m/c.rs", "use super::{a::A, b::B as Bee};\npub struct C;\n");
    assert_eq!(circles(dir.path()), vec![vec!["src/m/a.rs", "src/m/b.rs"]]);
    // c.rs named through the parent's re-export: a.rs → c.rs → a.rs is a circle too.
    write(
        "m/a.rs",
        "use super::b::B;\npub struct A;\nfn f(_: super::C) {}\n",
    );
    assert_eq!(
        circles(dir.path()),
        vec![vec!["src/m/a.rs", "src/m/b.rs", "src/m/c.rs"]]
    );
}
