//! History from Timestream or InfluxDB: a chart aggregated on the server to
//! the chart's width, or the operator's SQL (InfluxQL); cached for offline
//! use.

use gridwatch_core::aws::AwsOptions;
use gridwatch_core::grafana;
use gridwatch_core::influx::{self, influxql};
use gridwatch_core::timestream::{self, MacroContext};
use gridwatch_types::{
    HistoryQuery, HistoryResult, HistoryVariables, InfluxConnection, Variable, VariableKind,
};

use crate::{Error, Result, Session, lock};

/// The measure as Timestream names it: with its `_measure` suffix.
fn measure_name(measure: &str) -> String {
    if measure.ends_with(gridwatch_core::codec::MEASURE_SUFFIX) {
        measure.to_owned()
    } else {
        format!("{measure}{}", gridwatch_core::codec::MEASURE_SUFFIX)
    }
}

/// What a history answer is cached under: with a range that ends now, the
/// query as written (macros unexpanded), its variables and the range's
/// label, so the last answer for "the last hour" is found offline; else
/// the query that ran.
fn cache_key(q: &HistoryQuery, ran: &str) -> String {
    match (&q.range_label, &q.sql) {
        (Some(label), Some(sql)) if !sql.trim().is_empty() => {
            format!("history:{label}:{:?}:{sql}", grafana::bind(&q.variables))
        }
        (Some(label), _) => format!("history:{label}:{}:{:?}:{}", q.measure, q.device, q.pixels),
        (None, _) => ran.to_owned(),
    }
}

impl Session {
    /// The macros' context of a history query, its range checked.
    fn macro_context(q: &HistoryQuery) -> Result<MacroContext> {
        let c = &q.connection;
        // The page's range is checked before any arithmetic on it.
        timestream::check_range(q.from_us, q.to_us).map_err(Error::Invalid)?;
        Ok(MacroContext {
            database: Some(c.database.clone()).filter(|s| !s.is_empty()),
            table: Some(c.table.clone()).filter(|s| !s.is_empty()),
            measure: Some(measure_name(&q.measure)),
            from_us: q.from_us,
            to_us: q.to_us,
            pixels: q.pixels.max(1),
            now_us: gridwatch_core::time::now_us(),
            min_interval_ms: None,
            ref_id: None,
        })
    }

