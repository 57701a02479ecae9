//! The HTTP layer: handlers per resource, the authenticated-caller extractor, and the one
//! error type mapped to problem+json.

mod access_log;
mod body_deadline;
mod caller;
mod challenge;
mod code;
mod companion;
mod downloads;
mod drain;
mod error;
mod extractors;
mod fallback;
mod form_grant;
mod forms;
mod grant;
mod health;
mod log_path;
mod mapping;
mod multipart;
mod objects;
mod observe;
mod plain_errors;
mod rate_limit;
mod receipts;
mod routes;
mod scan_gate;
mod state;
mod trim_path;
mod uploads;
mod verify;

pub use access_log::AccessLog;
pub use body_deadline::{BodyDeadline, BodyDeadlineService};
pub use caller::Caller;
pub use code::Code;
pub use drain::{CloseWhenDraining, CloseWhenDrainingService, Drain};
pub use error::{ApiError, ProblemCode};
pub use extractors::{MAX_JSON_BODY, json_config, query_config};
pub use fallback::not_found;
pub use form_grant::signed_form;
pub use observe::observe;
pub use plain_errors::problem_errors;
pub use rate_limit::rate_headers;
pub use routes::configure;
pub use scan_gate::ScanTags;
pub use state::AppState;
pub use trim_path::{TrimPath, TrimPathService};
