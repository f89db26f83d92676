//! Finding the step-03 datasets: one folder per dataset under the input
//! directory, each holding JSON-lines files (`*.jsonl`, `*.json`, optionally
//! `.gz`/`.zst`, any letter case), read in sorted path order so that row
//! numbers are stable. A missing folder is skipped with a warning; no
//! folder at all is an error, and so is a dataset that exists but yields no
//! readable file (a regular file in its place, only hidden or unrelated
//! files, a compression knowmix cannot read): dropping it would silently
//! change the mix. Folders are walked by [`super::walk`]. The input may
//! be an `s3://bucket/prefix` ([`crate::store`]): the folders are then
//! prefixes, listed with their sizes, and nothing is downloaded.

use std::path::{Path, PathBuf};

use crate::format::Dataset;

/// The files of one dataset.
#[derive(Debug, Clone)]
pub struct DatasetFiles {
    /// Which dataset.
    pub dataset: Dataset,
    /// Its data files, sorted.
    pub files: Vec<PathBuf>,
    /// Their total size on disk.
    pub bytes: u64,
}

/// What discovery found.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Datasets present, in output order.
    pub datasets: Vec<DatasetFiles>,
    /// Things the user should know (missing folders, ignored files).
    pub warnings: Vec<String>,
}

/// Discovery errors.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    /// The input directory is not there.
    #[error("{0}: input folder not found; pass the step-03 output folder with --input")]
    NoInput(PathBuf),
    /// None of the four dataset folders holds data.
    #[error("{path}: no step-03 dataset found (looked for {expected}); is --input the step-03 output folder?")]
    NoDatasets {
        /// The input directory.
        path: PathBuf,
        /// The folder names looked for.
        expected: String,
    },
    /// Listing a folder failed.
    #[error(transparent)]
    List(#[from] super::walk::WalkError),
    /// Listing an object prefix failed.
    #[error("cannot list the input folder: {0}")]
    Store(#[from] crate::store::StoreError),
    /// A dataset's name is taken by something that is not a folder.
    #[error("{0}: not a folder (a dataset is a folder of .jsonl files)")]
    NotAFolder(PathBuf),
    /// A dataset folder holds no file knowmix can read.
    #[error("{path}: no readable JSON-lines file (.jsonl, .json, optionally .gz/.zst){seen}")]
    NoReadable {
        /// The folder.
        path: PathBuf,
        /// What it holds instead, for the message.
        seen: String,
    },
    /// A JSON-lines file compressed in a way knowmix does not read.
    #[error("{0}: unsupported compression; knowmix reads plain, .gz and .zst files (decompress it first)")]
    Unsupported(PathBuf),
}

/// Whether a file name looks like JSON lines, compressed or not (any case).
pub fn is_data_file(name: &str) -> bool {
    let name = &name.to_ascii_lowercase();
    let stem = name
        .strip_suffix(".gz")
        .or_else(|| name.strip_suffix(".zst"))
        .or_else(|| name.strip_suffix(".zstd"))
        .unwrap_or(name);
    !name.starts_with('.') && (stem.ends_with(".jsonl") || stem.ends_with(".json"))
}

/// Find the datasets under `input` (a folder or an `s3://` prefix).
pub fn discover(input: &Path) -> Result<Discovery, DiscoverError> {
    if crate::store::Location::is_object_path(input) {
        let root = crate::store::Location::from_path(input)?;
        return crate::store::blocking(discover_objects(&root, input));
    }
    if !input.is_dir() {
        return Err(DiscoverError::NoInput(input.to_path_buf()));
    }
    let mut found = Discovery::default();
    for dataset in Dataset::ALL {
        let dir = input.join(dataset.folder());
        if std::fs::symlink_metadata(&dir).is_err() {
            found.warnings.push(format!(
                "{}: folder missing, dataset skipped",
                dir.display()
            ));
            continue;
        }
        if !dir.is_dir() {
            return Err(DiscoverError::NotAFolder(dir));
        }
        let files = list_data_files(&dir, &mut found.warnings)?;
        let sizes: Vec<u64> = files
            .iter()
            .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
            .collect();
        for (file, _) in files.iter().zip(&sizes).filter(|(_, &size)| size == 0) {
            found
                .warnings
                .push(format!("{}: empty file", file.display()));
        }
        let bytes = sizes.iter().sum();
        found.datasets.push(DatasetFiles {
            dataset,
            files,
            bytes,
        });
    }
    if found.datasets.is_empty() {
        let expected = Dataset::ALL.map(Dataset::folder).join(", ");
        return Err(DiscoverError::NoDatasets {
            path: input.to_path_buf(),
            expected,
        });
    }
    Ok(found)
}

/// The data files under `dir`, sorted; others are warned about. None is
/// an error.
fn list_data_files(dir: &Path, warnings: &mut Vec<String>) -> Result<Vec<PathBuf>, DiscoverError> {
    let walk = super::walk::files_under(dir, usize::MAX)?;
    warnings.extend(walk.skipped);
    let mut files = Vec::new();
    let mut others = Vec::new();
    for path in walk.files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if is_data_file(name) {
            files.push(path);
        } else if is_compressed_data_file(name) {
            return Err(DiscoverError::Unsupported(path));
        } else {
            warnings.push(format!("{}: not a .jsonl file, ignored", path.display()));
            others.push(name.to_owned());
        }
    }
    if files.is_empty() {
        let seen = match others.len() {
            0 => String::new(),
            n => format!("; it holds {n} other file(s), e.g. {:?}", others[0]),
        };
        return Err(DiscoverError::NoReadable {
            path: dir.to_path_buf(),
            seen,
        });
    }
    Ok(files)
}

