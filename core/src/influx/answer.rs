//! `/query`'s answer read into typed rows. The body is one JSON object, or
//! with `chunked=true` several one after another, each ending its series
//! with `"partial": true` when the next chunk goes on with it. Errors come
//! inside a 200 too: a statement's `"error"`, or the answer's own.

use std::fmt;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, SeqAccess, Visitor};

use super::InfluxError;

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Datum {
    Null,
    Number(f64),
    Text(String),
    Bool(bool),
}

impl<'de> Deserialize<'de> for Datum {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Datum;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number, a string, a boolean or null")
            }
            fn visit_f64<E>(self, v: f64) -> Result<Datum, E> {
                Ok(Datum::Number(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Datum, E> {
                Ok(Datum::Number(v as f64))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Datum, E> {
                Ok(Datum::Number(v as f64))
            }
            fn visit_str<E>(self, v: &str) -> Result<Datum, E> {
                Ok(Datum::Text(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Datum, E> {
                Ok(Datum::Text(v))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Datum, E> {
                Ok(Datum::Bool(v))
            }
            fn visit_unit<E>(self) -> Result<Datum, E> {
                Ok(Datum::Null)
            }
            fn visit_none<E>(self) -> Result<Datum, E> {
                Ok(Datum::Null)
            }
        }
        d.deserialize_any(V)
    }
}

/// One series: a measurement, its group's tags, and rows.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Series {
    #[serde(default)]
    pub name: String,
    /// The tags of a `GROUP BY` tag, sorted by key.
    #[serde(default, deserialize_with = "sorted_tags")]
    pub tags: Vec<(String, String)>,
    pub columns: Vec<String>,
    /// Every row's values one after another, read straight into one vector
    /// (a vector a row cost more than the parse): see [`Series::rows`].
    #[serde(default, rename = "values")]
    cells: Cells,
    #[serde(default)]
    partial: bool,
}

/// Rows' values in one vector, and whether every row had the same length.
#[derive(Debug, Clone, Default, PartialEq)]
struct Cells {
    values: Vec<Datum>,
    rows: usize,
    /// The length of a row that differs from the first's, if any.
    ragged: Option<usize>,
}

impl<'de> Deserialize<'de> for Cells {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Rows;
        impl<'de> Visitor<'de> for Rows {
            type Value = Cells;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("rows of values")
            }
            fn visit_unit<E>(self) -> Result<Cells, E> {
                Ok(Cells::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut rows: A) -> Result<Cells, A::Error> {
                let mut cells = Cells::default();
                let mut width = None;
                while let Some(n) = rows.next_element_seed(Row(&mut cells.values))? {
                    cells.rows += 1;
                    match width {
                        None => width = Some(n),
                        Some(w) if w != n => cells.ragged = cells.ragged.or(Some(n)),
                        Some(_) => {}
                    }
                }
                Ok(cells)
            }
        }
        d.deserialize_any(Rows)
    }
}

/// One row, appended to the series' vector; its length.
struct Row<'v>(&'v mut Vec<Datum>);

impl<'de> DeserializeSeed<'de> for Row<'_> {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        struct Values<'v>(&'v mut Vec<Datum>);
        impl<'de> Visitor<'de> for Values<'_> {
            type Value = usize;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a row of values")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
                let mut n = 0;
                while let Some(v) = seq.next_element::<Datum>()? {
                    self.0.push(v);
                    n += 1;
                }
                Ok(n)
            }
        }
        d.deserialize_seq(Values(self.0))
    }
}

impl Series {
    /// The rows, each as many values as there are columns.
    pub fn rows(&self) -> impl Iterator<Item = &[Datum]> {
        self.cells.values.chunks(self.columns.len().max(1))
    }

    pub fn row_count(&self) -> usize {
        self.cells.rows
    }
}

fn sorted_tags<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
    let map: Option<std::collections::BTreeMap<String, String>> = Option::deserialize(d)?;
    Ok(map.unwrap_or_default().into_iter().collect())
}

#[derive(Deserialize)]
struct Statement {
    #[serde(default)]
    series: Vec<Series>,
    error: Option<String>,
    #[serde(default)]
    partial: bool,
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    results: Vec<Statement>,
    error: Option<String>,
}

