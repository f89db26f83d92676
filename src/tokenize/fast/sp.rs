//! SentencePiece-style BPE (Llama 2 / Mistral v1, Gemma), counting only.
//! HF runs it as: normalizer `Replace(" " → "▁")` (after `Prepend("▁")`
//! on non-empty segments for Llama 2), no pre-tokenizer, so every segment
//! between added tokens is one BPE word: each char is its vocabulary token,
//! or, when it has none, one `<0xNN>` token per UTF-8 byte (byte fallback),
//! then the usual lowest-rank merges ([`super::bpe::merge_count`]).
//!
//! A whole segment is rarely seen twice, so to use the piece cache it is
//! cut before every `▁` whose preceding char `c` no vocabulary token holds
//! as `c▁` ([`SpModel::glue`]). Why the count does not change: a symbol is
//! always a single char, a byte token, or a merge result, which HF requires
//! to be a vocabulary token; a symbol across such a cut would be a token
//! holding `c▁` (or would involve a byte token, and byte tokens are in no
//! merge: checked when building). So no merge ever joins the two sides, and
//! merges on one side never depend on the other (the merge order is by
//! rank, then position, within each side alike).

use std::collections::HashMap;

use rustc_hash::FxBuildHasher;

use super::bpe::{merge_count, pair_key};
use super::config::TokenStr;
use super::flat::{Backing, PairEntry, PairTable, SharedBuffer};
use super::stored::{put_u32, Reader};
use super::FastError;

/// `▁`, U+2581, the SentencePiece space.
pub const SPACE: char = '\u{2581}';

/// The model's tables.
pub struct SpModel {
    /// Ids of single-char tokens, ASCII by index.
    ascii: [Option<u32>; 128],
    chars: HashMap<char, u32, FxBuildHasher>,
    /// `<0xNN>` token ids.
    byte_ids: [u32; 256],
    merges: PairTable,
    /// Chars `c` some token holds followed by `▁` (no cut after them).
    glue: Vec<char>,
}

impl SpModel {
    /// Builds the model. `Ok(None)` when a `<0xNN>` token is missing (HF
    /// would then emit the unknown token) or a byte token takes part in a
    /// merge; `Err` when a merge names a token missing from `vocab`.
    pub fn new(
        vocab: &[(TokenStr<'_>, u32)],
        merges: &[(TokenStr<'_>, TokenStr<'_>)],
    ) -> Result<Option<SpModel>, FastError> {
        let mut ids: HashMap<&str, u32, FxBuildHasher> =
            HashMap::with_capacity_and_hasher(vocab.len(), FxBuildHasher);
        for (token, id) in vocab {
            ids.insert(token.as_ref(), *id);
        }
        let mut byte_ids = [0u32; 256];
        for (b, slot) in byte_ids.iter_mut().enumerate() {
            match ids.get(format!("<0x{b:02X}>").as_str()) {
                Some(&id) => *slot = id,
                None => return Ok(None),
            }
        }
        let Some(table) = merge_table(merges, &ids, &byte_ids)? else {
            return Ok(None);
        };
        let mut ascii = [None; 128];
        let mut chars = HashMap::with_hasher(FxBuildHasher);
        let mut glue = Vec::new();
        for (token, &id) in &ids {
            let mut it = token.chars();
            if let (Some(c), None) = (it.next(), it.next()) {
                match ascii.get_mut(c as usize) {
                    Some(slot) => *slot = Some(id),
                    None => {
                        chars.insert(c, id);
                    }
                }
            }
            let mut prev = None;
            for c in token.chars() {
                if c == SPACE {
                    if let Some(p) = prev.filter(|p| !glue.contains(p)) {
                        glue.push(p);
                    }
                }
                prev = Some(c);
            }
        }
        glue.sort_unstable();
        Ok(Some(SpModel {
            ascii,
            chars,
            byte_ids,
            merges: table,
            glue,
        }))
    }

    /// Appends the tables in the stored form ([`super::stored`]).
    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        for id in self.ascii {
            out.push(u8::from(id.is_some()));
            put_u32(out, id.unwrap_or(0));
        }
        put_u32(out, self.chars.len() as u32);
        for (&c, &id) in &self.chars {
            put_u32(out, c as u32);
            put_u32(out, id);
        }
        for id in self.byte_ids {
            put_u32(out, id);
        }
        put_u32(out, self.glue.len() as u32);
        for &c in &self.glue {
            put_u32(out, c as u32);
        }
        let (bits, bytes) = self.merges.parts();
        put_u32(out, bits);
        out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        out.extend_from_slice(bytes);
    }

    /// Reads back what [`SpModel::encode`] wrote, the merge table left
    /// where it is in `buffer` (whose bytes `r` reads, from `r_start` on);
    /// `None` when it is cut short or does not fit.
    pub(super) fn decode(
        r: &mut Reader<'_>,
        buffer: &SharedBuffer,
        r_start: usize,
    ) -> Option<SpModel> {
        let mut ascii = [None; 128];
        for slot in &mut ascii {
            let present = r.u8()? != 0;
            let id = r.u32()?;
            *slot = present.then_some(id);
        }
        let n = r.u32()? as usize;
        let mut chars = HashMap::with_capacity_and_hasher(n, FxBuildHasher);
        for _ in 0..n {
            chars.insert(char::from_u32(r.u32()?)?, r.u32()?);
        }
        let mut byte_ids = [0u32; 256];
        for id in &mut byte_ids {
            *id = r.u32()?;
        }
        let glue = (0..r.u32()?)
            .map(|_| char::from_u32(r.u32()?))
            .collect::<Option<Vec<char>>>()?;
        let bits = r.u32()?;
        let len = usize::try_from(r.u64()?).ok()?;
        let start = r_start + r.consumed();
        r.take(len)?;
        let merges =
            PairTable::from_parts(bits, Backing::shared(buffer.clone(), start..start + len))?;
        Some(SpModel {
            ascii,
            chars,
            byte_ids,
            merges,
            glue,
        })
    }

    /// Whether `other` holds the same tables.
    #[cfg(test)]
    pub(super) fn same_tables(&self, other: &SpModel) -> bool {
        self.ascii == other.ascii
            && self.chars == other.chars
            && self.byte_ids == other.byte_ids
            && self.glue == other.glue
            && self.merges.parts() == other.merges.parts()
    }

    /// The chars a cut before `▁` must not follow.
    pub fn glue(&self) -> &[char] {
        &self.glue
    }

    /// Calls `piece` with the byte ranges of `word` (normalized text, one
    /// BPE word for HF) cut where the count cannot change.
    pub fn pieces(&self, word: &str, mut piece: impl FnMut(usize, usize)) {
        let bytes = word.as_bytes();
        let mut start = 0;
        // `▁` is E2 96 81; a cut goes before it.
        for at in memchr::memmem::find_iter(bytes, "\u{2581}".as_bytes()) {
            if at == start {
                continue;
            }
            let prev = word[..at].chars().next_back().expect("at > start");
            if self.glue.binary_search(&prev).is_ok() {
                continue;
            }
            piece(start, at);
            start = at;
        }
        if start < bytes.len() {
            piece(start, bytes.len());
        }
    }

    /// The number of tokens HF's BPE gives the word `piece`.
    pub fn count(&self, piece: &str) -> usize {
        let mut ids = Vec::with_capacity(piece.len());
        for c in piece.chars() {
            let id = match (c as usize) < 128 {
                true => self.ascii[c as usize],
                false => self.chars.get(&c).copied(),
            };
            match id {
                Some(id) => ids.push(id),
                None => {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        ids.push(self.byte_ids[b as usize]);
                    }
                }
            }
        }
        merge_count(&self.merges, ids)
    }
}

