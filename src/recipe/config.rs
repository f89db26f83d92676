//! The recipe file: its YAML schema (serde, via `serde_norway`), checks that
//! serde cannot express, and path resolution. The format is InstructLab's
//! data-mixing recipe (`datasets: [{path, sampling_size}]`, an integer is a
//! record count and a float a ratio, optional `metadata.sys_prompt`) with
//! knowmix extensions: per-source `tokens` budgets, `weight`s normalised
//! over a top-level `target`, `max_repeats` caps, globs and compressed
//! inputs. Paths are relative to the recipe file. Syntax errors name
//! `file:line:column`; other mistakes name the `datasets[i]` entry.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::store::{self, Location};

/// A parsed recipe file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// The sources, in output order (for `--no-shuffle`).
    pub datasets: Vec<Source>,
    /// Optional `sys_prompt`.
    #[serde(default)]
    pub metadata: Metadata,
    /// Total size shared by the sources that give a `weight`.
    #[serde(default)]
    pub target: Option<Target>,
}

/// `metadata:` block (InstructLab).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Metadata {
    /// Inserted as the first message of every record.
    #[serde(default)]
    pub sys_prompt: Option<String>,
}

/// `target:` — exactly one of `records` or `tokens`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Total records of the weighted sources.
    #[serde(default, deserialize_with = "de_amount_opt")]
    pub records: Option<u64>,
    /// Total tokens of the weighted sources.
    #[serde(default, deserialize_with = "de_amount_opt")]
    pub tokens: Option<u64>,
}

/// One `datasets:` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// A file or glob, relative to the recipe file.
    pub path: String,
    /// Integer: record count; float: ratio of the source.
    #[serde(default)]
    pub sampling_size: Option<SamplingSize>,
    /// A token budget (`5M`, `200k`, `1B`, or a number).
    #[serde(default, deserialize_with = "de_amount_opt")]
    pub tokens: Option<u64>,
    /// A share of `target` (normalised over the weighted sources).
    #[serde(default)]
    pub weight: Option<f64>,
    /// At most this many copies of any record.
    #[serde(default)]
    pub max_repeats: Option<u32>,
}

/// `sampling_size`: YAML `1` is a count, `1.0` a ratio.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SamplingSize {
    /// An absolute number of records.
    Count(u64),
    /// A multiple of the source (2.0 doubles it, 0.2 keeps a fifth).
    Ratio(f64),
}