    pub async fn history(&self, q: HistoryQuery) -> Result<HistoryResult> {
        if let Some(influx) = &q.influx {
            return self.influx_history(&q, influx).await;
        }
        let c = &q.connection;
        let measure = measure_name(&q.measure);
        let ctx = Self::macro_context(&q)?;
        let sql = match q.sql.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(sql) => gridwatch_core::grafana::expand(
                sql,
                &ctx,
                &gridwatch_core::grafana::bind(&q.variables),
            )
            .map_err(|e| Error::Invalid(e.to_string()))?,
            None => {
                if c.database.is_empty() || c.table.is_empty() {
                    return Err(Error::Invalid(
                        "name the Timestream database and table".into(),
                    ));
                }
                // Grafana's $__interval: about one bucket per pixel.
                let bucket_ms = ctx.interval_ms().map_err(Error::Invalid)?;
                timestream::bucket_query(
                    &c.database,
                    &c.table,
                    &measure,
                    q.device.as_deref(),
                    q.from_us,
                    q.to_us,
                    std::time::Duration::from_millis(bucket_ms.unsigned_abs()),
                )
            }
        };
        let options = AwsOptions::from_form(&c.profile, &c.region, &c.endpoint_url);
        let stop_rx = self.history_stop_signal();
        let fetched = timestream::fetch_with_cache_key(
            &options,
            &sql,
            &cache_key(&q, &sql),
            q.max_bytes,
            &stop_rx,
            self.engine.cache_path(),
        )
        .await
        .map_err(|error| Error::Timestream {
            error: Box::new(error),
            using: options.describe(),
        })?;
        Ok(HistoryResult {
            // Values that could not be read are nulls, named in `skipped`.
            table: fetched.table(),
            sql,
            bytes_scanned: fetched.stats.bytes_scanned,
            bytes_metered: fetched.stats.bytes_metered,
            cached_at_us: fetched.cached_at_us,
        })
    }

    /// History from InfluxDB: the operator's InfluxQL (Grafana's InfluxDB
    /// macros and the variables expanded), or the chart's buckets in the
    /// same columns as Timestream's; cached, and served from the cache
    /// (marked) when the server cannot be reached.
    async fn influx_history(
        &self,
        q: &HistoryQuery,
        connection: &InfluxConnection,
    ) -> Result<HistoryResult> {
        let ctx = Self::macro_context(q)?;
        let (text, chart) = match q.sql.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(sql) => (
                influxql::expand_influxql(sql, &ctx, &grafana::bind(&q.variables))
                    .map_err(|e| Error::Invalid(e.to_string()))?,
                false,
            ),
            None => {
                let bucket_ms = ctx.interval_ms().map_err(Error::Invalid)?;
                let q = influxql::bucket_query(
                    &connection.measurement,
                    &measure_name(&q.measure),
                    &connection.device_tag,
                    q.device.as_deref(),
                    q.from_us,
                    q.to_us,
                    std::time::Duration::from_millis(bucket_ms.unsigned_abs()),
                );
                (q, true)
            }
        };
        let client = influx::InfluxClient::connect(connection)
            .await
            .map_err(Error::from)?;
        let stop_rx = self.history_stop_signal();
        let mut fetched = influx::fetch_with_cache_key(
            &client,
            &text,
            &cache_key(q, &text),
            &stop_rx,
            self.engine.cache_path(),
        )
        .await?;
        if chart {
            // The chart reads Timestream's column names.
            for c in &mut fetched.columns {
                if c == "time" {
                    "bucket".clone_into(c);
                }
            }
        }
        Ok(HistoryResult {
            table: fetched.table(),
            sql: text,
            bytes_scanned: 0,
            bytes_metered: 0,
            cached_at_us: fetched.cached_at_us,
        })
    }

    /// The variables the query's SQL names, in order, each with its
    /// picker's options: a custom variable's from its comma list, a query
    /// variable's from its own query (cached like any answer). The
    /// operator's kind, definition and selection of each are kept.
    pub async fn history_variables(&self, q: HistoryQuery) -> Result<HistoryVariables> {
        let sql = q.sql.as_deref().unwrap_or_default();
        let mut variables: Vec<Variable> = grafana::referenced_variables(sql)
            .into_iter()
            .map(|name| {
                let mut v = q
                    .variables
                    .iter()
                    .find(|v| v.name == name)
                    .cloned()
                    .unwrap_or_else(|| Variable {
                        name,
                        kind: VariableKind::Custom,
                        ..Variable::default()
                    });
                // A list is read anew as it is now; a query variable keeps
                // its last options until its query answers.
                if v.kind == VariableKind::Custom {
                    v.options.clear();
                }
                v
            })
            .collect();
        let ctx = Self::macro_context(&q)?;
        let c = &q.connection;
        let options = AwsOptions::from_form(&c.profile, &c.region, &c.endpoint_url);
        let stop_rx = self.history_stop_signal();
        let problems = grafana::fill_query_variables(
            &mut variables,
            &ctx,
            |v, bindings| format!("history:variable {}:{bindings:?}:{}", v.name, v.definition),
            &options,
            q.max_bytes,
            &stop_rx,
            self.engine.cache_path(),
        )
        .await
        .map_err(|e| Error::Invalid(e.to_string()))?;
        Ok(HistoryVariables {
            variables,
            problems,
        })
    }

    /// A stop signal for one history query (or a dashboard's queries),
    /// which Cancel sends along with the others'.
    pub(crate) fn history_stop_signal(&self) -> tokio::sync::watch::Receiver<bool> {
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let mut running = lock(&self.history_stop);
        // Finished queries dropped their receivers.
        running.retain(|s| !s.is_closed());
        running.push(stop);
        stop_rx
    }

    /// Cancels the running history queries, if any: each stops and calls
    /// Timestream's CancelQuery, so none keeps running (and metering).
    pub fn cancel_history(&self) {
        for stop in lock(&self.history_stop).drain(..) {
            let _ = stop.send(true);
        }
    }
}
