//! The module graph of `src/`, read from the source text:
//! - every import between top-level modules is one that `doc/architecture.md` lists in its
//!   dependency table, and every listed one exists, so the document cannot drift;
//! - the top-level graph has no cycle, and every import goes down the floors the document draws;
//! - inside every folder, no two files (or sub-folders) import each other, directly or around
//!   a circle; the folder's `mod.rs` re-exports are followed to the file that defines a name.
//!
//! Production code only: a file's `#[cfg(test)] mod tests` is left out.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// A module path below the crate root, e.g. `["http", "companion", "sign"]`.
type ModPath = Vec<String>;

/// One source file and the module it is.
struct Source {
    module: ModPath,
    /// True for `mod.rs` (a folder's hub), whose `super` is one level higher.
    is_hub: bool,
    text: String,
}

fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect_rs(&root, &mut files);
    files
        .into_iter()
        .filter_map(|path| {
            let relative = path.strip_prefix(&root).ok()?;
            let mut module: ModPath = relative
                .iter()
                .map(|c| c.to_string_lossy().trim_end_matches(".rs").to_owned())
                .collect();
            let is_hub = module.last().is_some_and(|m| m == "mod");
            if is_hub {
                module.pop();
            }
            if module == ["lib"] || module == ["main"] {
                return None;
            }
            let text = fs::read_to_string(&path).ok()?;
            // Unit tests (at the end of a file) may import what they like.
            let text = text
                .split("#[cfg(test)]\nmod tests")
                .next()
                .unwrap_or(&text);
            let text = strip_comments(text);
            Some(Source {
                module,
                is_hub,
                text,
            })
        })
        .collect()
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .expect("src is readable")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text without `//` comments (doc links name modules they do not import).
fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path a file names with `crate::`, `super::` or `self::`, from `use` trees and from
/// paths in code, resolved to a module path below the crate root.
fn referenced_paths(source: &Source) -> Vec<ModPath> {
    let mut raw: Vec<String> = Vec::new();
    for statement in use_statements(&source.text) {
        raw.extend(expand_use_tree(&statement));
    }
    raw.extend(inline_paths(&source.text));
    raw.iter()
        .filter_map(|path| resolve(source, path))
        .collect()
}

/// The bodies of `use ...;` statements (after `use`, before `;`), whitespace removed and
/// renames written `a@b`. A statement starts a line: `use`, `pub use`, `pub(crate) use`...
fn use_statements(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let line = line.trim_start();
        let line = match line.strip_prefix("pub") {
            Some(rest) if rest.starts_with('(') => rest.split_once(") ").map_or("", |(_, r)| r),
            Some(rest) => rest.trim_start(),
            None => line,
        };
        let Some(body) = line.strip_prefix("use ") else {
            continue;
        };
        let mut statement = body.to_owned();
        while !statement.contains(';') {
            match lines.next() {
                Some(more) => {
                    statement.push(' ');
                    statement.push_str(more);
                }
                None => break,
            }
        }
        let statement = statement.split(';').next().unwrap_or_default();
        // `a as b` keeps its meaning as `a@b`; then every other space goes.
        let words: Vec<&str> = statement.split_whitespace().collect();
        out.push(words.join(" ").replace(" as ", "@").replace(' ', ""));
    }
    out
}

/// `a::{b, c::{d, e@f}}` → `a::b`, `a::c::d`, `a::c::e`.
fn expand_use_tree(tree: &str) -> Vec<String> {
    match tree.find('{') {
        None => {
            let path = tree.split('@').next().unwrap_or(tree);
            vec![path.trim_end_matches("::").to_owned()]
        }
        Some(open) => {
            let prefix = &tree[..open];
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            split_top_level(inner)
                .into_iter()
                .flat_map(|item| expand_use_tree(&format!("{prefix}{item}")))
                .collect()
        }
    }
}

/// Splits on commas outside braces.
fn split_top_level(text: &str) -> Vec<&str> {
    let (mut depth, mut start, mut out) = (0, 0, Vec::new());
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out.into_iter().filter(|s| !s.is_empty()).collect()
}

/// `crate::a::b` and `super::a` paths written in code rather than in `use` statements.
fn inline_paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(found) = text[from..].find(start) {
            let at = from + found;
            let preceded_by_ident = text[..at]
                .chars()
                .last()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
            let path: String = text[at..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            if !preceded_by_ident {
                out.push(path.trim_end_matches(':').to_owned());
            }
            from = at + start.len();
        }
    }
    out
}

