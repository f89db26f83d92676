//! The library's option enums as clap values (`--on-error skip`,
//! `--compress zstd`) and the parsers of option texts (`--cut-sizes 5,50`),
//! kept here so the library knows nothing of clap.

use clap::builder::PossibleValue;
use clap::ValueEnum;

use crate::assemble::OnError;
use crate::format::Thinking;
use crate::read::open::Compression;
use crate::synth;
use crate::tokens::Template;

impl ValueEnum for OnError {
    fn value_variants<'a>() -> &'a [Self] {
        &[OnError::Fail, OnError::Skip]
    }
    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            OnError::Fail => PossibleValue::new("fail").help("stop at the first bad row"),
            OnError::Skip => {
                PossibleValue::new("skip").help("set bad rows aside in rejected.jsonl")
            }
        })
    }
}

impl ValueEnum for Thinking {
    fn value_variants<'a>() -> &'a [Self] {
        &[Thinking::Keep, Thinking::OmitEmpty]
    }
    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            Thinking::Keep => PossibleValue::new("keep").help("always (the notebook's bytes)"),
            Thinking::OmitEmpty => {
                PossibleValue::new("omit-empty").help("only with reasoning text")
            }
        })
    }
}

impl ValueEnum for Template {
    fn value_variants<'a>() -> &'a [Self] {
        &[Template::Chat, Template::None]
    }
    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            Template::Chat => {
                PossibleValue::new("chat").help("render --field with the chat template (as mix)")
            }
            Template::None => {
                PossibleValue::new("none").help("count a plain text field (--text-field)")
            }
        })
    }
}

impl ValueEnum for Compression {
    fn value_variants<'a>() -> &'a [Self] {
        &[Compression::None, Compression::Zstd, Compression::Gzip]
    }
    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(match self {
            Compression::None => "none",
            Compression::Zstd => "zstd",
            Compression::Gzip => "gzip",
        }))
    }
}

impl ValueEnum for synth::Compression {
    fn value_variants<'a>() -> &'a [Self] {
        use synth::Compression::*;
        &[None, Gzip, Zstd, Mixed]
    }
    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(match self {
            synth::Compression::None => "none",
            synth::Compression::Gzip => "gzip",
            synth::Compression::Zstd => "zstd",
            synth::Compression::Mixed => "mixed",
        }))
    }
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

/// Parse `true`/`false` the way the notebook's `.env` files write them.
pub fn parse_bool(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" | "" => Ok(false),
        other => Err(format!("expected true or false, found {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cut_sizes() {
        use super::parse_cut_sizes;
        assert_eq!(parse_cut_sizes("5,50").unwrap(), vec![5, 50]);
        assert_eq!(parse_cut_sizes(" 50 , 5,5").unwrap(), vec![5, 50]);
        assert!(parse_cut_sizes("").is_err());
        assert!(parse_cut_sizes("5,x").unwrap_err().contains("\"x\""));
        assert!(parse_cut_sizes("0").is_err());
        assert!(parse_cut_sizes("-3").is_err());
    }

    #[test]
    fn bools() {
        assert!(super::parse_bool("True").unwrap());
        assert!(!super::parse_bool("false").unwrap());
        assert!(super::parse_bool("maybe").is_err());
    }
}
