//! The connection test: one cheap, read-only call per service that says
//! whether the operator's settings reach what they name, and if not, why
//! (no credentials, access denied, not found, unreachable).

use crate::aws::{AwsOptions, AwsProblem, check_credentials, classify};

/// What a probe found, or why it failed.
pub type ProbeResult = Result<String, (AwsProblem, String)>;

/// The SDK configuration for `options`, with its credentials resolved
/// first, so a missing profile reads as such rather than as a network
/// error. Every probe starts here.
pub async fn sdk_config(
    options: &AwsOptions,
) -> Result<aws_config::SdkConfig, (AwsProblem, String)> {
    let conf = options.load().await;
    check_credentials(&conf).await.map_err(|e| {
        (
            AwsProblem::NoCredentials,
            format!("no AWS credentials ({}): {e}", options.describe()),
        )
    })?;
    Ok(conf)
}

/// DescribeStreamSummary: the stream's status and open shards.
pub async fn kinesis(options: &AwsOptions, stream: &str) -> ProbeResult {
    let conf = sdk_config(options).await?;
    let client = aws_sdk_kinesis::Client::new(&conf);
    let out = client
        .describe_stream_summary()
        .stream_name(stream)
        .send()
        .await
        .map_err(|e| classify(&e))?;
    let summary = out.stream_description_summary();
    Ok(match summary {
        Some(s) => format!(
            "stream {stream}: {}, {} open shards",
            s.stream_status().as_str(),
            s.open_shard_count()
        ),
        None => format!("stream {stream} found"),
    })
}

/// DescribeTable (metadata only, nothing scanned or billed per byte).
pub async fn timestream(options: &AwsOptions, database: &str, table: &str) -> ProbeResult {
    // The write client resolves the same credentials; check them first.
    sdk_config(options).await?;
    let client = crate::bridge::write_client(options)
        .await
        .map_err(|e| (AwsProblem::Unreachable, e.to_string()))?;
    let out = client
        .describe_table()
        .database_name(database)
        .table_name(table)
        .send()
        .await
        .map_err(|e| classify(&e))?;
    let status = out
        .table()
        .and_then(|t| t.table_status())
        .map_or("found".to_string(), |s| s.as_str().to_lowercase());
    Ok(format!("table {database}.{table}: {status}"))
}
