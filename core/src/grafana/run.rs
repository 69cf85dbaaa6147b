//! A dashboard run: its query variables filled from their own queries,
//! then every panel's queries expanded as Grafana and the plugin would
//! send them and run concurrently (at most N at a time, each under the
//! byte cap), each answer kept in the cache under the panel's own key so
//! the dashboard opens offline with its last answers, marked.

use std::path::PathBuf;
use std::sync::Arc;

use gridwatch_types::{
    Dashboard, DashboardAnswers, InfluxConnection, Panel, PanelAnswer, PanelKind, Selection,
    Target, Variable, VariableKind, VariableValue,
};

use super::variables::{apply, bind};
use super::{Binding, GrafanaError, MacroContext, expand, parse_interval_ms};
use crate::aws::AwsOptions;
use crate::influx::InfluxClient;
use crate::timestream::{Fetched, fetch_with_cache_key};

/// How a dashboard runs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub aws: AwsOptions,
    /// The data source's default database and table (Grafana's data
    /// source configuration), for targets that name none.
    pub database: Option<String>,
    pub table: Option<String>,
    pub measure: Option<String>,
    /// The dashboard's width in pixels: a panel gets `w/24` of it.
    pub width_px: u32,
    pub max_bytes: Option<i64>,
    /// Queries in flight at once, at most.
    pub concurrency: usize,
    pub cache: PathBuf,
    pub now_us: i64,
    /// Another range than the dashboard's.
    pub time_from: Option<String>,
    pub time_to: Option<String>,
    /// Where panels whose data source is InfluxDB run (none: they say so).
    pub influx: Option<InfluxConnection>,
}

/// The cache key of one query of a dashboard: its text before expansion,
/// the variables' values and the range as written, so `now-5m` finds the
/// last answer offline though its times have moved.
fn cache_key(
    dashboard: &str,
    what: &str,
    template: &str,
    bindings: &[Binding],
    range: &str,
) -> String {
    let vars: Vec<String> = bindings
        .iter()
        .map(|b| format!("{}={:?}", b.name, b.value))
        .collect();
    format!(
        "grafana:{dashboard}:{what}:{range}:{}:{template}",
        vars.join("&")
    )
}

/// The name a target names, or the data source's default: Grafana uses
/// the query editor's value unless it is empty or an unfilled `${…}`.
fn or_default(
    own: &str,
    bindings: &[Binding],
    ctx: &MacroContext,
    default: &Option<String>,
) -> Result<Option<String>, GrafanaError> {
    // The frontend fills variables in these fields as plain text first.
    let filled = expand(own, ctx, bindings)?;
    if filled.is_empty() || filled.starts_with("${") {
        return Ok(default.clone());
    }
    Ok(Some(filled))
}

struct Job {
    panel: usize,
    /// InfluxQL for InfluxDB, else Timestream SQL.
    influx: bool,
    sql: String,
    key: String,
}