/// A JSON-lines name with a compression suffix knowmix does not read.
fn is_compressed_data_file(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [".bz2", ".xz", ".lz4", ".br", ".lzma", ".z", ".7z", ".zip"]
        .iter()
        .filter_map(|ext| name.strip_suffix(ext))
        .any(|stem| stem.ends_with(".jsonl") || stem.ends_with(".json"))
}

/// [`discover`] on object storage: prefixes listed with their sizes.
async fn discover_objects(
    root: &crate::store::Location,
    input: &Path,
) -> Result<Discovery, DiscoverError> {
    if !crate::store::folder_exists(root).await? {
        return Err(DiscoverError::NoInput(input.to_path_buf()));
    }
    let mut found = Discovery::default();
    for dataset in Dataset::ALL {
        let dir = root.join(dataset.folder());
        if !crate::store::folder_exists(&dir).await? {
            found
                .warnings
                .push(format!("{dir}: folder missing, dataset skipped"));
            continue;
        }
        let mut files = Vec::new();
        for entry in crate::store::list(&dir).await? {
            let path = entry.location.to_path_buf();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if is_data_file(name) {
                files.push((path, entry.size));
            } else {
                let at = &entry.location;
                found
                    .warnings
                    .push(format!("{at}: not a .jsonl file, ignored"));
            }
        }
        // Path order (by component), the same for a folder and a prefix.
        files.sort();
        if files.is_empty() {
            found
                .warnings
                .push(format!("{dir}: no .jsonl files, dataset skipped"));
            continue;
        }
        for (file, _) in files.iter().filter(|(_, size)| *size == 0) {
            found
                .warnings
                .push(format!("{}: empty file", file.display()));
        }
        found.datasets.push(DatasetFiles {
            dataset,
            bytes: files.iter().map(|(_, size)| size).sum(),
            files: files.into_iter().map(|(file, _)| file).collect(),
        });
    }
    if found.datasets.is_empty() {
        let expected = Dataset::ALL.map(Dataset::folder).join(", ");
        return Err(DiscoverError::NoDatasets {
            path: input.to_path_buf(),
            expected,
        });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_file_names() {
        for ok in ["gen.jsonl", "a.json", "x.jsonl.gz", "x.jsonl.zst"] {
            assert!(is_data_file(ok), "{ok}");
        }
        for no in ["gen.csv", ".gen.jsonl", "README.md", "x.gz", "a.parquet"] {
            assert!(!is_data_file(no), "{no}");
        }
    }

    #[test]
    fn discovery_orders_and_warns() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("detailed_summary")).unwrap();
        std::fs::write(dir.path().join("detailed_summary/b.jsonl"), "{}\n").unwrap();
        std::fs::write(dir.path().join("detailed_summary/a.jsonl"), "{}\n").unwrap();
        std::fs::write(dir.path().join("detailed_summary/notes.txt"), "").unwrap();
        let found = discover(dir.path()).unwrap();
        assert_eq!(found.datasets.len(), 1);
        let names: Vec<_> = found.datasets[0]
            .files
            .iter()
            .map(|f| f.file_name().unwrap())
            .collect();
        assert_eq!(names, ["a.jsonl", "b.jsonl"]);
        assert_eq!(found.warnings.len(), 4, "{:?}", found.warnings);
        let empty = tempfile::tempdir().unwrap();
        assert!(discover(empty.path())
            .unwrap_err()
            .to_string()
            .contains("no step-03 dataset"));
    }
}
