//! The token length of a conversation, end to end: resolve the tokenizer,
//! compile its chat template, pick the fastest exact counter (the fast path
//! when the tokenizer.json is one it supports, else HF `tokenizers`), and
//! expose `len(encode(apply_chat_template(messages)))` as a
//! [`TokenLength`] the record builder can share across workers.

use std::sync::Arc;

use anyhow::Context;
use serde_json::{json, Value};

use super::fast::FastCounter;
use super::resolve::{resolve, ResolvedTokenizer};
use super::TokenCount;
use crate::format::Turn;
use crate::render::ChatTemplate;
use crate::tokenize::TokenLength;

/// A tokenizer ready to count conversations.
pub struct LoadedTokenizer {
    /// Where it came from, for logs.
    pub description: String,
    /// Which counter runs: `fast` or `hf`.
    pub counter_kind: &'static str,
    /// Which path of it, e.g. "byte-level BPE, compiled split regex, NFC"
    /// (fast), or why HF runs.
    pub counter_detail: String,
    /// The counter behind the chat template.
    pub length: Arc<ChatTokenLength>,
    resolved: ResolvedTokenizer,
}

impl LoadedTokenizer {
    /// What the manifest records: spec, source, counter, file hashes.
    pub fn manifest(&self) -> Value {
        json!({
            "source": self.description,
            "counter": self.counter_kind,
            "counter_detail": self.counter_detail,
            "files": files_manifest(&self.resolved),
        })
    }
}

/// Chat template + token counter. The template is absent when the
/// tokenizer was loaded to count plain text only ([`load_counter`]).
pub struct ChatTokenLength {
    template: Option<ChatTemplate>,
    counter: Box<dyn TokenCount>,
    /// `counter.count("")`: the post-processor's added tokens.
    added: usize,
}

impl ChatTokenLength {
    /// Count a rendered text.
    pub fn count_text(&self, text: &str) -> usize {
        self.counter.count(text)
    }

