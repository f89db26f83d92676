//! The step-04 record rules, as pure functions: which datasets exist and in
//! what order, how a `response` is cleaned, which rows the GPT-OSS filter
//! drops, how the user turn is worded, the `metadata` string (Python
//! `json.dumps`), and the byte encoding of an output line (pandas `to_json`:
//! compact, `\/`, `\uXXXX`). Nothing here does I/O; every rule is pinned by
//! the unit tests at the bottom, so a change of behaviour is a test change.

impl serde::Serialize for Dataset {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.folder())
    }
}

impl<'de> serde::Deserialize<'de> for Dataset {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Dataset::from_folder(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown dataset {name:?}")))
    }
}

/// The four step-03 datasets, in the order their records are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dataset {
    /// One row per (extractive summary, question); sampled per cut.
    ExtractiveSummary,
    /// One row per (detailed summary, question); sampled per cut.
    DetailedSummary,
    /// One row per (key fact, question); every row in every cut.
    KeyFactsToQa,
    /// One row per question on the raw chunk; every row in every cut.
    DocumentBasedQa,
}

impl Dataset {
    /// All datasets in output order.
    pub const ALL: [Dataset; 4] = [
        Dataset::ExtractiveSummary,
        Dataset::DetailedSummary,
        Dataset::KeyFactsToQa,
        Dataset::DocumentBasedQa,
    ];

    /// The folder name under the step-03 directory.
    pub fn folder(self) -> &'static str {
        match self {
            Dataset::ExtractiveSummary => "extractive_summary",
            Dataset::DetailedSummary => "detailed_summary",
            Dataset::KeyFactsToQa => "key_facts_to_qa",
            Dataset::DocumentBasedQa => "document_based_qa",
        }
    }

    /// The dataset whose folder is `name`.
    pub fn from_folder(name: &str) -> Option<Dataset> {
        Dataset::ALL.into_iter().find(|d| d.folder() == name)
    }

    /// Whether rows are sampled per cut (summaries) or all kept.
    pub fn is_sampled(self) -> bool {
        matches!(self, Dataset::ExtractiveSummary | Dataset::DetailedSummary)
    }

    /// The column that holds the raw chunk in this dataset's files.
    pub fn raw_document_column(self) -> &'static str {
        match self {
            Dataset::DocumentBasedQa => "base_document",
            _ => "raw_document",
        }
    }

    /// The user turn for a row of this dataset.
    pub fn user_content(self, outline: &str, document: &str, question: &str) -> String {
        match self {
            Dataset::KeyFactsToQa => format!("In {outline}, {question}"),
            _ => format!("{outline}\n{document}\n\n{question}"),
        }
    }
}

/// The value of every record's `metadata.dataset` key.
pub const METADATA_DATASET: &str = "document_knowledge_qa";

/// Substrings that make the GPT-OSS filter drop a row (matched in `question`).
pub const GPT_OSS_DROP_MARKERS: [&str; 3] = ["...", "<question>", "<Insert question here>"];

/// Whether the GPT-OSS filter drops a row with this question.
pub fn gpt_oss_drops(question: &str) -> bool {
    GPT_OSS_DROP_MARKERS.iter().any(|m| question.contains(m))
}

/// Python `str.strip()` with no argument: Unicode whitespace plus the
/// separators `\x1c`–`\x1f`, which Rust's `str::trim` keeps.
pub fn python_strip(s: &str) -> &str {
    s.trim_matches(is_python_space)
}

/// Python's `str.isspace` for one character.
pub fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// Clean a `response` as the notebook does. With the GPT-OSS option its
/// filter step runs first: remove every `[ANSWER]`, then every `[END]`,
/// then Python `strip()` (which also strips `\x1c`–`\x1f`). Always: remove
/// every `[END]`, then every `[ANSWER]`, then polars `strip_chars()` (Rust
/// `trim`: Unicode White_Space, keeping `\x1c`–`\x1f`).
pub fn clean_response(response: &str, gpt_oss: bool) -> String {
    let pre;
    let start = if gpt_oss {
        pre = response.replace("[ANSWER]", "").replace("[END]", "");
        python_strip(&pre)
    } else {
        response
    };
    let cleaned = start.replace("[END]", "").replace("[ANSWER]", "");
    cleaned.trim().to_owned()
}

