//! Finding the tokenizer a run uses, offline: a folder holding
//! `tokenizer.json` (+ `tokenizer_config.json` / `chat_template.jinja`), a
//! path to a `tokenizer.json`, or a hub id `ORG/NAME` looked up in the local
//! HF cache. The default id ([`DEFAULT_TOKENIZER`]) falls back to a copy of
//! Llama 3.1 Instruct's tokenizer embedded (zstd-compressed) in the binary.
//! Nothing is ever downloaded. The result carries the files' bytes, the chat
//! template, the special tokens, where they came from and their sha256, for
//! the run manifest.

use super::hf::{HfCounter, HfError};
use crate::render::{ChatTemplate, RenderError};
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The notebook's default `TOKENIZER_MODEL`.
pub const DEFAULT_TOKENIZER: &str = "RedHatAI/Llama-3.1-8B-Instruct";

static EMBEDDED_JSON: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/tokenizer.json.zst"));
static EMBEDDED_CONFIG: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/tokenizer_config.json.zst"));

/// Errors finding or loading a tokenizer. Each says which path and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// A hub id that is neither a local path nor in the HF cache.
    #[error(
        "tokenizer `{spec}` not found; looked in: {}. knowmix never downloads: point at a folder \
         holding tokenizer.json (and tokenizer_config.json or chat_template.jinja) with \
         `--tokenizer PATH` (or TOKENIZER_MODEL=PATH), or fetch it once into the HF cache with \
         `hf download {spec}`", display_paths(.looked)
    )]
    NotFound {
        /// What was asked for.
        spec: String,
        /// Every place looked, in order.
        looked: Vec<PathBuf>,
    },
    /// A path-like spec that names no file or folder.
    #[error(
        "{}: no such file or folder; point `--tokenizer PATH` (or TOKENIZER_MODEL) at a folder \
         holding tokenizer.json, or at a tokenizer.json", .path.display()
    )]
    PathNotFound {
        /// The path given.
        path: PathBuf,
    },
    /// A folder was given but it has no `tokenizer.json`.
    #[error("{}: no tokenizer.json in this folder; point --tokenizer at a folder that has one", .dir.display())]
    NoTokenizerJson {
        /// The folder.
        dir: PathBuf,
    },
    /// A file could not be read.
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// `tokenizer_config.json` or `special_tokens_map.json` is not what
    /// transformers writes.
    #[error("{}: {reason}; fix or remove the file", .path.display())]
    BadConfig {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No chat template: neither `chat_template.jinja` nor a `chat_template`
    /// in `tokenizer_config.json`.
    #[error("{source_desc}: no chat template; add chat_template.jinja (or a `chat_template` in tokenizer_config.json) next to tokenizer.json")]
    NoChatTemplate {
        /// Where the tokenizer came from.
        source_desc: String,
    },
    /// The chat template does not compile.
    #[error("{source_desc}: {error}")]
    Template {
        /// Where the tokenizer came from.
        source_desc: String,
        /// The compile error.
        #[source]
        error: RenderError,
    },
    /// `tokenizer.json` does not load.
    #[error(transparent)]
    Tokenizer(#[from] HfError),
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where a resolved tokenizer came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenizerSource {
    /// The copy of Llama 3.1 Instruct compiled into knowmix.
    Embedded,
    /// A snapshot folder in the HF cache.
    HfCache {
        /// The hub id.
        id: String,
        /// The snapshot folder used.
        snapshot: PathBuf,
    },
    /// A folder given by path.
    Folder(PathBuf),
    /// A `tokenizer.json` given by path (siblings read from its folder).
    File(PathBuf),
}

impl fmt::Display for TokenizerSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenizerSource::Embedded => write!(f, "embedded Llama 3.1 Instruct"),
            TokenizerSource::HfCache { id, snapshot } => {
                write!(f, "{id} from HF cache {}", snapshot.display())
            }
            TokenizerSource::Folder(p) => write!(f, "folder {}", p.display()),
            TokenizerSource::File(p) => write!(f, "file {}", p.display()),
        }
    }
}

/// A file that went into a resolved tokenizer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigest {
    /// File name (`tokenizer.json`, `tokenizer_config.json`, ...).
    pub name: String,
    /// Lowercase hex sha256 of its bytes.
    pub sha256: String,
}

