//! An answer as a panel draws it: time series (one per metric or group
//! column value and value column, or one per `CREATE_TIME_SERIES` row),
//! and the figures of stat, gauge and bar gauge panels, in their unit and
//! threshold colour.

use gridwatch_types::{Figure, Panel, PanelSeries, Threshold};
use serde_json::Value;

/// A time as the answer writes it (RFC 3339, from Timestream's TIMESTAMP).
fn time_us(v: &Value) -> Option<i64> {
    let s = v.as_str()?;
    // A time starts with its year; anything else is not one.
    if s.len() < 10 || !s.as_bytes()[..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    gridwatch_types::time::parse_time(s, 0).ok()
}

fn number(v: &Value) -> Option<f64> {
    // Timestream's NaN and infinities come as text: no figure, no point.
    v.as_f64().filter(|f| f.is_finite())
}

/// A column of `CREATE_TIME_SERIES` points (`[{time, value}, …]`).
fn points(v: &Value) -> Option<Vec<(i64, f64)>> {
    let a = v.as_array()?;
    let mut out = Vec::with_capacity(a.len());
    for p in a {
        let t = time_us(p.get("time")?)?;
        if let Some(y) = p.get("value").and_then(number) {
            out.push((t, y));
        }
    }
    Some(out)
}

#[derive(Clone, Copy, PartialEq)]
enum Role {
    Time,
    Value,
    Label,
    Series,
}

/// What each column is: a time, a number, a label, or a time series.
fn roles(columns: &[String], rows: &[Vec<Value>]) -> Vec<Role> {
    (0..columns.len())
        .map(|c| {
            let first = rows
                .iter()
                .map(|r| r.get(c).unwrap_or(&Value::Null))
                .find(|v| !v.is_null());
            match first {
                Some(v) if v.is_array() && points(v).is_some() => Role::Series,
                Some(v) if time_us(v).is_some() => Role::Time,
                Some(Value::Number(_)) => Role::Value,
                Some(Value::String(s))
                    if ["NaN", "Infinity", "-Infinity"].contains(&s.as_str()) =>
                {
                    Role::Value
                }
                Some(_) => Role::Label,
                None => Role::Value,
            }
        })
        .collect()
}

fn label_of(columns: &[String], roles: &[Role], row: &[Value]) -> String {
    columns
        .iter()
        .zip(roles)
        .zip(row)
        .filter(|((_, r), _)| **r == Role::Label)
        .map(|(_, v)| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The answer's time series: a row's `CREATE_TIME_SERIES` columns as
/// series of their own, named by its label columns; otherwise, with a time
/// column, one series per distinct label (group or `metric` columns) and
/// value column, in time order.
pub fn series(columns: &[String], rows: &[Vec<Value>]) -> Vec<PanelSeries> {
    let roles = roles(columns, rows);
    let values: Vec<usize> = (0..columns.len())
        .filter(|c| roles[*c] == Role::Value)
        .collect();
    let mut out: Vec<PanelSeries> = Vec::new();
    let named = |label: &str, column: &str, several: bool| match (label.is_empty(), several) {
        (true, _) => column.to_owned(),
        (false, false) => label.to_owned(),
        (false, true) => format!("{label} {column}"),
    };
    if roles.contains(&Role::Series) {
        let several = roles.iter().filter(|r| **r == Role::Series).count() > 1;
        for row in rows {
            let label = label_of(columns, &roles, row);
            for (c, v) in row.iter().enumerate() {
                if roles.get(c) == Some(&Role::Series) {
                    let i = slot(&mut out, named(&label, &columns[c], several));
                    out[i].points.extend(points(v).unwrap_or_default());
                }
            }
        }
    } else if let Some(t) = roles.iter().position(|r| *r == Role::Time) {
        for row in rows {
            let Some(time) = row.get(t).and_then(time_us) else {
                continue;
            };
            let label = label_of(columns, &roles, row);
            for c in &values {
                if let Some(y) = row.get(*c).and_then(number) {
                    let i = slot(&mut out, named(&label, &columns[*c], values.len() > 1));
                    out[i].points.push((time, y));
                }
            }
        }
    }
    for s in &mut out {
        s.points.sort_by_key(|p| p.0);
    }
    out
}

/// The index of the series called `name`, added when new.
fn slot(out: &mut Vec<PanelSeries>, name: String) -> usize {
    match out.iter().position(|s| s.name == name) {
        Some(i) => i,
        None => {
            out.push(PanelSeries {
                name,
                points: Vec::new(),
            });
            out.len() - 1
        }
    }
}

/// Grafana's reducers (`lastNotNull`, `mean`…) over a series' values.
fn reduce(reducer: &str, values: &[f64]) -> Option<f64> {
    let (first, last) = (values.first().copied(), values.last().copied());
    let n = values.len() as f64;
    match reducer {
        "first" | "firstNotNull" => first,
        "mean" => (n > 0.0).then(|| values.iter().sum::<f64>() / n),
        "max" => values.iter().copied().reduce(f64::max),
        "min" => values.iter().copied().reduce(f64::min),
        "sum" => Some(values.iter().sum()),
        "count" => Some(n),
        "range" => Some(
            values.iter().copied().reduce(f64::max)? - values.iter().copied().reduce(f64::min)?,
        ),
        "delta" | "diff" => Some(last? - first?),
        // lastNotNull, last and what Gridwatch does not know yet.
        _ => last,
    }
}

/// The figures of a stat, gauge or bar gauge panel: one per series,
/// reduced; without a time column, one per row and value column.
pub fn figures(panel: &Panel, columns: &[String], rows: &[Vec<Value>]) -> Vec<Figure> {
    let figure = |name: String, value: Option<f64>| Figure {
        text: value.map_or_else(
            || "No data".into(),
            |v| format_value(v, panel.unit.as_deref(), panel.decimals),
        ),
        color: value.and_then(|v| threshold_color(&panel.thresholds, v)),
        name,
        value,
    };
    let s = series(columns, rows);
    if !s.is_empty() {
        return s
            .into_iter()
            .map(|s| {
                let values: Vec<f64> = s.points.iter().map(|p| p.1).collect();
                figure(s.name, reduce(&panel.reducer, &values))
            })
            .collect();
    }
    let roles = roles(columns, rows);
    let value_cols: Vec<usize> = (0..columns.len())
        .filter(|c| roles[*c] == Role::Value)
        .collect();
    let mut out = Vec::new();
    for row in rows {
        let label = label_of(columns, &roles, row);
        for c in &value_cols {
            let name = match (label.is_empty(), value_cols.len() > 1) {
                (true, _) => columns[*c].clone(),
                (false, false) => label.clone(),
                (false, true) => format!("{label} {}", columns[*c]),
            };
            out.push(figure(name, row.get(*c).and_then(number)));
        }
    }
    out
}

/// The colour of the threshold step `value` falls in: the last step whose
/// value it reaches (the first step, with no value, is the base).
pub fn threshold_color(steps: &[Threshold], value: f64) -> Option<String> {
    steps
        .iter()
        .rfind(|s| s.value.is_none_or(|from| value >= from))
        .map(|s| s.color.clone())
}

/// A value in a Grafana unit, as a panel shows it.
pub fn format_value(value: f64, unit: Option<&str>, decimals: Option<u32>) -> String {
    let (value, suffix) = match unit.unwrap_or("none") {
        "percent" => (value, "%"),
        "percentunit" => (value * 100.0, "%"),
        "volt" => (value, " V"),
        "kvolt" => (value, " kV"),
        "amp" => (value, " A"),
        "watt" => (value, " W"),
        "kwatt" => (value, " kW"),
        "megwatt" => (value, " MW"),
        "watth" => (value, " Wh"),
        "kwatth" => (value, " kWh"),
        "hertz" => (value, " Hz"),
        "celsius" => (value, " °C"),
        "humidity" => (value, " %H"),
        "ms" => (value, " ms"),
        "s" => (value, " s"),
        "bytes" | "decbytes" => (value, " B"),
        _ => (value, ""),
    };
    let decimals = decimals.map_or_else(
        || {
            if value.fract() == 0.0 {
                0
            } else if value.abs() >= 100.0 {
                1
            } else {
                2
            }
        },
        |d| d.min(10) as usize,
    );
    format!("{value:.decimals$}{suffix}")
}
