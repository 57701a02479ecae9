//! Which prefix a listing of the caller's own files may use.

use super::profile::require_scope;
use super::{KeyOwnership, KeyTemplate, PolicyError, Profile};
use crate::domain::{BucketName, Principal, Scope};

/// A checked listing: `ListObjectsV2` of `bucket` with `prefix` and delimiter `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingScope {
    /// The profile whose namespace is listed.
    pub profile: String,
    /// The bucket.
    pub bucket: BucketName,
    /// The caller's namespace prefix (e.g. `users/alice/`), to show keys relative to it.
    pub namespace: String,
    /// The prefix to list: the namespace or a folder (or name start) inside it.
    pub prefix: String,
    /// The profile's key template, which names the listed files
    /// ([`KeyTemplate::display_name`]).
    pub key_template: KeyTemplate,
}

impl Profile {
    /// Checks a listing prefix for `principal`. `None` lists the namespace root; otherwise the
    /// prefix is a full key prefix that must lie inside the namespace on whole segments
    /// (`users/alice` and `users/alice2/` are refused for alice) with well-formed folders.
    pub fn listing(
        &self,
        principal: &Principal,
        prefix: Option<&str>,
    ) -> Result<ListingScope, PolicyError> {
        require_scope(principal, Scope::List)?;
        let namespace = self.namespace(principal);
        let prefix = match prefix {
            None => namespace.prefix().to_owned(),
            Some(prefix) => match namespace.check_prefix(prefix) {
                KeyOwnership::Owned => prefix.to_owned(),
                KeyOwnership::Outside => return Err(PolicyError::NotOwner),
                KeyOwnership::Malformed(reason) => return Err(PolicyError::InvalidPrefix(reason)),
            },
        };
        Ok(ListingScope {
            profile: String::from(&*self.name),
            bucket: self.bucket.clone(),
            namespace: namespace.prefix().to_owned(),
            prefix,
            key_template: self.key_template.clone(),
        })
    }
}