/// Every series of the answer, in order, chunks joined.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answer {
    pub series: Vec<Series>,
}

/// Reads a `/query` body (one object, or chunks one after another).
pub fn parse_answer(body: &[u8]) -> Result<Answer, InfluxError> {
    let mut answer = Answer::default();
    // The last series goes on in the next chunk; the last statement has
    // more series to come.
    let (mut open, mut more) = (false, false);
    let mut chunks = 0usize;
    for chunk in serde_json::Deserializer::from_slice(body).into_iter::<Chunk>() {
        let chunk = chunk.map_err(|e| {
            InfluxError::Malformed(if e.is_eof() {
                format!("it ends in the middle, after {chunks} whole chunks")
            } else {
                format!("chunk {}: {e}", chunks + 1)
            })
        })?;
        chunks += 1;
        if let Some(e) = chunk.error {
            return Err(statement_error(e));
        }
        for statement in chunk.results {
            if let Some(e) = statement.error {
                return Err(statement_error(e));
            }
            for s in statement.series {
                // A series cut by the chunk goes on in this one.
                match answer.series.last_mut() {
                    Some(last)
                        if open
                            && last.name == s.name
                            && last.tags == s.tags
                            && last.columns == s.columns =>
                    {
                        last.cells.values.extend(s.cells.values);
                        last.cells.rows += s.cells.rows;
                        last.cells.ragged = last.cells.ragged.or(s.cells.ragged);
                        last.partial = s.partial;
                    }
                    _ => answer.series.push(s),
                }
                open = answer.series.last().is_some_and(|s| s.partial);
            }
            more = statement.partial;
        }
    }
    if chunks == 0 {
        return Err(InfluxError::Malformed("the answer is empty".into()));
    }
    if open || more {
        return Err(InfluxError::Malformed(format!(
            "it ends in the middle: chunk {chunks} said more was coming"
        )));
    }
    for s in &answer.series {
        let first = (s.cells.rows > 0).then(|| s.cells.values.len() / s.cells.rows);
        let odd =
            s.cells
                .ragged
                .or(first
                    .filter(|w| *w != s.columns.len() || s.cells.values.len() != w * s.cells.rows));
        if let Some(n) = odd {
            return Err(InfluxError::Malformed(format!(
                "a row of {} has {n} values for {} columns",
                s.name,
                s.columns.len()
            )));
        }
    }
    Ok(answer)
}

/// A statement's error as the operator can act on it.
fn statement_error(e: String) -> InfluxError {
    match e.strip_prefix("database not found: ") {
        Some(db) => InfluxError::DatabaseNotFound(db.trim().to_owned()),
        None => InfluxError::Query(e),
    }
}

impl Answer {
    /// The rows as one table. One series without tags keeps its columns;
    /// several series (or tags) are told apart by a `name` column and a
    /// column per tag key. A `time` column (epoch milliseconds, as asked)
    /// becomes RFC 3339 UTC, as Timestream's times are shown.
    pub fn table(&self) -> (Vec<String>, Vec<Vec<serde_json::Value>>) {
        let mut tag_keys: Vec<String> = self
            .series
            .iter()
            .flat_map(|s| s.tags.iter().map(|(k, _)| k.clone()))
            .collect();
        tag_keys.sort();
        tag_keys.dedup();
        let labelled = self.series.len() > 1 || !tag_keys.is_empty();
        let mut columns: Vec<String> = Vec::new();
        if labelled {
            columns.push("name".into());
            columns.extend(tag_keys.iter().cloned());
        }
        for s in &self.series {
            for c in &s.columns {
                if !columns[if labelled { 1 + tag_keys.len() } else { 0 }..].contains(c) {
                    columns.push(c.clone());
                }
            }
        }
        let first_value = if labelled { 1 + tag_keys.len() } else { 0 };
        let mut rows = Vec::new();
        for s in &self.series {
            let at: Vec<usize> = s
                .columns
                .iter()
                .map(|c| {
                    columns[first_value..]
                        .iter()
                        .position(|x| x == c)
                        .map_or(0, |i| i + first_value)
                })
                .collect();
            for values in s.rows() {
                let mut row = vec![serde_json::Value::Null; columns.len()];
                if labelled {
                    row[0] = s.name.clone().into();
                    for (k, v) in &s.tags {
                        if let Some(i) = tag_keys.iter().position(|t| t == k) {
                            row[1 + i] = v.clone().into();
                        }
                    }
                }
                for ((value, column), slot) in values.iter().zip(&s.columns).zip(&at) {
                    row[*slot] = to_json(column, value);
                }
                rows.push(row);
            }
        }
        (columns, rows)
    }
}

