//! One Athena query: started in the workgroup, polled with backoff until
//! it ends, stopped (StopQueryExecution) when cancelled, and its answer
//! read page by page into a frame typed by Athena's own metadata.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_athena::Client;
use aws_sdk_athena::types::{QueryExecutionContext, QueryExecutionState, ResultConfiguration};
use gridwatch_core::aws::{Backoff, retry};
use polars::prelude::*;

use super::AthenaError;

/// Where queries run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Workgroup {
    /// The workgroup (`primary` when none is given).
    pub name: Option<String>,
    /// Where Athena writes answers (`s3://…/`), unless the workgroup says.
    pub output: Option<String>,
    /// The database queries name their tables in.
    pub database: String,
}

/// A query's answer.
#[derive(Debug)]
pub struct Answer {
    pub frame: DataFrame,
    pub query_id: String,
    /// What Athena says it scanned (and bills).
    pub scanned_bytes: Option<i64>,
    pub elapsed: Duration,
}

/// An Athena client from the shared AWS configuration.
pub fn athena_client<'c, C>(conf: &'c C) -> Client
where
    aws_sdk_athena::config::Builder: From<&'c C>,
{
    Client::from_conf(aws_sdk_athena::config::Builder::from(conf).build())
}

/// Where a running query is, for a progress line.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryProgress {
    pub query_id: String,
    /// `QUEUED`, `RUNNING`, or `FETCHING` while the pages are read.
    pub state: String,
    pub elapsed: Duration,
    /// Rows read so far (while fetching).
    pub rows: usize,
}

/// The first wait between two polls, and the longest.
const FIRST_POLL: Duration = Duration::from_millis(100);
const LONGEST_POLL: Duration = Duration::from_secs(2);
/// Rows a GetQueryResults page holds at most.
const PAGE_ROWS: i32 = 1000;

/// Runs `sql` and reads its whole answer: page by page when it fits one
/// page, else (with `s3`) as the CSV file Athena wrote to its output
/// location, one GET instead of a call per 1,000 rows. `cancel` stops it
/// in Athena and returns [`AthenaError::Stopped`]; `progress` hears of
/// each poll and page.
pub async fn run(
    client: &Client,
    s3: Option<&aws_sdk_s3::Client>,
    workgroup: &Workgroup,
    sql: &str,
    cancel: &AtomicBool,
    progress: &(dyn Fn(&QueryProgress) + Sync),
) -> Result<Answer, AthenaError> {
    let started = Instant::now();
    let backoff = Backoff::default();
    let context = QueryExecutionContext::builder()
        .database(&workgroup.database)
        .build();
    let output = workgroup
        .output
        .as_ref()
        .map(|o| ResultConfiguration::builder().output_location(o).build());
    let start = retry("StartQueryExecution", &backoff, || {
        client
            .start_query_execution()
            .query_string(sql)
            .query_execution_context(context.clone())
            .set_result_configuration(output.clone())
            .set_work_group(workgroup.name.clone())
            .send()
    })
    .await
    .map_err(AthenaError::call("Athena StartQueryExecution"))?;
    let id = start
        .query_execution_id()
        .ok_or_else(|| AthenaError::Answer("StartQueryExecution gave no query id".into()))?
        .to_string();
    tracing::info!(query_id = %id, "athena query started");
    let (scanned, output) = wait(client, &id, cancel, started, progress).await?;
    let file = s3.zip(output.as_deref());
    let frame = fetch(client, &id, file, cancel, started, progress).await?;
    Ok(Answer {
        frame,
        query_id: id,
        scanned_bytes: scanned,
        elapsed: started.elapsed(),
    })
}

/// Polls until the query ends; its bytes scanned and the file of its
/// answer when it succeeded.
async fn wait(
    client: &Client,
    id: &str,
    cancel: &AtomicBool,
    started: Instant,
    progress: &(dyn Fn(&QueryProgress) + Sync),
) -> Result<(Option<i64>, Option<String>), AthenaError> {
    let backoff = Backoff::default();
    let mut pause = FIRST_POLL;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(stop(client, id).await);
        }
        let out = retry("GetQueryExecution", &backoff, || {
            client.get_query_execution().query_execution_id(id).send()
        })
        .await
        .map_err(AthenaError::call("Athena GetQueryExecution"))?;
        let execution = out.query_execution();
        let status = execution.and_then(|e| e.status());
        let state = status.and_then(|s| s.state()).cloned();
        let reason = || {
            status
                .and_then(|s| {
                    s.state_change_reason()
                        .or_else(|| s.athena_error().and_then(|e| e.error_message()))
                })
                .unwrap_or("Athena gave no reason")
                .to_string()
        };
        match ended(state.as_ref(), id, reason)? {
            true => {
                let scanned = execution
                    .and_then(|e| e.statistics())
                    .and_then(|s| s.data_scanned_in_bytes());
                let output = execution
                    .and_then(|e| e.result_configuration())
                    .and_then(|r| r.output_location())
                    .map(str::to_string);
                return Ok((scanned, output));
            }
            false => progress(&QueryProgress {
                query_id: id.to_string(),
                state: state.map_or_else(|| "SUBMITTED".into(), |s| s.as_str().to_string()),
                elapsed: started.elapsed(),
                rows: 0,
            }),
        }
        // Sleep in short steps so a cancel is heard at once.
        let until = Instant::now() + pause;
        while Instant::now() < until {
            if cancel.load(Ordering::Relaxed) {
                return Err(stop(client, id).await);
            }
            tokio::time::sleep(Duration::from_millis(50).min(until - Instant::now())).await;
        }
        pause = (pause * 3 / 2).min(LONGEST_POLL);
    }
}

