//! The object side of the store: one object_store client per bucket, built
//! once from the AWS variables, and the few calls the store makes.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, GetOptions, GetRange, ObjectStore, ObjectStoreExt};

use super::{Entry, Location, Reader, StoreError};

/// How long a TCP connect may take before the endpoint counts as down.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Retries of one failed request (object_store's default is 10 over up to
/// three minutes: far too long to learn that an endpoint is down).
pub const MAX_RETRIES: usize = 2;

/// How long one read from a connection may wait for bytes.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest time spent retrying one request.
const RETRY_TIMEOUT: Duration = Duration::from_secs(20);

type Clients = Mutex<HashMap<String, Arc<dyn ObjectStore>>>;

fn clients() -> &'static Clients {
    static CLIENTS: OnceLock<Clients> = OnceLock::new();
    CLIENTS.get_or_init(Default::default)
}

/// Serve `bucket` from `store` instead of S3 (tests use object_store's
/// in-memory store this way).
pub fn register_bucket(bucket: &str, store: Arc<dyn ObjectStore>) {
    let mut clients = clients().lock().expect("client table is not poisoned");
    clients.insert(bucket.to_owned(), store);
}

/// The client for `bucket`, built on first use.
pub(super) fn client(bucket: &str) -> Result<Arc<dyn ObjectStore>, StoreError> {
    let mut clients = clients().lock().expect("client table is not poisoned");
    if let Some(client) = clients.get(bucket) {
        return Ok(client.clone());
    }
    // reqwest is built without a default TLS provider; ring is the one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // No whole-request timeout (object_store's is 30 s): a GET streams a
    // whole corpus file at the pace the pipeline consumes it, and a part
    // upload may be slow. A read that stalls for READ_TIMEOUT fails instead.
    let options = ClientOptions::new()
        .with_connect_timeout(CONNECT_TIMEOUT)
        .with_timeout_disabled()
        .with_read_timeout(READ_TIMEOUT);
    let mut builder = AmazonS3Builder::new()
        .with_client_options(options)
        .with_retry(object_store::RetryConfig {
            max_retries: MAX_RETRIES,
            retry_timeout: RETRY_TIMEOUT,
            ..Default::default()
        });
    // As AmazonS3Builder::from_env, after our defaults so the variables win.
    for (key, value) in std::env::vars() {
        if key.starts_with("AWS_") {
            if let Ok(config) = key.to_ascii_lowercase().parse() {
                builder = builder.with_config(config, value);
            }
        }
    }
    let client = builder
        .with_bucket_name(bucket)
        .build()
        .map_err(|e| StoreError::Config {
            url: format!("{}{bucket}", super::S3_SCHEME),
            reason: e.to_string(),
        })?;
    let client: Arc<dyn ObjectStore> = Arc::new(client);
    clients.insert(bucket.to_owned(), client.clone());
    Ok(client)
}

/// The endpoint requests go to, for error messages.
pub(super) fn endpoint() -> String {
    ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "AWS S3".into())
}

fn url(bucket: &str, key: &str) -> String {
    Location::Object {
        bucket: bucket.into(),
        key: key.into(),
    }
    .to_string()
}

pub(super) fn error(bucket: &str, key: &str, err: object_store::Error) -> StoreError {
    StoreError::from_object(url(bucket, key), bucket, err)
}

fn prefix(key: &str) -> Option<ObjectPath> {
    (!key.is_empty()).then(|| ObjectPath::from(key))
}

pub(super) async fn list(bucket: &str, key: &str) -> Result<Vec<Entry>, StoreError> {
    let client = client(bucket)?;
    let metas: Vec<_> = client
        .list(prefix(key).as_ref())
        .try_collect()
        .await
        .map_err(|e| error(bucket, key, e))?;
    Ok(metas
        .into_iter()
        .filter(|m| !m.location.filename().is_some_and(|n| n.starts_with('.')))
        .map(|m| Entry {
            location: Location::Object {
                bucket: bucket.into(),
                key: m.location.to_string(),
            },
            size: m.size,
        })
        .collect())
}

pub(super) async fn any_under(bucket: &str, key: &str) -> Result<bool, StoreError> {
    let client = client(bucket)?;
    let first = client.list(prefix(key).as_ref()).next().await;
    match first {
        None => Ok(false),
        Some(Ok(_)) => Ok(true),
        Some(Err(e)) => Err(error(bucket, key, e)),
    }
}

pub(super) async fn size(bucket: &str, key: &str) -> Result<u64, StoreError> {
    let meta = client(bucket)?
        .head(&ObjectPath::from(key))
        .await
        .map_err(|e| error(bucket, key, e))?;
    Ok(meta.size)
}

pub(super) async fn open_range(
    bucket: &str,
    key: &str,
    range: Option<Range<u64>>,
) -> Result<Reader, StoreError> {
    if range.as_ref().is_some_and(|r| r.is_empty()) {
        return Ok(Box::pin(tokio::io::empty()));
    }
    let options = GetOptions {
        range: range.map(GetRange::Bounded),
        ..Default::default()
    };
    let got = client(bucket)?
        .get_opts(&ObjectPath::from(key), options)
        .await
        .map_err(|e| error(bucket, key, e))?;
    let (bucket, key) = (bucket.to_owned(), key.to_owned());
    let stream = got
        .into_stream()
        .map_err(move |e| std::io::Error::from(error(&bucket, &key, e)));
    Ok(Box::pin(tokio_util::io::StreamReader::new(stream)))
}

pub(super) async fn read_all(bucket: &str, key: &str) -> Result<Vec<u8>, StoreError> {
    let got = client(bucket)?
        .get(&ObjectPath::from(key))
        .await
        .map_err(|e| error(bucket, key, e))?;
    let bytes = got.bytes().await.map_err(|e| error(bucket, key, e))?;
    Ok(bytes.to_vec())
}

pub(super) async fn put(bucket: &str, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
    client(bucket)?
        .put(&ObjectPath::from(key), bytes.to_vec().into())
        .await
        .map_err(|e| error(bucket, key, e))?;
    Ok(())
}

pub(super) async fn delete(bucket: &str, key: &str) -> Result<(), StoreError> {
    match client(bucket)?.delete(&ObjectPath::from(key)).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(error(bucket, key, e)),
    }
}
