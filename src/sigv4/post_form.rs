//! The signed result of a POST policy: the form's URL and fields.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-post-example.html>

use chrono::{DateTime, Utc};
use serde::ser::{Serialize, SerializeMap, SerializeStruct, Serializer};

/// One form field, in the order it must be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormField {
    /// Field name.
    pub name: String,
    /// Field value.
    pub value: String,
}

/// A signed POST form: send `fields` in order, then the file as a last field named `file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostForm {
    /// The bucket URL to POST to.
    pub url: String,
    /// The form fields, including `policy` (the signed base64 text) and `x-amz-signature`.
    pub fields: Vec<FormField>,
    /// When the policy expires.
    pub expires_at: DateTime<Utc>,
}

impl PostForm {
    /// The value of a field.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.value.as_str())
    }
}

struct OrderedFields<'a>(&'a [FormField]);

impl Serialize for OrderedFields<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for field in self.0 {
            map.serialize_entry(&field.name, &field.value)?;
        }
        map.end()
    }
}

/// Serialises as `{"url": .., "fields": {name: value, ..}, "expires_at": ..}`, fields in order.
impl Serialize for PostForm {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("PostForm", 3)?;
        st.serialize_field("url", &self.url)?;
        st.serialize_field("fields", &OrderedFields(&self.fields))?;
        st.serialize_field("expires_at", &self.expires_at)?;
        st.end()
    }
}