/// Whether a query in `state` is done (`true`), still going (`false`), or
/// ended without an answer (the error, with Athena's reason).
pub fn ended(
    state: Option<&QueryExecutionState>,
    id: &str,
    reason: impl FnOnce() -> String,
) -> Result<bool, AthenaError> {
    match state {
        Some(QueryExecutionState::Succeeded) => Ok(true),
        Some(QueryExecutionState::Failed) => Err(AthenaError::Failed {
            id: id.to_string(),
            reason: reason(),
        }),
        Some(QueryExecutionState::Cancelled) => Err(AthenaError::CancelledInAthena {
            id: id.to_string(),
            reason: reason(),
        }),
        _ => Ok(false),
    }
}

/// Stops the query in Athena, so it neither runs on nor bills; the error
/// the caller returns.
async fn stop(client: &Client, id: &str) -> AthenaError {
    let backoff = Backoff::default();
    let stopped = retry("StopQueryExecution", &backoff, || {
        client.stop_query_execution().query_execution_id(id).send()
    })
    .await;
    match stopped {
        Ok(_) => AthenaError::Stopped { id: id.to_string() },
        Err(e) => AthenaError::call("Athena StopQueryExecution (after a cancel)")(e),
    }
}

/// Every page of a finished query's answer, as a frame.
pub async fn results(
    client: &Client,
    id: &str,
    cancel: &AtomicBool,
) -> Result<DataFrame, AthenaError> {
    fetch(client, id, None, cancel, Instant::now(), &|_| {}).await
}

/// Reads the answer: its first page, then the rest page by page, or the
/// whole answer from `file` (S3, and the CSV's `s3://` URL) when there is
/// more than a page.
async fn fetch(
    client: &Client,
    id: &str,
    file: Option<(&aws_sdk_s3::Client, &str)>,
    cancel: &AtomicBool,
    started: Instant,
    progress: &(dyn Fn(&QueryProgress) + Sync),
) -> Result<DataFrame, AthenaError> {
    let backoff = Backoff::default();
    let mut names: Vec<String> = Vec::new();
    let mut types: Vec<String> = Vec::new();
    let mut rows: Vec<Vec<Option<String>>> = Vec::new();
    let mut token: Option<String> = None;
    let mut first = true;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(AthenaError::Stopped { id: id.to_string() });
        }
        let page = retry("GetQueryResults", &backoff, || {
            client
                .get_query_results()
                .query_execution_id(id)
                .max_results(PAGE_ROWS)
                .set_next_token(token.clone())
                .send()
        })
        .await
        .map_err(AthenaError::call("Athena GetQueryResults"))?;
        let set = page.result_set();
        if first {
            let info = set
                .and_then(|s| s.result_set_metadata())
                .map(|m| m.column_info())
                .unwrap_or_default();
            names = info.iter().map(|c| c.name().to_string()).collect();
            types = info.iter().map(|c| c.r#type().to_string()).collect();
        }
        for (i, row) in set.map(|s| s.rows()).unwrap_or_default().iter().enumerate() {
            let values: Vec<Option<String>> = row
                .data()
                .iter()
                .map(|d| d.var_char_value().map(str::to_string))
                .collect();
            // A SELECT's first row is its header.
            if first && i == 0 && is_header(&values, &names) {
                continue;
            }
            rows.push(values);
        }
        first = false;
        progress(&QueryProgress {
            query_id: id.to_string(),
            state: "FETCHING".into(),
            elapsed: started.elapsed(),
            rows: rows.len(),
        });
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
        if let Some((s3, url)) = file {
            rows = answer_file(s3, url, &names).await?;
            progress(&QueryProgress {
                query_id: id.to_string(),
                state: "FETCHING".into(),
                elapsed: started.elapsed(),
                rows: rows.len(),
            });
            break;
        }
    }
    typed_frame(&names, &types, &rows)
}