/// Runs `dashboard` with the operator's `selections`.
pub async fn run_dashboard(
    dashboard: &Dashboard,
    selections: &[VariableValue],
    panels: &[u32],
    options: &RunOptions,
    cancelled: &tokio::sync::watch::Receiver<bool>,
) -> Result<DashboardAnswers, GrafanaError> {
    let mut variables = dashboard.variables.clone();
    apply(&mut variables, selections)?;
    let from = options.time_from.as_deref().unwrap_or(&dashboard.time_from);
    let to = options.time_to.as_deref().unwrap_or(&dashboard.time_to);
    let bad = |e: String| GrafanaError::Expand(super::ExpandError::Range(e));
    let week = super::time::WeekStart::parse(dashboard.week_start.as_deref().unwrap_or(""))
        .map_err(bad)?;
    let from_us =
        super::time::parse_grafana_time_in(from, options.now_us, false, week).map_err(bad)?;
    let to_us = super::time::parse_grafana_time_in(to, options.now_us, true, week).map_err(bad)?;
    let range = format!("{from}..{to}");
    let base = MacroContext {
        database: options.database.clone(),
        table: options.table.clone(),
        measure: options.measure.clone(),
        from_us,
        to_us,
        pixels: options.width_px.max(1),
        now_us: options.now_us,
        min_interval_ms: None,
        ref_id: None,
    };
    let problems = fill_query_variables(
        &mut variables,
        &base,
        |v, bindings| {
            cache_key(
                &dashboard.name,
                &format!("variable {}", v.name),
                &v.definition,
                bindings,
                &range,
            )
        },
        &options.aws,
        options.max_bytes,
        cancelled,
        &options.cache,
    )
    .await?;
    let bindings = bind(&variables);
    let chosen: Vec<(usize, &Panel)> = dashboard
        .panels
        .iter()
        .enumerate()
        .filter(|(_, p)| p.kind != PanelKind::Row)
        .filter(|(_, p)| panels.is_empty() || panels.contains(&p.id))
        .collect();
    let mut answers: Vec<PanelAnswer> = Vec::new();
    let mut jobs = Vec::new();
    for (slot, (_, panel)) in chosen.iter().enumerate() {
        let mut answer = PanelAnswer {
            panel_id: panel.id,
            error: panel.unavailable.clone(),
            ..PanelAnswer::default()
        };
        if answer.error.is_none() {
            match panel_jobs(panel, &base, &bindings, options) {
                Ok(list) => {
                    for (target, sql) in list {
                        answer.sql.push(sql.clone());
                        let key = cache_key(
                            &dashboard.name,
                            &format!("panel {} {}", panel.id, target.ref_id),
                            &target.raw_query,
                            &bindings,
                            &range,
                        );
                        jobs.push(Job {
                            panel: slot,
                            influx: is_influx(panel),
                            sql,
                            key,
                        });
                    }
                }
                Err(e) => answer.error = Some(e.to_string()),
            }
        }
        answers.push(answer);
    }
    let fetched = run_all(jobs, options, cancelled).await;
    let mut tables: Vec<Vec<Fetched>> = vec![Vec::new(); answers.len()];
    for (slot, result) in fetched {
        match result {
            Ok(f) => tables[slot].push(f),
            Err(e) => {
                let a = &mut answers[slot];
                a.error.get_or_insert(e);
            }
        }
    }
    for ((answer, (_, panel)), results) in answers.iter_mut().zip(&chosen).zip(tables) {
        fill(answer, panel, results);
    }
    Ok(DashboardAnswers {
        name: dashboard.name.clone(),
        variables,
        from_us,
        to_us,
        panels: answers,
        problems,
    })
}

/// A panel's targets and their SQL, as the plugin would send it.
fn panel_jobs<'p>(
    panel: &'p Panel,
    base: &MacroContext,
    bindings: &[Binding],
    options: &RunOptions,
) -> Result<Vec<(&'p Target, String)>, GrafanaError> {
    // A panel's share of the 24 columns; its max data points when set.
    let width =
        (u64::from(panel.grid.w.clamp(1, 24)) * u64::from(options.width_px.max(1)) / 24).max(1);
    let pixels = panel
        .max_data_points
        .unwrap_or(u32::try_from(width).unwrap_or(u32::MAX));
    let min_interval_ms = match &panel.min_interval {
        Some(i) => Some(parse_interval_ms(&expand(i, base, bindings)?)?),
        None => None,
    };
    let mut out = Vec::new();
    for target in panel
        .targets
        .iter()
        .filter(|t| !t.hide && !t.raw_query.trim().is_empty())
    {
        let mut ctx = MacroContext {
            pixels,
            min_interval_ms,
            ref_id: Some(target.ref_id.clone()),
            ..base.clone()
        };
        if is_influx(panel) {
            if options.influx.is_none() {
                return Err(GrafanaError::Expand(super::ExpandError::Variable(
                    "this panel reads InfluxDB: name the InfluxDB connection (Connections…, or --influx-url and --influx-db)".into(),
                )));
            }
            let q = crate::influx::influxql::expand_influxql(&target.raw_query, &ctx, bindings)?;
            out.push((target, q));
            continue;
        }
        ctx.database = or_default(&target.database, bindings, base, &options.database)?;
        ctx.table = or_default(&target.table, bindings, base, &options.table)?;
        ctx.measure = or_default(&target.measure, bindings, base, &options.measure)?;
        out.push((target, expand(&target.raw_query, &ctx, bindings)?));
    }
    Ok(out)
}

