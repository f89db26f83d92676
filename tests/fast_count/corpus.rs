//! The varied texts the differential tests feed both counters: prose in
//! many scripts, tricky single chars (contractions under case folding,
//! every kind of whitespace, combining marks, NFC pairs), random code
//! points, long repeats, digits of many scripts, chat markup and the added
//! tokens of every fixture family. Deterministic for a seed.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

const PROSE: &[&[&str]] = &[
    &[
        "The", "quick", "brown", "fox", "isn't", "what", "we'll", "say", "they're", "I'm",
        "you've", "HE'D", "Don't", "it's", "data", "model", "tokens", "e-mail", "U.S.A.", "naïve",
        "café",
    ],
    &[
        "l'homme",
        "aujourd'hui",
        "français",
        "être",
        "où",
        "ça",
        "déjà",
        "Noël",
        "cœur",
        "qu'il",
    ],
    &[
        "Straße",
        "Grüße",
        "Übermäßig",
        "ÄÖÜ",
        "Maß",
        "Fußball",
        "größer",
    ],
    &["¿Qué", "tal?", "¡Hola!", "niño", "año", "mañana", "Señor"],
    &["İstanbul", "ılık", "ŞEHİR", "ağaç", "İİ", "ığdır"],
    &[
        "Привет",
        "мир",
        "Москва",
        "ЁЛКА",
        "съешь",
        "ещё",
        "этих",
        "мягких",
    ],
    &["Καλημέρα", "κόσμε", "ΑΘΗΝΑ", "ς", "ΣΊΣΥΦΟΣ", "ἀρχή"],
    &[
        "你好", "世界", "中文", "分词", "测试", "。", "，", "的", "模型",
    ],
    &["こんにちは", "カタカナ", "日本語", "です", "ｶﾀｶﾅ", "ー"],
    &["مرحبا", "بالعالم", "العربية", "٣٤٥", "كتاب", "ـ"],
    &["שָׁלוֹם", "עולם", "עברית", "ספר"],
    &["नमस्ते", "दुनिया", "हिन्दी", "१२३", "क्षत्रिय"],
    &["สวัสดี", "ภาษาไทย", "ครับ", "๑๒๓"],
    &["안녕하세요", "세계", "한국어", "ᄀᄁ", "ㅋㅋㅋ"],
];

const TRICKY: &[&str] = &[
    "'",
    "'",
    "s",
    "S",
    "ſ",
    "t",
    "T",
    "re",
    "RE",
    "rE",
    "ve",
    "VE",
    "m",
    "M",
    "ll",
    "LL",
    "lL",
    "d",
    "D",
    "K",
    "k",
    "K",
    "İ",
    "ı",
    "ǅ",
    "ʰ",
    "ß",
    "ẞ",
    "0",
    "7",
    "42",
    "٣",
    "५",
    "Ⅻ",
    "²",
    "½",
    "𝟘",
    " ",
    " ",
    " ",
    "  ",
    "\u{a0}",
    "\u{2000}",
    "\u{2003}",
    "\u{200a}",
    "\u{3000}",
    "\u{85}",
    "\u{1680}",
    "\u{2028}",
    "\u{2029}",
    "\u{202f}",
    "\u{205f}",
    "\u{200b}",
    "\u{feff}",
    "\r\n",
    "\r",
    "\n",
    "\n\n",
    "\t",
    "\u{b}",
    "\u{c}",
    "\u{301}",
    "\u{308}",
    "\u{93f}",
    "\u{e34}",
    "👨\u{200d}👩\u{200d}👧",
    "😀",
    "🇫🇷",
    "!",
    ".",
    ",",
    "/",
    "//",
    "-",
    "(",
    ")",
    "«",
    "»",
    "…",
    "—",
    "$",
    "€",
    "\"",
    "`",
    "<",
    ">",
    "|",
    "_",
    "a",
    "Z",
    "é",
    "É",
    "ω",
    "Ω",
    "я",
    "Я",
    "中",
    "あ",
    "ا",
    "א",
    "ก",
    "한",
    "\u{0}",
    "\u{7f}",
    "\u{9f}",
    // NFC: decomposed sequences, singletons, Hangul jamo, reordering
    "e\u{301}",
    "A\u{30a}",
    "\u{212b}",
    "\u{2126}",
    "\u{1100}\u{1161}\u{11a8}",
    "a\u{323}\u{302}",
    "a\u{302}\u{323}",
    "\u{344}",
    "\u{f900}",
    "\u{fb01}",
    "\u{1e9b}\u{323}",
    // SentencePiece: runs of spaces and ▁, and text that looks like byte tokens
    " ▁ ",
    "▁▁▁",
    ">▁</",
];

