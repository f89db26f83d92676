//! Storage errors, each one line that names the URL and says what to do.
//! object_store's own errors nest an HTTP client's causes several levels
//! deep; [`StoreError::from_object`] sorts them into the few cases a user
//! can act on (wrong key, no bucket, no server) before they reach stderr.

use super::Location;

/// What went wrong reading or writing a [`Location`].
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Not a path or URL this build can use.
    #[error("{url}: unsupported storage URL; use a local path or s3://bucket/prefix")]
    BadUrl {
        /// The text given.
        url: String,
    },
    /// The file or object is not there.
    #[error("{url}: not found")]
    NotFound {
        /// Where.
        url: String,
    },
    /// The store refused the credentials.
    #[error("{url}: access denied by the object store ({reason}); check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")]
    Denied {
        /// Where.
        url: String,
        /// The store's words, shortened.
        reason: String,
    },
    /// The bucket does not exist.
    #[error(
        "{url}: bucket `{bucket}` does not exist; create it or fix the URL (endpoint {endpoint})"
    )]
    NoBucket {
        /// Where.
        url: String,
        /// The bucket.
        bucket: String,
        /// The endpoint asked.
        endpoint: String,
    },
    /// No answer from the endpoint.
    #[error("{url}: cannot reach the object store at {endpoint} ({reason}); check AWS_ENDPOINT_URL and the network")]
    Unreachable {
        /// Where.
        url: String,
        /// The endpoint tried.
        endpoint: String,
        /// The client's words, shortened.
        reason: String,
    },
    /// The AWS variables do not make a usable client.
    #[error("{url}: cannot set up S3 access ({reason}); check the AWS_* variables")]
    Config {
        /// Where.
        url: String,
        /// The builder's words.
        reason: String,
    },
    /// Any other failure of the store.
    #[error("{url}: {reason}")]
    Other {
        /// Where.
        url: String,
        /// What happened.
        reason: String,
    },
    /// A local file system error.
    #[error("{url}: {source}")]
    Io {
        /// Where.
        url: String,
        /// Cause.
        source: std::io::Error,
    },
}

impl StoreError {
    /// A local I/O error at `at`.
    pub fn io(at: &Location, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::NotFound {
            return StoreError::NotFound {
                url: at.to_string(),
            };
        }
        StoreError::Io {
            url: at.to_string(),
            source,
        }
    }

    /// Sort an object_store error at `url` in `bucket` into a case.
    pub fn from_object(url: String, bucket: &str, err: object_store::Error) -> Self {
        let text = chain_text(&err);
        let lower = text.to_ascii_lowercase();
        if text.contains("NoSuchBucket") || lower.contains("bucket does not exist") {
            return StoreError::NoBucket {
                url,
                bucket: bucket.into(),
                endpoint: super::object::endpoint(),
            };
        }
        match err {
            object_store::Error::NotFound { .. } => StoreError::NotFound { url },
            object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. } => StoreError::Denied {
                url,
                reason: aws_code(&text).unwrap_or_else(|| "HTTP 403".into()),
            },
            _ if is_unreachable(&lower) => StoreError::Unreachable {
                url,
                endpoint: super::object::endpoint(),
                reason: unreachable_reason(&lower),
            },
            _ => StoreError::Other { url, reason: text },
        }
    }

    /// As an `io::Error` whose message leaves out the URL, for callers
    /// that name the file themselves (`FILE: cannot open: ...`).
    pub fn into_io_unnamed(self) -> std::io::Error {
        if let StoreError::Io { source, .. } = self {
            return source;
        }
        let text = self.to_string();
        let reason = text
            .strip_prefix(&format!("{}: ", self.url()))
            .unwrap_or(&text);
        std::io::Error::new(io_kind(&self), reason.to_owned())
    }

    /// The URL or path the error is about.
    pub fn url(&self) -> &str {
        match self {
            StoreError::BadUrl { url }
            | StoreError::NotFound { url }
            | StoreError::Denied { url, .. }
            | StoreError::NoBucket { url, .. }
            | StoreError::Unreachable { url, .. }
            | StoreError::Config { url, .. }
            | StoreError::Other { url, .. }
            | StoreError::Io { url, .. } => url,
        }
    }

    /// Whether this is [`StoreError::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, StoreError::NotFound { .. })
    }
}

impl From<StoreError> for std::io::Error {
    fn from(err: StoreError) -> Self {
        std::io::Error::new(io_kind(&err), err)
    }
}

fn io_kind(err: &StoreError) -> std::io::ErrorKind {
    match err {
        StoreError::NotFound { .. } => std::io::ErrorKind::NotFound,
        StoreError::Denied { .. } => std::io::ErrorKind::PermissionDenied,
        StoreError::Io { source, .. } => source.kind(),
        _ => std::io::ErrorKind::Other,
    }
}

/// The error and its sources on one line.
fn chain_text(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The `<Code>` of an S3 error body, e.g. `InvalidAccessKeyId`.
fn aws_code(text: &str) -> Option<String> {
    let start = text.find("<Code>")? + "<Code>".len();
    let len = text[start..].find("</Code>")?;
    Some(text[start..start + len].to_owned())
}

fn is_unreachable(lower: &str) -> bool {
    [
        "error sending request",
        "connection refused",
        "dns error",
        "timed out",
        "tcp connect error",
        "connection reset",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
}

fn unreachable_reason(lower: &str) -> String {
    for (needle, reason) in [
        ("connection refused", "connection refused"),
        ("dns error", "host name not found"),
        ("timed out", "timed out"),
        ("connection reset", "connection reset"),
    ] {
        if lower.contains(needle) {
            return reason.into();
        }
    }
    "no answer".into()
}
