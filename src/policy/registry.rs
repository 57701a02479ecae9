//! The set of profiles loaded from `policies/*.toml`, with a default, and the decisions that
//! span profiles (downloads and listings name a key, not a profile).

use super::profile::require_scope;
use super::upload::parse_key;
use super::{
    DownloadDecision, DownloadIntent, KeyOwnership, ListingScope, LoadError, Namespace,
    PolicyError, Profile,
};
use crate::domain::{BucketName, Expiry, Principal, Scope};
use std::path::{Path, PathBuf};

/// The name of the default profile unless configured otherwise.
pub const DEFAULT_PROFILE: &str = "default";

/// How to load a profile directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryOptions {
    /// The profile used when a request names none; `default` (or the only profile) if unset.
    pub default_profile: Option<String>,
    /// The bucket of profiles whose file has no `bucket` key.
    pub default_bucket: Option<BucketName>,
}

/// All profiles, sorted by name, and the default one.
///
/// Invariants checked when it is built: names are unique; a default exists; and the fixed
/// prefixes before `{principal}` of any two profiles differ in some segment. A profile
/// `{principal}/...` next to `users/{principal}/` would let the principal named `users` own
/// every other principal's files; equal prefixes would leave a key (which is all a download,
/// a Companion route or a complete names) with two sets of rules.
#[derive(Debug, Clone)]
pub struct ProfileRegistry {
    profiles: Vec<Profile>,
    default: usize,
}

fn describe(base: &[String]) -> String {
    let mut s: String = base.iter().map(|seg| format!("{seg}/")).collect();
    s.push_str("{principal}/");
    s
}

fn check_pair(a: &Profile, b: &Profile) -> Result<(), String> {
    let (ba, bb) = (a.key_template.base(), b.key_template.base());
    if ba == bb {
        return Err(format!(
            "profiles `{}` and `{}` both keep files under `{}`: the rules of a key (size, \
             overwrite, encryption, downloads, multipart) must come from one profile, and a \
             download names only a key; give them different prefixes",
            a.name,
            b.name,
            describe(ba),
        ));
    }
    let (short, long) = if ba.len() < bb.len() { (a, b) } else { (b, a) };
    let (bs, bl) = (short.key_template.base(), long.key_template.base());
    if bl.starts_with(bs) {
        return Err(format!(
            "profile `{}` keeps files under `{}` and profile `{}` under `{}`: the principal \
             named `{}` of `{}` would own the files of `{}`; use prefixes that differ in a \
             fixed segment (e.g. `users/{{principal}}/` and `avatars/{{principal}}/`)",
            short.name,
            describe(bs),
            long.name,
            describe(bl),
            bl[bs.len()],
            short.name,
            long.name
        ));
    }
    Ok(())
}

