//! History from Timestream: a chart aggregated on the server to the chart's
//! width, or the operator's SQL; cached for offline use.

use gridwatch_core::aws::AwsOptions;
use gridwatch_core::timestream::{self, MacroContext};
use gridwatch_types::{HistoryQuery, HistoryResult};

use crate::{Error, Result, Session, lock};

impl Session {
    pub async fn history(&self, q: HistoryQuery) -> Result<HistoryResult> {
        let c = &q.connection;
        let measure = if q.measure.ends_with(gridwatch_core::codec::MEASURE_SUFFIX) {
            q.measure.clone()
        } else {
            format!("{}{}", q.measure, gridwatch_core::codec::MEASURE_SUFFIX)
        };
        // The page's range is checked before any arithmetic on it.
        timestream::check_range(q.from_us, q.to_us).map_err(Error::Invalid)?;
        let ctx = MacroContext {
            database: Some(c.database.clone()).filter(|s| !s.is_empty()),
            table: Some(c.table.clone()).filter(|s| !s.is_empty()),
            measure: Some(measure.clone()),
            from_us: q.from_us,
            to_us: q.to_us,
            pixels: q.pixels.max(1),
            now_us: gridwatch_core::time::now_us(),
            min_interval_ms: None,
            ref_id: None,
        };
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
        let fetched = timestream::fetch_with_cache(
            &options,
            &sql,
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
