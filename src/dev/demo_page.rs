//! The demo page of `s3-broker dev`, served at `/`: (a) a plain HTML form that uploads with a
//! fresh POST policy and no JavaScript at all, (b) an upload through `fetch` with a PUT grant,
//! (c) the caller's files and folders, with downloads through GET grants.
//!
//! The page is for local development only: it embeds a dev token for the dev user.

use crate::sigv4::PostForm;
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

/// Renders the page. `form` is a POST grant for the dev user; `token` the dev bearer token.
pub fn render_demo_page(form: &PostForm, token: &str, user: &str) -> String {
    let mut hidden = String::new();
    for field in &form.fields {
        hidden.push_str(&format!(
            "      <input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
            attr(&field.name),
            attr(&field.value)
        ));
    }
    PAGE.replace("{{USER}}", &text(user))
        .replace("{{FORM_ACTION}}", &attr(&form.url))
        .replace("{{FORM_FIELDS}}", &hidden)
        .replace("{{FORM_EXPIRES}}", &form.expires_at.to_rfc3339())
        .replace("{{TOKEN}}", &attr(token))
}

const PAGE: &str = include_str!("demo_page.html");
