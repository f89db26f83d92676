//! The fast counter's tables kept on disk between runs. Building them from
//! `tokenizer.json` (parse 9 MB of JSON, re-key 128k tokens and 280k merges
//! by bytes) costs ~0.4 s for Llama 3, more for gpt-oss and ~1 s of CPU
//! for Gemma 3's 262k-token SentencePiece model, where a whole mix of 800 MB
//! takes ~1-2 s. The stored file holds the BPE tables in the layout
//! they are used in ([`super::flat`]): it is memory-mapped, its checksum
//! checked, and the tables used where they lie (~3 ms, where decoding them
//! into hash maps took 15-45 ms and ~12 MB more memory). The file is named
//! after the xxh3-128 of the `tokenizer.json` bytes and the format version,
//! carries its own checksum, and is written to a temp file then renamed, so
//! a stale, partial or corrupt file is never used: it is rebuilt. The
//! folder is `$KNOWMIX_CACHE_DIR` (empty: no cache), else
//! `$XDG_CACHE_HOME/knowmix`, else `~/.cache/knowmix`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::bpe::Bpe;
use super::config::{self, Spec};
use super::flat::SharedBuffer;
use super::regex_split::RegexChain;
use super::shape::{Shape, SplitRule, Splits};
use super::sp::SpModel;
use super::special::SpecialSplitter;
use super::split::Flavor;
use super::{FastCounter, FastError, Model};

/// Bumped whenever the layout or the meaning of the tables changes.
const VERSION: u32 = 4;
const MAGIC: &[u8; 16] = b"knowmix-fastbpe\0";

