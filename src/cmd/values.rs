//! The library's option enums as clap values (`--on-error skip`,
//! `--compress zstd`), kept here so the library knows nothing of clap.

use clap::builder::PossibleValue;
use clap::ValueEnum;

use crate::read::open::Compression;
use crate::records::OnError;
use crate::synth;

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
    fn bools() {
        assert!(super::parse_bool("True").unwrap());
        assert!(!super::parse_bool("false").unwrap());
        assert!(super::parse_bool("maybe").is_err());
    }
}