const SPECIALS: &[&str] = &[
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|eot_id|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eom_id|>",
    "<|python_tag|>",
    "<|reserved_special_token_5|>",
    "<|finetune_right_pad_id|>",
    "<|start|>",
    "<|end|>",
    "<|message|>",
    "<|channel|>",
    "<|return|>",
    "<|call|>",
    "<|constrain|>",
    "<|endoftext|>",
    "<|startoftext|>",
    "<|reserved_200013|>",
    "<|eot_id",
    "<|",
    "|>",
    "<|start_header_id|",
    "eot_id|>",
    "<|<|eot_id|>|>",
    "<|end|><|end|>",
    // Qwen
    "<|im_start|>",
    "<|im_end|>",
    "<think>",
    "</think>",
    "<|vision_pad|>",
    // DeepSeek V3
    "<｜begin▁of▁sentence｜>",
    "<｜end▁of▁sentence｜>",
    "<｜User｜>",
    "<｜Assistant｜>",
    "<｜place▁holder▁no▁12｜>",
    "<｜tool▁calls▁begin｜>",
    // Gemma 3
    "<bos>",
    "<eos>",
    "<start_of_turn>",
    "<end_of_turn>",
    "<start_of_image>",
    "<unused5>",
    "\n\n\n",
    "<table>",
    // Llama 2 and SentencePiece oddities
    "<s>",
    "</s>",
    "<unk>",
    "[INST]",
    "<<SYS>>",
    "<0x41>",
    "▁",
    "▁▁",
    "  ",
    // cl100k
    "<|fim_prefix|>",
    "<|endofprompt|>",
];

fn pick<'a>(rng: &mut ChaCha8Rng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

fn prose(rng: &mut ChaCha8Rng, out: &mut String) {
    let words = PROSE[rng.random_range(0..PROSE.len())];
    for _ in 0..rng.random_range(1..16) {
        out.push_str(pick(rng, words));
        out.push_str(match rng.random_range(0..20) {
            0 => ", ",
            1 => ". ",
            2 => "\n",
            3 => "",
            4 => "  ",
            5 => " 2024 ",
            6 => "'s ",
            _ => " ",
        });
    }
}

fn tricky(rng: &mut ChaCha8Rng, out: &mut String) {
    for _ in 0..rng.random_range(1..16) {
        out.push_str(pick(rng, TRICKY));
    }
}

fn random_chars(rng: &mut ChaCha8Rng, out: &mut String) {
    for _ in 0..rng.random_range(1..20) {
        let max = [0x80, 0x800, 0x3400, 0x110000][rng.random_range(0..4)];
        if let Some(c) = char::from_u32(rng.random_range(0..max)) {
            out.push(c);
        }
    }
}

fn repeats(rng: &mut ChaCha8Rng, out: &mut String) {
    let unit = pick(
        rng,
        &[
            " ", "\n", "=", "-", "a", "ab", "0", "\t", " \n", "'s", "😀", "中", "\u{301}",
        ],
    );
    out.push_str(&unit.repeat(rng.random_range(2..100)));
}

fn digits(rng: &mut ChaCha8Rng, out: &mut String) {
    for _ in 0..rng.random_range(1..20) {
        out.push_str(pick(
            rng,
            &["0", "1", "9", "٣", "५", "๑", "Ⅻ", "²", ".", ",", " "],
        ));
    }
}

fn chat(rng: &mut ChaCha8Rng, out: &mut String) {
    let mut body = String::new();
    prose(rng, &mut body);
    match rng.random_range(0..6) {
        0 => {
            out.push_str("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n");
            out.push_str(
                "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>",
            );
            out.push_str("<|start_header_id|>user<|end_header_id|>\n\n");
            out.push_str(&body);
            out.push_str("<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
        }
        1 => {
            out.push_str("<|start|>system<|message|>You are ChatGPT.\nReasoning: medium<|end|>");
            out.push_str("<|start|>user<|message|>");
            out.push_str(&body);
            out.push_str("<|end|><|start|>assistant<|channel|>final<|message|>");
        }
        2 => {
            out.push_str("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n");
            out.push_str("<|im_start|>user\n");
            out.push_str(&body);
            out.push_str("<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
        }
        3 => {
            out.push_str("<bos><start_of_turn>user\n");
            out.push_str(&body);
            out.push_str("<end_of_turn>\n<start_of_turn>model\n");
        }
        4 => {
            out.push_str("<｜begin▁of▁sentence｜>You are helpful.<｜User｜>");
            out.push_str(&body);
            out.push_str("<｜Assistant｜><think>\n");
        }
        _ => {
            out.push_str("<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\n");
            out.push_str(&body);
            out.push_str(" [/INST]");
        }
    }
}

/// One varied text: 1–4 segments of the kinds above.
pub fn text(rng: &mut ChaCha8Rng) -> String {
    let mut out = String::new();
    for _ in 0..rng.random_range(1..5) {
        match rng.random_range(0..9) {
            0 | 1 => prose(rng, &mut out),
            2 | 3 => tricky(rng, &mut out),
            4 => random_chars(rng, &mut out),
            5 => repeats(rng, &mut out),
            6 => digits(rng, &mut out),
            7 => chat(rng, &mut out),
            _ => out.push_str(pick(rng, SPECIALS)),
        }
    }
    out
}
