//! Finding the step-03 datasets: one folder per dataset under the input
//! directory, each holding JSON-lines files (`*.jsonl`, `*.json`, optionally
//! `.gz`/`.zst`), read in sorted path order so that row numbers are stable.
//! A missing folder is skipped with a warning; no folder at all is an error.

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
    #[error("{path}: cannot list folder: {source}")]
    List {
        /// The folder.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
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

/// Find the datasets under `input`.
pub fn discover(input: &Path) -> Result<Discovery, DiscoverError> {
    if !input.is_dir() {
        return Err(DiscoverError::NoInput(input.to_path_buf()));
    }
    let mut found = Discovery::default();
    for dataset in Dataset::ALL {
        let dir = input.join(dataset.folder());
        if !dir.is_dir() {
            found.warnings.push(format!(
                "{}: folder missing, dataset skipped",
                dir.display()
            ));
            continue;
        }
        let mut files = Vec::new();
        list_data_files(&dir, &mut files, &mut found.warnings)?;
        files.sort();
        if files.is_empty() {
            found.warnings.push(format!(
                "{}: no .jsonl files, dataset skipped",
                dir.display()
            ));
            continue;
        }
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

fn list_data_files(
    dir: &Path,
    files: &mut Vec<PathBuf>,
    warnings: &mut Vec<String>,
) -> Result<(), DiscoverError> {
    let list_err = |source| DiscoverError::List {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(list_err)? {
        let path = entry.map_err(list_err)?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            list_data_files(&path, files, warnings)?;
        } else if is_data_file(name) {
            files.push(path);
        } else if !name.starts_with('.') {
            warnings.push(format!("{}: not a .jsonl file, ignored", path.display()));
        }
    }
    Ok(())
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
