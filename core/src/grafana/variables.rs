//! Dashboard template variables: what a selection stands for ("All", one
//! value, several) and Grafana's formats (`${name:csv}` and the rest).
//!
//! Without a format, a value is written as the Timestream plugin's
//! frontend writes it: a single value as it is, a multi-value variable's
//! values as quoted literals joined by commas (`'a','b'`).

use gridwatch_types::{Selection, Variable, VariableKind, VariableValue};

use super::ExpandError;

/// What a variable stands for in a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bound {
    /// A single-value variable's value.
    One(String),
    /// A multi-value variable's values (one or more), or "All" without a
    /// custom all value.
    Many(Vec<String>),
    /// "All" with the dashboard's custom all value (e.g. `.*`): written as
    /// it is, unformatted, as Grafana does. It is the dashboard's own text,
    /// like its SQL.
    AllValue(String),
}

/// A variable's name and what it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub name: String,
    pub value: Bound,
}

/// What each variable stands for, given its selection.
pub fn bind(variables: &[Variable]) -> Vec<Binding> {
    variables
        .iter()
        .map(|v| Binding {
            name: v.name.clone(),
            value: bound(v),
        })
        .collect()
}

fn bound(v: &Variable) -> Bound {
    match (&v.selected, &v.kind) {
        (Selection::All, _) => match &v.all_value {
            Some(all) if !all.is_empty() => Bound::AllValue(all.clone()),
            _ => Bound::Many(v.options.clone()),
        },
        (Selection::Values(values), _) if v.multi => Bound::Many(values.clone()),
        (Selection::Values(values), VariableKind::Constant | VariableKind::Textbox)
            if values.is_empty() =>
        {
            Bound::One(v.definition.clone())
        }
        (Selection::Values(values), _) => Bound::One(values.first().cloned().unwrap_or_default()),
    }
}

/// Bindings from the command line's `--var NAME=VALUE`: a comma list is a
/// multi-value variable.
pub fn parse_var(arg: &str) -> Result<Binding, ExpandError> {
    let (name, value) = arg
        .split_once('=')
        .ok_or_else(|| ExpandError::Variable(format!("--var {arg:?}: write it as NAME=VALUE")))?;
    let name = name.trim().trim_start_matches('$');
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(ExpandError::Variable(format!(
            "--var {arg:?}: a variable's name is letters, digits and _"
        )));
    }
    let value = if value.contains(',') {
        Bound::Many(value.split(',').map(str::to_owned).collect())
    } else {
        Bound::One(value.to_owned())
    };
    Ok(Binding {
        name: name.to_owned(),
        value,
    })
}

/// The variables with the operator's selections applied; a selection of
/// a variable the dashboard does not have is an error naming it.
pub fn apply(variables: &mut [Variable], values: &[VariableValue]) -> Result<(), ExpandError> {
    for value in values {
        let v = variables
            .iter_mut()
            .find(|v| v.name == value.name)
            .ok_or_else(|| {
                ExpandError::Variable(format!("the dashboard has no variable {:?}", value.name))
            })?;
        if value.selected == Selection::All && !v.include_all {
            return Err(ExpandError::Variable(format!(
                "${} has no \"All\" option",
                v.name
            )));
        }
        v.selected = value.selected.clone();
    }
    Ok(())
}

/// Grafana's value formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// No format given: the Timestream plugin's own.
    Plugin,
    Csv,
    SingleQuote,
    DoubleQuote,
    SqlString,
    Pipe,
    Raw,
    Regex,
    Glob,
}

impl Format {
    pub fn parse(name: Option<&str>, what: &str) -> Result<Format, ExpandError> {
        Ok(match name.map(str::trim) {
            None => Format::Plugin,
            Some("csv") => Format::Csv,
            Some("singlequote") => Format::SingleQuote,
            Some("doublequote") => Format::DoubleQuote,
            Some("sqlstring") => Format::SqlString,
            Some("pipe") => Format::Pipe,
            Some("raw") => Format::Raw,
            Some("regex") => Format::Regex,
            Some("glob") => Format::Glob,
            Some(other) => {
                return Err(ExpandError::UnknownFormat {
                    what: what.to_owned(),
                    format: other.to_owned(),
                });
            }
        })
    }

