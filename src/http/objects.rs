//! `GET /v1/objects?prefix=&cursor=`: the caller's own files and folders, one page at a time
//! (ListObjectsV2 with delimiter `/`).

use super::{ApiError, AppState, Caller, Code};
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Files per page.
const PAGE_SIZE: i32 = 200;

/// Query parameters. Unknown ones are refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    /// A full key prefix inside the caller's namespace (default: the namespace root).
    pub prefix: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Upload profile whose namespace to list.
    pub profile: Option<String>,
}

/// One file.
#[derive(Debug, Serialize)]
pub(super) struct FileEntry {
    /// Full key (what `POST /v1/downloads` takes).
    pub key: String,
    /// The file's name as uploaded: the key's last segment without what the key template
    /// added (`{uuid}-`).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// The media type of the name's extension (`application/octet-stream` when unknown).
    /// ListObjectsV2 does not return the stored `Content-Type`; a download serves that one.
    pub content_type: &'static str,
    /// Last modification time.
    pub last_modified: Option<DateTime<Utc>>,
}

/// The type [`FileEntry::content_type`] names when the extension says nothing.
const UNKNOWN_TYPE: &str = "application/octet-stream";

/// One folder.
#[derive(Debug, Serialize)]
pub(super) struct FolderEntry {
    /// Full prefix, ending with `/` (what `?prefix=` takes).
    pub prefix: String,
    /// The folder's name.
    pub name: String,
}

/// One page.
#[derive(Debug, Serialize)]
pub(super) struct ListResponse {
    /// The listed prefix.
    pub prefix: String,
    /// The caller's namespace root.
    pub namespace: String,
    /// Files directly under the prefix.
    pub files: Vec<FileEntry>,
    /// Folders directly under the prefix.
    pub folders: Vec<FolderEntry>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The handler.
pub(super) async fn list_objects(
    state: web::Data<AppState>,
    Caller(principal): Caller,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let prefix = query.prefix.filter(|p| !p.is_empty());
    let scope = state
        .profiles
        .listing(&principal, query.profile.as_deref(), prefix.as_deref())?;
    let cursor = query.cursor.filter(|c| !c.is_empty());
    if cursor.as_ref().is_some_and(|c| c.len() > 1024) {
        return Err(ApiError::new(Code::InvalidCursor, "the cursor is too long"));
    }
    let page = state
        .s3
        .list_page(&scope.bucket, &scope.prefix, cursor, PAGE_SIZE)
        .await?;
    // A folder's last segment, so a partial prefix (`users/alice/rep`) still shows whole names.
    let last_segment = |key: &str| {
        key.trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(key)
            .to_owned()
    };
    let response = ListResponse {
        files: page
            .objects
            .into_iter()
            .map(|o| {
                let name = scope.key_template.display_name(&o.key).to_owned();
                FileEntry {
                    content_type: mime_guess::from_path(&name)
                        .first_raw()
                        .unwrap_or(UNKNOWN_TYPE),
                    name,
                    key: o.key,
                    size: o.size,
                    last_modified: o.last_modified,
                }
            })
            .collect(),
        folders: page
            .folders
            .into_iter()
            .map(|p| FolderEntry {
                name: last_segment(&p),
                prefix: p,
            })
            .collect(),
        next_cursor: page.next_token,
        prefix: scope.prefix,
        namespace: scope.namespace,
    };
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(response))
}
