//! Stateless multipart uploads: the part plan cut from a declared size, and the MAC-sealed
//! ticket that carries the upload between calls.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html>.

mod base64url;
mod completion;
mod held;
mod part_numbers;
mod part_urls;
mod plan;
mod receipts;
mod sealed_upload;
mod ticket;
mod upload_token;
mod uppy_upload_id;

pub use completion::{CompletionGrant, parts_digest};
pub use held::{HeldPart, HeldPartError, ListedPart, check_planned, match_held};
pub use part_numbers::{PartNumberError, PartRange};
#[cfg(test)]
pub(crate) use part_urls::example_signer;
pub use part_urls::{PartGrant, PartSigning, PartSigningError, PlannedParts, UnsizedParts};
pub use plan::{
    DEFAULT_PART_SIZE, MAX_OBJECT_SIZE, MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE, PartPlan,
    PlanError,
};
pub use receipts::{Expected, PartToComplete, Receipt, ReceiptError, check_receipts};
pub use sealed_upload::{DeclaredFile, NamedUpload, TicketError, extension_of};
pub use ticket::{MAX_TICKET_LEN, MIN_SECRET_LEN, TicketKeyId, TicketKeys, UploadTicket};
pub use upload_token::{UploadToken, UploadTokenFields, UploadTokenSeal};