/// A path as written in `source`, made absolute below the crate root.
fn resolve(source: &Source, path: &str) -> Option<ModPath> {
    let mut parts = path.split("::").filter(|p| !p.is_empty());
    let mut base: ModPath = match parts.next()? {
        "crate" => Vec::new(),
        "self" => source.module.clone(),
        "super" => {
            let mut up = source.module.clone();
            up.pop()?;
            up
        }
        _ => return None,
    };
    for part in parts {
        if part == "super" {
            base.pop()?;
        } else {
            base.push(part.to_owned());
        }
    }
    Some(base)
}

/// What each folder module re-exports: name → the child module that defines it.
fn reexports(sources: &[Source]) -> BTreeMap<ModPath, BTreeMap<String, String>> {
    let mut out: BTreeMap<ModPath, BTreeMap<String, String>> = BTreeMap::new();
    for hub in sources.iter().filter(|s| s.is_hub) {
        let names = out.entry(hub.module.clone()).or_default();
        for statement in use_statements(&hub.text) {
            for path in expand_use_tree(&statement) {
                let parts: Vec<&str> = path.split("::").collect();
                if let (Some(first), Some(last)) = (parts.first(), parts.last())
                    && parts.len() >= 2
                    && !["crate", "super", "self"].contains(first)
                {
                    names.insert((*last).to_owned(), (*first).to_owned());
                }
            }
        }
    }
    out
}

/// The children (files and folders) of each folder module.
fn children(sources: &[Source]) -> BTreeMap<ModPath, BTreeSet<String>> {
    let mut out: BTreeMap<ModPath, BTreeSet<String>> = BTreeMap::new();
    for source in sources {
        for depth in 0..source.module.len() {
            out.entry(source.module[..depth].to_vec())
                .or_default()
                .insert(source.module[depth].clone());
        }
    }
    out
}

/// The edges between the children of `folder`: source child → target child.
fn edges_inside(
    folder: &[String],
    sources: &[Source],
    children: &BTreeSet<String>,
    reexports: &BTreeMap<String, String>,
) -> BTreeSet<(String, String)> {
    let mut edges = BTreeSet::new();
    for source in sources {
        if !source.module.starts_with(folder) || source.module.len() == folder.len() {
            continue;
        }
        let from = &source.module[folder.len()];
        for target in referenced_paths(source) {
            if !target.starts_with(folder) || target.len() == folder.len() {
                continue;
            }
            let name = &target[folder.len()];
            let to = if children.contains(name) {
                Some(name.clone())
            } else {
                reexports.get(name).cloned()
            };
            if let Some(to) = to
                && &to != from
                && children.contains(&to)
            {
                edges.insert((from.clone(), to));
            }
        }
    }
    edges
}