    /// Whether the text this format writes is quoted whatever the values
    /// (given the checks [`Format::refusal`] makes), and so safe outside
    /// quotes.
    pub fn quotes(self, value: &Bound) -> bool {
        match self {
            Format::SqlString | Format::SingleQuote | Format::DoubleQuote => true,
            Format::Plugin => matches!(value, Bound::Many(_)),
            _ => false,
        }
    }

    /// A value this format cannot write safely at all: Grafana escapes a
    /// quote with a backslash, which Timestream SQL does not read as an
    /// escape, so the quote would end the literal.
    pub fn refusal(self, value: &str) -> Option<&'static str> {
        match self {
            Format::SingleQuote if value.contains('\'') => {
                Some("it holds a ' that :singlequote cannot escape for Timestream; use :sqlstring")
            }
            Format::DoubleQuote if value.contains('"') => {
                Some("it holds a \" that :doublequote cannot escape for Timestream")
            }
            _ => None,
        }
    }

    /// The text Grafana writes for these values.
    pub fn write(self, value: &Bound) -> String {
        let values: &[String] = match value {
            Bound::AllValue(all) => return all.clone(),
            Bound::One(v) => std::slice::from_ref(v),
            Bound::Many(vs) => vs,
        };
        let many = matches!(value, Bound::Many(_));
        let join = |f: &dyn Fn(&str) -> String, sep: &str| {
            values.iter().map(|v| f(v)).collect::<Vec<_>>().join(sep)
        };
        match self {
            Format::Plugin if many => join(&|v| crate::timestream::quote_literal(v), ","),
            Format::Plugin | Format::Raw | Format::Csv => join(&|v| v.to_owned(), ","),
            Format::Pipe => join(&|v| v.to_owned(), "|"),
            Format::SingleQuote => join(&|v| format!("'{}'", v.replace('\'', "\\'")), ","),
            Format::DoubleQuote => join(&|v| format!("\"{}\"", v.replace('"', "\\\"")), ","),
            Format::SqlString => join(&|v| format!("'{}'", v.replace('\'', "''")), ","),
            Format::Regex if values.len() == 1 => regex_escape(&values[0]),
            Format::Regex => format!("({})", join(&|v| regex_escape(v), "|")),
            Format::Glob if values.len() > 1 => format!("{{{}}}", join(&|v| v.to_owned(), ",")),
            Format::Glob => join(&|v| v.to_owned(), ","),
        }
    }
}

/// Grafana's regex escape: every regex metacharacter behind a backslash.
pub fn regex_escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        if "\\^$*+?.()|[]{}/".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A value that may stand outside quotes: letters, digits and `_` (a
/// name, a whole number, `1m`), or a decimal number. Neither can end a
/// quote, start a comment or add a clause.
pub fn is_plain(v: &str) -> bool {
    let word = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    match v.split_once('.') {
        None => word(v),
        Some((whole, frac)) => {
            !whole.is_empty()
                && !frac.is_empty()
                && whole.bytes().all(|b| b.is_ascii_digit())
                && frac.bytes().all(|b| b.is_ascii_digit())
        }
    }
}

/// A custom variable's options from its comma list (`a, b, c`; `\,` is a
/// comma inside an option; `text : value` keeps the value).
pub fn custom_options(list: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = list.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                current.push(',');
                chars.next();
            }
            ',' => out.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    out.push(current);
    out.into_iter()
        .map(|o| match o.split_once(" : ") {
            Some((_, value)) => value.trim().to_owned(),
            None => o.trim().to_owned(),
        })
        .filter(|o| !o.is_empty())
        .collect()
}
