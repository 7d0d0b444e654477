//! The workspace's shape, checked on every test run: no source file outside
//! tests over 600 lines, and no import circles between sibling modules of
//! `flags-core` and `flags-middleware` (a module that uses a sibling which
//! uses it back has no order a reader can follow, and is one module split in
//! the wrong place).
//!
//! The import scan reads the source text, not the compiler's view: it follows
//! `crate::`, `super::` and `self::` paths (in `use` trees and inline),
//! through the `pub use` re-exports of each module, and ignores comments and
//! a file's trailing `#[cfg(test)]` module.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 600;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if name != "target" && !name.to_string_lossy().starts_with('.') {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Test code: a `tests.rs` module, anything under a `tests` or `ui`
/// directory, and the `flags-tests` crate.
fn is_test(rel: &Path) -> bool {
    rel.starts_with("tests")
        || rel.file_name().is_some_and(|n| n == "tests.rs")
        || rel.components().any(|c| c.as_os_str() == "tests")
}

#[test]
fn no_source_file_is_over_600_lines() {
    let root = workspace();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(files.len() > 100, "found only {} .rs files", files.len());
    let mut long: Vec<String> = files
        .iter()
        .filter_map(|path| {
            let rel = path.strip_prefix(&root).unwrap();
            let lines = fs::read_to_string(path).unwrap().lines().count();
            (!is_test(rel) && lines > MAX_LINES).then(|| format!("{} ({lines})", rel.display()))
        })
        .collect();
    long.sort();
    assert!(long.is_empty(), "over {MAX_LINES} lines: {long:?}");
}

/// A module's path inside its crate (`["layer", "request"]`).
type ModPath = Vec<String>;

/// One crate's modules: each module's source, and the items it re-exports
/// from a child module (`FlagsLayer` → `builder` in `layer`).
struct Crate {
    sources: BTreeMap<ModPath, String>,
    reexports: BTreeMap<ModPath, BTreeMap<String, String>>,
}

impl Crate {
    fn read(src: &Path) -> Crate {
        let mut files = Vec::new();
        rust_files(src, &mut files);
        assert!(!files.is_empty(), "no .rs files under {}", src.display());
        let mut sources = BTreeMap::new();
        for file in files {
            let rel = file.strip_prefix(src).unwrap();
            // Test modules may use whatever they test.
            if is_test(rel) {
                continue;
            }
            let mut path: ModPath = rel
                .with_extension("")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                path.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                path.pop();
            }
            let text = fs::read_to_string(&file).unwrap();
            sources.insert(path, code_only(&text));
        }
        let mut reexports = BTreeMap::new();
        for (path, text) in &sources {
            let mut items = BTreeMap::new();
            for tree in use_trees(text, true) {
                for use_path in expand(&tree) {
                    let segments: Vec<&str> = use_path.iter().map(String::as_str).collect();
                    let segments = segments.strip_prefix(&["self"]).unwrap_or(&segments);
                    let [child, .., item] = segments else {
                        continue;
                    };
                    let mut child_path = path.clone();
                    child_path.push((*child).to_owned());
                    if sources.contains_key(&child_path) {
                        let name = item.rsplit(" as ").next().unwrap_or(item);
                        items.insert(name.to_owned(), (*child).to_owned());
                    }
                }
            }
            reexports.insert(path.clone(), items);
        }
        Crate { sources, reexports }
    }

    /// The module a path used in module `from` names (as deep as the
    /// module tree and one re-export go), or `None` outside the crate.
    fn resolve(&self, from: &ModPath, path: &[String]) -> Option<ModPath> {
        let mut segments = path.iter().map(String::as_str).peekable();
        let mut at = match segments.next()? {
            "crate" => Vec::new(),
            "self" => from.clone(),
            "super" => {
                let mut at = from.clone();
                at.pop()?;
                while segments.next_if_eq(&"super").is_some() {
                    at.pop()?;
                }
                at
            }
            _ => return None,
        };
        for segment in segments {
            let mut child = at.clone();
            child.push(segment.to_owned());
            if self.sources.contains_key(&child) {
                at = child;
            } else if let Some(module) = self.reexports.get(&at).and_then(|r| r.get(segment)) {
                at.push(module.clone());
                break;
            } else {
                break;
            }
        }
        Some(at)
    }

    /// For each parent module, which child uses which sibling.
    fn sibling_uses(&self) -> BTreeMap<ModPath, BTreeMap<String, BTreeSet<String>>> {
        let mut graph: BTreeMap<ModPath, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
        for (from, text) in &self.sources {
            let paths = use_trees(text, false)
                .iter()
                .flat_map(|t| expand(t))
                .chain(inline_paths(text))
                .collect::<Vec<_>>();
            for path in paths {
                let Some(to) = self.resolve(from, &path) else {
                    continue;
                };
                let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
                if common < from.len() && common < to.len() {
                    graph
                        .entry(from[..common].to_vec())
                        .or_default()
                        .entry(from[common].clone())
                        .or_default()
                        .insert(to[common].clone());
                }
            }
        }
        graph
    }
}