fn to_json(column: &str, d: &Datum) -> serde_json::Value {
    match d {
        Datum::Null => serde_json::Value::Null,
        Datum::Number(ms) if column == "time" => {
            let ns = (*ms as i128).saturating_mul(1_000_000);
            crate::timestream::format_ns(ns).into()
        }
        Datum::Number(n) => {
            serde_json::Number::from_f64(*n).map_or(serde_json::Value::Null, Into::into)
        }
        Datum::Text(t) => t.clone().into(),
        Datum::Bool(b) => (*b).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Bodies as InfluxDB 1.x writes them (chunked: one object a line).
    const CHUNKED: &str = concat!(
        r#"{"results":[{"statement_id":0,"series":[{"name":"readings","tags":{"DeviceID":"m-1"},"columns":["time","mean"],"values":[[1000,1.5],[2000,2.5]],"partial":true}],"partial":true}]}"#,
        "\n",
        r#"{"results":[{"statement_id":0,"series":[{"name":"readings","tags":{"DeviceID":"m-1"},"columns":["time","mean"],"values":[[3000,3.5]]},{"name":"readings","tags":{"DeviceID":"m-2"},"columns":["time","mean"],"values":[[1000,null]]}]}]}"#,
        "\n"
    );

    #[test]
    fn chunks_join_into_whole_series_and_tags_become_columns() {
        let a = parse_answer(CHUNKED.as_bytes()).unwrap();
        assert_eq!(a.series.len(), 2);
        assert_eq!(a.series[0].row_count(), 3);
        let (columns, rows) = a.table();
        assert_eq!(columns, ["name", "DeviceID", "time", "mean"]);
        assert_eq!(rows.len(), 4);
        assert_eq!(
            rows[2],
            vec![
                "readings".into(),
                "m-1".into(),
                "1970-01-01T00:00:03Z".into(),
                serde_json::json!(3.5)
            ]
        );
        assert_eq!(rows[3][3], serde_json::Value::Null);
    }

    #[test]
    fn an_answer_cut_short_or_an_error_inside_a_200_is_an_error() {
        let first_chunk = CHUNKED.lines().next().unwrap();
        let cut = parse_answer(first_chunk.as_bytes()).unwrap_err();
        assert_eq!(
            cut,
            InfluxError::Malformed("it ends in the middle: chunk 1 said more was coming".into())
        );
        let mid = parse_answer(&CHUNKED.as_bytes()[..CHUNKED.len() - 30]).unwrap_err();
        assert_eq!(
            mid,
            InfluxError::Malformed("it ends in the middle, after 1 whole chunks".into())
        );
        let missing = br#"{"results":[{"statement_id":0,"error":"database not found: grid"}]}"#;
        assert_eq!(
            parse_answer(missing),
            Err(InfluxError::DatabaseNotFound("grid".into()))
        );
        let bad = br#"{"error":"error parsing query: found EOF, expected FROM at line 1, char 9"}"#;
        assert!(
            matches!(parse_answer(bad), Err(InfluxError::Query(e)) if e.contains("expected FROM"))
        );
        let ragged = br#"{"results":[{"statement_id":0,"series":[{"name":"r","columns":["time","v"],"values":[[1]]}]}]}"#;
        assert!(
            matches!(parse_answer(ragged), Err(InfluxError::Malformed(e)) if e.contains("1 values for 2 columns"))
        );
        assert!(parse_answer(b"").is_err());
        assert!(parse_answer(b"<html>").is_err());
    }

    #[test]
    fn no_series_is_an_empty_answer() {
        let a = parse_answer(br#"{"results":[{"statement_id":0}]}"#).unwrap();
        assert!(a.series.is_empty());
        assert_eq!(a.table().1.len(), 0);
    }
}
