//! The codes of [`Code`] against the two documents that publish them, in both directions: the
//! error tables of `doc/api.md` (and every "status `code`" mention in its text), and the
//! `ProblemCode` enum and the `Codes:` of every error response in `doc/openapi.json`.

use super::Code;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

/// The documents are read from the checkout when the tests run, not embedded: `doc/api.md` is
/// not part of the Docker build context (`tests/docker_context.rs`).
static API_MD: LazyLock<String> = LazyLock::new(|| read_doc("api.md"));
static OPENAPI: LazyLock<String> = LazyLock::new(|| read_doc("openapi.json"));

fn read_doc(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("doc")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn code_named(text: &str) -> Option<Code> {
    Code::ALL.iter().copied().find(|code| code.as_str() == text)
}

fn all_codes() -> BTreeSet<&'static str> {
    Code::ALL.iter().map(|code| code.as_str()).collect()
}

/// Whether `status` (`404`, or a class such as `4xx`) holds the code's status.
fn status_agrees(code: Code, status: &str) -> bool {
    let actual = code.status().as_u16().to_string();
    match status.strip_suffix("xx") {
        Some(class) => actual.starts_with(class),
        None => actual == status,
    }
}

/// The rows `| status | `code` | title | ...` of the tables under `## Error codes`.
fn api_md_table_rows() -> Vec<(String, String, String)> {
    let start = API_MD
        .find("\n## Error codes\n")
        .expect("doc/api.md has ## Error codes");
    let section = &API_MD[start + 1..];
    let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
    section[..end]
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.strip_prefix('|')?.split('|').map(str::trim).collect();
            let status = cells.first()?;
            let code = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            let title = cells.get(2)?;
            let is_status = status.len() == 3
                && status.starts_with(['4', '5'])
                && (status[1..].bytes().all(|b| b.is_ascii_digit()) || &status[1..] == "xx");
            is_status.then(|| ((*status).to_owned(), code.to_owned(), (*title).to_owned()))
        })
        .collect()
}

/// Every "404 `unknown_profile`" or "`400 multipart_required`" in the text of `doc/api.md`.
fn api_md_mentions() -> Vec<(String, String)> {
    let mut found = Vec::new();
    let bytes = API_MD.as_bytes();
    for (i, _) in API_MD.match_indices(|c: char| c.is_ascii_digit()) {
        let Some(status) = API_MD.get(i..i + 3) else {
            continue;
        };
        let starts_word = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        if !starts_word || !status.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if !status.starts_with(['4', '5']) {
            continue;
        }
        let rest = &API_MD[i + 3..];
        let code = rest
            .strip_prefix(" `")
            .or_else(|| (i > 0 && bytes[i - 1] == b'`').then(|| rest.strip_prefix(' '))?);
        let Some(code) = code else { continue };
        let len = code
            .bytes()
            .take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
            .count();
        if len > 0 && code[len..].starts_with('`') {
            found.push((status.to_owned(), code[..len].to_owned()));
        }
    }
    found
}

#[test]
fn every_code_is_in_the_tables_of_api_md_and_back() {
    let rows = api_md_table_rows();
    let mut documented: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    for (status, code, title) in &rows {
        documented.entry(code).or_default().push((status, title));
    }
    let undocumented: Vec<_> = all_codes()
        .into_iter()
        .filter(|code| !documented.contains_key(code))
        .collect();
    assert!(
        undocumented.is_empty(),
        "codes missing from the error tables of doc/api.md: {undocumented:?}"
    );
    for (code, statuses) in documented {
        let known = code_named(code)
            .unwrap_or_else(|| panic!("doc/api.md lists `{code}`, which is not a Code"));
        for (status, title) in statuses {
            assert!(
                status_agrees(known, status),
                "doc/api.md lists `{code}` as {status}; it is {}",
                known.status().as_u16()
            );
            assert_eq!(
                title,
                known.title(),
                "doc/api.md gives `{code}` another title than the Code"
            );
        }
    }
}

#[test]
fn every_code_has_a_title_of_its_own() {
    let mut seen = BTreeMap::new();
    for code in Code::ALL {
        let title = code.title();
        assert!(
            !title.is_empty() && title.len() <= 48 && !title.ends_with('.'),
            "`{code}`: a title is a short phrase"
        );
        if let Some(other) = seen.insert(title, code) {
            panic!("`{code}` and `{other}` share the title {title:?}");
        }
    }
}

#[test]
fn every_status_and_code_in_the_text_of_api_md_agree() {
    let mentions = api_md_mentions();
    assert!(mentions.len() > 20, "found only {mentions:?}");
    for (status, code) in mentions {
        let known = code_named(&code)
            .unwrap_or_else(|| panic!("doc/api.md mentions {status} `{code}`, not a Code"));
        assert!(
            status_agrees(known, &status),
            "doc/api.md mentions {status} `{code}`; it is {}",
            known.status().as_u16()
        );
    }
}

/// The codes of a response description: the `` `code` `` after `Codes:`, leaving out the
/// parenthesized remarks (which name fields and S3's own codes).
fn described_codes(description: &str) -> Option<Vec<String>> {
    let (_, listed) = description.split_once("Codes:")?;
    let mut depth = 0usize;
    let outside: String = listed
        .chars()
        .filter(|&c| {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                _ => return depth == 0,
            }
            false
        })
        .collect();
    Some(
        outside
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect(),
    )
}

#[test]
fn every_code_is_in_openapi_and_back() {
    let spec: serde_json::Value = serde_json::from_str(&OPENAPI).expect("doc/openapi.json parses");
    let published: BTreeSet<&str> = spec["components"]["schemas"]["ProblemCode"]["enum"]
        .as_array()
        .expect("ProblemCode has an enum")
        .iter()
        .map(|code| code.as_str().expect("a string"))
        .collect();
    let codes = all_codes();
    let missing: Vec<_> = codes.difference(&published).collect();
    let unknown: Vec<_> = published.difference(&codes).collect();
    assert!(
        missing.is_empty(),
        "codes missing from ProblemCode of doc/openapi.json: {missing:?}"
    );
    assert!(
        unknown.is_empty(),
        "ProblemCode of doc/openapi.json lists codes that are not a Code: {unknown:?}"
    );
}

#[test]
fn every_error_response_of_openapi_names_codes_of_its_status() {
    let spec: serde_json::Value = serde_json::from_str(&OPENAPI).expect("doc/openapi.json parses");
    let shared = &spec["components"]["responses"];
    let mut checked = 0;
    for (path, operations) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in operations.as_object().expect("operations") {
            let Some(responses) = operation["responses"].as_object() else {
                continue;
            };
            for (status, response) in responses {
                if !status.starts_with(['4', '5']) {
                    continue;
                }
                let response = match response["$ref"].as_str() {
                    Some(reference) => {
                        let name = reference.rsplit('/').next().expect("a name");
                        &shared[name]
                    }
                    None => response,
                };
                let description = response["description"].as_str().unwrap_or_default();
                let where_ = format!("{method} {path} {status}");
                let listed = described_codes(description)
                    .unwrap_or_else(|| panic!("{where_}: the description names no `Codes:`"));
                assert!(!listed.is_empty(), "{where_}: no code after `Codes:`");
                for code in listed {
                    let known = code_named(&code)
                        .unwrap_or_else(|| panic!("{where_}: `{code}` is not a Code"));
                    assert!(
                        status_agrees(known, status),
                        "{where_}: `{code}` is {}",
                        known.status().as_u16()
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 100, "checked only {checked} codes");
}