/// The `metadata` string: Python `json.dumps({"sdg_document": …, "dataset":
/// "document_knowledge_qa", "raw_document": …})` with its default
/// `", "`/`": "` separators and `ensure_ascii=True`.
pub fn metadata_string(document: &str, raw_document: &str) -> String {
    let mut out = Vec::with_capacity(document.len() + raw_document.len() + 96);
    out.extend_from_slice(b"{\"sdg_document\": ");
    push_python_json_string(&mut out, document);
    out.extend_from_slice(b", \"dataset\": ");
    push_python_json_string(&mut out, METADATA_DATASET);
    out.extend_from_slice(b", \"raw_document\": ");
    push_python_json_string(&mut out, raw_document);
    out.push(b'}');
    String::from_utf8(out).expect("escaped JSON is ASCII")
}

/// How a JSON string is escaped when written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonStyle {
    /// Python `json.dumps(ensure_ascii=True)`: only space..`~` kept, except
    /// `"` and `\`; DEL (0x7f) is escaped.
    PythonAscii,
    /// pandas `to_json` (ujson): like Python, but `/` is written `\/` and
    /// DEL is kept.
    Pandas,
    /// Python's escaping, then pandas' escaping of the result: how a string
    /// inside the `metadata` string comes out in a written record (`é` is
    /// `\\u00e9`, `"` is `\\\"`), in one pass.
    PythonInPandas,
}

impl JsonStyle {
    /// The ASCII bytes besides `"`, `\` and control bytes that are not
    /// written as themselves.
    fn styled(self) -> [u8; 2] {
        match self {
            JsonStyle::PythonAscii => [0x7f, 0x7f],
            JsonStyle::Pandas => [b'/', b'/'],
            JsonStyle::PythonInPandas => [b'/', 0x7f],
        }
    }
}

/// Append `s` as a JSON string literal (with quotes) to `out`, Python style.
pub fn push_python_json_string(out: &mut Vec<u8>, s: &str) {
    push_json_string(out, s, JsonStyle::PythonAscii);
}

/// Append `s` as a JSON string literal (with quotes) in the given style.
pub fn push_json_string(out: &mut Vec<u8>, s: &str, style: JsonStyle) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    push_json_text(out, s, style);
    out.push(b'"');
}

/// Append `s` escaped in the given style, without quotes. Runs of plain
/// ASCII are found 16 bytes at a time ([`plain_run_end`]) and copied whole;
/// each other char is escaped on its own.
fn push_json_text(out: &mut Vec<u8>, s: &str, style: JsonStyle) {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let end = plain_run_end(bytes, i, style);
        out.extend_from_slice(&bytes[i..end]);
        let Some(&b) = bytes.get(end) else { break };
        let len = utf8_len(b);
        let ch = s[end..end + len].chars().next().expect("char boundary");
        match style {
            JsonStyle::PythonInPandas => push_nested_escape(out, ch),
            _ => push_escape(out, ch),
        }
        i = end + len;
    }
}

