//! What the seed's pipeline would cost for a fleet, per service and month:
//! Kinesis (on-demand, or provisioned shards), Kinesis Data Analytics (the
//! Flink job), Timestream, Firehose, S3 and Athena.
//!
//! Prices come from a JSON file the operator can edit; the built-in one is
//! the seed's, for us-east-1 as of 2022-09-28, and every estimate names the
//! prices it used. The rules that matter (each with a unit test):
//! - a provisioned shard takes 1 MiB/s and 1,000 records/s;
//! - Timestream bills each measure written, per started KB;
//! - Firehose bills each record rounded up to 5 KB.

use serde::{Deserialize, Serialize};

pub const HOURS_PER_MONTH: f64 = 730.0;
const SECONDS_PER_MONTH: f64 = HOURS_PER_MONTH * 3_600.0;
const GB: f64 = 1_000_000_000.0;
const MIB: f64 = 1_048_576.0;

/// The built-in prices (the seed's).
pub const SEED_PRICES: &str = include_str!("../prices/seed-2022-09-28-us-east-1.json");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prices {
    pub name: String,
    pub kinesis_on_demand_stream_hour: f64,
    pub kinesis_on_demand_ingest_gb: f64,
    pub kinesis_on_demand_retrieval_gb: f64,
    pub kinesis_shard_hour: f64,
    pub kinesis_put_payload_units_per_million: f64,
    pub kda_kpu_hour: f64,
    pub kda_storage_gb_month: f64,
    pub timestream_writes_per_million_kb: f64,
    pub timestream_memory_gb_hour: f64,
    pub timestream_magnetic_gb_month: f64,
    pub firehose_ingest_gb: f64,
    pub s3_gb_month: f64,
    pub athena_tb_scanned: f64,
}

impl Prices {
    pub fn seed() -> Prices {
        // The file is part of the build and parsed in a unit test.
        serde_json::from_str(SEED_PRICES)
            .unwrap_or_else(|_| unreachable!("the built-in prices parse"))
    }

    pub fn parse(json: &str) -> Result<Prices, String> {
        serde_json::from_str(json).map_err(|e| format!("not a price file: {e}"))
    }
}

/// The fleet and the pipeline's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostInput {
    pub devices: f64,
    /// Seconds between two records of one device.
    pub interval_s: f64,
    /// Bytes of one wire record.
    pub record_bytes: f64,
    /// Measures in one record (Timestream writes one record per measure).
    pub measures_per_record: f64,
    /// Provisioned shards instead of on-demand.
    pub provisioned: bool,
    /// Consumers reading the stream (the Flink job and Firehose: 2).
    pub consumers: f64,
    /// KPUs of the Flink application (one more is billed for orchestration).
    pub kpus: f64,
    /// Hours the Timestream memory store keeps data.
    pub memory_store_hours: f64,
    /// Months the magnetic store and S3 keep data (steady state).
    pub retention_months: f64,
    /// Full scans of a month of lake data by Athena each month.
    pub athena_scans: f64,
}

impl Default for CostInput {
    fn default() -> Self {
        CostInput {
            devices: 50.0,
            interval_s: 6.0,
            record_bytes: 200.0,
            measures_per_record: 5.0,
            provisioned: false,
            consumers: 2.0,
            kpus: 1.0,
            memory_store_hours: 12.0,
            retention_months: 12.0,
            athena_scans: 30.0,
        }
    }
}

pub use gridwatch_types::{CostEstimate, CostLine};

/// Shards a provisioned stream needs: 1 MiB/s and 1,000 records/s each.
pub fn shards_needed(records_per_second: f64, bytes_per_second: f64) -> u64 {
    let by_records = (records_per_second / 1_000.0).ceil();
    let by_bytes = (bytes_per_second / MIB).ceil();
    by_records.max(by_bytes).max(1.0) as u64
}