impl<'de> Deserialize<'de> for SamplingSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = SamplingSize;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("`sampling_size` as a record count (e.g. 1000) or a ratio (e.g. 0.5)")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<SamplingSize, E> {
                Ok(SamplingSize::Count(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<SamplingSize, E> {
                u64::try_from(v).map(SamplingSize::Count).map_err(|_| {
                    E::custom(format!("`sampling_size` must not be negative, found {v}"))
                })
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<SamplingSize, E> {
                Ok(SamplingSize::Ratio(v))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// What one source asks for, checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ask {
    /// `sampling_size: N`.
    Count(u64),
    /// `sampling_size: r`.
    Ratio(f64),
    /// `tokens: B`.
    Tokens(u64),
    /// `weight: w`, a share of the target.
    Weight(f64),
}

/// Recipe mistakes.
#[derive(Debug, thiserror::Error)]
pub enum RecipeError {
    /// The file cannot be read.
    #[error("{path}: cannot read the recipe: {source}")]
    Read {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// YAML syntax or schema error.
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        /// File.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// serde's words.
        message: String,
    },
    /// A semantic mistake.
    #[error("{path}: {message}")]
    Invalid {
        /// File.
        path: String,
        /// What is wrong and what to do.
        message: String,
    },
}

/// A recipe loaded from disk, with its bytes (for the manifest's sha256).
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The recipe file.
    pub path: PathBuf,
    /// Its exact bytes.
    pub text: String,
    /// The parsed recipe.
    pub recipe: Recipe,
    /// One checked ask per source.
    pub asks: Vec<Ask>,
}

/// Read, parse and check a recipe file.
pub fn load(path: &Path) -> Result<Loaded, RecipeError> {
    let shown = path.display().to_string();
    let text = read_recipe(path).map_err(|source| RecipeError::Read {
        path: shown.clone(),
        source,
    })?;
    let recipe = parse(&text).map_err(|e| match e {
        RecipeError::Syntax {
            line,
            column,
            message,
            ..
        } => RecipeError::Syntax {
            path: shown.clone(),
            line,
            column,
            message,
        },
        RecipeError::Invalid { message, .. } => RecipeError::Invalid {
            path: shown.clone(),
            message,
        },
        other => other,
    })?;
    let asks = check(&recipe).map_err(|message| RecipeError::Invalid {
        path: shown,
        message,
    })?;
    Ok(Loaded {
        path: path.to_path_buf(),
        text,
        recipe,
        asks,
    })
}

/// Parse recipe text (errors carry an empty path; [`load`] fills it in).
pub fn parse(text: &str) -> Result<Recipe, RecipeError> {
    serde_norway::from_str(text).map_err(|e| {
        let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        RecipeError::Syntax {
            path: String::new(),
            line,
            column,
            message: e.to_string(),
        }
    })
}

/// The semantic checks: one ask per source, a target iff weights.
pub fn check(recipe: &Recipe) -> Result<Vec<Ask>, String> {
    if recipe.datasets.is_empty() {
        return Err("`datasets` is empty; list at least one {path, sampling_size}".into());
    }
    let mut asks = Vec::new();
    for (i, s) in recipe.datasets.iter().enumerate() {
        let at = format!("datasets[{i}] (path {:?})", s.path);
        let given = [
            s.sampling_size.is_some(),
            s.tokens.is_some(),
            s.weight.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(format!(
                "{at}: give exactly one of sampling_size, tokens or weight"
            ));
        }
        let ask = match (s.sampling_size, s.tokens, s.weight) {
            (Some(SamplingSize::Count(n)), _, _) => Ask::Count(n),
            (Some(SamplingSize::Ratio(r)), _, _) if r.is_finite() && r >= 0.0 => Ask::Ratio(r),
            (Some(SamplingSize::Ratio(r)), _, _) => {
                return Err(format!(
                    "{at}: sampling_size {r} must be a finite ratio ≥ 0"
                ))
            }
            (_, Some(t), _) => Ask::Tokens(t),
            (_, _, Some(w)) if w.is_finite() && w > 0.0 => Ask::Weight(w),
            (_, _, Some(w)) => return Err(format!("{at}: weight {w} must be a positive number")),
            _ => unreachable!("exactly one is given"),
        };
        if s.max_repeats == Some(0) {
            return Err(format!("{at}: max_repeats must be at least 1"));
        }
        asks.push(ask);
    }
    let weighted = asks.iter().any(|a| matches!(a, Ask::Weight(_)));
    match (recipe.target, weighted) {
        (None, true) => Err(
            "sources give a `weight` but there is no `target: {records: N}` or `{tokens: N}`"
                .into(),
        ),
        (Some(_), false) => Err(
            "`target` is set but no source gives a `weight`; add weights or remove target".into(),
        ),
        (Some(t), true) if t.records.is_some() == t.tokens.is_some() => {
            Err("`target` needs exactly one of `records` or `tokens`".into())
        }
        _ => Ok(asks),
    }
}

/// A recipe file's text, from a local path or an `s3://` URL.
fn read_recipe(path: &Path) -> std::io::Result<String> {
    let at = Location::from_path(path).map_err(store::StoreError::into_io_unnamed)?;
    let bytes =
        store::blocking(store::read_all(&at)).map_err(store::StoreError::into_io_unnamed)?;
    String::from_utf8(bytes).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// The files of source `pattern`: a path or glob relative to `base` (or an
/// `s3://` URL), in sorted order. No match is an error. On object storage
/// a glob is matched against the keys under the prefix before its first
/// wildcard, `*` and `?` stopping at `/` as in a folder.
pub fn resolve_files(base: &Path, pattern: &str) -> Result<Vec<PathBuf>, String> {
    let joined = if Location::is_object_path(Path::new(pattern)) {
        PathBuf::from(pattern)
    } else {
        base.join(pattern)
    };
    let text = joined.to_string_lossy();
    let globbed = pattern.contains(['*', '?', '[']);
    let mut files = match Location::from_path(&joined).map_err(|e| e.to_string())? {
        Location::Local(_) if !globbed => {
            return match std::fs::metadata(&joined) {
                Ok(m) if m.is_file() => Ok(vec![joined]),
                Ok(m) if m.is_dir() => Err(format!(
                    "{text}: a folder, not a file; name its files with a glob such as {}/*.jsonl",
                    pattern.trim_end_matches('/')
                )),
                Ok(_) => Err(format!("{text}: not a regular file")),
                Err(_) => Err(format!(
                    "{text}: no such file (paths are relative to the recipe file)"
                )),
            };
        }
        Location::Local(_) => crate::read::walk::glob_files(&text)?.0,
        object => object_files(&object, globbed).map_err(|e| e.to_string())?,
    };
    files.sort();
    if files.is_empty() {
        return Err(format!(
            "{text}: the glob matches no file (paths are relative to the recipe file)"
        ));
    }
    Ok(files)
}

/// The objects a source names: the one object, or the glob's matches.
fn object_files(at: &Location, globbed: bool) -> Result<Vec<PathBuf>, String> {
    if !globbed {
        return match store::blocking(store::exists(at)) {
            Ok(true) => Ok(vec![at.to_path_buf()]),
            Ok(false) => Err(format!("{at}: no such object")),
            Err(e) => Err(e.to_string()),
        };
    }
    let url = at.to_string();
    let pattern = glob::Pattern::new(&url).map_err(|e| format!("{url:?}: bad glob: {e}"))?;
    let literal = &url[..url.find(['*', '?', '[']).expect("a glob has a wildcard")];
    let folder = &literal[..literal.rfind('/').expect("s3:// has a slash")];
    let folder = Location::parse(folder).map_err(|e| e.to_string())?;
    let options = glob::MatchOptions {
        require_literal_separator: true,
        ..Default::default()
    };
    let listed = store::blocking(store::list(&folder)).map_err(|e| e.to_string())?;
    Ok(listed
        .into_iter()
        .map(|entry| entry.location.to_string())
        .filter(|key| pattern.matches_with(key, options))
        .map(PathBuf::from)
        .collect())
}

/// Parse an amount: an integer, or a string like `5M`, `200k`, `1.5B`
/// (k = 10³, M = 10⁶, B or G = 10⁹, T = 10¹²; `_` and `,` are ignored).
pub fn parse_amount(text: &str) -> Result<u64, String> {
    let t: String = text
        .trim()
        .chars()
        .filter(|c| *c != '_' && *c != ',')
        .collect();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("invalid amount {text:?}: expected e.g. 5M or 200000"))?;
    let mult = match unit.trim() {
        "" => 1.0,
        "k" | "K" => 1e3,
        "m" | "M" => 1e6,
        "b" | "B" | "g" | "G" => 1e9,
        "t" | "T" => 1e12,
        other => {
            return Err(format!(
                "invalid unit {other:?} in {text:?}: use k, M, B or T"
            ))
        }
    };
    Ok((n * mult).round() as u64)
}

fn de_amount_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Int(u64),
        Text(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Int(n)) => Ok(Some(n)),
        Some(Raw::Text(s)) => parse_amount(&s).map(Some).map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_is_count_float_is_ratio() {
        let r = parse("datasets:\n  - {path: a.jsonl, sampling_size: 1}\n  - {path: b.jsonl, sampling_size: 1.0}\n").unwrap();
        assert_eq!(check(&r).unwrap(), [Ask::Count(1), Ask::Ratio(1.0)]);
    }

    #[test]
    fn extensions_and_amounts() {
        let text = "metadata:\n  sys_prompt: hi\ntarget: {tokens: 2M}\ndatasets:\n  - {path: a, weight: 2, max_repeats: 3}\n  - {path: b, tokens: 5M}\n";
        let r = parse(text).unwrap();
        assert_eq!(r.target.unwrap().tokens, Some(2_000_000));
        assert_eq!(r.metadata.sys_prompt.as_deref(), Some("hi"));
        assert_eq!(
            check(&r).unwrap(),
            [Ask::Weight(2.0), Ask::Tokens(5_000_000)]
        );
        assert_eq!(parse_amount("1.5k").unwrap(), 1500);
        assert!(parse_amount("5 parsecs").is_err());
    }

    #[test]
    fn errors_name_line_or_entry() {
        let e = parse("datasets:\n  - path: a\n    sampling_sise: 2\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains(":3:") && e.contains("sampling_sise"), "{e}");
        let both = parse("datasets:\n  - {path: a, sampling_size: 2, weight: 1}\n").unwrap();
        assert!(check(&both).unwrap_err().contains("datasets[0]"));
        let no_target = parse("datasets:\n  - {path: a, weight: 1}\n").unwrap();
        assert!(check(&no_target).unwrap_err().contains("target"));
    }
}
