//! Word-level text for the synthetic corpus: mostly English filler with, now
//! and then, phrases in other scripts (Greek, Cyrillic, CJK, Arabic,
//! Devanagari, emoji) and the characters that trip JSON and templates up
//! (`/`, quotes, backslashes). Also the LLM-shaped strings: questions that the
//! GPT-OSS filter drops and responses wrapped in `[ANSWER]`/`[END]` markers
//! and whitespace.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

const WORDS: &[&str] = &[
    "the",
    "rule",
    "player",
    "team",
    "field",
    "ball",
    "official",
    "penalty",
    "yard",
    "line",
    "game",
    "period",
    "clock",
    "timeout",
    "score",
    "goal",
    "down",
    "pass",
    "kick",
    "runner",
    "defense",
    "offense",
    "foul",
    "signal",
    "referee",
    "position",
    "snap",
    "formation",
    "possession",
    "touchdown",
    "safety",
    "return",
    "punt",
    "interference",
    "contact",
    "zone",
    "boundary",
    "replay",
    "review",
    "challenge",
    "captain",
    "coach",
    "league",
    "season",
    "contract",
    "policy",
    "section",
    "article",
    "clause",
    "exception",
    "procedure",
    "record",
    "report",
    "value",
    "measure",
    "distance",
    "interval",
    "result",
    "outcome",
    "evidence",
    "system",
    "process",
    "method",
    "analysis",
    "model",
    "sample",
    "estimate",
    "factor",
    "is",
    "are",
    "was",
    "may",
    "must",
    "shall",
    "can",
    "will",
    "not",
    "only",
    "also",
    "when",
    "after",
    "before",
    "during",
    "unless",
    "within",
    "between",
    "under",
    "over",
    "against",
    "a",
    "an",
    "of",
    "in",
    "on",
    "to",
    "for",
    "by",
    "with",
    "from",
    "and",
    "or",
    "that",
    "which",
    "each",
    "every",
    "any",
    "both",
    "either",
    "first",
    "second",
    "final",
    "legal",
    "illegal",
    "forward",
    "backward",
    "loose",
    "dead",
    "live",
    "free",
    "fair",
    "valid",
    "applied",
    "enforced",
    "declared",
    "awarded",
    "granted",
    "measured",
    "spotted",
    "ruled",
    "treated",
    "considered",
    "required",
    "permitted",
    "prohibited",
    "recorded",
    "reviewed",
    "quickly",
    "clearly",
    "directly",
    "immediately",
    "otherwise",
    "however",
    "therefore",
];

const PHRASES: &[&str] = &[
    "Ελληνικό κείμενο για τους κανόνες",
    "пример текста о правилах игры",
    "比赛规则的中文说明",
    "試合のルールに関する説明",
    "경기 규칙에 대한 설명",
    "نص عربي عن قواعد اللعبة",
    "खेल के नियमों का विवरण",
    "café, naïve façade, Straße, smörgåsbord",
    "🏈 emoji 🚀 ✅",
    "TCP/IP and/or 50/50 at 30 km/h",
    "see docs/rules/section-3.md",
    "https://example.org/rules/2023/index.html",
    "the so-called \"neutral zone\"",
    "the player's 'intent'",
    "a path like C:\\rules\\2023\\final.pdf",
    "the literal \\n and \\t sequences",
    "a ratio of 3/4 (75%)",
    "the “curly” and ‘single’ quotes",
    "tabs\tand\tspaces",
    "ﬁ ligature, e\u{301} combining, \u{200b}zero-width, \u{2028}line separator",
];

const TITLE_WORDS: &[&str] = &[
    "Rules",
    "Officials",
    "Scoring",
    "Timing",
    "Equipment",
    "Penalties",
    "Procedures",
    "Kicking",
    "Passing",
    "Fouls",
    "Replay",
    "Overtime",
    "Field",
    "Players",
    "Definitions",
    "Appendix",
    "Policy",
    "Guidelines",
    "Handbook",
    "Regulations",
];

/// The domains a raw document can belong to.
pub const DOMAINS: &[&str] = &["sports/rules", "law", "finance", "medicine", "history"];

/// A random source of words, sentences and LLM-shaped strings.
pub struct Text<'r> {
    rng: &'r mut ChaCha8Rng,
}

impl<'r> Text<'r> {
    /// Text drawn from `rng`.
    pub fn new(rng: &'r mut ChaCha8Rng) -> Self {
        Text { rng }
    }