/// The rows of the CSV Athena wrote (header first, every value quoted, a
/// NULL as an empty unquoted field).
async fn answer_file(
    s3: &aws_sdk_s3::Client,
    url: &str,
    names: &[String],
) -> Result<Vec<Vec<Option<String>>>, AthenaError> {
    let (bucket, key) = url
        .strip_prefix("s3://")
        .and_then(|rest| rest.split_once('/'))
        .ok_or_else(|| {
            AthenaError::Answer(format!("the answer's file {url:?} is not an s3:// URL"))
        })?;
    let object = retry("GetObject", &Backoff::default(), || {
        s3.get_object().bucket(bucket).key(key).send()
    })
    .await
    .map_err(AthenaError::call("S3 GetObject (Athena's answer file)"))?;
    let bytes = object
        .body
        .collect()
        .await
        .map_err(|e| AthenaError::Answer(format!("reading {url}: {e}")))?
        .into_bytes();
    let mut rows = csv_rows(&bytes).map_err(|e| AthenaError::Answer(format!("{url}: {e}")))?;
    if rows.first().is_some_and(|r| is_header(r, names)) {
        rows.remove(0);
    }
    Ok(rows)
}

/// RFC 4180 records as Athena writes them: a quoted field is text (`""`
/// inside is one quote), an empty unquoted field is NULL.
pub fn csv_rows(bytes: &[u8]) -> Result<Vec<Vec<Option<String>>>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    let mut rows = Vec::new();
    let mut row: Vec<Option<String>> = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while chars.peek().is_some() {
        let field = if chars.peek() == Some(&'"') {
            chars.next();
            let mut value = String::new();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        value.push('"');
                    }
                    Some('"') => break,
                    Some(c) => {
                        if c == '\n' {
                            line += 1;
                        }
                        value.push(c);
                    }
                    None => return Err(format!("line {line}: a quoted value is not closed")),
                }
            }
            Some(value)
        } else {
            let mut value = String::new();
            while let Some(&c) = chars.peek() {
                if c == ',' || c == '\n' || c == '\r' {
                    break;
                }
                value.push(c);
                chars.next();
            }
            (!value.is_empty()).then_some(value)
        };
        row.push(field);
        match chars.next() {
            Some(',') => {}
            Some('\r') if chars.peek() == Some(&'\n') => {
                chars.next();
                rows.push(std::mem::take(&mut row));
                line += 1;
            }
            Some('\n') | None => {
                rows.push(std::mem::take(&mut row));
                line += 1;
            }
            Some(c) => return Err(format!("line {line}: {c:?} after a quoted value")),
        }
    }
    Ok(rows)
}

fn is_header(values: &[Option<String>], names: &[String]) -> bool {
    values.len() == names.len()
        && values
            .iter()
            .zip(names)
            .all(|(v, n)| v.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(n)))
}

/// The kinds of column an answer is read into.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Int64,
    Int32,
    Float64,
    Boolean,
    Text,
}

fn kind(athena_type: &str) -> Kind {
    let t = athena_type.to_ascii_lowercase();
    match t.split('(').next().unwrap_or("") {
        "bigint" => Kind::Int64,
        "integer" | "int" | "smallint" | "tinyint" => Kind::Int32,
        "double" | "float" | "real" | "decimal" => Kind::Float64,
        "boolean" => Kind::Boolean,
        _ => Kind::Text,
    }
}

/// A double as Athena writes it (Java's text: `1.5E7`, `NaN`, `Infinity`).
fn parse_double(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        t => t.parse().ok(),
    }
}