/// The text without comments and without the trailing test module.
fn code_only(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests {") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .map(|line| match line.find("//") {
            Some(i) if !line[..i].contains('"') => &line[..i],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The trees of the `use` items (only the `pub use` ones when
/// `reexports_only`), whitespace removed: `super::{a,b::C}`.
fn use_trees(text: &str, reexports_only: bool) -> Vec<String> {
    let mut trees = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("use ") {
        let before = &rest[..i];
        let starts_item = before.is_empty() || before.ends_with(char::is_whitespace);
        let line_start = before.rsplit('\n').next().unwrap_or("").trim_start();
        rest = &rest[i + 4..];
        let visibility = line_start.trim_end();
        let is_item = matches!(visibility, "" | "pub" | "pub(crate)" | "pub(super)");
        if !starts_item || !is_item || (reexports_only && visibility.is_empty()) {
            continue;
        }
        let Some(end) = rest.find(';') else { break };
        let tree: String = rest[..end].split_whitespace().collect::<Vec<_>>().join(" ");
        trees.push(
            tree.replace(" as ", "\u{0}")
                .replace(' ', "")
                .replace('\u{0}', " as "),
        );
        rest = &rest[end..];
    }
    trees
}

/// Every full path a use tree names.
fn expand(tree: &str) -> Vec<Vec<String>> {
    fn go(prefix: &[String], tree: &str, out: &mut Vec<Vec<String>>) {
        let (head, group) = match tree.find('{') {
            Some(i) => (&tree[..i], Some(&tree[i + 1..tree.len() - 1])),
            None => (tree, None),
        };
        let mut path = prefix.to_vec();
        path.extend(
            head.split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        );
        let Some(group) = group else {
            out.push(path);
            return;
        };
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    go(&path, &group[start..i], out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        if start < group.len() {
            go(&path, &group[start..], out);
        }
    }
    let mut out = Vec::new();
    go(&[], tree, &mut out);
    // `a::{self, b}`: `self` names `a` itself.
    for path in &mut out {
        if path.last().is_some_and(|s| s == "self") {
            path.pop();
        }
    }
    out.retain(|p| !p.is_empty());
    out
}

/// `crate::a::b`, `super::x` and `self::y` paths written inline in code.
fn inline_paths(text: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    for start in ["crate::", "super::", "self::"] {
        for (i, _) in text.match_indices(start) {
            let before = text[..i].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let path: String = text[i..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            paths.push(
                path.split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
            );
        }
    }
    paths
}

/// A cycle through `start` in `uses`, if there is one.
fn cycle_from(start: &str, uses: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn walk(
        at: &str,
        start: &str,
        uses: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for next in uses.get(at).into_iter().flatten() {
            if next == start {
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(next, start, uses, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_owned()];
    walk(start, start, uses, &mut path, &mut BTreeSet::new()).then(|| {
        path.push(start.to_owned());
        path
    })
}

fn circles(src: &str) -> Vec<String> {
    let krate = Crate::read(&workspace().join(src));
    let mut found = Vec::new();
    for (parent, uses) in krate.sibling_uses() {
        let mut reported = BTreeSet::new();
        for module in uses.keys() {
            if reported.contains(module) {
                continue;
            }
            if let Some(cycle) = cycle_from(module, &uses) {
                reported.extend(cycle.iter().cloned());
                let at = if parent.is_empty() {
                    "crate".to_owned()
                } else {
                    parent.join("::")
                };
                found.push(format!("{at}: {}", cycle.join(" -> ")));
            }
        }
    }
    found
}

#[test]
fn flags_core_has_no_import_circles() {
    let found = circles("flags-core/src");
    assert!(found.is_empty(), "import circles: {found:#?}");
}

#[test]
fn flags_middleware_has_no_import_circles() {
    let found = circles("flags-middleware/src");
    assert!(found.is_empty(), "import circles: {found:#?}");
}

/// The scan itself: it must see the kinds of paths the crates use.
#[test]
fn the_scan_sees_use_trees_reexports_and_inline_paths() {
    assert_eq!(
        expand("super::{config::Config,events::{self,id_kind}}"),
        [
            vec!["super", "config", "Config"],
            vec!["super", "events"],
            vec!["super", "events", "id_kind"],
        ]
    );
    assert_eq!(
        inline_paths("let x = super::error::E::new(crate::a::b);"),
        [vec!["crate", "a", "b"], vec!["super", "error", "E", "new"]]
    );
    let mut uses = BTreeMap::new();
    uses.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    uses.insert("b".to_owned(), BTreeSet::from(["a".to_owned()]));
    assert_eq!(cycle_from("a", &uses).unwrap(), ["a", "b", "a"]);
}
