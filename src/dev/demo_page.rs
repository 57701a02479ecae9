//! The demo page of `s3-broker dev`, served at `/`: (a) a plain HTML form that uploads with a
//! fresh POST policy and no JavaScript at all, and comes back to the page through a signed
//! redirect that names the stored key, (b) an upload through the JS client (`clients/js/`,
//! served at `/s3-broker.js`) with a progress bar, (c) the caller's files by name, size and
//! date, and folders, with downloads through GET grants.
//!
//! The page is for local development only: it embeds a dev token for the dev user.

use crate::sigv4::PostForm;
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

/// What S3's redirect after a form upload told the page: the file's name and its ETag.
pub struct FormConfirmation<'a> {
    /// The name the file was uploaded with.
    pub name: &'a str,
    /// The stored object's ETag.
    pub etag: &'a str,
}

/// Renders the page. `form` is a POST grant for the dev user; `token` the dev bearer token;
/// `confirmation` what S3's redirect reported, when the page is its target.
pub fn render_demo_page(
    form: &PostForm,
    token: &str,
    user: &str,
    confirmation: Option<FormConfirmation<'_>>,
) -> String {
    let mut hidden = String::new();
    for field in &form.fields {
        hidden.push_str(&format!(
            "      <input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
            attr(&field.name),
            attr(&field.value)
        ));
    }
    let confirmation = confirmation.map_or_else(String::new, |c| {
        format!(
            "  <p id=\"form-confirmation\" class=\"confirmation\">Uploaded <strong>{}</strong>: \
             the store confirmed it (ETag <code>{}</code>) and sent you back here.</p>\n",
            text(c.name),
            text(c.etag)
        )
    });
    PAGE.replace("{{CONFIRMATION}}", &confirmation)
        .replace("{{USER}}", &text(user))
        .replace("{{FORM_ACTION}}", &attr(&form.url))
        .replace("{{FORM_FIELDS}}", &hidden)
        .replace("{{FORM_EXPIRES}}", &form.expires_at.to_rfc3339())
        .replace("{{TOKEN}}", &attr(token))
}

const PAGE: &str = include_str!("demo_page.html");

/// The JavaScript client the page imports, served at `/s3-broker.js`.
pub const JS_CLIENT: &str = include_str!("../../clients/js/s3-broker.js");

/// The page's icon, served at `/favicon.ico` (browsers ask for it whatever the page says).
pub const FAVICON_SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\">\
<rect width=\"16\" height=\"16\" rx=\"3\" fill=\"#2b6cb0\"/>\
<path d=\"M8 3l4 4H9v5H7V7H4z\" fill=\"#fff\"/></svg>";