/// Rows of text typed by the answer's metadata: integers, doubles and
/// booleans as such, anything else (dates, timestamps, arrays) as text.
/// A value that does not read as its type is an error naming it.
pub fn typed_frame(
    names: &[String],
    types: &[String],
    rows: &[Vec<Option<String>>],
) -> Result<DataFrame, AthenaError> {
    if let Some((i, row)) = rows
        .iter()
        .enumerate()
        .find(|(_, r)| r.len() != names.len())
    {
        return Err(AthenaError::Answer(format!(
            "row {} has {} values for {} columns",
            i + 1,
            row.len(),
            names.len()
        )));
    }
    let mut columns = Vec::with_capacity(names.len());
    for (j, (name, ty)) in names.iter().zip(types).enumerate() {
        let cells = rows.iter().map(|r| r[j].as_deref());
        let bad = |i: usize, v: &str| {
            AthenaError::Answer(format!(
                "row {}, column {name} ({ty}): not a {ty}: {:?}",
                i + 1,
                gridwatch_core::codec::printable(v)
            ))
        };
        let column = match kind(ty) {
            Kind::Int64 => {
                let values = cells
                    .enumerate()
                    .map(|(i, c)| {
                        c.map(|v| v.parse::<i64>().map_err(|_| bad(i, v)))
                            .transpose()
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Column::new(name.into(), values)
            }
            Kind::Int32 => {
                let values = cells
                    .enumerate()
                    .map(|(i, c)| {
                        c.map(|v| v.parse::<i32>().map_err(|_| bad(i, v)))
                            .transpose()
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Column::new(name.into(), values)
            }
            Kind::Float64 => {
                let values = cells
                    .enumerate()
                    .map(|(i, c)| {
                        c.map(|v| parse_double(v).ok_or_else(|| bad(i, v)))
                            .transpose()
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Column::new(name.into(), values)
            }
            Kind::Boolean => {
                let values = cells
                    .enumerate()
                    .map(|(i, c)| {
                        c.map(|v| match v {
                            "true" => Ok(true),
                            "false" => Ok(false),
                            _ => Err(bad(i, v)),
                        })
                        .transpose()
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Column::new(name.into(), values)
            }
            Kind::Text => Column::new(name.into(), cells.collect::<Vec<_>>()),
        };
        columns.push(column);
    }
    DataFrame::new(rows.len(), columns).map_err(|e| AthenaError::Answer(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn answers_are_typed_by_athenas_metadata() {
        let rows = vec![
            vec![
                Some("north".into()),
                Some("202311".into()),
                Some("3840".into()),
                Some("1.2345678E7".into()),
                None,
            ],
            vec![
                None,
                Some("202312".into()),
                Some("0".into()),
                Some("NaN".into()),
                Some("true".into()),
            ],
        ];
        let f = typed_frame(
            &s(&["Region", "month", "records", "energy_kwh", "flag"]),
            &s(&["varchar", "integer", "bigint", "double", "boolean"]),
            &rows,
        )
        .unwrap();
        assert_eq!(f.column("month").unwrap().dtype(), &DataType::Int32);
        assert_eq!(
            f.column("records").unwrap().i64().unwrap().get(0),
            Some(3840)
        );
        assert_eq!(
            f.column("energy_kwh").unwrap().f64().unwrap().get(0),
            Some(12_345_678.0)
        );
        assert!(
            f.column("energy_kwh")
                .unwrap()
                .f64()
                .unwrap()
                .get(1)
                .unwrap()
                .is_nan()
        );
        assert_eq!(f.column("Region").unwrap().str().unwrap().get(1), None);
        assert_eq!(f.column("flag").unwrap().bool().unwrap().get(1), Some(true));
    }

    #[test]
    fn a_value_that_is_not_its_type_is_named() {
        let e = typed_frame(
            &s(&["a", "records"]),
            &s(&["varchar", "bigint"]),
            &[vec![Some("x".into()), Some("12x".into())]],
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Athena's answer: row 1, column records (bigint): not a bigint: \"12x\""
        );
        let e = typed_frame(&s(&["a"]), &s(&["varchar"]), &[vec![]]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Athena's answer: row 1 has 0 values for 1 columns"
        );
    }

    #[test]
    fn failed_and_cancelled_queries_carry_athenas_reason() {
        let reason = || "SYNTAX_ERROR: line 1:8: Column 'x' cannot be resolved".to_string();
        let e = ended(Some(&QueryExecutionState::Failed), "q-1", reason).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the query failed in Athena (q-1): SYNTAX_ERROR: line 1:8: Column 'x' cannot be resolved"
        );
        let e = ended(Some(&QueryExecutionState::Cancelled), "q-2", || {
            "Query cancelled by user".into()
        })
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the query was cancelled in Athena (q-2): Query cancelled by user"
        );
        assert!(!ended(Some(&QueryExecutionState::Running), "q", String::new).unwrap());
        assert!(!ended(Some(&QueryExecutionState::Queued), "q", String::new).unwrap());
        assert!(ended(Some(&QueryExecutionState::Succeeded), "q", String::new).unwrap());
    }

    #[test]
    fn athenas_csv_reads_quotes_commas_newlines_and_nulls() {
        let rows = csv_rows(b"\"a\",\"b\"\n\"x, \"\"y\"\"\n\",\n\"\",\"3\"\r\n").unwrap();
        assert_eq!(
            rows,
            vec![
                vec![Some("a".into()), Some("b".into())],
                vec![Some("x, \"y\"\n".into()), None],
                vec![Some(String::new()), Some("3".into())],
            ]
        );
        assert_eq!(
            csv_rows(b"\"a\",\"b").unwrap_err(),
            "line 1: a quoted value is not closed"
        );
        assert_eq!(
            csv_rows(b"\"a\"x").unwrap_err(),
            "line 1: 'x' after a quoted value"
        );
    }

    #[test]
    fn the_header_row_is_known_by_its_names() {
        let names = s(&["Region", "records"]);
        assert!(is_header(
            &[Some("region".into()), Some("records".into())],
            &names
        ));
        assert!(!is_header(
            &[Some("north".into()), Some("3".into())],
            &names
        ));
    }
}