/// Everything needed to render and count, plus provenance.
#[derive(Debug, Clone)]
pub struct ResolvedTokenizer {
    /// The bytes of `tokenizer.json`.
    pub tokenizer_json: Arc<Vec<u8>>,
    /// The chat template source, if any was found.
    pub chat_template: Option<String>,
    /// `bos_token` from the config, if set.
    pub bos_token: Option<String>,
    /// `eos_token` from the config, if set.
    pub eos_token: Option<String>,
    /// Where it came from.
    pub source: TokenizerSource,
    /// sha256 of each file used, in the order read.
    pub files: Vec<FileDigest>,
}

impl ResolvedTokenizer {
    /// A human description of the source, e.g. "embedded Llama 3.1 Instruct".
    pub fn describe(&self) -> String {
        self.source.to_string()
    }

    /// Compiles the chat template (local clock for `strftime_now`).
    pub fn chat_template(&self) -> Result<ChatTemplate, ResolveError> {
        self.chat_template_with_clock(crate::render::local_clock())
    }

    /// Compiles the chat template with `strftime_now` reading `clock`.
    pub fn chat_template_with_clock(
        &self,
        clock: crate::render::Clock,
    ) -> Result<ChatTemplate, ResolveError> {
        let source = self
            .chat_template
            .as_deref()
            .ok_or_else(|| ResolveError::NoChatTemplate {
                source_desc: self.describe(),
            })?;
        let bos = self.bos_token.as_deref().unwrap_or("");
        let eos = self.eos_token.as_deref().unwrap_or("");
        ChatTemplate::with_clock(source, bos, eos, clock).map_err(|error| ResolveError::Template {
            source_desc: self.describe(),
            error,
        })
    }

    /// Loads `tokenizer.json` into a counter (slow for big vocabularies:
    /// do it once).
    pub fn hf_counter(&self) -> Result<HfCounter, ResolveError> {
        Ok(HfCounter::from_json(
            &self.tokenizer_json,
            &self.describe(),
        )?)
    }
}

/// Resolves `spec` with the HF cache located from the process environment.
pub fn resolve(spec: &str) -> Result<ResolvedTokenizer, ResolveError> {
    resolve_in(spec, &hub_cache_dir(|k| std::env::var_os(k)))
}

/// Resolves `spec` (path or hub id) looking for hub ids in `hub_cache`.
pub fn resolve_in(spec: &str, hub_cache: &Path) -> Result<ResolvedTokenizer, ResolveError> {
    let path = Path::new(spec);
    if path.is_dir() {
        return load_dir(
            path,
            TokenizerSource::Folder(path.to_path_buf()),
            Json::InFolder,
        );
    }
    if path.is_file() {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        return load_dir(
            dir,
            TokenizerSource::File(path.to_path_buf()),
            Json::At(path),
        );
    }
    let Some((org, name)) = hub_id(spec) else {
        return Err(ResolveError::PathNotFound {
            path: path.to_path_buf(),
        });
    };
    let repo = hub_cache.join(format!("models--{org}--{name}"));
    if let Some(snapshot) = find_snapshot(&repo) {
        let source = TokenizerSource::HfCache {
            id: spec.to_owned(),
            snapshot: snapshot.clone(),
        };
        return load_dir(&snapshot, source, Json::InFolder);
    }
    if spec == DEFAULT_TOKENIZER {
        return embedded();
    }
    let looked = vec![path.to_path_buf(), repo.join("snapshots")];
    Err(ResolveError::NotFound {
        spec: spec.to_owned(),
        looked,
    })
}