    /// The underlying generator.
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        self.rng
    }

    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.rng.random_range(0..list.len())]
    }

    fn word(&mut self) -> &'static str {
        self.pick(WORDS)
    }

    /// One sentence of `6..=18` words, capitalised, ending with a period.
    pub fn sentence(&mut self, out: &mut String) {
        let n = self.rng.random_range(6..=18);
        for i in 0..n {
            if i > 0 {
                out.push(' ');
            }
            let roll = self.rng.random_range(0..100u32);
            if roll < 3 {
                out.push_str(self.pick(PHRASES));
            } else if roll < 6 {
                let number = self.rng.random_range(0..10_000u32);
                out.push_str(&number.to_string());
            } else if i == 0 {
                let w = self.word();
                out.push_str(&w[..1].to_ascii_uppercase());
                out.push_str(&w[1..]);
            } else {
                out.push_str(self.word());
            }
        }
        out.push('.');
    }

    /// `n` sentences separated by spaces (and, rarely, newlines).
    pub fn sentences(&mut self, n: usize) -> String {
        let mut out = String::with_capacity(n * 90);
        for i in 0..n {
            if i > 0 {
                out.push_str(if self.rng.random_bool(0.1) {
                    "\n\n"
                } else {
                    " "
                });
            }
            self.sentence(&mut out);
        }
        out
    }

    /// A paragraph of `lo..=hi` sentences.
    pub fn paragraph(&mut self, lo: usize, hi: usize) -> String {
        let n = self.rng.random_range(lo..=hi);
        self.sentences(n)
    }

    /// A document outline (title), e.g. `2023 Rules / Section 7: Kicking Fouls`.
    pub fn outline(&mut self, index: usize) -> String {
        let a = self.pick(TITLE_WORDS);
        let b = self.pick(TITLE_WORDS);
        let section = self.rng.random_range(1..=20u32);
        match self.rng.random_range(0..4u32) {
            0 => format!("{a} and {b}, Part {index}"),
            1 => format!("Rule {section}: {a} / {b} ({index})"),
            2 => format!("« {a} » — {b} {index}"),
            _ => format!("Section {section}.{index} \"{a}\" {b}"),
        }
    }

    /// A question about `topic`; a few carry the strings the GPT-OSS filter drops.
    pub fn question(&mut self, topic: &str) -> String {
        let w1 = self.word();
        let w2 = self.word();
        let mut q = match self.rng.random_range(0..6u32) {
            0 => format!("What does {topic} say about the {w1} {w2}?"),
            1 => format!("How is a {w1} treated under {topic}?"),
            2 => format!("Why must the {w1} be {w2} according to {topic}?"),
            3 => format!("When is the {w1}/{w2} rule applied?"),
            4 => format!("Which \"{w1}\" applies when the {w2} is live?"),
            _ => format!("Explain the {w1} and its {w2} in {topic}."),
        };
        match self.rng.random_range(0..100u32) {
            0..=2 => q.push_str(" ..."),
            3..=4 => q = format!("<question> {q}"),
            5..=6 => q = "<Insert question here>".to_string(),
            7..=9 => q.push_str(" Также: 规则?"),
            _ => {}
        }
        q
    }

    /// A response as an LLM writes it: markers and surrounding whitespace.
    pub fn response(&mut self) -> String {
        let core = self.paragraph(1, 3);
        match self.rng.random_range(0..100u32) {
            0..=29 => core,
            30..=44 => format!("[ANSWER] {core}"),
            45..=59 => format!("{core} [END]"),
            60..=69 => format!("[ANSWER]\n{core}\n[END]\n"),
            70..=79 => format!("  \n{core}\n\n"),
            80..=84 => format!("\u{3000}{core}\u{a0}\t"),
            85..=88 => format!("{core}\r\n[END]"),
            89..=91 => format!("{core} [END] and then [ANSWER] more"),
            92..=93 => format!("{core}\u{1f}"),
            94 => format!("\u{1c}[ANSWER] {core}\u{85}"),
            95 => format!("[AN[END]SWER] {core}"),
            96 => format!("[EN[ANSWER]D]{core} "),
            _ => format!("\t[END]{core}[END][END]   "),
        }
    }

    /// A reasoning trace (the `*_reasoning_content` column); sometimes empty.
    pub fn reasoning(&mut self) -> String {
        if self.rng.random_bool(0.1) {
            return String::new();
        }
        let mut r = String::from("Let me think. ");
        r.push_str(&self.paragraph(1, 2));
        r
    }
}