    /// Render turns with the chat template.
    pub fn render(&self, turns: &[Turn<'_>]) -> Result<String, String> {
        let template = self
            .template
            .as_ref()
            .ok_or("the tokenizer was loaded without its chat template")?;
        template.render_turns(turns).map_err(|e| e.to_string())
    }
}

impl TokenLength for ChatTokenLength {
    fn token_length(&self, turns: &[Turn<'_>]) -> Result<usize, String> {
        Ok(self.count_text(&self.render(turns)?))
    }

    fn added_tokens(&self) -> usize {
        self.added
    }

    fn training_length(&self, turns: &[Turn<'_>]) -> Result<usize, String> {
        super::training::length(
            turns,
            |wrapped| self.render(wrapped),
            |text| self.count_text(text).saturating_sub(self.added),
        )
    }
}

/// Resolve `spec` and build its counter (fast path when supported).
pub fn load(spec: &str) -> anyhow::Result<LoadedTokenizer> {
    prepare(spec)?.build()
}

/// Resolve `spec` and build its counter for plain text only: the chat
/// template is neither required nor compiled (`tokens --template none`).
pub fn load_counter(spec: &str) -> anyhow::Result<LoadedTokenizer> {
    let resolved = resolve(spec)?;
    PreparedTokenizer {
        resolved,
        template: None,
    }
    .build()
}

/// A tokenizer whose files are read and hashed and whose chat template is
/// compiled, its counter not yet built (the costly part: ~0.4 s to build
/// Llama 3's tables, ~0.05 s to read them back from the tables cache;
/// callers may run it on another thread meanwhile).
pub struct PreparedTokenizer {
    resolved: ResolvedTokenizer,
    template: Option<ChatTemplate>,
}

/// Resolve `spec` and compile its template (the errors a user is most
/// likely to make show up here, at once).
pub fn prepare(spec: &str) -> anyhow::Result<PreparedTokenizer> {
    let resolved = resolve(spec)?;
    let template = resolved
        .chat_template()
        .with_context(|| format!("tokenizer {spec}: cannot load its chat template"))?;
    Ok(PreparedTokenizer {
        resolved,
        template: Some(template),
    })
}

impl PreparedTokenizer {
    /// Where it came from, for logs.
    pub fn description(&self) -> String {
        self.resolved.describe()
    }

    /// The resolved files (to copy them for other machines).
    pub fn resolved(&self) -> &ResolvedTokenizer {
        &self.resolved
    }

    /// The tokenizer files and their sha256, as the manifest records them.
    pub fn files_manifest(&self) -> Value {
        files_manifest(&self.resolved)
    }

    /// Build the counter: the fast path when it supports this tokenizer,
    /// else HF `tokenizers`.
    pub fn build(self) -> anyhow::Result<LoadedTokenizer> {
        let counter = build_counter(&self.resolved)?;
        Ok(self.with_counter(counter))
    }

    /// Write the fast counter's tables into `dir` (a folder of this
    /// tokenizer's files), so whoever loads that folder with
    /// [`load_planned`] neither reads `tokenizer.json` nor builds them.
    /// Nothing is written when the fast path does not support it.
    pub fn store_tables(&self, dir: &std::path::Path) -> std::io::Result<()> {
        use super::fast::stored;
        let cache = stored::cache_dir(|k| std::env::var_os(k));
        stored::export(
            &self.resolved.tokenizer_json,
            cache.as_deref(),
            &dir.join(stored::TABLES_FILE),
        )
    }

    fn with_counter(
        self,
        (counter, counter_kind, counter_detail): (Box<dyn TokenCount>, &'static str, String),
    ) -> LoadedTokenizer {
        let added = counter.count("");
        LoadedTokenizer {
            description: self.resolved.describe(),
            counter_kind,
            counter_detail,
            length: Arc::new(ChatTokenLength {
                template: self.template,
                counter,
                added,
            }),
            resolved: self.resolved,
        }
    }
}

/// Load a folder of tokenizer files that `shard plan` wrote: from the
/// fast counter's tables stored there when they are sound (its
/// `tokenizer.json` is then not read, hashed nor parsed; the plan holds
/// its hashes), else as [`load`] does.
pub fn load_planned(dir: &std::path::Path) -> anyhow::Result<LoadedTokenizer> {
    use super::fast::stored;
    let Some(fast) = stored::load_file(&dir.join(stored::TABLES_FILE)) else {
        return load(&dir.to_string_lossy());
    };
    let resolved = super::resolve::resolve_templates(dir)?;
    let template = resolved
        .chat_template()
        .with_context(|| format!("tokenizer {}: cannot load its chat template", dir.display()))?;
    let detail = fast.describe();
    let prepared = PreparedTokenizer {
        resolved,
        template: Some(template),
    };
    Ok(prepared.with_counter((Box::new(fast), "fast", detail)))
}

/// The fast counter when it supports this tokenizer, else HF's; with its
/// kind and detail.
fn build_counter(
    resolved: &ResolvedTokenizer,
) -> anyhow::Result<(Box<dyn TokenCount>, &'static str, String)> {
    Ok(match fast_counter(&resolved.tokenizer_json) {
        Some(fast) => {
            let detail = fast.describe();
            (Box::new(fast), "fast", detail)
        }
        None => (
            Box::new(resolved.hf_counter()?),
            "hf",
            "HF tokenizers: the fast counter does not support this tokenizer.json".to_owned(),
        ),
    })
}

fn files_manifest(resolved: &ResolvedTokenizer) -> Value {
    resolved
        .files
        .iter()
        .map(|f| json!({"name": f.name, "sha256": f.sha256}))
        .collect()
}

/// The fast exact counter when it supports this tokenizer (detected from
/// tokenizer.json). Anything it does not know — or cannot read — goes to
/// HF `tokenizers`, which either loads it or reports the error with the
/// file's place.
fn fast_counter(json: &[u8]) -> Option<FastCounter> {
    use super::fast::stored;
    let dir = stored::cache_dir(|k| std::env::var_os(k));
    stored::load_or_build(json, dir.as_deref()).ok()?
}
