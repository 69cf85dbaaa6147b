//! A strategic view on Athena, as the CLI and the app run it: the table
//! read from Glue, the SQL made, the scan estimated and held to a limit,
//! the query run, its answer shaped as the local engine's and kept in the
//! cache; when Athena cannot be reached, the cached answer, marked.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use super::client::{Answer, QueryProgress, Workgroup};
use super::estimate::{Location, ScanEstimate};
use super::sql::{ViewSql, view_sql};
use super::{AthenaError, TableRef};
use crate::AggregateRequest;

/// The three services a view on Athena uses.
pub struct Clients {
    pub athena: aws_sdk_athena::Client,
    pub glue: aws_sdk_glue::Client,
    pub s3: aws_sdk_s3::Client,
}

impl Clients {
    /// The three clients through the AWS chain `options` names.
    pub async fn connect(options: &gridwatch_core::aws::AwsOptions) -> Clients {
        let conf = options.load().await;
        Clients {
            athena: super::client::athena_client(&conf),
            glue: super::setup::glue_client(&conf),
            s3: crate::sync::s3_client(&conf, options),
        }
    }
}

/// What a Test of the Athena connection checks, read-only but for one
/// object written and deleted: the workgroup is there and enabled, the
/// table is in Glue and points at extracts, and Athena's output location
/// takes a write.
pub async fn check(
    clients: &Clients,
    workgroup: &Workgroup,
    table: &str,
) -> Result<String, AthenaError> {
    let name = workgroup
        .name
        .clone()
        .unwrap_or_else(|| "primary".to_string());
    let found = clients
        .athena
        .get_work_group()
        .work_group(&name)
        .send()
        .await
        .map_err(AthenaError::call("Athena GetWorkGroup"))?;
    let group = found.work_group();
    let state = group
        .and_then(|g| g.state())
        .map(|s| s.as_str().to_string());
    if state.as_deref().is_some_and(|s| s != "ENABLED") {
        return Err(AthenaError::Workgroup {
            name,
            reason: format!("it is {}", state.unwrap_or_default()),
        });
    }
    let output = workgroup
        .output
        .clone()
        .filter(|o| !o.is_empty())
        .or_else(|| {
            group
                .and_then(|g| g.configuration())
                .and_then(|c| c.result_configuration())
                .and_then(|r| r.output_location())
                .map(str::to_string)
        });
    let (table_ref, location) =
        super::setup::describe(&clients.glue, &workgroup.database, table).await?;
    let Some(output) = output else {
        return Err(AthenaError::Workgroup {
            name,
            reason: "no output location: give one (s3://…/) or set the workgroup's".into(),
        });
    };
    let out = Location::parse(&output).ok_or_else(|| AthenaError::Workgroup {
        name: name.clone(),
        reason: format!("output location {output:?} is not an s3:// URL"),
    })?;
    // One small object written and removed: Athena must be able to write
    // its answers there with the same credentials.
    let key = format!("{}gridwatch-connection-test", out.prefix);
    clients
        .s3
        .put_object()
        .bucket(&out.bucket)
        .key(&key)
        .body(Vec::new().into())
        .send()
        .await
        .map_err(AthenaError::call("S3 PutObject (Athena's output location)"))?;
    clients
        .s3
        .delete_object()
        .bucket(&out.bucket)
        .key(&key)
        .send()
        .await
        .map_err(AthenaError::call(
            "S3 DeleteObject (Athena's output location)",
        ))?;
    Ok(format!(
        "workgroup {name}, table {}.{} over s3://{}/{} ({} measures, {} dimensions), answers to {output}",
        workgroup.database,
        table,
        location.bucket,
        location.prefix,
        table_ref.measures.len(),
        table_ref.dimensions.len()
    ))
}

/// How a view on Athena may run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunLimits {
    /// No query estimated to scan more is started.
    pub max_scan_bytes: u64,
    /// The price of a TB scanned (the price file's `athena_tb_scanned`).
    pub usd_per_tb: f64,
}

impl RunLimits {
    /// Whether a query so estimated may start.
    fn allow(&self, estimate: &ScanEstimate) -> Result<(), AthenaError> {
        if estimate.bytes > self.max_scan_bytes {
            return Err(AthenaError::OverScanLimit {
                estimate_bytes: estimate.bytes,
                cost_usd: estimate.cost_usd,
                limit_bytes: self.max_scan_bytes,
            });
        }
        Ok(())
    }
}

/// A view's figures from Athena, or from the cache when Athena could not
/// be reached.
#[derive(Debug, Clone)]
pub struct AthenaView {
    pub table: gridwatch_types::ResultTable,
    /// How the figures were made (as the local view's notes).
    pub notes: Vec<String>,
    pub sql: String,
    pub estimate: Option<ScanEstimate>,
    /// What Athena scanned and bills, and the query's id.
    pub scanned_bytes: Option<i64>,
    pub cost_usd: Option<f64>,
    pub query_id: Option<String>,
    /// Set when the answer is the cache's: when it was fetched.
    pub cached_at_us: Option<i64>,
}

