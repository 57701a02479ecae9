//! Properties: every rendered key lies in the caller's namespace, traversal is always
//! refused, and ownership is a prefix of whole segments.

use proptest::prelude::*;
use uuid::Uuid;

use crate::support::*;

/// Mostly well-formed names, plus arbitrary and hostile text.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-zA-Z0-9 ._~%#\u{e9}\u{301}\u{20ac}\u{1F600}-]{1,24}",
        1 => ".{0,40}",
        1 => "[a-z./\\\\ \u{202E}\u{200B}\u{0}-]{0,30}",
    ]
}

/// Folder paths: mostly well-formed, with `.`, `..`, empty and hostile segments mixed in.
fn any_path() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        6 => "[a-zA-Z0-9_\u{e9}-]{1,12}",
        1 => prop_oneof![Just(".".to_owned()), Just("..".to_owned()), Just(String::new())],
        1 => any_text(),
    ];
    prop::collection::vec(segment, 1..6).prop_map(|parts| parts.join("/"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever the client sends, an accepted key lies in the caller's namespace, and in no
    /// one else's.
    #[test]
    fn every_key_is_in_the_callers_namespace(
        subject in prop_oneof![Just("alice".to_owned()), ".{0,20}"],
        filename in any_text(),
        path in prop::option::of(any_path()),
        uuid in any::<u128>(),
    ) {
        let registry = shipped();
        let caller = user(&subject);
        let p = profile(FOLDERS);
        let intent = intent(&filename, path.as_deref());
        for profile in [&p, registry.default_profile()] {
            let Ok(d) = profile.decide_upload(&caller, &intent, Backend::Aws, Uuid::from_u128(uuid), now(), None) else {
                continue;
            };
            let key = d.key.as_str();
            let namespace = format!("users/{}/", caller.segment.as_str());
            prop_assert!(key.starts_with(&namespace), "{key}");
            prop_assert!(key.len() <= 1024);
            prop_assert!(key.split('/').all(|s| !s.is_empty() && s != "." && s != ".."), "{key}");
            prop_assert!(!key.contains('\\') && !key.chars().any(char::is_control));
            prop_assert!(registry.owns_key(&caller, key));
            for other in ["bob", "alice2", "alic", "users"] {
                if other != subject {
                    prop_assert!(!registry.owns_key(&user(other), key), "{other} owns {key}");
                }
            }
        }
    }

    /// Paths with `.`/`..`/empty segments or a backslash are always refused.
    #[test]
    fn traversal_is_always_refused(path in any_path()) {
        let bad = path.split('/').any(|s| s.is_empty() || s == "." || s == "..") || path.contains('\\');
        let result = upload_key(&profile(FOLDERS), &user("alice"), "f.txt", Some(&path));
        if bad {
            prop_assert_eq!(result, Err("invalid_path".to_owned()));
        }
    }

    /// A key alice owns always starts with her folder, for any key text.
    #[test]
    fn ownership_is_prefix_on_whole_segments(key in "(users/)?(alice2?|bob)?(/.{0,12}){0,3}") {
        let registry = shipped();
        if registry.owns_key(&user("alice"), &key) {
            prop_assert!(key.starts_with("users/alice/") || key.starts_with("avatars/alice/"), "{key}");
        }
    }
}
