//! Finding the step-03 datasets: one folder per dataset under the input
//! directory, each holding JSON-lines files (`*.jsonl`, `*.json`, optionally
//! `.gz`/`.zst`), read in sorted path order so that row numbers are stable.
//! A missing folder is skipped with a warning; no folder at all is an error.
//! The input may be an `s3://bucket/prefix` ([`crate::store`]): the folders
//! are then prefixes, listed with their sizes, and nothing is downloaded.

use std::path::{Path, PathBuf};

use crate::format::Dataset;
use crate::store::{self, Location, StoreError};

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
    #[error("cannot list the input folder: {0}")]
    List(#[from] StoreError),
}

/// Whether a file name looks like JSON lines, compressed or not.
pub fn is_data_file(name: &str) -> bool {
    let stem = name
        .strip_suffix(".gz")
        .or_else(|| name.strip_suffix(".zst"))
        .or_else(|| name.strip_suffix(".zstd"))
        .unwrap_or(name);
    !name.starts_with('.') && (stem.ends_with(".jsonl") || stem.ends_with(".json"))
}

/// Find the datasets under `input` (a folder or an `s3://` prefix).
pub fn discover(input: &Path) -> Result<Discovery, DiscoverError> {
    let root = Location::from_path(input)?;
    store::blocking(discover_at(&root, input))
}

async fn discover_at(root: &Location, input: &Path) -> Result<Discovery, DiscoverError> {
    if !store::folder_exists(root).await? {
        return Err(DiscoverError::NoInput(input.to_path_buf()));
    }
    let mut found = Discovery::default();
    for dataset in Dataset::ALL {
        let dir = root.join(dataset.folder());
        if !store::folder_exists(&dir).await? {
            found
                .warnings
                .push(format!("{dir}: folder missing, dataset skipped"));
            continue;
        }
        let mut files = Vec::new();
        for entry in store::list(&dir).await? {
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
