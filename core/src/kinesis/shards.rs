//! The stream's shape: its shards through every ListShards page, each
//! shard's hash-key range, and the identity its checkpoints are filed under.

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::config::http::HttpResponse;
use aws_sdk_kinesis::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kinesis::primitives::DateTimeFormat;

use super::KinesisError;
use super::retry::{Failure, classify};
use crate::aws::describe_sdk_error;

/// All shards of the stream, through every ListShards page.
pub async fn list_shards(
    client: &Client,
    stream: &str,
) -> Result<Vec<ShardInfoPublic>, KinesisError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        // With a NextToken, ListShards refuses the stream name.
        let req = match &token {
            Some(t) => client.list_shards().next_token(t),
            None => client.list_shards().stream_name(stream),
        };
        let page = req.send().await.map_err(|e| list_error(stream, &e))?;
        for s in page.shards() {
            let range = s.hash_key_range();
            out.push(ShardInfoPublic {
                shard_id: s.shard_id().to_owned(),
                parent: s.parent_shard_id().map(str::to_owned),
                adjacent_parent: s.adjacent_parent_shard_id().map(str::to_owned),
                starting_hash_key: range.map(|r| r.starting_hash_key().to_owned()),
                ending_hash_key: range.map(|r| r.ending_hash_key().to_owned()),
                closed: s
                    .sequence_number_range()
                    .and_then(|r| r.ending_sequence_number())
                    .is_some(),
            });
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(out),
        }
    }
}

/// A shard as ListShards describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardInfoPublic {
    pub shard_id: String,
    pub parent: Option<String>,
    pub adjacent_parent: Option<String>,
    pub starting_hash_key: Option<String>,
    pub ending_hash_key: Option<String>,
    pub closed: bool,
}

impl ShardInfoPublic {
    /// Whether this shard's hash-key range holds `key`.
    pub fn holds(&self, key: u128) -> bool {
        let parse = |s: &Option<String>| s.as_deref().and_then(|v| v.parse::<u128>().ok());
        match (parse(&self.starting_hash_key), parse(&self.ending_hash_key)) {
            (Some(a), Some(b)) => a <= key && key <= b,
            _ => false,
        }
    }
}

fn list_error<E>(stream: &str, e: &SdkError<E, HttpResponse>) -> KinesisError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match classify(stream, e) {
        Failure::Fatal(e) => e,
        Failure::Throttled | Failure::Expired | Failure::Retry(_) => {
            KinesisError::Refused(describe_sdk_error(e))
        }
    }
}

/// Who a stream is, for filing its checkpoints: its ARN (account, region,
/// name) and creation time, since a stream deleted and made again under the
/// same name is another stream whose sequence numbers mean nothing to the
/// old checkpoints; and `endpoint`, the endpoint URL when one is given,
/// since two emulators (or a VPC endpoint and an emulator) can share an ARN.
pub async fn stream_identity(
    client: &Client,
    stream: &str,
    endpoint: Option<&str>,
) -> Result<String, KinesisError> {
    let out = client
        .describe_stream_summary()
        .stream_name(stream)
        .send()
        .await
        .map_err(|e| list_error(stream, &e))?;
    let Some(summary) = out.stream_description_summary() else {
        return Err(KinesisError::Invalid(format!(
            "DescribeStreamSummary said nothing of stream {stream:?}"
        )));
    };
    let created = summary
        .stream_creation_timestamp()
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_else(|_| summary.stream_creation_timestamp().secs().to_string());
    let mut identity = format!("{}@{created}", summary.stream_arn());
    if let Some(endpoint) = endpoint {
        identity.push_str(" via ");
        identity.push_str(endpoint);
    }
    Ok(identity)
}
