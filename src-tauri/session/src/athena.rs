//! Strategic views on Athena in the app: the estimate shown beside Run,
//! the run as the view job (progress: the estimate, then the query's state
//! and time; Cancel: StopQueryExecution), the cached answer marked when
//! Athena cannot be reached, and the Connections window's Test.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use gridwatch_core::aws::AwsOptions;
use gridwatch_lake::athena::client::Workgroup;
use gridwatch_lake::athena::estimate::bytes_text;
use gridwatch_lake::athena::view::{AnswerCache, Clients, RunLimits};
use gridwatch_types::{AggregateQuery, AthenaConnection, AthenaTarget, ScanEstimate};

use crate::lake::JobEnd;
use crate::{Error, Result, Session};

fn workgroup(c: &AthenaConnection) -> Workgroup {
    let given = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    Workgroup {
        name: given(&c.workgroup),
        output: given(&c.output),
        database: c.database.trim().to_string(),
    }
}

fn options(t: &AthenaTarget) -> AwsOptions {
    AwsOptions::from_form(&t.profile, &t.region, &t.endpoint_url)
}

fn limits(c: &AthenaConnection) -> RunLimits {
    RunLimits {
        max_scan_bytes: c.max_scan_bytes(),
        usd_per_tb: gridwatch_core::cost::Prices::seed().athena_tb_scanned,
    }
}

/// The estimate as the job's progress line says it.
pub(crate) fn estimate_line(e: &ScanEstimate) -> String {
    format!(
        "will scan about {} in {} partitions (about ${:.4})",
        bytes_text(e.bytes),
        e.partitions,
        e.cost_usd
    )
}

impl Session {
    /// What a view on Athena would scan and cost, before it runs.
    pub async fn estimate_view(&self, query: AggregateQuery) -> Result<ScanEstimate> {
        let target = query
            .athena
            .clone()
            .ok_or_else(|| Error::Invalid("the view does not run on Athena".into()))?;
        let clients = Clients::connect(&options(&target)).await;
        gridwatch_lake::athena::view::estimate_view(
            &clients,
            &workgroup(&target.connection),
            target.connection.table.trim(),
            &crate::lake::view_request(query),
            limits(&target.connection).usd_per_tb,
        )
        .await
        .map_err(Error::from)
    }

    /// The Connections window's Test of Athena.
    pub(crate) async fn probe_athena(
        &self,
        aws: &AwsOptions,
        c: &AthenaConnection,
    ) -> Result<String> {
        let clients = Clients::connect(aws).await;
        gridwatch_lake::athena::view::check(&clients, &workgroup(c), c.table.trim())
            .await
            .map_err(Error::from)
    }
}

/// A view's run on Athena, for the view job: its figures and notes (the
/// scan and its cost, or that the answer is the cache's), or why not.
pub(crate) async fn run_view(
    query: AggregateQuery,
    target: AthenaTarget,
    cache: std::path::PathBuf,
    cancel: Arc<AtomicBool>,
    progress: Arc<std::sync::Mutex<(f32, String)>>,
) -> Result<JobEnd, String> {
    let say = |fraction: f32, line: String| {
        if let Ok(mut p) = progress.lock() {
            *p = (fraction, line);
        }
    };
    say(0.0, "Athena: estimating the scan".into());
    let clients = Clients::connect(&options(&target)).await;
    // The question as chosen ("the last 30 days"), not its moving times:
    // offline, the last answer to it is found.
    let key = serde_json::to_string(&AggregateQuery {
        from_us: 0,
        to_us: query.to_us - query.from_us,
        ..query.clone()
    })
    .unwrap_or_default();
    let request = crate::lake::view_request(query);
    let estimate = std::sync::Mutex::new(String::new());
    let view = gridwatch_lake::athena::view::run_view(
        &clients,
        &workgroup(&target.connection),
        target.connection.table.trim(),
        &request,
        false,
        &limits(&target.connection),
        Some(AnswerCache {
            path: &cache,
            key: Some(&key),
        }),
        &cancel,
        &|e| {
            let line = estimate_line(e);
            if let Ok(mut s) = estimate.lock() {
                s.clone_from(&line);
            }
            say(0.1, format!("Athena {line}"));
        },
        &|p| {
            let scan = estimate.lock().map(|s| s.clone()).unwrap_or_default();
            say(
                0.5,
                format!(
                    "Athena: {} {:.0} s, {scan}",
                    p.state.to_lowercase(),
                    p.elapsed.as_secs_f64()
                ),
            );
        },
    )
    .await
    .map_err(|e| match e {
        gridwatch_lake::athena::AthenaError::Stopped { .. } => {
            "cancelled; the query was stopped in Athena; no figures".to_string()
        }
        e => e.to_string(),
    })?;
    let mut notes = Vec::new();
    match (view.cached_at_us, view.scanned_bytes) {
        (Some(at), _) => notes.push(format!(
            "CACHED: Athena is unreachable; this is its answer fetched at {}",
            gridwatch_types::time::format_time(at)
        )),
        (None, Some(bytes)) => notes.push(format!(
            "Athena scanned {} (query {}): ${:.4}",
            bytes_text(u64::try_from(bytes).unwrap_or(0)),
            view.query_id.as_deref().unwrap_or("?"),
            view.cost_usd.unwrap_or(0.0)
        )),
        (None, None) => {}
    }
    notes.extend(view.notes);
    Ok(JobEnd {
        message: format!("{} rows from Athena", view.table.rows.len()),
        table: Some(view.table),
        notes,
    })
}