/// `(left id, right id)` → `(rank, merged id)` for every merge; `None`
/// when a byte token takes part in one.
fn merge_table(
    merges: &[(TokenStr<'_>, TokenStr<'_>)],
    ids: &HashMap<&str, u32, FxBuildHasher>,
    byte_ids: &[u32; 256],
) -> Result<Option<PairTable>, FastError> {
    let missing = |t: &str| FastError::Invalid(format!("merge token {t:?} not in vocab"));
    let is_byte = |id: &u32| byte_ids.contains(id);
    let mut entries: Vec<PairEntry> = Vec::with_capacity(merges.len());
    let mut joined = String::new();
    for (rank, (a, b)) in merges.iter().enumerate() {
        let a_id = *ids.get(a.as_ref()).ok_or_else(|| missing(a))?;
        let b_id = *ids.get(b.as_ref()).ok_or_else(|| missing(b))?;
        joined.clear();
        joined.push_str(a);
        joined.push_str(b);
        let new_id = *ids.get(joined.as_str()).ok_or_else(|| missing(&joined))?;
        if [a_id, b_id, new_id].iter().any(is_byte) {
            return Ok(None);
        }
        let rank = u32::try_from(rank).map_err(|_| FastError::Invalid("too many merges".into()))?;
        entries.push((pair_key(a_id, b_id), (rank, new_id)));
    }
    Ok(Some(PairTable::build(&entries)))
}

/// HF's normalizer for the SentencePiece shape: `▁` prepended (when
/// `prepend` and `segment` is not empty), spaces replaced by `▁`; into `out`.
pub fn normalize(segment: &str, prepend: bool, out: &mut String) {
    out.clear();
    if segment.is_empty() {
        return;
    }
    if prepend {
        out.push(SPACE);
    }
    let mut rest = segment;
    while let Some(at) = memchr::memchr(b' ', rest.as_bytes()) {
        out.push_str(&rest[..at]);
        out.push(SPACE);
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> SpModel {
        let mut vocab: Vec<(TokenStr, u32)> = (0..=255u32)
            .map(|b| (format!("<0x{b:02X}>").into(), b))
            .collect();
        for (i, t) in ["▁", "a", "b", "▁a", "ab", "▁ab", "c", "c▁"]
            .iter()
            .enumerate()
        {
            vocab.push(((*t).into(), 256 + i as u32));
        }
        let merges: Vec<(TokenStr, TokenStr)> = [("▁", "a"), ("a", "b"), ("▁a", "b"), ("c", "▁")]
            .iter()
            .map(|&(a, b)| (a.into(), b.into()))
            .collect();
        SpModel::new(&vocab, &merges).unwrap().unwrap()
    }

    #[test]
    fn counts_with_merges_and_byte_fallback() {
        let m = toy();
        assert_eq!(m.count("▁ab"), 1);
        assert_eq!(m.count("▁abé"), 3); // é has no token: two bytes
        assert_eq!(m.count("ba"), 2);
        assert_eq!(m.count(""), 0);
    }

    #[test]
    fn cuts_only_where_no_token_spans() {
        let m = toy();
        assert_eq!(m.glue(), ['c']);
        let word = "▁ab▁a c▁ab▁▁b";
        let mut got = Vec::new();
        m.pieces(word, |s, e| got.push(&word[s..e]));
        assert_eq!(got, ["▁ab", "▁a c▁ab", "▁", "▁b"]);
    }

    #[test]
    fn normalizes_like_hf() {
        let mut out = String::new();
        normalize(" a  b", true, &mut out);
        assert_eq!(out, "▁▁a▁▁b");
        normalize("", true, &mut out);
        assert_eq!(out, "");
        normalize("a b", false, &mut out);
        assert_eq!(out, "a▁b");
    }
}
