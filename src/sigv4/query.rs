//! The query of a presigned URL: the extra signed parameters (`response-content-disposition`,
//! `versionId`, `max-parts`...) and the canonical query string around the SigV4 block.

use super::encoding::{push_query_name, query_component};
use super::{S3Operation, SigningError, push_query_component};
use crate::domain::GrantId;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Query parameters added to a presigned URL and covered by its signature.
///
/// Names that SigV4 itself uses (`X-Amz-*`, case-insensitive) and the parameters that select
/// an operation (`uploads`, `uploadId`, `partNumber`) cannot be set here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryParams {
    params: BTreeMap<String, String>,
    /// The bytes of every name and value plus two per pair (`=` and `&`), kept up to date by
    /// [`QueryParams::insert`] so that sizing a URL does not walk the map.
    text_len: usize,
}

const OPERATION_PARAMS: [&str; 3] = ["uploads", "uploadId", "partNumber"];

impl QueryParams {
    /// No extra parameters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one parameter, replacing an earlier value of the same name.
    pub fn insert(&mut self, name: &str, value: &str) -> Result<(), SigningError> {
        let reserved = name.is_empty()
            || name.len() > 256
            || name
                .as_bytes()
                .get(..6)
                .is_some_and(|prefix| prefix.eq_ignore_ascii_case(b"x-amz-"))
            || OPERATION_PARAMS.contains(&name)
            || name.chars().any(char::is_control);
        if reserved {
            return Err(SigningError::ReservedQueryParam(name.to_owned()));
        }
        if value.chars().any(char::is_control) || value.len() > 4096 {
            return Err(SigningError::QueryValue(name.to_owned()));
        }
        self.text_len += name.len() + value.len() + 2;
        if let Some(old) = self.params.insert(name.to_owned(), value.to_owned()) {
            self.text_len -= name.len() + old.len() + 2;
        }
        Ok(())
    }

    /// Builder form of [`QueryParams::insert`].
    pub fn with(mut self, name: &str, value: &str) -> Result<Self, SigningError> {
        self.insert(name, value)?;
        Ok(self)
    }

    /// The parameters, unencoded.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The number of parameters.
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// The length of the parameters unencoded, as `name=value` pairs with a separator each.
    pub(crate) fn text_len(&self) -> usize {
        self.text_len
    }
}

/// The SigV4 parameters of a presigned URL, which stand in the query in this fixed order.
///
/// See <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html>
pub(super) struct SigV4Query<'a> {
    /// The block's text up to the `X-Amz-Date` value ([`sigv4_query_head`]).
    pub(super) head: &'a str,
    /// `X-Amz-Date`.
    pub(super) amz_date: &'a str,
    /// `X-Amz-Expires`.
    pub(super) lifetime_secs: u32,
    /// `X-Amz-Security-Token`, unencoded, with temporary credentials.
    pub(super) session_token: Option<&'a str>,
}

/// The canonical query string, which is also the URL's query before the signature: the
/// operation's and the caller's parameters, encoded and sorted, around the SigV4 block.
pub(super) fn canonical_query(
    operation: &S3Operation,
    extra: &QueryParams,
    sigv4: &SigV4Query<'_>,
    headers: &[(&str, &str)],
) -> String {
    let mut out = String::with_capacity(256);
    write_canonical_query(&mut out, operation, extra, None, sigv4, headers);
    out
}

/// Parameters besides the SigV4 ones (operation, extra, grant id) sorted on the stack; more
/// go to the heap.
const INLINE_PARAMS: usize = 8;

/// One parameter as it stands in the canonical query: name and value, encoded.
/// `X-Amz-Algorithm=<ALGORITHM>&X-Amz-Credential=`: the start of the SigV4 block in one piece.
const ALGORITHM_TO_CREDENTIAL: &str = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=";

/// `X-Amz-Algorithm=<ALGORITHM>&X-Amz-Credential=<credential>&X-Amz-Date=`: the start of
/// the SigV4 block up to the date, the same for every URL of a daily key (which keeps it,
/// so that a URL pushes it in one piece).
pub(super) fn sigv4_query_head(credential_query: &str) -> String {
    const DATE: &str = "&X-Amz-Date=";
    let mut head =
        String::with_capacity(ALGORITHM_TO_CREDENTIAL.len() + credential_query.len() + DATE.len());
    head.push_str(ALGORITHM_TO_CREDENTIAL);
    head.push_str(credential_query);
    head.push_str(DATE);
    head
}

/// Appends `k=v` to `out`, after a `&` unless it is the `first` pair.
fn push_pair(out: &mut String, first: &mut bool, k: &str, v: &str) {
    if !*first {
        out.push('&');
    }
    *first = false;
    out.push_str(k);
    out.push('=');
    out.push_str(v);
}

