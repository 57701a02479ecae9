//! Route classes: what a rate limit counts. Each authenticated route belongs to one class, and
//! each principal has one budget per class; failed authentications are counted per client IP.

/// A class of routes with a rate of its own (`[limits.rates]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteClass {
    /// Upload and download grants: `POST /v1/uploads`, `POST /v1/downloads`, the demo form.
    Grants,
    /// `GET /v1/objects`.
    Listings,
    /// Multipart control: `/v1/multipart...`.
    Multipart,
    /// The Uppy routes under `/s3`.
    Uppy,
    /// Failed authentications, per client IP (not per principal: there is none).
    AuthFailures,
}

impl RouteClass {
    /// Every class.
    pub const ALL: [RouteClass; 5] = [
        Self::Grants,
        Self::Listings,
        Self::Multipart,
        Self::Uppy,
        Self::AuthFailures,
    ];

    /// The class's name: its key in `[limits.rates]`, its metric label and its policy name in
    /// the `RateLimit` headers.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Grants => "grants",
            Self::Listings => "listings",
            Self::Multipart => "multipart",
            Self::Uppy => "uppy",
            Self::AuthFailures => "auth_failures",
        }
    }

    /// The class of an authenticated request path.
    pub fn of_path(path: &str) -> Self {
        if path.starts_with("/s3/") {
            Self::Uppy
        } else if path.starts_with("/v1/multipart") {
            Self::Multipart
        } else if path.starts_with("/v1/objects") {
            Self::Listings
        } else {
            Self::Grants
        }
    }

    pub(crate) const fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_fall_in_their_class() {
        for (path, class) in [
            ("/v1/uploads", RouteClass::Grants),
            ("/v1/downloads", RouteClass::Grants),
            ("/v1/objects", RouteClass::Listings),
            ("/v1/multipart/parts", RouteClass::Multipart),
            ("/s3/multipart/abc/1", RouteClass::Uppy),
            ("/s3/params", RouteClass::Uppy),
        ] {
            assert_eq!(RouteClass::of_path(path), class, "{path}");
        }
        for (i, class) in RouteClass::ALL.iter().enumerate() {
            assert_eq!(class.index(), i);
        }
    }
}