/// The hub cache folder as huggingface_hub finds it: `$HF_HUB_CACHE`, else
/// `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else
/// `~/.cache/huggingface/hub`. `var` reads an environment variable.
pub fn hub_cache_dir(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> PathBuf {
    let set = |k: &str| var(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(p) = set("HF_HUB_CACHE") {
        return p;
    }
    if let Some(p) = set("HF_HOME") {
        return p.join("hub");
    }
    let cache = set("XDG_CACHE_HOME")
        .or_else(|| set("HOME").map(|h| h.join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache.join("huggingface").join("hub")
}

/// `ORG/NAME` with no other path syntax (no `.json` name either).
fn hub_id(spec: &str) -> Option<(&str, &str)> {
    let (org, name) = spec.split_once('/')?;
    let ok = |s: &str| {
        !s.is_empty() && !s.starts_with('.') && !s.contains(['/', '\\']) && !s.ends_with(".json")
    };
    (ok(org) && ok(name)).then_some((org, name))
}

/// The snapshot named by `refs/main` if it has a tokenizer.json, else the
/// first snapshot (by name) that has one.
fn find_snapshot(repo: &Path) -> Option<PathBuf> {
    let snapshots = repo.join("snapshots");
    let has_tokenizer =
        |d: &Path| d.join("tokenizer.json").is_file() || d.join("tokenizer.json.zst").is_file();
    if let Ok(rev) = std::fs::read_to_string(repo.join("refs").join("main")) {
        let dir = snapshots.join(rev.trim());
        if has_tokenizer(&dir) {
            return Some(dir);
        }
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&snapshots)
        .ok()?
        .filter_map(|e| Some(e.ok()?.path()))
        .collect();
    dirs.sort();
    dirs.into_iter().find(|d| has_tokenizer(d))
}

/// Reads a file if it exists, else its zstd-compressed sibling `NAME.zst`
/// if that exists (decompressed; how the repository's large fixture
/// tokenizers are kept), recording the digest of the file read.
fn read_optional(
    path: &Path,
    files: &mut Vec<FileDigest>,
) -> Result<Option<Vec<u8>>, ResolveError> {
    let mut packed_path = path.as_os_str().to_owned();
    packed_path.push(".zst");
    let packed_path = PathBuf::from(packed_path);
    let is_zst = path.extension().is_some_and(|e| e == "zst");
    let (found, bytes) = match read_if_present(path)? {
        Some(bytes) if !is_zst => {
            files.push(digest(path, &bytes));
            return Ok(Some(bytes));
        }
        Some(bytes) => (path, bytes),
        None => match read_if_present(&packed_path)? {
            Some(bytes) => (packed_path.as_path(), bytes),
            None => return Ok(None),
        },
    };
    files.push(digest(found, &bytes));
    let plain = zstd::decode_all(bytes.as_slice()).map_err(|source| ResolveError::Io {
        path: found.to_path_buf(),
        source,
    })?;
    Ok(Some(plain))
}

fn read_if_present(path: &Path) -> Result<Option<Vec<u8>>, ResolveError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ResolveError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn digest(path: &Path, bytes: &[u8]) -> FileDigest {
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    FileDigest {
        name,
        sha256: format!("{:x}", Sha256::digest(bytes)),
    }
}

/// A folder's chat template and special tokens, without reading its
/// `tokenizer.json` (left empty): for a counter loaded from the tables
/// `shard plan` stored beside them.
pub fn resolve_templates(dir: &Path) -> Result<ResolvedTokenizer, ResolveError> {
    load_dir(dir, TokenizerSource::Folder(dir.to_path_buf()), Json::Skip)
}

/// Which `tokenizer.json` a folder load reads.
enum Json<'a> {
    /// The folder's own.
    InFolder,
    /// This file (named by the spec).
    At(&'a Path),
    /// None ([`resolve_templates`]).
    Skip,
}

fn load_dir(
    dir: &Path,
    source: TokenizerSource,
    json: Json<'_>,
) -> Result<ResolvedTokenizer, ResolveError> {
    let mut files = Vec::new();
    let json_path = match json {
        Json::InFolder => Some(dir.join("tokenizer.json")),
        Json::At(path) => Some(path.to_path_buf()),
        Json::Skip => None,
    };
    let tokenizer_json = match json_path {
        Some(path) => {
            read_optional(&path, &mut files)?.ok_or_else(|| ResolveError::NoTokenizerJson {
                dir: dir.to_path_buf(),
            })?
        }
        None => Vec::new(),
    };
    let config_path = dir.join("tokenizer_config.json");
    let config = read_optional(&config_path, &mut files)?
        .map(|b| parse_json(&config_path, &b))
        .transpose()?;
    let jinja_path = dir.join("chat_template.jinja");
    let jinja = read_optional(&jinja_path, &mut files)?
        .map(|b| String::from_utf8(b).map_err(|_| bad(&jinja_path, "not UTF-8")))
        .transpose()?;
    let mut special = Special::from_config(config.as_ref(), &config_path)?;
    if special.bos.is_none() || special.eos.is_none() {
        let map_path = dir.join("special_tokens_map.json");
        if let Some(b) = read_optional(&map_path, &mut files)? {
            special.fill_from(&Special::from_config(
                Some(&parse_json(&map_path, &b)?),
                &map_path,
            )?);
        }
    }
    let chat_template = match jinja {
        Some(t) => Some(t),
        None => config
            .as_ref()
            .map(|c| config_template(c, &config_path))
            .transpose()?
            .flatten(),
    };
    Ok(ResolvedTokenizer {
        tokenizer_json: Arc::new(tokenizer_json),
        chat_template,
        bos_token: special.bos,
        eos_token: special.eos,
        source,
        files,
    })
}

fn embedded() -> Result<ResolvedTokenizer, ResolveError> {
    let unpack = |name: &str, packed: &[u8]| {
        zstd::decode_all(packed).map_err(|source| ResolveError::Io {
            path: PathBuf::from(format!("<embedded {name}>")),
            source,
        })
    };
    let json = unpack("tokenizer.json", EMBEDDED_JSON)?;
    let config_bytes = unpack("tokenizer_config.json", EMBEDDED_CONFIG)?;
    let config_path = Path::new("<embedded tokenizer_config.json>");
    let config = parse_json(config_path, &config_bytes)?;
    let special = Special::from_config(Some(&config), config_path)?;
    let files = vec![
        digest(Path::new("tokenizer.json"), &json),
        digest(Path::new("tokenizer_config.json"), &config_bytes),
    ];
    Ok(ResolvedTokenizer {
        tokenizer_json: Arc::new(json),
        chat_template: config_template(&config, config_path)?,
        bos_token: special.bos,
        eos_token: special.eos,
        source: TokenizerSource::Embedded,
        files,
    })
}

fn bad(path: &Path, reason: impl Into<String>) -> ResolveError {
    ResolveError::BadConfig {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn parse_json(path: &Path, bytes: &[u8]) -> Result<serde_json::Value, ResolveError> {
    serde_json::from_slice(bytes).map_err(|e| bad(path, format!("invalid JSON: {e}")))
}

/// `chat_template` in tokenizer_config.json: a string, or a list of
/// `{name, template}` of which transformers uses `default`.
fn config_template(
    config: &serde_json::Value,
    path: &Path,
) -> Result<Option<String>, ResolveError> {
    match config.get("chat_template") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
        Some(serde_json::Value::Array(list)) => Ok(list
            .iter()
            .find(|t| t.get("name").and_then(|n| n.as_str()) == Some("default"))
            .and_then(|t| t.get("template")?.as_str().map(str::to_owned))),
        Some(_) => Err(bad(
            path,
            "`chat_template` must be a string or a list of {name, template}",
        )),
    }
}

/// The special tokens a template sees.
#[derive(Debug, Default)]
struct Special {
    bos: Option<String>,
    eos: Option<String>,
}

impl Special {
    fn from_config(config: Option<&serde_json::Value>, path: &Path) -> Result<Self, ResolveError> {
        let Some(config) = config else {
            return Ok(Special::default());
        };
        Ok(Special {
            bos: token(config, "bos_token", path)?,
            eos: token(config, "eos_token", path)?,
        })
    }

    fn fill_from(&mut self, other: &Special) {
        self.bos = self.bos.take().or_else(|| other.bos.clone());
        self.eos = self.eos.take().or_else(|| other.eos.clone());
    }
}

/// A special token: a string, or an AddedToken object `{"content": ...}`.
fn token(
    config: &serde_json::Value,
    key: &str,
    path: &Path,
) -> Result<Option<String>, ResolveError> {
    match config.get(key) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
        Some(obj) => match obj.get("content").and_then(|c| c.as_str()) {
            Some(s) => Ok(Some(s.to_owned())),
            None => Err(bad(
                path,
                format!("`{key}` must be a string or an object with a string `content`"),
            )),
        },
    }
}