/// The `metadata` string ([`metadata_string`]) of `document` and
/// `raw_document` as a written record holds it (a pandas JSON string), in
/// one pass instead of building the Python JSON and escaping it again.
pub fn push_metadata(out: &mut Vec<u8>, document: &str, raw_document: &str) {
    let style = JsonStyle::PythonInPandas;
    out.extend_from_slice(br#""{\"sdg_document\": \""#);
    push_json_text(out, document, style);
    out.extend_from_slice(br#"\", \"dataset\": \""#);
    push_json_text(out, METADATA_DATASET, style);
    out.extend_from_slice(br#"\", \"raw_document\": \""#);
    push_json_text(out, raw_document, style);
    out.extend_from_slice(br#"\"}""#);
}

/// The first position at or after `from` whose byte is not written as
/// itself (`bytes.len()` when none): SSE2 compares 16 bytes at a time
/// where the target has it (every x86-64 does), else words of 8 (SWAR).
fn plain_run_end(bytes: &[u8], mut from: usize, style: JsonStyle) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        from = sse2::plain_run_end(bytes, from, style);
    }
    while let Some(word) = bytes.get(from..from + 8) {
        if !word_is_plain(u64::from_le_bytes(word.try_into().expect("8 bytes")), style) {
            break;
        }
        from += 8;
    }
    while let Some(&b) = bytes.get(from) {
        if !is_plain_ascii(b, style) {
            break;
        }
        from += 1;
    }
    from
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use super::JsonStyle;
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };

    /// Like [`super::plain_run_end`], 16 bytes at a time; stops at the
    /// first block holding a special byte (or too short a tail), leaving
    /// the rest to the scalar steps.
    pub fn plain_run_end(bytes: &[u8], mut from: usize, style: JsonStyle) -> usize {
        let [styled, also] = style.styled();
        while from + 16 <= bytes.len() {
            // SAFETY: SSE2 is part of x86-64; the load reads the 16 bytes
            // at `from`, which are in bounds (checked above).
            let mask = unsafe {
                let block = _mm_loadu_si128(bytes.as_ptr().add(from).cast::<__m128i>());
                let eq = |b: u8| _mm_cmpeq_epi8(block, _mm_set1_epi8(b as i8));
                // Signed: bytes 0x80..=0xff are negative, so this one
                // compare finds both control bytes and non-ASCII ones.
                let low = _mm_cmplt_epi8(block, _mm_set1_epi8(0x20));
                let quote_or_slash = _mm_or_si128(eq(b'"'), eq(b'\\'));
                let styled = _mm_or_si128(eq(styled), eq(also));
                _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(low, quote_or_slash), styled))
            };
            if mask != 0 {
                return from + mask.trailing_zeros() as usize;
            }
            from += 16;
        }
        from
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether some byte of `word` equals `byte` (exact; bit tricks from
/// "Bit Twiddling Hacks", `haszero(v ^ n)`).
#[inline]
fn has_byte(word: u64, byte: u8) -> bool {
    let x = word ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x & HIGHS != 0
}

/// Whether all eight bytes of `word` are written as themselves.
#[inline]
fn word_is_plain(word: u64, style: JsonStyle) -> bool {
    // Any non-ASCII byte, or any byte below 0x20 (exact once all are ASCII).
    if word & HIGHS != 0 || word.wrapping_sub(ONES * 0x20) & !word & HIGHS != 0 {
        return false;
    }
    let [styled, also] = style.styled();
    !(has_byte(word, b'"')
        || has_byte(word, b'\\')
        || has_byte(word, styled)
        || has_byte(word, also))
}

fn is_plain_ascii(b: u8, style: JsonStyle) -> bool {
    match b {
        b'"' | b'\\' => false,
        0x20..=0x7f => !style.styled().contains(&b),
        _ => false,
    }
}

fn utf8_len(lead: u8) -> usize {
    match lead {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn push_escape(out: &mut Vec<u8>, ch: char) {
    match ch {
        '"' => out.extend_from_slice(b"\\\""),
        '\\' => out.extend_from_slice(b"\\\\"),
        '/' => out.extend_from_slice(b"\\/"),
        '\n' => out.extend_from_slice(b"\\n"),
        '\r' => out.extend_from_slice(b"\\r"),
        '\t' => out.extend_from_slice(b"\\t"),
        '\x08' => out.extend_from_slice(b"\\b"),
        '\x0c' => out.extend_from_slice(b"\\f"),
        _ => {
            let mut units = [0u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                push_u_escape(out, *unit);
            }
        }
    }
}

/// [`push_escape`] under [`JsonStyle::PythonInPandas`]: Python's escape of
/// `ch` (for every char but `/`, the escape [`push_escape`] writes), escaped
/// again as pandas writes it: its `\` and `"` behind a backslash. `/`,
/// which Python keeps, is pandas' `\/`.
fn push_nested_escape(out: &mut Vec<u8>, ch: char) {
    if ch == '/' {
        out.extend_from_slice(br"\/");
        return;
    }
    let start = out.len();
    push_escape(out, ch);
    // At most two `\uXXXX` units.
    let mut once = [0u8; 12];
    let len = out.len() - start;
    once[..len].copy_from_slice(&out[start..]);
    out.truncate(start);
    for &b in &once[..len] {
        if b == b'\\' || b == b'"' {
            out.push(b'\\');
        }
        out.push(b);
    }
}

fn push_u_escape(out: &mut Vec<u8>, unit: u16) {
    let hex = |shift: u16| HEX[usize::from((unit >> shift) & 0xf)];
    out.extend_from_slice(&[b'\\', b'u', hex(12), hex(8), hex(4), hex(0)]);
}

/// One chat turn as written in an output record's `messages`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn<'a> {
    /// `user` or `assistant`.
    pub role: &'a str,
    /// The turn's text.
    pub content: &'a str,
    /// `None` is written `null` (and dropped before templating).
    pub thinking: Option<&'a str>,
}

/// The fields of one output record, borrowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputRecord<'a> {
    /// The question.
    pub question: &'a str,
    /// The outline (title).
    pub document_outline: &'a str,
    /// The raw chunk.
    pub raw_document: &'a str,
    /// The summary / key-facts block / chunk.
    pub document: &'a str,
    /// The user and assistant turns.
    pub messages: [Turn<'a>; 2],
    /// The chat-templated token count.
    pub token_length: usize,
}

/// Append one output record as a JSON line (pandas encoding, `\n` ended).
pub fn push_record_line(out: &mut Vec<u8>, record: &OutputRecord<'_>) {
    let style = JsonStyle::Pandas;
    let field = |out: &mut Vec<u8>, first: bool, name: &str| {
        out.extend_from_slice(if first { b"{\"" } else { b",\"" });
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":");
    };
    field(out, true, "question");
    push_json_string(out, record.question, style);
    field(out, false, "document_outline");
    push_json_string(out, record.document_outline, style);
    field(out, false, "raw_document");
    push_json_string(out, record.raw_document, style);
    field(out, false, "document");
    push_json_string(out, record.document, style);
    field(out, false, "messages");
    push_turns(out, &record.messages);
    // `metadata` is the Python JSON of `document` and `raw_document`
    // ([`metadata_string`]), written as a string.
    field(out, false, "metadata");
    push_metadata(out, record.document, record.raw_document);
    out.extend_from_slice(b",\"unmask\":true,\"token_length\":");
    out.extend_from_slice(record.token_length.to_string().as_bytes());
    out.extend_from_slice(b"}\n");
}

fn push_turns(out: &mut Vec<u8>, turns: &[Turn<'_>]) {
    out.push(b'[');
    for (i, turn) in turns.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"role\":");
        push_json_string(out, turn.role, JsonStyle::Pandas);
        out.extend_from_slice(b",\"content\":");
        push_json_string(out, turn.content, JsonStyle::Pandas);
        out.extend_from_slice(b",\"thinking\":");
        match turn.thinking {
            Some(t) => push_json_string(out, t, JsonStyle::Pandas),
            None => out.extend_from_slice(b"null"),
        }
        out.push(b'}');
    }
    out.push(b']');
}

/// Parse a `CUT_SIZES` value: comma-separated positive integers, returned
/// sorted and deduplicated.
pub fn parse_cut_sizes(text: &str) -> Result<Vec<u32>, String> {
    let mut cuts = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        let n: u32 = part.parse().map_err(|_| {
            format!("invalid cut size {part:?} in {text:?}: expected comma-separated positive integers such as 5,50")
        })?;
        if n == 0 {
            return Err(format!(
                "invalid cut size 0 in {text:?}: cut sizes must be at least 1"
            ));
        }
        cuts.push(n);
    }
    cuts.sort_unstable();
    cuts.dedup();
    Ok(cuts)
}

/// The output file name for cut `n`.
pub fn cut_file_name(n: u32) -> String {
    format!("combined_cut_{n}x.jsonl")
}

#[cfg(test)]
mod tests;
