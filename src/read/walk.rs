//! Listing the files under a folder, for every command that takes one
//! (mix's dataset folders, `stats`, recipe globs): sorted, never following
//! a link to a folder (`self -> .` would read files twice, `up -> ..`
//! forever) and keeping only regular files (a FIFO would block its reader
//! forever). Links to files are followed. What is skipped is said, so
//! nothing drops silently.

use std::path::{Path, PathBuf};

/// What a walk found.
#[derive(Debug, Default)]
pub struct Walk {
    /// Regular files (or links to them), sorted by path.
    pub files: Vec<PathBuf>,
    /// One line per entry skipped, and why.
    pub skipped: Vec<String>,
}

/// A folder could not be listed.
#[derive(Debug, thiserror::Error)]
#[error("{path}: cannot list folder: {source}")]
pub struct WalkError {
    /// The folder.
    pub path: PathBuf,
    /// Cause.
    pub source: std::io::Error,
}

/// Every regular file under `dir`, down to `depth` levels of sub-folders
/// (`usize::MAX`: all), hidden entries excluded.
pub fn files_under(dir: &Path, depth: usize) -> Result<Walk, WalkError> {
    let mut walk = Walk::default();
    visit(dir, depth, &mut walk)?;
    walk.files.sort();
    Ok(walk)
}

fn visit(dir: &Path, depth: usize, walk: &mut Walk) -> Result<(), WalkError> {
    let err = |source| WalkError {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(err)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(err)?;
    entries.sort();
    for path in entries {
        let hidden = path
            .file_name()
            .is_some_and(|n| n.as_encoded_bytes().starts_with(b"."));
        if hidden {
            continue;
        }
        let Ok(own) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let kind = if own.file_type().is_symlink() {
            match std::fs::metadata(&path) {
                Ok(target) if target.is_dir() => {
                    let line = format!("{}: a link to a folder, not followed", path.display());
                    walk.skipped.push(line);
                    continue;
                }
                Ok(target) => target.file_type(),
                Err(_) => {
                    walk.skipped
                        .push(format!("{}: a broken link, ignored", path.display()));
                    continue;
                }
            }
        } else {
            own.file_type()
        };
        if kind.is_dir() {
            if depth > 0 {
                visit(&path, depth - 1, walk)?;
            }
        } else if kind.is_file() {
            walk.files.push(path);
        } else {
            let line = format!("{}: not a regular file, ignored", path.display());
            walk.skipped.push(line);
        }
    }
    Ok(())
}

/// The files matching glob `pattern` (an absolute or relative path with
/// `*`, `?`, `[..]`, `**`), found with [`files_under`] from the pattern's
/// literal prefix, so links to folders are not followed; sorted.
pub fn glob_files(pattern: &str) -> Result<(Vec<PathBuf>, Vec<String>), String> {
    let matcher = glob::Pattern::new(pattern).map_err(|e| format!("{pattern:?}: bad glob: {e}"))?;
    let wild = |c: &str| c.contains(['*', '?', '[']);
    let parts: Vec<&str> = pattern.split('/').collect();
    let literal = parts.iter().take_while(|c| !wild(c)).count();
    let root = match parts[..literal].join("/") {
        r if r.is_empty() && pattern.starts_with('/') => "/".to_owned(),
        r if r.is_empty() => ".".to_owned(),
        r => r,
    };
    let rest = &parts[literal..];
    let depth = if rest.contains(&"**") {
        usize::MAX
    } else {
        rest.len().saturating_sub(1)
    };
    let walk = files_under(Path::new(&root), depth).map_err(|e| e.to_string())?;
    let options = glob::MatchOptions {
        require_literal_separator: true,
        ..glob::MatchOptions::new()
    };
    let prefix = if literal == 0 && !pattern.starts_with('/') {
        "./"
    } else {
        ""
    };
    let files = walk
        .files
        .into_iter()
        .filter(|f| {
            let text = f.to_string_lossy();
            let text = text.strip_prefix(prefix).unwrap_or(&text);
            matcher.matches_with(text, options)
        })
        .collect();
    Ok((files, walk.skipped))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn links_to_folders_and_fifos_are_skipped_and_said() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("sub")).unwrap();
        std::fs::write(d.join("a.jsonl"), "").unwrap();
        std::fs::write(d.join("sub/b.jsonl"), "").unwrap();
        std::fs::write(d.join(".hidden.jsonl"), "").unwrap();
        symlink(".", d.join("self")).unwrap();
        symlink("..", d.join("sub/up")).unwrap();
        symlink("a.jsonl", d.join("c.jsonl")).unwrap();
        symlink("gone", d.join("broken")).unwrap();
        let walk = files_under(d, usize::MAX).unwrap();
        let names: Vec<_> = walk
            .files
            .iter()
            .map(|f| f.strip_prefix(d).unwrap())
            .collect();
        assert_eq!(
            names,
            [
                Path::new("a.jsonl"),
                Path::new("c.jsonl"),
                Path::new("sub/b.jsonl")
            ]
        );
        assert_eq!(walk.skipped.len(), 3, "{:?}", walk.skipped);
        let pattern = format!("{}/**/*.jsonl", d.display());
        let (files, _) = glob_files(&pattern).unwrap();
        assert_eq!(files.len(), 3);
        let pattern = format!("{}/*.jsonl", d.display());
        assert_eq!(glob_files(&pattern).unwrap().0.len(), 2);
    }
}
