//! InfluxQL: the History buckets, names and strings quoted as InfluxQL
//! reads them, and Grafana's InfluxDB macros.
//!
//! | macro (Grafana's InfluxDB data source) | becomes |
//! | --- | --- |
//! | `$timeFilter`, `$__timeFilter` | `time >= Fms and time <= Tms` |
//! | `$__interval`, `$interval` | Grafana's interval, e.g. `10s`, `1m`, `500ms` |
//! | `$__interval_ms` | the interval in milliseconds |
//! | `$__from`, `$__to` | epoch milliseconds |
//!
//! Template variables are written as Grafana does (`$name`, `${name}`,
//! `[[name]]`, the formats); InfluxQL escapes quotes with backslashes, not
//! by doubling them, so a value that is not a plain name or number is
//! refused rather than quoted.

use std::time::Duration;

use crate::grafana::{Binding, Bound, ExpandError, MacroContext, expand, is_plain};

/// `"name"`, with `"` and `\` escaped.
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// `'text'`, with `'` and `\` escaped.
pub fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// What a History chart asks InfluxDB: the field's average, minimum,
/// maximum, sum and count per bucket over `[from, to)`, for one device (the
/// `device_tag`) or all, buckets without readings left out (as Timestream's
/// `GROUP BY bin` and the cache leave them out). Columns: `time, avg, min,
/// max, sum, count`.
pub fn bucket_query(
    measurement: &str,
    field: &str,
    device_tag: &str,
    device: Option<&str>,
    from_us: i64,
    to_us: i64,
    bucket: Duration,
) -> String {
    let f = quote_ident(field);
    let device = device
        .map(|d| format!(" AND {} = {}", quote_ident(device_tag), quote_literal(d)))
        .unwrap_or_default();
    format!(
        "SELECT mean({f}) AS \"avg\", min({f}) AS \"min\", max({f}) AS \"max\", sum({f}) AS \"sum\", count({f}) AS \"count\" \
         FROM {} WHERE time >= {}ms AND time < {}ms{device} GROUP BY time({}ms) fill(none)",
        quote_ident(measurement),
        from_us.div_euclid(1000),
        to_us.div_euclid(1000),
        bucket.as_millis().max(1),
    )
}

/// An interval as Grafana writes `$__interval` for InfluxDB: the largest
/// unit it is a whole number of (`1d`, `6h`, `5m`, `10s`, `500ms`).
pub fn interval_text(ms: i64) -> String {
    const UNITS: [(i64, &str); 4] = [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1_000, "s"),
    ];
    for (size, unit) in UNITS {
        if ms >= size && ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

/// Whether `$name` at byte `at` of `q` is the whole token (not the start
/// of a longer name).
fn whole_token(q: &str, at: usize, len: usize) -> bool {
    !q.as_bytes()
        .get(at + len)
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

/// Replaces each whole `token` in `q` with `with`.
fn replace_token(q: &str, token: &str, with: &str) -> String {
    let mut out = String::with_capacity(q.len());
    let mut rest = q;
    let mut offset = 0;
    while let Some(i) = rest.find(token) {
        out.push_str(&rest[..i]);
        if whole_token(q, offset + i, token.len()) {
            out.push_str(with);
        } else {
            out.push_str(token);
        }
        rest = &rest[i + token.len()..];
        offset += i + token.len();
    }
    out.push_str(rest);
    out
}

/// Whether a value can stand anywhere in InfluxQL without ending a string,
/// a name or a regex, or starting a comment: letters, digits and `_ . : -
/// @` (device IDs such as `meter-2` or a UUID), never `--`.
fn is_influx_safe(v: &str) -> bool {
    !v.is_empty()
        && !v.contains("--")
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-' | b'@'))
}

/// Expands Grafana's InfluxDB macros and the template variables in
/// `bindings`, as Grafana would before sending the query.
pub fn expand_influxql(
    q: &str,
    ctx: &MacroContext,
    bindings: &[Binding],
) -> Result<String, ExpandError> {
    for b in bindings {
        let values: Vec<&String> = match &b.value {
            Bound::One(v) => vec![v],
            Bound::Many(vs) => vs.iter().collect(),
            // The dashboard's own text (e.g. `.*`), like its query.
            Bound::AllValue(_) => Vec::new(),
        };
        if let Some(bad) = values
            .into_iter()
            .find(|v| !is_plain(v) && !is_influx_safe(v))
        {
            return Err(ExpandError::Variable(format!(
                "${}: {bad:?} is not a plain name or number, and InfluxQL cannot take it safely",
                b.name
            )));
        }
    }
    let (from_ms, to_ms) = ctx.range_ms().map_err(ExpandError::Range)?;
    let interval_ms = ctx.interval_ms().map_err(ExpandError::Range)?;
    let filter = format!("time >= {from_ms}ms and time <= {to_ms}ms");
    let interval = interval_text(interval_ms);
    let mut out = q.to_owned();
    // Longest first: `$__interval_ms` before `$__interval`.
    for (token, with) in [
        ("$__timeFilter", filter.as_str()),
        ("$timeFilter", filter.as_str()),
        ("$__interval_ms", &interval_ms.to_string()),
        ("$__interval", interval.as_str()),
        ("$interval", interval.as_str()),
    ] {
        out = replace_token(&out, token, with);
    }
    // `$__from`, `$__to` and the variables, as Grafana writes them.
    expand(&out, ctx, bindings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_strings_are_quoted_as_influxql_reads_them() {
        assert_eq!(quote_ident(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(quote_literal("it's"), r"'it\'s'");
    }

    #[test]
    fn device_ids_are_safe_and_breakouts_are_not() {
        for ok in [
            "meter-2",
            "c0ffee00-8b1e-4a7c-9d2f-000000000001",
            "a.b:c",
            "x@y",
        ] {
            assert!(is_influx_safe(ok), "{ok}");
        }
        for bad in ["", "a'b", "a\"b", "a b", "a--b", "/a/", "a;b", "a\\b", "é"] {
            assert!(!is_influx_safe(bad), "{bad}");
        }
    }

    #[test]
    fn intervals_are_written_as_grafana_writes_them() {
        assert_eq!(interval_text(86_400_000), "1d");
        assert_eq!(interval_text(21_600_000), "6h");
        assert_eq!(interval_text(300_000), "5m");
        assert_eq!(interval_text(10_000), "10s");
        assert_eq!(interval_text(1_500), "1500ms");
        assert_eq!(interval_text(0), "0ms");
    }
}
