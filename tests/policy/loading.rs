//! Loading profiles: the shipped files, errors that name file, key and problem, file
//! naming, the default profile, and templates or namespaces that are refused.

use s3_broker::policy::{LoadError, Profile, ProfileRegistry, RegistryOptions, UploadMethod};
use std::path::Path;

use crate::support::*;

#[test]
fn shipped_profiles_load() {
    let registry = shipped();
    assert_eq!(registry.default_profile().name(), "default");
    let names: Vec<&str> = registry.profiles().map(Profile::name).collect();
    assert_eq!(names, ["avatars", "default"]);
    let default = registry.default_profile();
    assert!(default.methods().contains(&UploadMethod::Put));
    assert!(default.methods().contains(&UploadMethod::Post));
    assert!(default.allows_client_path());
    for ct in [
        "text/plain",
        "image/png",
        "application/pdf",
        "application/octet-stream",
    ] {
        let mut i = intent("a.bin", None);
        i.content_type = ct.into();
        assert!(
            default
                .decide_upload(&user("alice"), &i, Backend::Aws, UUID, now(), None)
                .is_ok(),
            "{ct}"
        );
    }
    let avatars = registry.get("avatars").unwrap();
    assert!(avatars.allow_overwrite() && avatars.allow_inline());
}

#[test]
fn shipped_profiles_need_a_bucket_from_the_configuration() {
    let err = ProfileRegistry::load_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("policies"))
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("avatars.toml") && text.contains("key `bucket`"),
        "{text}"
    );
}

fn write(dir: &Path, file: &str, text: &str) {
    std::fs::write(dir.join(file), text).unwrap();
}

#[test]
fn a_bad_file_stops_loading_and_names_file_key_and_problem() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "default.toml", FOLDERS);
    write(
        dir.path(),
        "broken.toml",
        &format!("{FOLDERS}\nmax_expiry_secs = 999999\n"),
    );
    let err = ProfileRegistry::load_dir_with(dir.path(), &options()).unwrap_err();
    let LoadError::Profile { path, error } = &err else {
        panic!("{err}")
    };
    assert!(path.ends_with("broken.toml"));
    assert_eq!(error.key.as_deref(), Some("max_expiry_secs"));
    assert!(
        err.to_string()
            .contains("broken.toml: key `max_expiry_secs`: 999999"),
        "{err}"
    );

    write(
        dir.path(),
        "broken.toml",
        &format!("{FOLDERS}\nmax_sise = 1\n"),
    );
    let err = ProfileRegistry::load_dir_with(dir.path(), &options())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("broken.toml") && err.contains("`max_sise`") && err.contains("unknown field"),
        "{err}"
    );

    write(
        dir.path(),
        "broken.toml",
        "key_template = \"{filename}/{principal}/x\"\ncontent_types = [\"a/b\"]\nmax_size = 1\n",
    );
    let err = ProfileRegistry::load_dir_with(dir.path(), &options())
        .unwrap_err()
        .to_string();
    assert!(err.contains("broken.toml: key `key_template`"), "{err}");
}

#[test]
fn other_files_are_ignored_and_names_come_from_stems_or_the_name_key() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "general.toml",
        &format!("name = \"default\"\n{FOLDERS}"),
    );
    write(dir.path(), "iam-policy.json", "{}");
    write(dir.path(), ".hidden.toml", "garbage");
    let registry = ProfileRegistry::load_dir_with(dir.path(), &options()).unwrap();
    assert_eq!(registry.default_profile().name(), "default");
    assert_eq!(registry.get("nope").unwrap_err().code(), "unknown_profile");
    assert_eq!(registry.get("nope").unwrap_err().status(), 404);

    write(dir.path(), "default.toml", FOLDERS);
    let err = ProfileRegistry::load_dir_with(dir.path(), &options())
        .unwrap_err()
        .to_string();
    assert!(err.contains("two profiles are named `default`"), "{err}");
}

#[test]
fn a_default_profile_is_required() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "one.toml", FOLDERS);
    let only = ProfileRegistry::load_dir_with(dir.path(), &options()).unwrap();
    assert_eq!(
        only.default_profile().name(),
        "one",
        "a single profile is the default"
    );
    write(
        dir.path(),
        "two.toml",
        &FOLDERS.replace("users/{principal}", "docs/{principal}"),
    );
    let err = ProfileRegistry::load_dir_with(dir.path(), &options())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the default profile `default` does not exist"),
        "{err}"
    );
    let configured = RegistryOptions {
        default_profile: Some("two".into()),
        ..options()
    };
    let registry = ProfileRegistry::load_dir_with(dir.path(), &configured).unwrap();
    assert_eq!(registry.profile(None).unwrap().name(), "two");
    assert!(
        ProfileRegistry::load_dir_with(tempfile::tempdir().unwrap().path(), &options()).is_err()
    );
}

#[test]
fn templates_with_principal_after_client_parts_or_not_whole_are_refused() {
    for template in [
        "{filename}/{principal}/x",
        "users/{path}/{principal}/{filename}",
        "users/{uuid}/{principal}/{filename}",
        "{date}/{principal}/{filename}",
        "users/user-{principal}/{filename}",
        "users/{principal}.d/{filename}",
        "users/{filename}",
        "users/{principal}",
        "users/{principal}/{path}",
        "users/../{principal}/{filename}",
        "/users/{principal}/{filename}",
    ] {
        let text = format!(
            "key_template = {template:?}\ncontent_types = [\"a/b\"]\nmax_size = 1\nmethods = [\"PUT\"]\n"
        );
        let err = Profile::from_toml("t", &text, Some(&bucket("uploads"))).unwrap_err();
        assert_eq!(
            err.key.as_deref(),
            Some("key_template"),
            "{template}: {err}"
        );
    }
}

#[test]
fn overlapping_namespaces_are_refused() {
    let p = |name: &str, template: &str, b: &str| {
        Profile::from_toml(
            name,
            &format!("key_template = {template:?}\ncontent_types = [\"a/b\"]\nmax_size = 1\nmethods = [\"PUT\"]\nbucket = {b:?}\n"),
            None,
        )
        .unwrap()
    };
    // The principal named "users" of `flat` would own every file of `default`.
    let err = ProfileRegistry::new(
        vec![
            p("default", "users/{principal}/{filename}", "b1b"),
            p("flat", "{principal}/{filename}", "b1b"),
        ],
        None,
    )
    .unwrap_err();
    assert!(err.contains("the principal named `users`"), "{err}");
    let err = ProfileRegistry::new(
        vec![
            p("default", "users/{principal}/{filename}", "b1b"),
            p("other", "users/{principal}/x/{filename}", "b2b"),
        ],
        None,
    )
    .unwrap_err();
    assert!(err.contains("both keep files under"), "{err}");
    let err = ProfileRegistry::new(
        vec![
            p("default", "users/{principal}/{filename}", "b1b"),
            p("same", "users/{principal}/{uuid}/{filename}", "b1b"),
        ],
        None,
    )
    .unwrap_err();
    assert!(err.contains("one profile"), "{err}");
    assert!(
        ProfileRegistry::new(
            vec![
                p("default", "users/{principal}/{filename}", "b1b"),
                p("avatars", "avatars/{principal}/a", "b2b")
            ],
            None,
        )
        .is_ok()
    );
}