/// Where answers are kept for offline use, and under what name: the SQL,
/// unless the caller names the question (the app's "last 30 days" moves
/// the SQL's times with the clock, but is one question).
#[derive(Debug, Clone, Copy)]
pub struct AnswerCache<'a> {
    pub path: &'a Path,
    pub key: Option<&'a str>,
}

impl AnswerCache<'_> {
    fn key_for(&self, sql: &str) -> String {
        match self.key {
            Some(k) => format!("athena:{k}"),
            None => format!("athena:{sql}"),
        }
    }
}

/// The view's SQL for the table Glue describes, and where its extracts are.
pub async fn plan(
    clients: &Clients,
    workgroup: &Workgroup,
    table: &str,
    request: &AggregateRequest,
    load_duration: bool,
) -> Result<(ViewSql, Location), AthenaError> {
    let (table_ref, location) =
        super::setup::describe(&clients.glue, &workgroup.database, table).await?;
    Ok((view_sql(&table_ref, request, load_duration)?, location))
}

/// What the view would scan and cost, before it runs (the app's figure
/// beside Run): the table's location from Glue, the range's partitions
/// listed there.
pub async fn estimate_view(
    clients: &Clients,
    workgroup: &Workgroup,
    table: &str,
    request: &AggregateRequest,
    usd_per_tb: f64,
) -> Result<ScanEstimate, AthenaError> {
    let (_, location) = super::setup::describe(&clients.glue, &workgroup.database, table).await?;
    super::estimate::estimate(
        &clients.s3,
        &location,
        (request.from_us, request.to_us),
        usd_per_tb,
    )
    .await
}

/// Past its estimate, a query: held to the limit, then run (its answer
/// read from the output file when long).
async fn run_estimated(
    clients: &Clients,
    workgroup: &Workgroup,
    sql: &str,
    estimate: &ScanEstimate,
    limits: &RunLimits,
    cancel: &AtomicBool,
    progress: &(dyn Fn(&QueryProgress) + Sync),
) -> Result<Answer, AthenaError> {
    limits.allow(estimate)?;
    super::client::run(
        &clients.athena,
        Some(&clients.s3),
        workgroup,
        sql,
        cancel,
        progress,
    )
    .await
}

/// Estimates the view's scan, refuses it past the limit, runs it and keeps
/// its answer; offline, answers from the cache.
#[allow(clippy::too_many_arguments)] // each is one plain part of the job
pub async fn run_view(
    clients: &Clients,
    workgroup: &Workgroup,
    table: &str,
    request: &AggregateRequest,
    load_duration: bool,
    limits: &RunLimits,
    cache: Option<AnswerCache<'_>>,
    cancel: &AtomicBool,
    on_estimate: &(dyn Fn(&ScanEstimate) + Sync),
    progress: &(dyn Fn(&QueryProgress) + Sync),
) -> Result<AthenaView, AthenaError> {
    let planned = plan(clients, workgroup, table, request, load_duration).await;
    let (view, location) = match planned {
        Ok(p) => p,
        Err(e) if e.is_unreachable() => {
            // The SQL depends on the table only through its name here, so
            // the seed's columns give the same SQL, and the same key.
            let view = view_sql(
                &TableRef::seed(&workgroup.database, table),
                request,
                load_duration,
            )?;
            return from_cache(cache, &view, e);
        }
        Err(e) => return Err(e),
    };
    let estimate = super::estimate::estimate(
        &clients.s3,
        &location,
        (request.from_us, request.to_us),
        limits.usd_per_tb,
    )
    .await?;
    on_estimate(&estimate);
    let run = run_estimated(
        clients, workgroup, &view.sql, &estimate, limits, cancel, progress,
    );
    let answer = match run.await {
        Ok(a) => a,
        Err(e) if e.is_unreachable() => return from_cache(cache, &view, e),
        Err(e) => return Err(e),
    };
    let out = shape(&view, answer, Some(estimate), limits.usd_per_tb)?;
    if let Some(cache) = cache {
        keep(cache, &view.sql, &out.table);
    }
    Ok(out)
}

