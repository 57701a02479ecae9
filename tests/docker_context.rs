//! The Docker build sees only what `.dockerignore` lets through and what the Dockerfile
//! copies. There is no Docker engine in CI, so these checks keep the two in step with the
//! sources: every file the crate embeds at compile time (`include_str!`, `include_bytes!`)
//! and every target Cargo.toml declares must be inside the build context, and the Dockerfile
//! must copy each allowed path.

use std::path::{Component, Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The paths `.dockerignore` re-allows after its leading `*` (`!path`), without a trailing `/`.
fn allowed() -> Vec<String> {
    let text = std::fs::read_to_string(root().join(".dockerignore")).expect(".dockerignore");
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(lines.first(), Some(&"*"), "the context starts from nothing");
    lines
        .iter()
        .filter_map(|l| l.strip_prefix('!'))
        .map(|p| p.trim_end_matches('/').to_owned())
        .collect()
}

fn in_context(relative: &Path, allowed: &[String]) -> bool {
    let text = relative.to_string_lossy().replace('\\', "/");
    allowed
        .iter()
        .any(|a| text == *a || text.starts_with(&format!("{a}/")))
}

/// `path` with `.` and `..` resolved lexically.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source directory") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The literal paths of `include_str!("...")` and `include_bytes!("...")` in `source`.
fn included_paths(source: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for marker in ["include_str!(\"", "include_bytes!(\""] {
        let mut rest = source;
        while let Some(at) = rest.find(marker) {
            rest = &rest[at + marker.len()..];
            if let Some(end) = rest.find('"') {
                paths.push(rest[..end].to_owned());
            }
        }
    }
    paths
}

#[test]
fn every_embedded_file_is_in_the_build_context() {
    let allowed = allowed();
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut checked = 0;
    for file in files {
        let source = std::fs::read_to_string(&file).expect("a source file");
        for included in included_paths(&source) {
            let resolved = normalize(&file.parent().expect("a directory").join(&included));
            let relative = resolved
                .strip_prefix(root())
                .unwrap_or_else(|_| panic!("{}: {included} is outside the repo", file.display()))
                .to_owned();
            assert!(
                resolved.is_file(),
                "{}: {included} does not exist",
                file.display()
            );
            assert!(
                in_context(&relative, &allowed),
                "{} embeds {}, which .dockerignore keeps out of the image build",
                file.display(),
                relative.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 3, "the embedded files were found ({checked})");
}

#[test]
fn cargo_targets_and_the_dockerfile_copies_match_the_context() {
    let allowed = allowed();
    for needed in ["Cargo.toml", "Cargo.lock", "src", "doc/openapi.json"] {
        assert!(allowed.iter().any(|a| a == needed), "{needed} is allowed");
    }
    // Without its build script, the image's binary would link without the flags it sets.
    if root().join("build.rs").exists() {
        assert!(
            in_context(Path::new("build.rs"), &allowed),
            "build.rs is allowed"
        );
    }
    let manifest: toml::Value =
        toml::from_str(&std::fs::read_to_string(root().join("Cargo.toml")).unwrap()).unwrap();
    // Declared benches must exist in the context, or `cargo build` fails to read the manifest.
    for bench in manifest["bench"].as_array().into_iter().flatten() {
        let name = bench["name"].as_str().expect("a bench name");
        let path = bench
            .get("path")
            .and_then(toml::Value::as_str)
            .map_or_else(|| format!("benches/{name}.rs"), str::to_owned);
        assert!(in_context(Path::new(&path), &allowed), "bench {path}");
    }
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).expect("Dockerfile");
    let copied: Vec<&str> = dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("COPY "))
        .filter(|l| !l.starts_with("--from") && !l.starts_with("--chmod"))
        .flat_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            words[..words.len() - 1].to_vec()
        })
        .collect();
    for path in &allowed {
        assert!(
            copied.iter().any(|c| c.trim_end_matches('/') == path),
            "the Dockerfile does not COPY {path} (copied: {copied:?})"
        );
    }
    for path in &copied {
        assert!(
            in_context(Path::new(path.trim_end_matches('/')), &allowed),
            "the Dockerfile copies {path}, which .dockerignore keeps out"
        );
    }
}

/// The image's build runs scripts/build-pgo: the script, what it sources, and every example it
/// builds must be in the context, or the build fails where no test here would see it.
#[test]
fn what_the_pgo_build_needs_is_in_the_context() {
    let allowed = allowed();
    let script = std::fs::read_to_string(root().join("scripts/build-pgo")).expect("build-pgo");
    let mut needed = vec!["scripts/build-pgo".to_owned(), "policies".to_owned()];
    let words: Vec<&str> = script.split_whitespace().collect();
    for pair in words.windows(2) {
        match pair {
            // `binaries=(... --example NAME)`: the name without the closing parenthesis.
            ["--example", name] => needed.push(format!(
                "examples/{}.rs",
                name.trim_end_matches(|c: char| !c.is_alphanumeric())
            )),
            ["source", path] => needed.push((*path).to_owned()),
            _ => {}
        }
    }
    assert!(
        needed.iter().filter(|n| n.starts_with("examples/")).count() >= 2
            && needed.iter().any(|n| n.ends_with("loadtest-common.sh")),
        "the examples and the sourced script were found: {needed:?}"
    );
    for path in &needed {
        assert!(root().join(path).exists(), "{path} exists");
        assert!(
            in_context(Path::new(path), &allowed),
            "scripts/build-pgo needs {path}, which .dockerignore keeps out"
        );
    }
}