type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// Appends the canonical query to `out` (the query of a URL being written, or an empty
/// string). Only the header names of `headers` are read. `grant`, the grant id, is signed as
/// [`GrantId::QUERY_PARAM`] and replaces an extra parameter of that name.
///
/// Names starting with `X-Amz-` are reserved for SigV4 ([`QueryParams`] refuses them), so every
/// other parameter sorts either before or after the whole SigV4 block, whose own order is
/// fixed; only the few other parameters need sorting, in place on the stack. A grant id and
/// its name are unreserved characters, so they are borrowed, not encoded into new strings.
pub(super) fn write_canonical_query(
    out: &mut String,
    operation: &S3Operation,
    extra: &QueryParams,
    grant: Option<&GrantId>,
    sigv4: &SigV4Query<'_>,
    headers: &[(&str, &str)],
) {
    let mut digits = itoa::Buffer::new();
    let (operation_pairs, operation_count) = operation.query_pairs(&mut digits);
    if operation_count == 0 && extra.is_empty() {
        // The usual presign: the SigV4 block, then the grant id (which sorts after every
        // `X-Amz-` name), with nothing to sort.
        write_sigv4_block(out, true, sigv4, headers);
        if let Some(id) = grant {
            out.push_str(GRANT_PAIR_START);
            out.push_str(id.as_str());
        }
        return;
    }
    let extras = extra
        .iter()
        .filter(|(name, _)| grant.is_none() || *name != GrantId::QUERY_PARAM);
    let count = operation_count + extra.len() + usize::from(grant.is_some());
    // Made only when there is something to sort: most presigns have no such parameter.
    let mut inline: [Pair<'_>; INLINE_PARAMS];
    let mut spilled: Vec<Pair<'_>>;
    let slots: &mut [Pair<'_>] = if count == 0 {
        &mut []
    } else if count <= INLINE_PARAMS {
        inline = Default::default();
        &mut inline[..count]
    } else {
        spilled = vec![Pair::default(); count];
        &mut spilled
    };
    let mut filled = 0;
    for (k, v) in operation_pairs[..operation_count]
        .iter()
        .copied()
        .chain(extras)
    {
        slots[filled] = (query_component(k), query_component(v));
        filled += 1;
    }
    if let Some(id) = grant {
        // A hyphenated UUID and the parameter's name need no encoding.
        slots[filled] = (
            Cow::Borrowed(GrantId::QUERY_PARAM),
            Cow::Borrowed(id.as_str()),
        );
        filled += 1;
    }
    let others = &mut slots[..filled];
    others.sort_unstable();
    let split = others.partition_point(|(k, _)| k.as_ref() < "X-Amz-");
    out.reserve(
        256 + sigv4.session_token.map_or(0, |t| 3 * t.len())
            + others
                .iter()
                .map(|(k, v)| k.len() + v.len() + 2)
                .sum::<usize>(),
    );
    let mut first = true;
    for (k, v) in &others[..split] {
        push_pair(out, &mut first, k, v);
    }
    write_sigv4_block(out, first, sigv4, headers);
    first = false;
    for (k, v) in &others[split..] {
        push_pair(out, &mut first, k, v);
    }
}

/// `&x-broker-grant=`: what stands before a grant id that follows the SigV4 block.
const GRANT_PAIR_START: &str = "&x-broker-grant=";

/// Appends the SigV4 parameters in their fixed order, after a `&` unless they come `first`.
fn write_sigv4_block(
    out: &mut String,
    first: bool,
    sigv4: &SigV4Query<'_>,
    headers: &[(&str, &str)],
) {
    // The fixed texts between the SigV4 values, each pushed whole.
    if !first {
        out.push('&');
    }
    out.push_str(sigv4.head);
    out.push_str(sigv4.amz_date);
    out.push_str("&X-Amz-Expires=");
    out.push_str(itoa::Buffer::new().format(sigv4.lifetime_secs));
    if let Some(token) = sigv4.session_token {
        out.push_str("&X-Amz-Security-Token=");
        push_query_component(out, token);
    }
    out.push_str("&X-Amz-SignedHeaders=");
    for (i, (name, _)) in headers.iter().enumerate() {
        if i > 0 {
            out.push_str("%3B");
        }
        push_query_name(out, name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixed_start_names_the_algorithm() {
        use crate::sigv4::ALGORITHM;
        assert_eq!(
            ALGORITHM_TO_CREDENTIAL,
            format!("X-Amz-Algorithm={ALGORITHM}&X-Amz-Credential=")
        );
        assert_eq!(
            sigv4_query_head("AKID%2Fscope"),
            format!("X-Amz-Algorithm={ALGORITHM}&X-Amz-Credential=AKID%2Fscope&X-Amz-Date=")
        );
    }

    #[test]
    fn a_grant_id_follows_the_sigv4_block() {
        assert_eq!(GRANT_PAIR_START, format!("&{}=", GrantId::QUERY_PARAM));
        // Every SigV4 name starts with `X-Amz-`, which sorts before `x`.
        assert!(GrantId::QUERY_PARAM > "X-Amz-\u{10ffff}");
    }

    #[test]
    fn refuses_reserved_names_and_control_characters() {
        let mut q = QueryParams::new();
        assert!(
            q.insert(
                "response-content-disposition",
                "attachment; filename=\"a b\""
            )
            .is_ok()
        );
        assert!(q.insert("versionId", "3").is_ok());
        for bad in [
            "X-Amz-Signature",
            "x-amz-expires",
            "uploadId",
            "partNumber",
            "uploads",
            "",
        ] {
            assert!(q.insert(bad, "1").is_err(), "{bad}");
        }
        assert!(
            q.insert("response-content-type", "text/plain\r\nx")
                .is_err()
        );
        let pairs: usize = q.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
        assert_eq!(q.text_len(), pairs);
        q.insert("versionId", "12345").unwrap();
        let pairs: usize = q.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
        assert_eq!(q.text_len(), pairs, "a replaced value is counted once");
    }
}
