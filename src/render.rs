//! The model's chat template, rendered as transformers 5's
//! `tokenizer.apply_chat_template(messages, tokenize=False)` renders it: a
//! minijinja environment configured like transformers' Jinja2 sandbox
//! (`trim_blocks`, `lstrip_blocks`, loop controls, Python string methods,
//! `raise_exception`, `strftime_now`, a `json.dumps`-compatible `tojson`, a
//! `str.strip`-compatible `trim`) and the context transformers passes
//! (`bos_token`, `eos_token`, `add_generation_prompt=false`, `tools=None`,
//! `documents=None`). The template is compiled once; [`ChatTemplate::render`]
//! takes `&self` and is safe to call from many threads at once.

pub mod py;

use minijinja::value::{ArgType, Kwargs, Rest};
use minijinja::{context, AutoEscape, Environment, Error, ErrorKind, State, Value};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use crate::format::Turn;

/// Name under which the template is stored in the environment.
const NAME: &str = "chat_template";

/// One chat message as step 04 writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// `user`, `assistant`, `system`, ...
    pub role: String,
    /// The message text.
    pub content: String,
    /// The reasoning text. `None` drops the key (transformers 5 drops
    /// None-valued keys before rendering); `Some("")` keeps it, empty.
    pub thinking: Option<String>,
}

impl Message {
    /// A message without a `thinking` key.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Message {
            role: role.into(),
            content: content.into(),
            thinking: None,
        }
    }
}

/// What the template sees for one message. Like transformers 5
/// (`_alias_reasoning_fields`: `{"thinking": r, **message, "reasoning_content": r}`),
/// a present `thinking` moves to the front and is copied to a trailing
/// `reasoning_content` (the key most templates read reasoning from).
#[derive(Serialize)]
struct TemplateMessage<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking: Option<&'a str>,
    role: &'a str,
    content: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_content: Option<&'a str>,
}

impl<'a> From<&Turn<'a>> for TemplateMessage<'a> {
    fn from(turn: &Turn<'a>) -> Self {
        TemplateMessage {
            thinking: turn.thinking,
            role: turn.role,
            content: turn.content,
            reasoning_content: turn.thinking,
        }
    }
}

/// The clock `strftime_now` reads: local wall time, naive, like Python's
/// `datetime.now()`. Inject a fixed one to freeze the date in tests.
pub type Clock = Arc<dyn Fn() -> chrono::NaiveDateTime + Send + Sync>;

/// The local clock (the default).
pub fn local_clock() -> Clock {
    Arc::new(|| chrono::Local::now().naive_local())
}

/// Errors compiling or rendering a chat template.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The template source is not valid (mini)Jinja.
    #[error("the tokenizer's chat template does not compile: {0:#}")]
    Compile(#[source] Error),
    /// Rendering failed, e.g. the template called `raise_exception` on a
    /// message it does not accept.
    #[error("rendering the chat template failed: {0:#}")]
    Render(#[source] Error),
}

/// A compiled chat template plus the special tokens it is rendered with.
pub struct ChatTemplate {
    env: Environment<'static>,
    bos: Value,
    eos: Value,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate")
            .field("bos", &self.bos)
            .field("eos", &self.eos)
            .finish_non_exhaustive()
    }
}

impl ChatTemplate {
    /// Compiles `source` with `strftime_now` reading the local clock.
    pub fn new(source: &str, bos: &str, eos: &str) -> Result<Self, RenderError> {
        Self::with_clock(source, bos, eos, local_clock())
    }

    /// Compiles `source` with `strftime_now` reading `clock`.
    pub fn with_clock(
        source: &str,
        bos: &str,
        eos: &str,
        clock: Clock,
    ) -> Result<Self, RenderError> {
        let mut env = environment(clock);
        env.add_template_owned(NAME, source.to_owned())
            .map_err(RenderError::Compile)?;
        // What transformers passes besides the messages is the same for
        // every render: globals, so that each render's context holds one
        // key (a template's `set` shadows a global as it would a context
        // variable).
        env.add_global("bos_token", bos);
        env.add_global("eos_token", eos);
        env.add_global("add_generation_prompt", false);
        env.add_global("tools", ());
        env.add_global("documents", ());
        Ok(ChatTemplate {
            env,
            bos: Value::from(bos),
            eos: Value::from(eos),
        })
    }

