//! One pass over a query: Grafana's template variables (as its frontend
//! replaces them) and the Timestream plugin's macros (as its backend
//! does), each value written safely for where it lands.
//!
//! Grafana pastes values into the text as they are. Gridwatch writes the
//! same text whenever a value is a plain name or number, and otherwise
//! quotes it for its place: inside a string literal its quotes are
//! doubled, inside a quoted identifier its double quotes, outside quotes a
//! configured name becomes a quoted identifier, and a variable's value
//! that would be SQL there is refused with a message saying what to write
//! instead. What is substituted is never read again as a macro.

use super::ExpandError;
use super::macros::MacroContext;
use super::variables::{Binding, Bound, Format, is_plain};
use crate::timestream::quote_ident;

/// Where in the SQL a substitution lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Bare,
    /// Inside `'…'`.
    Literal,
    /// Inside `"…"`.
    Ident,
    LineComment,
    BlockComment,
}

/// A `$name`, `${name}`, `${name:format}`, `[[name]]` or `[[name:format]]`.
struct Token<'a> {
    name: &'a str,
    format: Option<&'a str>,
    len: usize,
}

fn word_len(s: &[u8]) -> usize {
    s.iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
        .count()
}

/// The token at the start of `s`, if one is there (Grafana's own
/// variable pattern).
fn token(s: &str) -> Option<Token<'_>> {
    let b = s.as_bytes();
    if let Some(rest) = s.strip_prefix("${") {
        let n = word_len(rest.as_bytes());
        let close = rest.find('}')?;
        if n == 0 || (close != n && rest.as_bytes().get(n) != Some(&b':')) {
            return None;
        }
        let format = (close > n).then(|| &rest[n + 1..close]);
        return Some(Token {
            name: &rest[..n],
            format,
            len: 2 + close + 1,
        });
    }
    if let Some(rest) = s.strip_prefix("[[") {
        let n = word_len(rest.as_bytes());
        let close = rest.find("]]")?;
        if n == 0 || (close != n && rest.as_bytes().get(n) != Some(&b':')) {
            return None;
        }
        let format = (close > n).then(|| &rest[n + 1..close]);
        return Some(Token {
            name: &rest[..n],
            format,
            len: 2 + close + 2,
        });
    }
    if b.first() == Some(&b'$') {
        let n = word_len(&b[1..]);
        return (n > 0).then(|| Token {
            name: &s[1..=n],
            format: None,
            len: 1 + n,
        });
    }
    None
}

/// The macros the plugin's backend replaces as substrings: `$__timeFromX`
/// is `$__timeFrom` and an `X` there (Grafana's frontend left the longer
/// name alone, not being one of its variables). Longest first.
const PLUGIN_MACROS: [&str; 11] = [
    "__interval_raw_ms",
    "__interval_ms",
    "__timeFilter",
    "__interval",
    "__database",
    "__timeFrom",
    "__measure",
    "__timeTo",
    "__now_ms",
    "__refId",
    "__table",
];