/// A cycle in the graph, if there is one, as the list of nodes around it.
fn find_cycle(edges: &BTreeSet<(String, String)>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeSet<(String, String)>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_owned(), 1);
        stack.push(node.to_owned());
        for (_, next) in edges.iter().filter(|(from, _)| from == node) {
            match state.get(next.as_str()) {
                Some(1) => {
                    let at = stack.iter().position(|n| n == next).unwrap_or(0);
                    let mut cycle = stack[at..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(cycle) = visit(next, edges, state, stack) {
                        return Some(cycle);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    let nodes: BTreeSet<&String> = edges.iter().flat_map(|(a, b)| [a, b]).collect();
    for node in nodes {
        if !state.contains_key(node.as_str())
            && let Some(cycle) = visit(node, edges, &mut state, &mut Vec::new())
        {
            return Some(cycle);
        }
    }
    None
}

/// The top-level edges as `doc/architecture.md` lists them: the rows of the table under
/// "## Dependencies", `` | `module` | `a`, `b` | ``.
fn documented_edges() -> BTreeSet<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("doc/architecture.md");
    let text = fs::read_to_string(path).expect("doc/architecture.md is readable");
    let section = text
        .split("\n## Dependencies")
        .nth(1)
        .expect("doc/architecture.md has a '## Dependencies' section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let mut edges = BTreeSet::new();
    for row in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let from = cells[1].trim_matches('`').to_owned();
        for to in cells[2].split(',').map(|t| t.trim().trim_matches('`')) {
            if !to.is_empty() && to != "(none)" {
                edges.insert((from.clone(), to.to_owned()));
            }
        }
    }
    edges
}

#[test]
fn top_level_imports_are_exactly_those_doc_architecture_lists() {
    let sources = sources();
    let children = children(&sources);
    let top = &children[&Vec::new()];
    let real = edges_inside(&[], &sources, top, &BTreeMap::new());
    let documented = documented_edges();
    let undocumented: Vec<_> = real.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&real).collect();
    assert!(
        undocumented.is_empty() && stale.is_empty(),
        "doc/architecture.md's dependency table differs from the code.\n\
         imports the table does not list (add them, or remove the import): {undocumented:?}\n\
         listed imports the code does not have (remove them from the table): {stale:?}"
    );
}

/// The floor of each top-level module as `doc/architecture.md` draws them (1 is the top): the rows of the
/// table under "## Modules", `| 4 | `http` | ... |` (a row may hold several modules).
fn documented_floors() -> BTreeMap<String, u32> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("doc/architecture.md");
    let text = fs::read_to_string(path).expect("doc/architecture.md is readable");
    let section = text
        .split("\n## Modules")
        .nth(1)
        .expect("doc/architecture.md has a '## Modules' section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let mut floors = BTreeMap::new();
    for row in section.lines().filter(|l| l.starts_with("| ")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let Ok(floor) = cells[1].parse::<u32>() else {
            continue;
        };
        for module in cells[2].split(',').map(|m| m.trim().trim_matches('`')) {
            floors.insert(module.to_owned(), floor);
        }
    }
    floors
}

#[test]
fn every_import_goes_down_the_floors_doc_architecture_draws() {
    let sources = sources();
    let children = children(&sources);
    let top = &children[&Vec::new()];
    let floors = documented_floors();
    let unplaced: Vec<_> = top.iter().filter(|m| !floors.contains_key(*m)).collect();
    assert!(unplaced.is_empty(), "modules without a floor: {unplaced:?}");
    let upward: Vec<_> = edges_inside(&[], &sources, top, &BTreeMap::new())
        .into_iter()
        .filter(|(from, to)| floors[from] >= floors[to])
        .collect();
    assert!(
        upward.is_empty(),
        "imports that do not go down a floor: {upward:?}"
    );
}

#[test]
fn top_level_modules_import_in_one_direction_only() {
    let sources = sources();
    let children = children(&sources);
    let real = edges_inside(&[], &sources, &children[&Vec::new()], &BTreeMap::new());
    assert_eq!(find_cycle(&real), None, "a cycle between top-level modules");
}

#[test]
fn no_folder_has_an_import_cycle_between_its_files() {
    let sources = sources();
    let children = children(&sources);
    let reexports = reexports(&sources);
    let empty = BTreeMap::new();
    let cycles: Vec<String> = children
        .iter()
        .filter(|(folder, _)| !folder.is_empty())
        .filter_map(|(folder, kids)| {
            let names = reexports.get(folder).unwrap_or(&empty);
            let cycle = find_cycle(&edges_inside(folder, &sources, kids, names))?;
            Some(format!("src/{}: {}", folder.join("/"), cycle.join(" -> ")))
        })
        .collect();
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_reader_sees_imports_written_every_way() {
    let source = Source {
        module: vec!["http".into(), "companion".into(), "sign".into()],
        is_hub: false,
        text: strip_comments(
            "use super::{owned::OwnedUpload, errors};\nuse crate::http::{\n    grant::{a, b as c},\n};\n\
             fn f() { crate::policy::x(); let _ = super::super::routes::only; } // crate::cli::y\n",
        ),
    };
    let paths: BTreeSet<String> = referenced_paths(&source)
        .into_iter()
        .map(|p| p.join("::"))
        .collect();
    for expected in [
        "http::companion::owned::OwnedUpload",
        "http::companion::errors",
        "http::grant::a",
        "http::grant::b",
        "policy::x",
        "http::routes::only",
    ] {
        assert!(paths.contains(expected), "{expected} in {paths:?}");
    }
    assert!(
        !paths.iter().any(|p| p.starts_with("cli")),
        "comments are not imports"
    );
    let cycle: BTreeSet<(String, String)> = [("a", "b"), ("b", "c"), ("c", "a")]
        .into_iter()
        .map(|(x, y)| (x.to_owned(), y.to_owned()))
        .collect();
    assert!(find_cycle(&cycle).is_some());
}