    /// Renders `messages` (no generation prompt, no tools).
    pub fn render(&self, messages: &[Message]) -> Result<String, RenderError> {
        let turns: Vec<Turn<'_>> = messages
            .iter()
            .map(|m| Turn {
                role: &m.role,
                content: &m.content,
                thinking: m.thinking.as_deref(),
            })
            .collect();
        self.render_turns(&turns)
    }

    /// Renders `turns` (no generation prompt, no tools), borrowing their
    /// text until the template's values are built.
    pub fn render_turns(&self, turns: &[Turn<'_>]) -> Result<String, RenderError> {
        let messages: Vec<TemplateMessage<'_>> = turns.iter().map(TemplateMessage::from).collect();
        let ctx = context! { messages => Value::from_serialize(&messages) };
        let template = self.env.get_template(NAME).map_err(RenderError::Render)?;
        template.render(ctx).map_err(RenderError::Render)
    }
}

/// An environment set up like transformers' `ImmutableSandboxedEnvironment`.
fn environment(clock: Clock) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(false);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_unknown_method_callback(unknown_method);
    env.set_formatter(format_value);
    env.add_function("raise_exception", raise_exception);
    env.add_function("strftime_now", move |format: &str| {
        strftime(&clock(), format)
    });
    env.add_filter("tojson", tojson);
    env.add_filter("trim", trim);
    env
}

/// Prints `{{ none }}`, `{{ true }}` and floats as Python does (`None`,
/// `True`, `1.0`); everything else as minijinja does.
fn format_value(out: &mut minijinja::Output, state: &State, value: &Value) -> Result<(), Error> {
    use minijinja::value::ValueKind;
    match value.kind() {
        ValueKind::None | ValueKind::Bool => out.write_str(&py::py_str(value)).map_err(Error::from),
        ValueKind::Number if !value.is_integer() => {
            out.write_str(&py::py_str(value)).map_err(Error::from)
        }
        _ => minijinja::escape_formatter(out, state, value),
    }
}

fn raise_exception(message: &str) -> Result<Value, Error> {
    Err(Error::new(
        ErrorKind::InvalidOperation,
        format!("raise_exception: {message}"),
    ))
}

fn strftime(now: &chrono::NaiveDateTime, format: &str) -> Result<String, Error> {
    use std::fmt::Write as _;
    let mut out = String::new();
    write!(out, "{}", now.format(format)).map_err(|_| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("strftime_now: unsupported format {format:?}"),
        )
    })?;
    Ok(out)
}

/// transformers' `tojson`: `json.dumps(x, ensure_ascii=False, indent=None,
/// separators=None, sort_keys=False)`, unlike minijinja's HTML-safe one.
fn tojson(value: &Value, args: Rest<Value>) -> Result<Value, Error> {
    let (positional, kwargs) = match args.split_last() {
        Some((last, rest)) if last.is_kwargs() => (rest, Kwargs::from_value(Some(last))?),
        _ => (
            &args[..],
            Kwargs::from_iter(std::iter::empty::<(&str, Value)>()),
        ),
    };
    let opts = py::dumps_options(positional, &kwargs)?;
    Ok(Value::from(py::dumps(value, &opts)?))
}

/// Jinja's `trim(value, chars=None)`: `str(value).strip(chars)`. A string
/// with nothing to strip (most message texts) is handed back as it is,
/// without a copy.
fn trim(value: &Value, chars: Option<&str>) -> Value {
    let s = match value.as_str() {
        Some(s) => {
            let stripped = py::py_strip(s, chars, py::Ends::Both);
            if stripped.len() == s.len() {
                return value.clone();
            }
            return Value::from(stripped);
        }
        None => py::py_str(value),
    };
    Value::from(py::py_strip(&s, chars, py::Ends::Both))
}

/// minijinja-contrib's Python methods, with `strip`/`lstrip`/`rstrip` and
/// `isspace` using Python's whitespace (which includes `\x1c`–`\x1f`).
fn unknown_method(
    state: &State,
    value: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    if let Some(s) = value.as_str() {
        let ends = match method {
            "strip" => Some(py::Ends::Both),
            "lstrip" => Some(py::Ends::Start),
            "rstrip" => Some(py::Ends::End),
            _ => None,
        };
        if let Some(ends) = ends {
            let (chars,): (Option<&str>,) = minijinja::value::from_args(args)?;
            return Ok(Value::from(py::py_strip(s, chars, ends)));
        }
        if method == "isspace" {
            let () = minijinja::value::from_args(args)?;
            return Ok(Value::from(!s.is_empty() && s.chars().all(py::is_py_space)));
        }
    }
    minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
}
