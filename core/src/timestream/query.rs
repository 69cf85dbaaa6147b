//! Running one query on the server: every page, each retried with its own
//! idempotency token, the bytes metered held to a cap, and CancelQuery sent
//! when the caller cancels or the cap is passed.

use aws_sdk_timestreamquery::Client;

use super::{Column, TimestreamError, Value, cell, columns};
use crate::aws::{AwsProblem, Backoff};

/// What a finished query cost and returned.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct QueryStats {
    pub pages: u64,
    pub rows: u64,
    pub bytes_scanned: i64,
    pub bytes_metered: i64,
}

/// Waits until `cancelled` turns true; forever if it never can.
async fn cancel_requested(cancelled: &mut tokio::sync::watch::Receiver<bool>) {
    if cancelled.wait_for(|c| *c).await.is_err() {
        // The sender is gone: nobody can cancel any more.
        std::future::pending::<()>().await;
    }
}

/// Asks Timestream to stop running (and metering) a query. Best effort:
/// the caller's error says what happened either way, and the log says if
/// the query may still run.
async fn cancel_query(client: &Client, query_id: &str) {
    let sent = crate::aws::retry("Timestream CancelQuery", &Backoff::default(), || {
        client.cancel_query().query_id(query_id).send()
    })
    .await;
    match sent {
        Ok(_) => tracing::info!(query_id, "cancelled the query on the server"),
        Err(e) => tracing::warn!(
            query_id,
            error = %crate::aws::classify(&e).1,
            "CancelQuery failed: the query may run (and meter) to its end"
        ),
    }
}

/// A fresh ClientToken (32 hex digits, Timestream's shortest).
fn client_token() -> String {
    format!(
        "{:016x}{:016x}",
        crate::aws::random_u64(),
        crate::aws::random_u64()
    )
}

/// Runs `sql` to the last page, calling `on_page` with each page's rows as
/// it arrives. Each page is retried on throttling and transient failures
/// ([`crate::aws::retry`]). Stops, and cancels the query on the server with
/// CancelQuery, when the bytes metered pass `max_bytes` or when `cancelled`
/// turns true: at once when the query's id is known (it comes with the
/// first page), else as soon as the first page brings it.
pub async fn run_query(
    client: &Client,
    sql: &str,
    max_bytes: Option<i64>,
    cancelled: &tokio::sync::watch::Receiver<bool>,
    mut on_page: impl FnMut(&[Column], Vec<Vec<Value>>),
) -> Result<QueryStats, TimestreamError> {
    enum Step<T> {
        Page(T),
        Cancel,
    }
    let mut cancelled = cancelled.clone();
    let backoff = Backoff::default();
    let mut stats = QueryStats::default();
    let mut token: Option<String> = None;
    let mut cols: Vec<Column> = Vec::new();
    let mut query_id: Option<String> = None;
    loop {
        if *cancelled.borrow() {
            if let Some(id) = &query_id {
                cancel_query(client, id).await;
            }
            return Err(TimestreamError::Cancelled);
        }
        let out = {
            // One token for every try of a page: Timestream answers a
            // repeated ClientToken from the query it already ran instead
            // of running (and metering) it again.
            let idempotency = client_token();
            let page = crate::aws::retry("Timestream Query", &backoff, || {
                client
                    .query()
                    .query_string(sql)
                    .set_next_token(token.clone())
                    .client_token(&idempotency)
                    .send()
            });
            let mut page = std::pin::pin!(page);
            let step = tokio::select! {
                out = &mut page => Step::Page(out),
                () = cancel_requested(&mut cancelled) => Step::Cancel,
            };
            match step {
                Step::Page(out) => out.map_err(|e| TimestreamError::from_sdk(&e))?,
                Step::Cancel => {
                    let id = match query_id {
                        Some(id) => Some(id),
                        // The id comes with the first page: wait for it,
                        // or the query cannot be cancelled at all.
                        None => {
                            tracing::info!(
                                "cancelled before the first page: waiting for the query's id to cancel it"
                            );
                            page.await.ok().map(|o| o.query_id().to_owned())
                        }
                    };
                    if let Some(id) = id {
                        cancel_query(client, &id).await;
                    }
                    return Err(TimestreamError::Cancelled);
                }
            }
        };
        if query_id.is_none() {
            query_id = Some(out.query_id().to_owned());
        }
        stats.pages += 1;
        if cols.is_empty() {
            cols = columns(out.column_info());
        }
        if let Some(status) = out.query_status() {
            stats.bytes_scanned = status.cumulative_bytes_scanned();
            stats.bytes_metered = status.cumulative_bytes_metered();
        }
        let rows: Vec<Vec<Value>> = out
            .rows()
            .iter()
            .map(|row| {
                cols.iter()
                    .zip(row.data())
                    .map(|(c, d)| cell(&c.kind, d))
                    .collect()
            })
            .collect();
        stats.rows += rows.len() as u64;
        on_page(&cols, rows);
        if let Some(cap) = max_bytes
            && stats.bytes_metered > cap
        {
            cancel_query(client, out.query_id()).await;
            return Err(TimestreamError::OverCap {
                metered: stats.bytes_metered,
                cap,
            });
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(stats),
        }
    }
}

/// A Timestream query client: with endpoint discovery against AWS, without
/// it against an endpoint URL (discovery would answer with AWS's own host).
/// Credentials are resolved first, so a missing profile reads as "no
/// credentials" rather than as a failed endpoint discovery.
pub async fn query_client(options: &crate::aws::AwsOptions) -> Result<Client, TimestreamError> {
    let conf = crate::probe::sdk_config(options)
        .await
        .map_err(|(problem, message)| TimestreamError::Aws { problem, message })?;
    if options.endpoint_url.is_some() {
        return Ok(Client::new(&conf));
    }
    let (client, reloader) = Client::new(&conf)
        .with_endpoint_discovery_enabled()
        .await
        .map_err(|e| {
            type Discovery = aws_sdk_timestreamquery::error::SdkError<
                aws_sdk_timestreamquery::operation::describe_endpoints::DescribeEndpointsError,
                aws_sdk_timestreamquery::config::http::HttpResponse,
            >;
            match e.downcast_ref::<Discovery>() {
                Some(sdk) => TimestreamError::from_sdk(sdk),
                None => TimestreamError::aws(
                    AwsProblem::Unreachable,
                    format!(
                        "cannot reach Timestream to find its endpoint (network or region?): {}",
                        aws_sdk_kinesis::error::DisplayErrorContext(&*e)
                    ),
                ),
            }
        })?;
    tokio::spawn(reloader.reload_task());
    Ok(client)
}