/// Runs the jobs, at most `options.concurrency` at once; each answer
/// comes back with its panel's slot.
async fn run_all(
    jobs: Vec<Job>,
    options: &RunOptions,
    cancelled: &tokio::sync::watch::Receiver<bool>,
) -> Vec<(usize, Result<Fetched, String>)> {
    let permits = Arc::new(tokio::sync::Semaphore::new(options.concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    let mut order = Vec::new();
    // One InfluxDB client for every InfluxDB panel (its credentials read
    // once), or why there is none.
    let influx = match (&options.influx, jobs.iter().any(|j| j.influx)) {
        (Some(c), true) => Some(InfluxClient::connect(c).await.map_err(|e| e.to_string())),
        _ => None,
    };
    for (i, job) in jobs.into_iter().enumerate() {
        let (permits, aws, cache, cancelled, max_bytes) = (
            permits.clone(),
            options.aws.clone(),
            options.cache.clone(),
            cancelled.clone(),
            options.max_bytes,
        );
        let client = influx.clone().filter(|_| job.influx);
        order.push(job.panel);
        set.spawn(async move {
            // The semaphore is never closed, so a permit always comes.
            let _permit = permits.acquire_owned().await;
            let result = match client {
                Some(Ok(client)) => crate::influx::fetch_with_cache_key(
                    &client, &job.sql, &job.key, &cancelled, &cache,
                )
                .await
                .map_err(|e| e.to_string()),
                Some(Err(e)) => Err(e),
                None => {
                    fetch_with_cache_key(&aws, &job.sql, &job.key, max_bytes, &cancelled, &cache)
                        .await
                        .map_err(|e| e.to_string())
                }
            };
            (i, result)
        });
    }
    let mut done: Vec<Option<Result<Fetched, String>>> = vec![None; order.len()];
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((i, result)) => done[i] = Some(result),
            Err(e) => tracing::warn!(error = %e, "a panel's query task failed"),
        }
    }
    order
        .into_iter()
        .zip(done)
        .map(|(slot, r)| {
            (
                slot,
                r.unwrap_or_else(|| Err("the query did not finish".into())),
            )
        })
        .collect()
}

/// A panel's answer from its targets' results: the first target's table,
/// every target's series and figures, and the oldest cached time.
fn fill(answer: &mut PanelAnswer, panel: &Panel, results: Vec<Fetched>) {
    for (n, f) in results.into_iter().enumerate() {
        if n == 0 {
            answer.table = f.table();
        }
        if let Some(at) = f.cached_at_us {
            answer.cached_at_us = Some(answer.cached_at_us.map_or(at, |a: i64| a.min(at)));
        }
        match panel.kind {
            PanelKind::Stat | PanelKind::Gauge | PanelKind::BarGauge => {
                answer
                    .figures
                    .extend(super::figures(panel, &f.columns, &f.rows));
            }
            PanelKind::TimeSeries | PanelKind::Heatmap => {
                answer.series.extend(super::series(&f.columns, &f.rows));
            }
            _ => {}
        }
    }
}

/// Fills the options of the query variables among `variables` from their
/// own queries, in order (a later one's query may use an earlier one), and
/// custom variables' from their lists. Each answer is cached under
/// `key(variable, bindings)`; a query that fails leaves the variable's
/// saved options and is named in the problems returned.
pub async fn fill_query_variables(
    variables: &mut [Variable],
    base: &MacroContext,
    key: impl Fn(&Variable, &[Binding]) -> String,
    aws: &AwsOptions,
    max_bytes: Option<i64>,
    cancelled: &tokio::sync::watch::Receiver<bool>,
    cache: &std::path::Path,
) -> Result<Vec<String>, GrafanaError> {
    let mut problems = Vec::new();
    for i in 0..variables.len() {
        if variables[i].kind == VariableKind::Custom && variables[i].options.is_empty() {
            let found = super::custom_options(&variables[i].definition);
            keep_or_first(&mut variables[i], found);
        }
        if variables[i].kind != VariableKind::Query || variables[i].definition.trim().is_empty() {
            continue;
        }
        let bindings = bind(&variables[..i]);
        let v = &variables[i];
        let sql = expand(&v.definition, base, &bindings)?;
        let key = key(v, &bindings);
        match fetch_with_cache_key(aws, &sql, &key, max_bytes, cancelled, cache).await {
            Ok(fetched) => {
                let mut found: Vec<String> = Vec::new();
                for row in &fetched.rows {
                    let text = match row.first() {
                        Some(serde_json::Value::String(s)) => s.clone(),
                        Some(serde_json::Value::Null) | None => continue,
                        Some(other) => other.to_string(),
                    };
                    if !found.contains(&text) {
                        found.push(text);
                    }
                }
                keep_or_first(&mut variables[i], found);
            }
            Err(e) => problems.push(format!(
                "${}: its query failed, so its saved options are shown: {e}",
                v.name
            )),
        }
    }
    Ok(problems)
}

/// `found` as the variable's options. Grafana keeps the selection while its
/// values are still options, and takes the first option otherwise (or when
/// nothing was selected yet).
fn keep_or_first(v: &mut Variable, found: Vec<String>) {
    if let Selection::Values(sel) = &v.selected
        && (sel.is_empty() || !sel.iter().all(|s| found.contains(s)))
    {
        v.selected = Selection::Values(found.first().cloned().into_iter().collect());
    }
    v.options = found;
}

/// Whether the panel reads InfluxDB (its targets are InfluxQL).
fn is_influx(panel: &Panel) -> bool {
    panel.datasource.as_deref() == Some("influxdb")
}