fn profile_files(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let io = |source| LoadError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_none_or(|n| n.starts_with('.'));
        if !hidden && path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

impl ProfileRegistry {
    /// Loads every `*.toml` file of `dir` (other files, such as IAM or CORS JSON, are
    /// ignored) with default options. The first invalid file stops loading with an error
    /// naming the file, the key and the problem.
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<Self, LoadError> {
        Self::load_dir_with(dir, &RegistryOptions::default())
    }

    /// Loads every `*.toml` file of `dir` with `options`.
    pub fn load_dir_with(
        dir: impl AsRef<Path>,
        options: &RegistryOptions,
    ) -> Result<Self, LoadError> {
        let dir = dir.as_ref();
        let files = profile_files(dir)?;
        let mut profiles = Vec::with_capacity(files.len());
        for path in &files {
            let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
                path: path.clone(),
                source,
            })?;
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            let profile = Profile::from_toml(stem, &text, options.default_bucket.as_ref())
                .map_err(|error| LoadError::Profile {
                    path: path.clone(),
                    error,
                })?;
            profiles.push(profile);
        }
        if profiles.is_empty() {
            return Err(LoadError::Registry {
                dir: dir.to_owned(),
                problem: "there are no *.toml profile files".into(),
            });
        }
        Self::new(profiles, options.default_profile.as_deref()).map_err(|problem| {
            LoadError::Registry {
                dir: dir.to_owned(),
                problem,
            }
        })
    }

    /// Builds a registry from profiles (e.g. from [`Profile::from_toml`]); `default_profile`
    /// as in [`RegistryOptions`].
    pub fn new(mut profiles: Vec<Profile>, default_profile: Option<&str>) -> Result<Self, String> {
        profiles.sort_by(|a, b| a.name.cmp(&b.name));
        if let Some(pair) = profiles.windows(2).find(|w| w[0].name == w[1].name) {
            return Err(format!(
                "two profiles are named `{}` (a file's `name` key repeats another file's name)",
                pair[0].name
            ));
        }
        for (i, a) in profiles.iter().enumerate() {
            for b in &profiles[i + 1..] {
                check_pair(a, b)?;
            }
        }
        let names = || {
            let names: Vec<&str> = profiles.iter().map(Profile::name).collect();
            names.join(", ")
        };
        let wanted = default_profile.unwrap_or(DEFAULT_PROFILE);
        let default = match profiles.iter().position(|p| *p.name == *wanted) {
            Some(i) => i,
            None if default_profile.is_none() && profiles.len() == 1 => 0,
            None => {
                return Err(format!(
                    "the default profile `{wanted}` does not exist (profiles: {}); add \
                     `{wanted}.toml` or configure another default",
                    names()
                ));
            }
        };
        Ok(Self { profiles, default })
    }

    /// The profile named `name`, or 404 `unknown_profile`.
    pub fn get(&self, name: &str) -> Result<&Profile, PolicyError> {
        self.profiles
            .iter()
            .find(|p| *p.name == *name)
            .ok_or_else(|| PolicyError::UnknownProfile(name.to_owned()))
    }

    /// The profile a request names, or the default one.
    pub fn profile(&self, name: Option<&str>) -> Result<&Profile, PolicyError> {
        match name {
            Some(name) => self.get(name),
            None => Ok(self.default_profile()),
        }
    }

    /// The default profile.
    pub fn default_profile(&self) -> &Profile {
        &self.profiles[self.default]
    }

    /// All profiles, sorted by name.
    pub fn profiles(&self) -> impl Iterator<Item = &Profile> {
        self.profiles.iter()
    }

    /// Profiles in the order used to find a key's owner: the default first.
    fn search_order(&self) -> impl Iterator<Item = &Profile> {
        std::iter::once(self.default_profile()).chain(
            self.profiles
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != self.default)
                .map(|(_, p)| p),
        )
    }

    /// The distinct namespaces (bucket and prefix) that hold `principal`'s objects.
    pub fn owned_prefixes(&self, principal: &Principal) -> Vec<Namespace> {
        let mut out: Vec<Namespace> = Vec::new();
        for profile in self.search_order() {
            let ns = profile.namespace(principal);
            if !out.contains(&ns) {
                out.push(ns);
            }
        }
        out
    }

    /// Whether `key` is a well-formed file key inside one of `principal`'s namespaces.
    pub fn owns_key(&self, principal: &Principal, key: &str) -> bool {
        self.search_order()
            .any(|p| p.namespace(principal).owns(key))
    }

    /// The profile whose namespace of `principal` holds `key` (the default one when several
    /// do): 403 `not_owner` when none does, 400 `invalid_key` for a malformed key in the
    /// namespace.
    pub fn profile_for_key(
        &self,
        principal: &Principal,
        key: &str,
    ) -> Result<&Profile, PolicyError> {
        let mut malformed = None;
        for profile in self.search_order() {
            match profile.check_key(principal, key) {
                KeyOwnership::Owned => return Ok(profile),
                KeyOwnership::Malformed(reason) => malformed = malformed.or(Some(reason)),
                KeyOwnership::Outside => {}
            }
        }
        Err(malformed.map_or(PolicyError::NotOwner, PolicyError::InvalidKey))
    }

    /// Decides a download. With `profile`, that profile's namespace must hold the key;
    /// without, the owning profile is found from the key.
    pub fn decide_download(
        &self,
        principal: &Principal,
        profile: Option<&str>,
        intent: &DownloadIntent,
        requested_expiry: Option<Expiry>,
    ) -> Result<DownloadDecision, PolicyError> {
        require_scope(principal, Scope::Download)?;
        parse_key(&intent.key)?;
        let profile = match profile {
            Some(name) => self.get(name)?,
            None => self.profile_for_key(principal, &intent.key)?,
        };
        profile.decide_download(principal, intent, requested_expiry)
    }

    /// Checks a listing. Without `profile` and `prefix`, the default profile's namespace is
    /// listed; with only a `prefix`, the profile whose namespace holds it.
    pub fn listing(
        &self,
        principal: &Principal,
        profile: Option<&str>,
        prefix: Option<&str>,
    ) -> Result<ListingScope, PolicyError> {
        require_scope(principal, Scope::List)?;
        match (profile, prefix) {
            (Some(name), _) => self.get(name)?.listing(principal, prefix),
            (None, None) => self.default_profile().listing(principal, None),
            (None, Some(prefix)) => {
                let mut malformed = None;
                for p in self.search_order() {
                    match p.namespace(principal).check_prefix(prefix) {
                        KeyOwnership::Owned => return p.listing(principal, Some(prefix)),
                        KeyOwnership::Malformed(r) => malformed = malformed.or(Some(r)),
                        KeyOwnership::Outside => {}
                    }
                }
                Err(malformed.map_or(PolicyError::NotOwner, PolicyError::InvalidPrefix))
            }
        }
    }
}
