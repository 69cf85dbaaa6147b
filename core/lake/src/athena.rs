//! Athena, for lakes that have outgrown one machine: the seed's table over
//! the same extracts (a JSON SerDe table partitioned like Firehose writes,
//! with partition projection so no crawler or MSCK REPAIR is needed), and
//! the strategic views run there.
//!
//! - [`sql`]: the views, and the range's partitions, as Athena SQL.
//! - [`client`]: a query run: started, polled, stopped on cancel, its
//!   answer read page by page into a frame typed by Athena's metadata.
//! - [`estimate`]: what a query will scan, from the partitions' objects.
//! - [`setup`]: the Glue database and table, made or checked.
//! - [`view`]: a strategic view on Athena, end to end, cached.

pub mod client;
pub mod estimate;
pub mod setup;
pub mod sql;
pub mod view;

/// What went wrong on Athena's side, in words an operator acts on.
#[derive(Debug, thiserror::Error)]
pub enum AthenaError {
    /// A call to Athena, Glue or S3 failed (after retries, for throttling
    /// and the services' own faults).
    #[error("{call}: {message}")]
    Call {
        call: &'static str,
        problem: gridwatch_core::aws::AwsProblem,
        message: String,
    },
    /// Athena ran the query and it failed: Athena's own reason.
    #[error("the query failed in Athena ({id}): {reason}")]
    Failed { id: String, reason: String },
    /// Someone else (the console, a workgroup limit) cancelled the query.
    #[error("the query was cancelled in Athena ({id}): {reason}")]
    CancelledInAthena { id: String, reason: String },
    /// Stopped on request: StopQueryExecution was sent.
    #[error("stopped before the end: query {id} was stopped in Athena")]
    Stopped { id: String },
    /// The answer did not read as its metadata said.
    #[error("Athena's answer: {0}")]
    Answer(String),
    /// Not run: the estimate is over the limit.
    #[error(
        "not run: the query would scan {} (about ${:.2}), over the limit of {} \
         (--max-scan-bytes)",
        estimate::bytes_text(*estimate_bytes), cost_usd, estimate::bytes_text(*limit_bytes)
    )]
    OverScanLimit {
        estimate_bytes: u64,
        cost_usd: f64,
        limit_bytes: u64,
    },
    /// The Glue table is not where a lake's extracts could be found.
    #[error("table {table}: {reason}")]
    Table { table: String, reason: String },
    /// The workgroup cannot run the queries (disabled, nowhere to write).
    #[error("workgroup {name}: {reason}")]
    Workgroup { name: String, reason: String },
    #[error(transparent)]
    Lake(#[from] crate::LakeError),
}

impl AthenaError {
    /// A failed SDK call, sorted and worded.
    pub(crate) fn call<E>(
        call: &'static str,
    ) -> impl Fn(aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> AthenaError
    where
        E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        move |e| {
            use gridwatch_core::aws::AwsProblem;
            let (problem, message) = gridwatch_core::aws::classify(&e);
            // The SDK's chain ends in a dump of its error types: for the
            // problems a person fixes (credentials, the network), the
            // problem and the chain's words are enough.
            let message = match problem {
                AwsProblem::NoCredentials | AwsProblem::Unreachable => {
                    format!("{}: {}", problem.describe(), without_dump(&message))
                }
                _ => message,
            };
            AthenaError::Call {
                call,
                problem,
                message,
            }
        }
    }

    /// Athena could not be reached at all: the one case a cached answer
    /// may stand in for.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            AthenaError::Call {
                problem: gridwatch_core::aws::AwsProblem::Unreachable,
                ..
            }
        )
    }
}

/// An SDK error chain's words, without the dump of its error types that
/// ends it (` (DispatchFailure(DispatchFailure { …`).
fn without_dump(chain: &str) -> &str {
    let mut from = 0;
    while let Some(at) = chain[from..].find(" (") {
        let start = from + at;
        let rest = &chain[start + 2..];
        let name = rest
            .find(|c: char| !c.is_ascii_alphanumeric())
            .map_or(rest, |end| &rest[..end]);
        let dump = name.starts_with(|c: char| c.is_ascii_uppercase())
            && rest[name.len()..].starts_with(['(', ' ', '{']);
        if dump {
            return chain[..start].trim_end_matches('.');
        }
        from = start + 2;
    }
    chain
}

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
pub const DIMENSIONS: [&str; 5] = [
    "DeviceType",
    "Region",
    "Feeder",
    "Substation",
    "Transformer",
];

/// The table the views run on: its name, and the dimensions and measures
/// it has (the seed's, unless Glue said otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRef {
    pub database: String,
    pub table: String,
    /// Dimension columns, as records name them (`Region`).
    pub dimensions: Vec<String>,
    /// Measures, without the `_measure` suffix (`voltage`).
    pub measures: Vec<String>,
}

impl TableRef {
    /// The seed's table `database.table`.
    pub fn seed(database: &str, table: &str) -> TableRef {
        TableRef {
            database: database.to_string(),
            table: table.to_string(),
            dimensions: DIMENSIONS.map(String::from).to_vec(),
            measures: MEASURES.map(String::from).to_vec(),
        }
    }

    /// `"database"."table"`.
    pub fn qualified(&self) -> String {
        format!("{}.{}", sql::ident(&self.database), sql::ident(&self.table))
    }

