//! The local side of the store: plain files and folders.

use std::ops::Range;
use std::path::Path;

use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::{Entry, Location, Reader, StoreError};
use crate::write::PARTIAL_MARK;

/// Every file under `dir`, recursively (hidden names skipped).
pub(super) async fn list(dir: &Path) -> Result<Vec<Entry>, StoreError> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut found = Vec::new();
        walk(&dir, &mut found).map(|()| found)
    })
    .await
    .expect("listing thread does not panic")
}

fn walk(dir: &Path, found: &mut Vec<Entry>) -> Result<(), StoreError> {
    let at = Location::Local(dir.to_path_buf());
    let entries = match std::fs::read_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        other => other.map_err(|e| StoreError::io(&at, e))?,
    };
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io(&at, e))?;
        let path = entry.path();
        if entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with('.'))
        {
            continue;
        }
        let meta = std::fs::metadata(&path).map_err(|e| StoreError::io(&at, e))?;
        if meta.is_dir() {
            walk(&path, found)?;
        } else {
            found.push(Entry {
                location: Location::Local(path),
                size: meta.len(),
            });
        }
    }
    Ok(())
}

pub(super) async fn size(path: &Path) -> Result<u64, StoreError> {
    let at = || Location::Local(path.to_path_buf());
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|e| StoreError::io(&at(), e))?;
    if meta.is_dir() {
        return Err(StoreError::Other {
            url: at().to_string(),
            reason: "is a folder, not a file".into(),
        });
    }
    Ok(meta.len())
}

pub(super) async fn open_range(
    path: &Path,
    range: Option<Range<u64>>,
) -> Result<Reader, StoreError> {
    let err = |e| StoreError::io(&Location::Local(path.to_path_buf()), e);
    let mut file = tokio::fs::File::open(path).await.map_err(err)?;
    match range {
        None => Ok(Box::pin(file)),
        Some(range) => {
            file.seek(std::io::SeekFrom::Start(range.start))
                .await
                .map_err(err)?;
            Ok(Box::pin(file.take(range.end.saturating_sub(range.start))))
        }
    }
}

/// Write `bytes` to `target` through a temp file in the same folder.
pub(super) fn write_small_atomic(target: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut temp = temp_file(target)?;
    std::io::Write::write_all(&mut temp, bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(target).map_err(|e| e.error)?;
    Ok(())
}

/// A temp file beside `target` (its folder is made if missing), named
/// `.NAME.partial-XXXX` so a killed run's leftovers can be recognised, with
/// ordinary file permissions (rw-r--r--), not the 0600 of temp files.
pub(super) fn temp_file(target: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    use std::os::unix::fs::PermissionsExt;
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("output");
    crate::write::remove_stale_partials_of(dir, &format!(".{name}{PARTIAL_MARK}"));
    let temp = tempfile::Builder::new()
        .prefix(&format!(".{name}{PARTIAL_MARK}"))
        .permissions(std::fs::Permissions::from_mode(0o644))
        .tempfile_in(dir)?;
    // Held while this process writes it: a partial nobody holds is a
    // killed run's, which `write::remove_stale_partials` may remove.
    let _ = fs4::FileExt::try_lock(temp.as_file());
    Ok(temp)
}
