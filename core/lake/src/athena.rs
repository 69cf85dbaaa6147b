//! The Athena table over the same extracts, for lakes that have outgrown one
//! machine: a JSON SerDe table partitioned like Firehose writes, with
//! partition projection so no crawler or MSCK REPAIR is needed.

/// The measures and dimensions the simulator's fleets write.
pub const MEASURES: [&str; 8] = [
    "voltage",
    "current",
    "watt",
    "energy",
    "temperature",
    "power_factor",
    "oil_temperature",
    "load_pct",
];
pub const DIMENSIONS: [&str; 3] = ["DeviceType", "Region", "Feeder"];

/// `CREATE EXTERNAL TABLE` for the extracts under `s3://bucket/prefix`.
pub fn ddl(bucket: &str, prefix: &str, table: &str) -> String {
    let prefix = prefix.trim_matches('/');
    let base = if prefix.is_empty() {
        format!("s3://{bucket}/{}", crate::partition::JSON_DIR)
    } else {
        format!("s3://{bucket}/{prefix}/{}", crate::partition::JSON_DIR)
    };
    let mut columns = vec![
        "  `Time` double".to_string(),
        "  `DeviceID` string".to_string(),
    ];
    columns.extend(MEASURES.iter().map(|m| format!("  `{m}_measure` double")));
    columns.extend(DIMENSIONS.iter().map(|d| format!("  `{d}` string")));
    format!(
        "CREATE EXTERNAL TABLE IF NOT EXISTS `{table}` (
{}
)
PARTITIONED BY (`year` string, `month` string, `day` string, `hour` string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
WITH SERDEPROPERTIES ('ignore.malformed.json' = 'true')
LOCATION '{base}/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.year.type' = 'integer',
  'projection.year.range' = '2020,2099',
  'projection.month.type' = 'integer',
  'projection.month.range' = '1,12',
  'projection.month.digits' = '2',
  'projection.day.type' = 'integer',
  'projection.day.range' = '1,31',
  'projection.day.digits' = '2',
  'projection.hour.type' = 'integer',
  'projection.hour.range' = '0,23',
  'projection.hour.digits' = '2',
  'storage.location.template' = '{base}/year=${{year}}/month=${{month}}/day=${{day}}/hour=${{hour}}/'
);
",
        columns.join(",\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddl_projects_the_firehose_partitions() {
        let d = ddl("my-lake", "/telemetry/", "readings");
        assert!(
            d.contains("LOCATION 's3://my-lake/telemetry/readings/json/'"),
            "{d}"
        );
        assert!(d.contains(
            "'storage.location.template' = 's3://my-lake/telemetry/readings/json/year=${year}/month=${month}/day=${day}/hour=${hour}/'"
        ));
        assert!(d.contains("`voltage_measure` double"));
        assert!(d.contains("`Region` string"));
        assert!(d.contains("PARTITIONED BY (`year` string"));
    }
}
