//! The length instructlab-training gives a record, as its `data_process`
//! (0.16.2, `unmask_messages`) computes it for a record with
//! `"unmask": true` (every step-04 record): each non-system turn's content
//! is wrapped in `<|UNMASK_BEGIN|>…<|UNMASK_END|>` and, when any such turn
//! has a non-null `thinking`, each non-null `thinking` in
//! `<|UNMASK_REASONING_BEGIN|>…<|UNMASK_REASONING_END|>`; the chat template
//! renders the wrapped turns; the text is tokenized with the markers as
//! added special tokens (so they split it) and the markers are removed.
//!
//! This is not always the plain template's count minus the post-processor's
//! tokens: a template's `trim` keeps an edge a marker now covers, and a
//! marker splits a token the plain text would merge (Qwen 3's `<think>\n\n`
//! with an empty reasoning: `\n\n` becomes `\n`, `\n`). It costs a second
//! render and count, so `mix` asks for it only where it can change a
//! record's fate ([`matters`]).

use crate::format::{is_python_space, Turn};

/// Training's markers (`data_process.py`).
pub const UNMASK_BEGIN: &str = "<|UNMASK_BEGIN|>";
/// See [`UNMASK_BEGIN`].
pub const UNMASK_END: &str = "<|UNMASK_END|>";
/// See [`UNMASK_BEGIN`].
pub const REASONING_BEGIN: &str = "<|UNMASK_REASONING_BEGIN|>";
/// See [`UNMASK_BEGIN`].
pub const REASONING_END: &str = "<|UNMASK_REASONING_END|>";

/// How far (in tokens) the plain estimate may be from a limit and still
/// decide alone. Outside [`sensitive`] turns the wrapped count differs from
/// the estimate only where one of a record's few markers splits a token, a
/// token or two per marker; 64 leaves a wide margin.
pub const MARGIN: u64 = 64;

/// Training's length of `turns` (as written: `thinking` already `None`
/// where the record has none). `render` applies the chat template; `count`
/// counts a text without the post-processor's tokens.
pub fn length(
    turns: &[Turn<'_>],
    render: impl Fn(&[Turn<'_>]) -> Result<String, String>,
    count: impl Fn(&str) -> usize,
) -> Result<usize, String> {
    let reasoning = turns
        .iter()
        .any(|t| t.role != "system" && t.thinking.is_some());
    let wrap = |t: &Turn<'_>| -> (String, Option<String>) {
        if t.role == "system" {
            return (t.content.to_owned(), t.thinking.map(str::to_owned));
        }
        let content = format!("{UNMASK_BEGIN}{}{UNMASK_END}", t.content);
        let thinking = match t.thinking {
            Some(text) if reasoning => Some(format!("{REASONING_BEGIN}{text}{REASONING_END}")),
            other => other.map(str::to_owned),
        };
        (content, thinking)
    };
    let owned: Vec<(String, Option<String>)> = turns.iter().map(wrap).collect();
    let wrapped: Vec<Turn<'_>> = turns
        .iter()
        .zip(&owned)
        .map(|(t, (content, thinking))| Turn {
            role: t.role,
            content,
            thinking: thinking.as_deref(),
        })
        .collect();
    let text = render(&wrapped)?;
    Ok(split_at_markers(&text).map(count).sum())
}

/// The text between the markers (the markers are special tokens: HF
/// tokenizes each piece on its own).
fn split_at_markers(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let next = [UNMASK_BEGIN, UNMASK_END, REASONING_BEGIN, REASONING_END]
            .iter()
            .filter_map(|m| rest.find(m).map(|at| (at, m.len())))
            .min();
        let (piece, after) = match next {
            Some((at, len)) => (&rest[..at], &rest[at + len..]),
            None => (rest, ""),
        };
        rest = after;
        Some(piece)
    })
}

/// Whether a template may treat these turns differently once wrapped
/// beyond a split token: an edge a `trim`/`strip` would remove, or text a
/// template parses (think tags, the markers themselves).
pub fn sensitive(turns: &[Turn<'_>]) -> bool {
    let edgy = |s: &str| {
        s.chars().next().is_some_and(is_python_space)
            || s.chars().next_back().is_some_and(is_python_space)
    };
    let parsed = |s: &str| s.contains("think>") || s.contains("<|UNMASK_");
    turns.iter().any(|t| {
        edgy(t.content) || parsed(t.content) || t.thinking.is_some_and(|x| edgy(x) || parsed(x))
    })
}

/// Whether the exact length is needed for a record whose plain estimate is
/// `estimate` under limits `limits` (max_seq_len, min_len).
pub fn matters(turns: &[Turn<'_>], estimate: u64, limits: (u64, u64)) -> bool {
    estimate.abs_diff(limits.0) <= MARGIN
        || estimate.abs_diff(limits.1) <= MARGIN
        || sensitive(turns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_between_markers() {
        let text =
            "a<|UNMASK_BEGIN|>b<|UNMASK_END|><|UNMASK_REASONING_BEGIN|>c<|UNMASK_REASONING_END|>";
        let pieces: Vec<&str> = split_at_markers(text).collect();
        assert_eq!(pieces, ["a", "b", "", "c"]);
        assert_eq!(split_at_markers("plain").collect::<Vec<_>>(), ["plain"]);
    }

    #[test]
    fn wraps_content_and_reasoning_like_data_process() {
        let turns = [
            Turn {
                role: "user",
                content: "q",
                thinking: None,
            },
            Turn {
                role: "assistant",
                content: "a",
                thinking: Some(""),
            },
        ];
        let rendered = std::cell::RefCell::new(String::new());
        let render = |t: &[Turn<'_>]| {
            let text: String = t
                .iter()
                .map(|t| format!("[{}|{}|{:?}]", t.role, t.content, t.thinking))
                .collect();
            *rendered.borrow_mut() = text.clone();
            Ok(text)
        };
        let n = length(&turns, render, |s| s.len()).unwrap();
        assert_eq!(
            *rendered.borrow(),
            "[user|<|UNMASK_BEGIN|>q<|UNMASK_END|>|None]\
             [assistant|<|UNMASK_BEGIN|>a<|UNMASK_END|>|Some(\"<|UNMASK_REASONING_BEGIN|><|UNMASK_REASONING_END|>\")]"
        );
        // Markers are not counted.
        let markers = 2 * UNMASK_BEGIN.len()
            + 2 * UNMASK_END.len()
            + REASONING_BEGIN.len()
            + REASONING_END.len();
        assert_eq!(n, rendered.borrow().len() - markers);
    }

    #[test]
    fn sensitive_edges_and_tags() {
        let t = |c| {
            [Turn {
                role: "assistant",
                content: c,
                thinking: None,
            }]
        };
        assert!(!sensitive(&t("plain answer.")));
        assert!(sensitive(&t("answer\u{1f}")));
        assert!(sensitive(&t(" answer")));
        assert!(sensitive(&t("a</think>b")));
        assert!(matters(&t("x"), 8192 - 64, (8192, 20)));
        assert!(!matters(&t("x"), 8192 - 65, (8192, 20)));
        assert!(matters(&t("x"), 84, (8192, 20)));
        assert!(!matters(&t("x"), 85, (8192, 20)));
    }
}