/// A `$__name` token cut to the plugin macro it starts with, if it is
/// not one itself.
fn plugin_prefix(tok: Token<'_>) -> Token<'_> {
    let plain = tok.len == 1 + tok.name.len();
    if !plain || PLUGIN_MACROS.contains(&tok.name) {
        return tok;
    }
    match PLUGIN_MACROS.iter().find(|m| tok.name.starts_with(*m)) {
        Some(m) => Token {
            name: &tok.name[..m.len()],
            format: None,
            len: 1 + m.len(),
        },
        None => tok,
    }
}

/// What a token stands for.
enum Value {
    /// Text Gridwatch writes itself (times, intervals, a time filter).
    Written(String),
    /// A configured name (database, table, measure, ref id).
    Name(String),
    /// A template variable's value, with its format.
    Variable { bound: Bound, format: Format },
}

fn missing(name: &'static str, flag: &'static str) -> ExpandError {
    ExpandError::Missing { name, flag }
}

/// The macro or built-in variable called `name`, if it is one.
fn builtin(
    name: &str,
    format: Option<&str>,
    ctx: &MacroContext,
) -> Option<Result<Value, ExpandError>> {
    let range = || ctx.range_ms().map_err(ExpandError::Range);
    let interval = || ctx.interval_ms().map_err(ExpandError::Range);
    let name_of = |v: &Option<String>, macro_name, flag| {
        v.clone()
            .filter(|s| !s.is_empty())
            .map(Value::Name)
            .ok_or_else(|| missing(macro_name, flag))
    };
    let value = match name {
        "__database" => name_of(&ctx.database, "$__database", "--database"),
        "__table" => name_of(&ctx.table, "$__table", "--table"),
        "__measure" => name_of(&ctx.measure, "$__measure", "--measure"),
        "__refId" => Ok(Value::Name(
            ctx.ref_id.clone().unwrap_or_else(|| "A".into()),
        )),
        "__timeFilter" => range().map(|(f, t)| {
            Value::Written(format!(
                "time BETWEEN from_milliseconds({f}) AND from_milliseconds({t})"
            ))
        }),
        "__timeFrom" => range().map(|(f, _)| Value::Written(f.to_string())),
        "__timeTo" => range().map(|(_, t)| Value::Written(t.to_string())),
        "__interval_ms" | "__interval" => interval().map(|ms| Value::Written(format!("{ms}ms"))),
        "__interval_raw_ms" => interval().map(|ms| Value::Written(ms.to_string())),
        "__now_ms" => ctx
            .now_ms()
            .map(|ms| Value::Written(ms.to_string()))
            .map_err(ExpandError::Range),
        // Grafana's global time variables, which its frontend expands.
        "__from" | "__to" => range().and_then(|(f, t)| {
            let ms = if name == "__from" { f } else { t };
            global_time(name, ms, format).map(Value::Written)
        }),
        "__range_ms" => range().map(|(f, t)| Value::Written((t - f).to_string())),
        "__range_s" => range().map(|(f, t)| Value::Written(((t - f) / 1000).to_string())),
        _ => return None,
    };
    Some(value)
}

/// `${__from}` and `${__to}`: epoch milliseconds, or a date format.
fn global_time(name: &str, ms: i64, format: Option<&str>) -> Result<String, ExpandError> {
    match format {
        None => Ok(ms.to_string()),
        Some("date" | "date:iso") => Ok(iso_ms(ms)),
        Some("date:seconds") => Ok((ms / 1000).to_string()),
        Some(other) => Err(ExpandError::UnknownFormat {
            what: format!("${{{name}}}"),
            format: other.to_owned(),
        }),
    }
}

/// Grafana's ISO form: milliseconds and a Z.
fn iso_ms(ms: i64) -> String {
    let text = gridwatch_types::time::format_time_micros(ms * 1000);
    // `…:20.123000Z` to `…:20.123Z`.
    match text.len().checked_sub(4) {
        Some(cut) if text.ends_with('Z') => format!("{}Z", &text[..cut]),
        _ => text,
    }
}

/// The text for `value` at `place`, safe there.
fn write(what: &str, value: Value, place: Place) -> Result<String, ExpandError> {
    let text = match &value {
        Value::Written(s) | Value::Name(s) => s.clone(),
        Value::Variable { bound, format } => {
            let values: &[String] = match bound {
                Bound::One(v) => std::slice::from_ref(v),
                Bound::Many(vs) => vs,
                Bound::AllValue(_) => &[],
            };
            if let Some((v, why)) = values
                .iter()
                .find_map(|v| format.refusal(v).map(|why| (v, why)))
            {
                return Err(unsafe_value(what, v, why.to_owned()));
            }
            format.write(bound)
        }
    };
    match place {
        Place::Literal => Ok(text.replace('\'', "''")),
        Place::Ident => Ok(text.replace('"', "\"\"")),
        Place::LineComment if text.contains(['\n', '\r']) => Err(unsafe_value(
            what,
            &text,
            "a line break would end the comment it stands in".into(),
        )),
        Place::BlockComment if text.contains("*/") => Err(unsafe_value(
            what,
            &text,
            "a */ would end the comment it stands in".into(),
        )),
        Place::LineComment | Place::BlockComment => Ok(text),
        Place::Bare => match value {
            Value::Written(s) => Ok(s),
            Value::Name(s) if is_plain(&s) => Ok(s),
            Value::Name(s) => Ok(quote_ident(&s)),
            Value::Variable { bound, format } => {
                if format.quotes(&bound) || matches!(bound, Bound::AllValue(_)) {
                    return Ok(text);
                }
                let values: Vec<String> = match bound {
                    Bound::One(v) => vec![v],
                    Bound::Many(vs) => vs,
                    Bound::AllValue(_) => Vec::new(),
                };
                match values.iter().find(|v| !v.is_empty() && !is_plain(v)) {
                    Some(v) => {
                        let name = what
                            .trim_start_matches(['$', '{', '['])
                            .trim_end_matches(['}', ']']);
                        let name = name.split(':').next().unwrap_or(name);
                        Err(unsafe_value(
                            what,
                            v,
                            format!(
                                "outside quotes it would be read as SQL; put it inside quotes ('${{{name}}}') or write ${{{name}:sqlstring}}"
                            ),
                        ))
                    }
                    None => Ok(text),
                }
            }
        },
    }
}

fn unsafe_value(what: &str, value: &str, why: String) -> ExpandError {
    ExpandError::Unsafe {
        what: what.to_owned(),
        value: value.to_owned(),
        why,
    }
}

/// Names Grafana keeps for itself beside the `$__…` ones: the InfluxDB
/// (and Graphite) data sources' macros.
const RESERVED: [&str; 2] = ["timeFilter", "interval"];

/// The template variables `sql` names (`$name`, `${name:fmt}`,
/// `[[name]]`), each once in order of first use; macros and Grafana's
/// built-in variables (`$__…`, `$timeFilter`, `$interval`) are not among
/// them.
pub fn referenced_variables(sql: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sql.len() {
        let rest = &sql[i..];
        if (rest.starts_with('$') || rest.starts_with("[["))
            && let Some(tok) = token(rest)
        {
            if !tok.name.starts_with("__")
                && !RESERVED.contains(&tok.name)
                && !names.iter().any(|n| n == tok.name)
            {
                names.push(tok.name.to_owned());
            }
            i += tok.len;
            continue;
        }
        // On to the next character (a token starts on an ASCII byte).
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
    names
}

/// Expands the template variables in `bindings` and the plugin's macros
/// in one pass. An unknown `$name` is left as it is, as Grafana leaves it.
pub fn expand(sql: &str, ctx: &MacroContext, bindings: &[Binding]) -> Result<String, ExpandError> {
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 64);
    let (mut i, mut copied, mut place) = (0, 0, Place::Bare);
    while i < b.len() {
        if (b[i] == b'$' || b[i..].starts_with(b"[["))
            && let Some(tok) = token(&sql[i..]).map(plugin_prefix)
        {
            let what = &sql[i..i + tok.len];
            let value = match builtin(tok.name, tok.format, ctx) {
                Some(v) => Some(v?),
                None => match bindings.iter().find(|v| v.name == tok.name) {
                    Some(binding) => Some(Value::Variable {
                        bound: binding.value.clone(),
                        format: Format::parse(tok.format, what)?,
                    }),
                    None => None,
                },
            };
            if let Some(value) = value {
                out.push_str(&sql[copied..i]);
                out.push_str(&write(what, value, place)?);
                i += tok.len;
                copied = i;
                continue;
            }
        }
        let next = b.get(i + 1).copied();
        let step = match (place, b[i], next) {
            (Place::Bare, b'\'', _) => (Place::Literal, 1),
            (Place::Bare, b'"', _) => (Place::Ident, 1),
            (Place::Bare, b'-', Some(b'-')) => (Place::LineComment, 2),
            (Place::Bare, b'/', Some(b'*')) => (Place::BlockComment, 2),
            (Place::Literal, b'\'', Some(b'\'')) | (Place::Ident, b'"', Some(b'"')) => (place, 2),
            (Place::Literal, b'\'', _) | (Place::Ident, b'"', _) => (Place::Bare, 1),
            (Place::LineComment, b'\n', _) => (Place::Bare, 1),
            (Place::BlockComment, b'*', Some(b'/')) => (Place::Bare, 2),
            _ => (place, 1),
        };
        place = step.0;
        i += step.1;
    }
    out.push_str(&sql[copied..]);
    Ok(out)
}