pub fn estimate(input: &CostInput, prices: &Prices) -> CostEstimate {
    let rps = input.devices / input.interval_s.max(1e-9);
    let bps = rps * input.record_bytes;
    let records_month = rps * SECONDS_PER_MONTH;
    let gb_month = bps * SECONDS_PER_MONTH / GB;
    let shards = shards_needed(rps, bps);
    let mut lines = Vec::new();
    let mut line = |service: &str, item: &str, quantity: f64, unit: &str, price: f64| {
        lines.push(CostLine {
            service: service.into(),
            item: item.into(),
            quantity,
            unit: unit.into(),
            monthly_usd: quantity * price,
        });
    };
    if input.provisioned {
        line(
            "Kinesis Data Streams",
            "shard hours",
            shards as f64 * HOURS_PER_MONTH,
            "shard-hour",
            prices.kinesis_shard_hour,
        );
        // A PUT payload unit is 25 KB; a record takes at least one.
        let units = records_month * (input.record_bytes / 25_600.0).ceil().max(1.0);
        line(
            "Kinesis Data Streams",
            "PUT payload units",
            units / 1e6,
            "million units",
            prices.kinesis_put_payload_units_per_million,
        );
    } else {
        line(
            "Kinesis Data Streams",
            "stream hours (on-demand)",
            HOURS_PER_MONTH,
            "stream-hour",
            prices.kinesis_on_demand_stream_hour,
        );
        line(
            "Kinesis Data Streams",
            "data ingested",
            gb_month,
            "GB",
            prices.kinesis_on_demand_ingest_gb,
        );
        line(
            "Kinesis Data Streams",
            "data retrieved",
            gb_month * input.consumers,
            "GB",
            prices.kinesis_on_demand_retrieval_gb,
        );
    }
    let kpus = input.kpus + 1.0;
    line(
        "Kinesis Data Analytics",
        "KPU hours (+1 for orchestration)",
        kpus * HOURS_PER_MONTH,
        "KPU-hour",
        prices.kda_kpu_hour,
    );
    line(
        "Kinesis Data Analytics",
        "running application storage",
        input.kpus * 50.0,
        "GB-month",
        prices.kda_storage_gb_month,
    );
    let writes = records_month * input.measures_per_record;
    let kb_per_write = ((input.record_bytes / input.measures_per_record.max(1.0)) / 1_024.0)
        .ceil()
        .max(1.0);
    line(
        "Timestream",
        "writes (1 KB each)",
        writes * kb_per_write / 1e6,
        "million writes",
        prices.timestream_writes_per_million_kb,
    );
    let memory_gb = bps * input.memory_store_hours * 3_600.0 / GB;
    line(
        "Timestream",
        "memory store",
        memory_gb * HOURS_PER_MONTH,
        "GB-hour",
        prices.timestream_memory_gb_hour,
    );
    line(
        "Timestream",
        "magnetic store",
        gb_month * input.retention_months,
        "GB-month",
        prices.timestream_magnetic_gb_month,
    );
    let firehose_gb = records_month * (input.record_bytes / 5_120.0).ceil().max(1.0) * 5_120.0 / GB;
    line(
        "Kinesis Data Firehose",
        "data ingested (records rounded up to 5 KB)",
        firehose_gb,
        "GB",
        prices.firehose_ingest_gb,
    );
    line(
        "S3",
        "lake storage",
        gb_month * input.retention_months,
        "GB-month",
        prices.s3_gb_month,
    );
    line(
        "Athena",
        "data scanned",
        gb_month * input.athena_scans / 1_000.0,
        "TB",
        prices.athena_tb_scanned,
    );
    let total = lines.iter().map(|l| l.monthly_usd).sum();
    CostEstimate {
        prices: prices.name.clone(),
        records_per_second: rps,
        bytes_per_second: bps,
        shards,
        lines,
        total_usd: total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_prices_parse() {
        let p = Prices::seed();
        assert_eq!(p.kinesis_on_demand_stream_hour, 0.04);
        assert!(p.name.contains("2022-09-28"));
    }

    #[test]
    fn shards_at_the_boundaries() {
        assert_eq!(shards_needed(1_000.0, 1_000.0), 1);
        assert_eq!(shards_needed(1_001.0, 1_000.0), 2);
        assert_eq!(shards_needed(10.0, MIB), 1);
        assert_eq!(shards_needed(10.0, MIB + 1.0), 2);
        assert_eq!(shards_needed(0.0, 0.0), 1);
        assert_eq!(shards_needed(2_500.0, 3.5 * MIB), 4);
    }

    #[test]
    fn the_seeds_sample_fleet_by_hand() {
        // 50 devices, 500 records a minute of 200 bytes: one every 6 s each.
        let e = estimate(&CostInput::default(), &Prices::seed());
        assert!((e.records_per_second - 500.0 / 60.0).abs() < 1e-12);
        let get = |item: &str| {
            e.lines
                .iter()
                .find(|l| l.item.starts_with(item))
                .unwrap()
                .monthly_usd
        };
        // 730 h x $0.04
        assert!((get("stream hours") - 29.20).abs() < 1e-9);
        // 8.333 rec/s x 200 B x 2,628,000 s = 4.38 GB; x $0.08
        assert!((get("data ingested") - 4.38 * 0.08).abs() < 1e-9);
        // two consumers read it all: 8.76 GB x $0.04
        assert!((get("data retrieved") - 8.76 * 0.04).abs() < 1e-9);
        // 2 KPU x 730 h x $0.11
        assert!((get("KPU hours") - 160.60).abs() < 1e-9);
        // 21.9 M records x 5 measures = 109.5 M writes of 1 KB x $0.50/M
        assert!((get("writes") - 54.75).abs() < 1e-9);
        // Firehose: 21.9 M records x 5 KB = 112.128 GB x $0.029
        assert!(
            (get("data ingested (records") - 21_900_000.0 * 5_120.0 / 1e9 * 0.029).abs() < 1e-9
        );
        assert!((e.total_usd - e.lines.iter().map(|l| l.monthly_usd).sum::<f64>()).abs() < 1e-9);
        assert_eq!(e.shards, 1);
    }
}