/// The operator's SQL (macros expanded) on Athena: estimated over the
/// range's partitions when the SQL names them (`$__timeFilter`,
/// `$__partitionFilter`), else over the whole table; run, kept, and
/// answered from the cache when Athena cannot be reached.
#[allow(clippy::too_many_arguments)] // each is one plain part of the job
pub async fn run_sql(
    clients: &Clients,
    workgroup: &Workgroup,
    table: &str,
    sql: &str,
    (from_us, to_us): (i64, i64),
    limits: &RunLimits,
    cache: Option<AnswerCache<'_>>,
    cancel: &AtomicBool,
    on_estimate: &(dyn Fn(&ScanEstimate) + Sync),
    progress: &(dyn Fn(&QueryProgress) + Sync),
) -> Result<AthenaView, AthenaError> {
    let offline = |e: AthenaError| from_cache_sql(cache, sql, e);
    let location = match super::setup::describe(&clients.glue, &workgroup.database, table).await {
        Ok((_, location)) => location,
        Err(e) if e.is_unreachable() => return offline(e),
        Err(e) => return Err(e),
    };
    let pruned = sql.contains(&super::sql::partition_filter(from_us, to_us));
    let estimate = if pruned {
        super::estimate::estimate(&clients.s3, &location, (from_us, to_us), limits.usd_per_tb)
            .await?
    } else {
        super::estimate::estimate_prefixes(
            &clients.s3,
            &location.bucket,
            std::slice::from_ref(&location.prefix),
            limits.usd_per_tb,
            1,
        )
        .await?
    };
    on_estimate(&estimate);
    let run = run_estimated(clients, workgroup, sql, &estimate, limits, cancel, progress);
    let answer = match run.await {
        Ok(a) => a,
        Err(e) if e.is_unreachable() => return offline(e),
        Err(e) => return Err(e),
    };
    let table =
        crate::sql::result_table(&answer.frame).map_err(|e| AthenaError::Answer(e.to_string()))?;
    if let Some(cache) = cache {
        keep(cache, sql, &table);
    }
    let scanned = answer.scanned_bytes;
    Ok(AthenaView {
        table,
        notes: if pruned {
            Vec::new()
        } else {
            vec!["no $__timeFilter: Athena reads every partition of the table".to_string()]
        },
        sql: sql.to_string(),
        estimate: Some(estimate),
        scanned_bytes: scanned,
        cost_usd: super::estimate::cost_of_scan(scanned, limits.usd_per_tb),
        query_id: Some(answer.query_id),
        cached_at_us: None,
    })
}

/// The answer as the local engine shapes it: its column names (Athena
/// gives labels in lower case), time keys as dates, and its notes.
fn shape(
    view: &ViewSql,
    answer: Answer,
    estimate: Option<ScanEstimate>,
    usd_per_tb: f64,
) -> Result<AthenaView, AthenaError> {
    let mut frame = answer.frame;
    if frame.width() != view.columns.len() {
        return Err(AthenaError::Answer(format!(
            "{} columns, the view has {} ({})",
            frame.width(),
            view.columns.len(),
            view.columns.join(", ")
        )));
    }
    frame
        .set_column_names(&view.columns)
        .map_err(|e| AthenaError::Answer(e.to_string()))?;
    let table =
        crate::table::result_table(&frame).map_err(|e| AthenaError::Answer(e.to_string()))?;
    let scanned = answer.scanned_bytes;
    Ok(AthenaView {
        table,
        notes: notes(view, &frame),
        sql: view.sql.clone(),
        estimate,
        scanned_bytes: scanned,
        cost_usd: super::estimate::cost_of_scan(scanned, usd_per_tb),
        query_id: Some(answer.query_id),
        cached_at_us: None,
    })
}

fn notes(view: &ViewSql, frame: &polars::prelude::DataFrame) -> Vec<String> {
    let mut notes = crate::table::energy_notes(frame, view.max_gap_us);
    if view.per_type {
        notes.push(crate::table::PER_TYPE_NOTE.to_string());
    }
    notes
}

fn keep(cache: AnswerCache<'_>, sql: &str, table: &gridwatch_types::ResultTable) {
    let stored = match serde_json::to_string(table) {
        Ok(s) => s,
        Err(e) => return tracing::warn!(error = %e, "the answer was not cached"),
    };
    let kept = gridwatch_core::Cache::open(cache.path)
        .map_err(|e| e.to_string())
        .and_then(|c| {
            c.store_history(&cache.key_for(sql), gridwatch_core::time::now_us(), &stored)
                .map_err(|e| e.to_string())
        });
    if let Err(e) = kept {
        tracing::warn!(error = %e, "the answer was not cached");
    }
}

/// The cached answer to `view`'s SQL, or `unreachable` when there is none.
fn from_cache(
    cache: Option<AnswerCache<'_>>,
    view: &ViewSql,
    unreachable: AthenaError,
) -> Result<AthenaView, AthenaError> {
    from_cache_sql(cache, &view.sql, unreachable)
}

fn from_cache_sql(
    cache: Option<AnswerCache<'_>>,
    sql: &str,
    unreachable: AthenaError,
) -> Result<AthenaView, AthenaError> {
    let cached = cache.and_then(|c| {
        let reader = gridwatch_core::CacheReader::open(c.path).ok()?;
        reader.history(&c.key_for(sql)).ok().flatten()
    });
    let Some((fetched_us, stored)) = cached else {
        return Err(unreachable);
    };
    tracing::warn!(error = %unreachable, "Athena unreachable; answering from the cache");
    let table: gridwatch_types::ResultTable = serde_json::from_str(&stored)
        .map_err(|e| AthenaError::Answer(format!("the cached answer: {e}")))?;
    Ok(AthenaView {
        table,
        notes: Vec::new(),
        sql: sql.to_string(),
        estimate: None,
        scanned_bytes: None,
        cost_usd: None,
        query_id: None,
        cached_at_us: Some(fetched_us),
    })
}