/// The cache folder from the environment (`var` reads a variable); `None`
/// when caching is off.
pub fn cache_dir(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
    if let Some(dir) = var("KNOWMIX_CACHE_DIR") {
        return (!dir.is_empty()).then(|| PathBuf::from(dir));
    }
    let set = |k: &str| var(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let cache = set("XDG_CACHE_HOME").or_else(|| set("HOME").map(|h| h.join(".cache")))?;
    Some(cache.join("knowmix"))
}

/// The counter for `json`: from the stored tables in `dir` when they are
/// there and sound, else built (and stored, best effort). `Ok(None)` when
/// the fast path does not support this tokenizer.
pub fn load_or_build(json: &[u8], dir: Option<&Path>) -> Result<Option<FastCounter>, FastError> {
    let path = dir.map(|d| d.join(file_name(json)));
    if let Some(counter) = path.as_deref().and_then(load) {
        return Ok(Some(counter));
    }
    let Some((counter, payload)) = build(json)? else {
        return Ok(None);
    };
    if let Some(path) = path {
        // A cache that cannot be written only costs the next run time.
        let _ = store(&path, &payload);
    }
    Ok(Some(counter))
}

/// The counter built from `json` and its stored form; `None` when the
/// fast path does not support this tokenizer.
fn build(json: &[u8]) -> Result<Option<(FastCounter, Vec<u8>)>, FastError> {
    let Some(spec) = config::parse(json)? else {
        return Ok(None);
    };
    let Some(counter) = FastCounter::from_spec(&spec)? else {
        return Ok(None);
    };
    let payload = encode(&spec, &counter);
    Ok(Some((counter, payload)))
}

/// The stored tables' file name in a folder of one tokenizer's files
/// (`shard plan` writes it beside the copied `tokenizer.json`).
pub const TABLES_FILE: &str = "fast-counter.bin";

/// Write the stored tables for `json` to `to`: a copy of the cached file
/// when it is there and sound, else built (and cached, best effort).
/// Nothing is written when the fast path does not support this tokenizer
/// (or cannot read it: HF `tokenizers` will say why).
pub fn export(json: &[u8], cache: Option<&Path>, to: &Path) -> std::io::Result<()> {
    let cached = cache.map(|d| d.join(file_name(json)));
    if let Some(path) = cached.as_deref().filter(|p| load(p).is_some()) {
        let dir = to.parent().expect("a file in a folder");
        let mut temp = tempfile::NamedTempFile::new_in(dir)?;
        std::io::copy(&mut std::fs::File::open(path)?, temp.as_file_mut())?;
        temp.persist(to).map_err(|e| e.error)?;
        return Ok(());
    }
    let Ok(Some((_, payload))) = build(json) else {
        return Ok(());
    };
    store(to, &payload)?;
    if let Some(path) = cached {
        let _ = store(&path, &payload);
    }
    Ok(())
}

/// The counter stored at `path` ([`export`]), if the file is there and
/// sound.
pub fn load_file(path: &Path) -> Option<FastCounter> {
    load(path)
}

fn file_name(json: &[u8]) -> String {
    let digest = xxhash_rust::xxh3::xxh3_128(json);
    format!("fast-bpe-v{VERSION}-{digest:032x}.bin")
}

/// Write `payload` (from [`encode`]) to `path`.
fn store(path: &Path, payload: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().expect("a file in the cache folder");
    std::fs::create_dir_all(dir)?;
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    temp.write_all(MAGIC)?;
    temp.write_all(&(payload.len() as u64).to_le_bytes())?;
    temp.write_all(&xxhash_rust::xxh3::xxh3_64(payload).to_le_bytes())?;
    temp.write_all(payload)?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The counter stored at `path`, if the file is there and sound. The file
/// is memory-mapped and its BPE tables used where they lie ([`super::flat`]).
fn load(path: &Path) -> Option<FastCounter> {
    let file = std::fs::File::open(path).ok()?;
    // SAFETY: cache files are written whole to a temp file and renamed into
    // place, never changed where they lie, so the mapped bytes stay as
    // checked below. (A file cut short by hand under a running process
    // would fault on access, as any mapped file does.)
    let map = unsafe { memmap2::Mmap::map(&file) }.ok()?;
    let bytes: &[u8] = &map;
    let header = MAGIC.len() + 16;
    if bytes.len() < header || &bytes[..MAGIC.len()] != MAGIC {
        return None;
    }
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let (len, checksum) = (word(MAGIC.len()), word(MAGIC.len() + 8));
    let payload = &bytes[header..];
    if payload.len() as u64 != len || xxhash_rust::xxh3::xxh3_64(payload) != checksum {
        return None;
    }
    decode(Arc::new(map), header)
}

/// The stored form of a counter: its shape (hand flavor or the regexes,
/// recompiled on load; or SentencePiece), added tokens and model tables.
fn encode(spec: &Spec<'_>, counter: &FastCounter) -> Vec<u8> {
    let mut out = Vec::new();
    match &counter.shape {
        Shape::ByteLevel { nfc, splits } => {
            match splits {
                Splits::Hand(Flavor::Llama3) => out.push(0u8),
                Splits::Hand(Flavor::O200k) => out.push(1),
                Splits::Hand(Flavor::Qwen) => out.push(3),
                Splits::Rules(rules) => {
                    out.push(2);
                    put_u32(&mut out, rules.len() as u32);
                    for rule in rules {
                        put_bytes(&mut out, rule.pattern.as_bytes());
                        out.push(u8::from(rule.keep_gaps));
                    }
                }
            }
            out.push(u8::from(*nfc));
        }
        Shape::SentencePiece { prepend } => out.extend([4, u8::from(*prepend)]),
    }
    put_u32(&mut out, counter.template_tokens as u32);
    for list in [&spec.added, &spec.added_normalized] {
        put_u32(&mut out, list.len() as u32);
        for token in list {
            put_bytes(&mut out, token.as_bytes());
        }
    }
    match &counter.model {
        Model::Hand(_, bpe) | Model::Compiled(_, bpe) => bpe.encode(&mut out),
        Model::SentencePiece(sp) => sp.encode(&mut out),
    }
    out
}

/// The shape [`encode`] wrote first.
fn decode_shape(r: &mut Reader<'_>) -> Option<Shape> {
    let splits = match r.u8()? {
        0 => Splits::Hand(Flavor::Llama3),
        1 => Splits::Hand(Flavor::O200k),
        3 => Splits::Hand(Flavor::Qwen),
        2 => Splits::Rules(
            (0..r.u32()?)
                .map(|_| {
                    let pattern = String::from_utf8(r.bytes()?.to_vec()).ok()?;
                    let keep_gaps = r.u8()? != 0;
                    Some(SplitRule { pattern, keep_gaps })
                })
                .collect::<Option<Vec<_>>>()?,
        ),
        4 => {
            let prepend = r.u8()? != 0;
            return Some(Shape::SentencePiece { prepend });
        }
        _ => return None,
    };
    let nfc = r.u8()? != 0;
    Some(Shape::ByteLevel { nfc, splits })
}

/// The counter whose tables [`encode`] wrote at `start` of `buffer`.
fn decode(buffer: SharedBuffer, start: usize) -> Option<FastCounter> {
    let payload = (*buffer).as_ref().get(start..)?;
    let mut r = Reader::new(payload);
    let shape = decode_shape(&mut r)?;
    let template_tokens = r.u32()? as usize;
    let mut lists = [Vec::new(), Vec::new()];
    for list in &mut lists {
        *list = (0..r.u32()?)
            .map(|_| String::from_utf8(r.bytes()?.to_vec()).ok())
            .collect::<Option<Vec<String>>>()?;
    }
    let model = match &shape {
        Shape::ByteLevel { splits, .. } => {
            let bpe = Bpe::decode(&mut r, &buffer, start)?;
            match splits {
                Splits::Hand(flavor) => Model::Hand(*flavor, bpe),
                Splits::Rules(rules) => Model::Compiled(RegexChain::new(rules)?, bpe),
            }
        }
        Shape::SentencePiece { .. } => {
            Model::SentencePiece(Box::new(SpModel::decode(&mut r, &buffer, start)?))
        }
    };
    if !r.is_empty() {
        return None;
    }
    let special = SpecialSplitter::new(&lists[0], &lists[1]).ok()?;
    Some(FastCounter::from_parts(
        shape,
        special,
        model,
        template_tokens,
    ))
}

/// Appends a little-endian `u32`.
pub(super) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Appends a length-prefixed byte string.
fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u32(out, b.len() as u32);
    out.extend_from_slice(b);
}

/// Reads what [`put_u32`] and friends wrote; `None` past the end.
pub(super) struct Reader<'a> {
    rest: &'a [u8],
    /// The length of all the bytes read from.
    total: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader {
            rest: bytes,
            total: bytes.len(),
        }
    }

    /// The next `n` bytes.
    pub(super) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.rest.len() < n {
            return None;
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Some(head)
    }

    /// Bytes read so far.
    pub(super) fn consumed(&self) -> usize {
        self.total - self.rest.len()
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    pub(super) fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    /// A little-endian `u32`.
    pub(super) fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    /// A little-endian `u64`.
    pub(super) fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    /// A length-prefixed byte string.
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenize::TokenCount;

    fn tokenizer_json(name: &str) -> Vec<u8> {
        let root = env!("CARGO_MANIFEST_DIR");
        let path = format!("{root}/fixtures/tokenizers/{name}/tokenizer.json");
        match std::fs::read(&path) {
            Ok(json) => json,
            Err(_) => zstd::decode_all(std::fs::File::open(path + ".zst").unwrap()).unwrap(),
        }
    }

    /// Text that reaches every table: specials, merges, whole tokens,
    /// bytes no merge joins, scripts, digits, whitespace runs.
    const TEXTS: &[&str] = &[
        "Hello, world! The quick brown fox jumps over the lazy dog.",
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
        "<|start|>assistant<|channel|>final<|message|>ok<|end|>",
        "<s>[INST] Hi there [/INST] <start_of_turn>model\nok<end_of_turn>\n",
        "например: 12345678 года  \r\n\t  — naïve façade, Straße 🚀✅ 경기 규칙",
        "\u{0301}\u{200b}\u{3000}x  y   z    \n\n\n",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    ];

    fn counts(counter: &FastCounter) -> Vec<usize> {
        TEXTS.iter().map(|t| counter.count(t)).collect()
    }

    #[test]
    fn stored_tables_count_like_built_ones() {
        let dir = tempfile::tempdir().unwrap();
        let families = [
            "llama-3.1-instruct",
            "gpt-oss",
            "deepseek-v3",
            "qwen3",
            "llama2",
            "gemma3",
        ];
        for name in families {
            let json = tokenizer_json(name);
            let built = FastCounter::from_tokenizer_json(&json).unwrap().unwrap();
            let first = load_or_build(&json, Some(dir.path())).unwrap().unwrap();
            let path = dir.path().join(file_name(&json));
            let stored = load(&path).expect("the first run stored its tables");
            assert_eq!(counts(&stored), counts(&built), "{name}");
            assert_eq!(counts(&first), counts(&built), "{name}");
            let same = match (&stored.model, &built.model) {
                (Model::Hand(_, a), Model::Hand(_, b))
                | (Model::Compiled(_, a), Model::Compiled(_, b)) => a.same_tables(b),
                (Model::SentencePiece(a), Model::SentencePiece(b)) => a.same_tables(b),
                _ => false,
            };
            assert!(same, "{name}");
            assert_eq!(stored.shape, built.shape);
            assert_eq!(stored.template_tokens, built.template_tokens);
        }
    }

    #[test]
    fn damaged_files_are_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let json = tokenizer_json("llama-3.1-instruct");
        let built = FastCounter::from_tokenizer_json(&json).unwrap().unwrap();
        load_or_build(&json, Some(dir.path())).unwrap().unwrap();
        let path = dir.path().join(file_name(&json));
        let good = std::fs::read(&path).unwrap();
        let mut flipped = good.clone();
        *flipped.last_mut().unwrap() ^= 1;
        let truncated = good[..good.len() / 2].to_vec();
        let mut bad_magic = good.clone();
        bad_magic[0] = b'K';
        for damaged in [flipped, truncated, bad_magic, Vec::new()] {
            std::fs::write(&path, &damaged).unwrap();
            assert!(load(&path).is_none());
            let counter = load_or_build(&json, Some(dir.path())).unwrap().unwrap();
            assert_eq!(counts(&counter), counts(&built));
            assert_eq!(std::fs::read(&path).unwrap().len(), good.len(), "rewritten");
        }
    }

    #[test]
    fn unsupported_tokenizers_store_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let json = br#"{"normalizer":{"type":"NFC"},"model":{"type":"WordPiece"}}"#;
        assert!(load_or_build(json, Some(dir.path())).unwrap().is_none());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn cache_dir_follows_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| std::ffi::OsString::from(v))
            }
        };
        assert_eq!(
            cache_dir(env(&[("KNOWMIX_CACHE_DIR", "/c"), ("HOME", "/h")])),
            Some(PathBuf::from("/c"))
        );
        assert_eq!(
            cache_dir(env(&[("KNOWMIX_CACHE_DIR", ""), ("HOME", "/h")])),
            None
        );
        assert_eq!(
            cache_dir(env(&[("XDG_CACHE_HOME", "/x"), ("HOME", "/h")])),
            Some(PathBuf::from("/x/knowmix"))
        );
        assert_eq!(
            cache_dir(env(&[("HOME", "/h")])),
            Some(PathBuf::from("/h/.cache/knowmix"))
        );
        assert_eq!(cache_dir(env(&[])), None);
    }
}
