//! The local cache's readings: the device list, charts, and retention.

use gridwatch_core::{Cache, CacheReader};
use gridwatch_types::{ChartRequest, ChartSeries, DeviceInfo};

use crate::{Error, Result, Session, blocking};

impl Session {
    pub async fn devices(&self) -> Result<Vec<DeviceInfo>> {
        let path = self.engine.cache_path().to_owned();
        blocking(move || Ok(CacheReader::open(&path)?.devices()?)).await
    }

    /// A device's (or the fleet's) readings, one column per pixel.
    pub async fn chart(&self, request: ChartRequest) -> Result<ChartSeries> {
        if request.pixels == 0 || request.pixels > 20_000 || request.to_us <= request.from_us {
            return Err(Error::Invalid(
                "a chart needs 1 to 20000 pixels and a range that ends after it starts".into(),
            ));
        }
        gridwatch_core::timestream::check_range(request.from_us, request.to_us)
            .map_err(Error::Invalid)?;
        let path = self.engine.cache_path().to_owned();
        blocking(move || {
            let columns = CacheReader::open(&path)?.chart(
                request.device_id.as_deref(),
                &request.measure,
                request.from_us,
                request.to_us,
                request.pixels,
            )?;
            Ok(ChartSeries {
                device_id: request.device_id,
                measure: request.measure,
                columns,
            })
        })
        .await
    }

    /// Applies a retention: readings older than `days` leave the cache.
    pub async fn prune_cache(&self, days: u32) -> Result<u64> {
        if days == 0 {
            return Err(Error::Invalid("keep at least one day of readings".into()));
        }
        let path = self.engine.cache_path().to_owned();
        // Checked: a retention longer than the calendar keeps everything.
        let before = i64::from(days)
            .checked_mul(gridwatch_core::time::MICROS_PER_DAY)
            .and_then(|keep| gridwatch_core::time::now_us().checked_sub(keep))
            .unwrap_or(i64::MIN);
        blocking(move || Ok(Cache::open(&path)?.prune_before(before)?)).await
    }
}