    pub fn has_dimension(&self, name: &str) -> bool {
        self.dimensions.iter().any(|d| d.eq_ignore_ascii_case(name))
    }

    pub fn has_measure(&self, name: &str) -> bool {
        self.measures.iter().any(|m| m.eq_ignore_ascii_case(name))
    }

    /// The keys a view may group by, for an error.
    pub fn known_keys(&self) -> String {
        let mut known = vec![crate::table::DEVICE.to_string()];
        known.extend(self.dimensions.iter().cloned());
        known.extend(
            [
                crate::table::HOUR,
                crate::table::DAY,
                crate::table::WEEK,
                crate::table::MONTH,
            ]
            .map(String::from),
        );
        known.join(", ")
    }
}

/// The seed's table over the extracts under `s3://bucket/prefix`: one
/// definition, from which both the DDL (`lake athena-ddl`) and the Glue
/// table (`lake athena-setup`) are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDefinition {
    pub table: String,
    /// `s3://bucket/prefix/readings/json/`.
    pub location: String,
    /// (name as records spell it, Hive type).
    pub columns: Vec<(String, &'static str)>,
    pub partition_keys: [&'static str; 4],
    pub serde: &'static str,
    pub serde_parameters: Vec<(&'static str, &'static str)>,
    pub input_format: &'static str,
    pub output_format: &'static str,
    /// Partition projection: no crawler, no MSCK REPAIR.
    pub parameters: Vec<(String, String)>,
}

impl TableDefinition {
    pub fn seed(bucket: &str, prefix: &str, table: &str) -> TableDefinition {
        let prefix = prefix.trim_matches('/');
        let base = if prefix.is_empty() {
            format!("s3://{bucket}/{}", crate::partition::JSON_DIR)
        } else {
            format!("s3://{bucket}/{prefix}/{}", crate::partition::JSON_DIR)
        };
        let mut columns = vec![
            ("Time".to_string(), "double"),
            ("DeviceID".to_string(), "string"),
        ];
        columns.extend(MEASURES.iter().map(|m| (format!("{m}_measure"), "double")));
        columns.extend(DIMENSIONS.iter().map(|d| (d.to_string(), "string")));
        let mut parameters: Vec<(String, String)> =
            vec![("projection.enabled".into(), "true".into())];
        for (key, range, digits) in [
            ("year", "2020,2099", None),
            ("month", "1,12", Some("2")),
            ("day", "1,31", Some("2")),
            ("hour", "0,23", Some("2")),
        ] {
            parameters.push((format!("projection.{key}.type"), "integer".into()));
            parameters.push((format!("projection.{key}.range"), range.into()));
            if let Some(d) = digits {
                parameters.push((format!("projection.{key}.digits"), d.into()));
            }
        }
        parameters.push((
            "storage.location.template".into(),
            format!("{base}/year=${{year}}/month=${{month}}/day=${{day}}/hour=${{hour}}/"),
        ));
        TableDefinition {
            table: table.to_string(),
            location: format!("{base}/"),
            columns,
            partition_keys: ["year", "month", "day", "hour"],
            serde: "org.openx.data.jsonserde.JsonSerDe",
            serde_parameters: vec![("ignore.malformed.json", "true")],
            input_format: "org.apache.hadoop.mapred.TextInputFormat",
            output_format: "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            parameters,
        }
    }

    /// `CREATE EXTERNAL TABLE` for Athena's console or CLI.
    pub fn ddl(&self) -> String {
        let columns: Vec<String> = self
            .columns
            .iter()
            .map(|(n, t)| format!("  `{n}` {t}"))
            .collect();
        let keys: Vec<String> = self
            .partition_keys
            .iter()
            .map(|k| format!("`{k}` string"))
            .collect();
        let serde: Vec<String> = self
            .serde_parameters
            .iter()
            .map(|(k, v)| format!("'{k}' = '{v}'"))
            .collect();
        let properties: Vec<String> = self
            .parameters
            .iter()
            .map(|(k, v)| format!("  '{k}' = '{v}'"))
            .collect();
        format!(
            "CREATE EXTERNAL TABLE IF NOT EXISTS `{}` (\n{}\n)\nPARTITIONED BY ({})\n\
             ROW FORMAT SERDE '{}'\nWITH SERDEPROPERTIES ({})\nLOCATION '{}'\n\
             TBLPROPERTIES (\n{}\n);\n",
            self.table,
            columns.join(",\n"),
            keys.join(", "),
            self.serde,
            serde.join(", "),
            self.location,
            properties.join(",\n")
        )
    }
}

/// `CREATE EXTERNAL TABLE` for the extracts under `s3://bucket/prefix`.
pub fn ddl(bucket: &str, prefix: &str, table: &str) -> String {
    TableDefinition::seed(bucket, prefix, table).ddl()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_dumps_are_cut_from_messages() {
        assert_eq!(
            without_dump(
                "dispatch failure: io error: tcp connect error: Connection refused (os error 111) \
                 (DispatchFailure(DispatchFailure { source: ConnectorError { kind: Io } }))"
            ),
            "dispatch failure: io error: tcp connect error: Connection refused (os error 111)"
        );
        assert_eq!(
            without_dump("insufficient permissions. (ProviderError(ProviderError { x }))"),
            "insufficient permissions"
        );
        assert_eq!(
            without_dump("plain words (with a note)"),
            "plain words (with a note)"
        );
    }

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
