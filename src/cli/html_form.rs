//! A complete HTML page with a POST upload form that needs no JavaScript.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-post-example.html>

use crate::sigv4::PostForm;
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

/// Renders `form` as a page: hidden inputs for every signed field (a visible input for a
/// Content-Type the user must choose within a prefix), then `file` as the last field.
///
/// `editable_content_type` is true when the policy only fixes a Content-Type prefix.
pub fn render_html_form(form: &PostForm, editable_content_type: bool, title: &str) -> String {
    let mut inputs = String::new();
    for field in &form.fields {
        if editable_content_type && field.name == "Content-Type" {
            inputs.push_str(&format!(
                "    <label>Content type <input type=\"text\" name=\"Content-Type\" value=\"{}\" required></label><br>\n",
                attr(&field.value)
            ));
        } else {
            inputs.push_str(&format!(
                "    <input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
                attr(&field.name),
                attr(&field.value)
            ));
        }
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n  <meta charset=\"utf-8\">\n  <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n  <title>{title}</title>\n</head>\n<body>\n  <h1>{title}</h1>\n  <p>This form is valid until {expires} (UTC).</p>\n  <form action=\"{action}\" method=\"post\" enctype=\"multipart/form-data\">\n{inputs}    <input type=\"file\" name=\"file\" required>\n    <button type=\"submit\">Upload</button>\n  </form>\n</body>\n</html>\n",
        title = text(title),
        expires = form.expires_at.format("%Y-%m-%d %H:%M:%S"),
        action = attr(&form.url),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigv4::FormField;

    #[test]
    fn file_is_the_last_field_and_values_are_escaped() {
        let form = PostForm {
            url: "https://b.s3.us-east-1.amazonaws.com/".into(),
            fields: vec![
                FormField {
                    name: "key".into(),
                    value: "u/\"><script>${filename}".into(),
                },
                FormField {
                    name: "Content-Type".into(),
                    value: "image/".into(),
                },
            ],
            expires_at: "2030-01-01T00:00:00Z".parse().unwrap(),
        };
        let html = render_html_form(&form, true, "Upload <b>");
        assert!(!html.contains("<script>"));
        assert!(html.contains("Upload &lt;b&gt;"));
        assert!(html.contains("value=\"u/&quot;&gt;&lt;script&gt;${filename}\""));
        assert!(html.contains("type=\"text\" name=\"Content-Type\""));
        let file_at = html.find("name=\"file\"").unwrap();
        let last_named = html.rfind(" name=\"").unwrap();
        assert_eq!(file_at, last_named + 1, "file must be the last named field");
        assert!(!html.contains("<script src"));
    }
}
