//! The connection to one InfluxDB database: credentials, ping, query (every
//! chunk read), write (retried on throttling and server errors).

use std::fmt;
use std::time::Duration;

use gridwatch_types::InfluxConnection;
use tokio::sync::watch;

use super::{Answer, InfluxError, parse_answer};
use crate::aws::AwsOptions;

/// How the client proves who it is. Never written anywhere; its Debug
/// form says which kind it is and nothing more.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum Auth {
    #[default]
    None,
    /// `Authorization: Token …` (InfluxDB 2.x and 3.x, also 1.x with JWT).
    Token(String),
    /// HTTP basic (InfluxDB 1.x users; 2.x's v1 authorizations).
    Basic { user: String, password: String },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("no credentials"),
            Auth::Token(_) => f.write_str("a token"),
            Auth::Basic { user, .. } => write!(f, "user {user:?} and a password"),
        }
    }
}

impl Auth {
    /// `INFLUX_TOKEN`, else `INFLUX_USERNAME` and `INFLUX_PASSWORD`, else
    /// none.
    pub fn from_env() -> Auth {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if let Some(token) = var("INFLUX_TOKEN") {
            return Auth::Token(token);
        }
        match (var("INFLUX_USERNAME"), var("INFLUX_PASSWORD")) {
            (Some(user), Some(password)) => Auth::Basic { user, password },
            _ => Auth::None,
        }
    }

    /// The credentials kept in an AWS Secrets Manager secret (as Timestream
    /// for InfluxDB keeps an instance's): a JSON object with `username`
    /// and `password`, or with `token`.
    pub async fn from_secret(aws: &AwsOptions, secret: &str) -> Result<Auth, InfluxError> {
        let config = aws.load().await;
        let client = aws_sdk_secretsmanager::Client::new(&config);
        let answer = client
            .get_secret_value()
            .secret_id(secret)
            .send()
            .await
            .map_err(|e| {
                InfluxError::Credentials(format!(
                    "secret {secret:?} from AWS Secrets Manager with {}: {}",
                    aws.describe(),
                    crate::aws::describe_sdk_error(&e)
                ))
            })?;
        let text = answer
            .secret_string()
            .ok_or_else(|| InfluxError::Credentials(format!("secret {secret:?} holds no text")))?;
        let fields: serde_json::Value = serde_json::from_str(text).map_err(|_| {
            InfluxError::Credentials(format!(
                "secret {secret:?} is not a JSON object with username and password, or token"
            ))
        })?;
        let field = |k: &str| fields.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        match (field("token"), field("username"), field("password")) {
            (Some(token), _, _) => Ok(Auth::Token(token)),
            (None, Some(user), Some(password)) => Ok(Auth::Basic { user, password }),
            _ => Err(InfluxError::Credentials(format!(
                "secret {secret:?} has neither a token nor a username and password"
            ))),
        }
    }

    /// The connection's credentials: its secret when it names one, the
    /// environment's otherwise.
    pub async fn of(connection: &InfluxConnection) -> Result<Auth, InfluxError> {
        match connection.credentials.as_deref().map(str::trim) {
            Some(secret) if !secret.is_empty() => {
                let aws = AwsOptions::from_form(
                    &connection.profile,
                    &connection.region,
                    &connection.endpoint_url,
                );
                Auth::from_secret(&aws, secret).await
            }
            _ => Ok(Auth::from_env()),
        }
    }
}

/// Rows a chunk of a chunked answer holds at most.
const CHUNK_ROWS: usize = 10_000;
/// Tries of a write before the run stops, throttling and server errors
/// waited out with a backoff from 100 ms doubling to 6.4 s.
pub const WRITE_ATTEMPTS: u32 = 8;

/// One InfluxDB database over the v1 HTTP API.
#[derive(Debug, Clone)]
pub struct InfluxClient {
    http: reqwest::Client,
    url: String,
    database: String,
    auth: Auth,
}

/// What a write came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// Every point was taken.
    All,
    /// The server refused some or all points (`400`: a line it cannot
    /// parse, a field of another type than before): its message.
    Refused(String),
}

impl InfluxClient {
    pub fn new(url: &str, database: &str, auth: Auth) -> Result<InfluxClient, InfluxError> {
        let url = url.trim().trim_end_matches('/');
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(InfluxError::Invalid(format!(
                "the InfluxDB URL {url:?} must start with http:// or https://"
            )));
        }
        if database.trim().is_empty() {
            return Err(InfluxError::Invalid("name the InfluxDB database".into()));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| InfluxError::Invalid(format!("the HTTP client: {e}")))?;
        Ok(InfluxClient {
            http,
            url: url.to_owned(),
            database: database.trim().to_owned(),
            auth,
        })
    }

    /// A client for `connection`, its credentials resolved.
    pub async fn connect(connection: &InfluxConnection) -> Result<InfluxClient, InfluxError> {
        let auth = Auth::of(connection).await?;
        InfluxClient::new(&connection.url, &connection.database, auth)
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn database(&self) -> &str {
        &self.database
    }

    fn authorised(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.auth {
            Auth::None => req,
            Auth::Token(t) => req.header("Authorization", format!("Token {t}")),
            Auth::Basic { user, password } => req.basic_auth(user, Some(password)),
        }
    }

    fn unreachable(&self, e: &reqwest::Error) -> InfluxError {
        // The error's chain says why (refused, timed out, DNS).
        let mut reason = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            reason = format!("{reason}: {s}");
            source = s.source();
        }
        InfluxError::Unreachable {
            url: self.url.clone(),
            reason,
        }
    }

    /// The server's version (`/ping` answers 204 with it in a header).
    pub async fn ping(&self) -> Result<String, InfluxError> {
        let resp = self
            .authorised(self.http.get(format!("{}/ping", self.url)))
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        let status = resp.status().as_u16();
        let version = resp
            .headers()
            .get("X-Influxdb-Version")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("unknown")
            .to_owned();
        match status {
            200..=299 => Ok(version),
            401 | 403 => Err(InfluxError::Unauthorized { status }),
            _ => Err(InfluxError::Server {
                status,
                body: resp.text().await.unwrap_or_default(),
            }),
        }
    }

    /// Runs InfluxQL (times as epoch milliseconds), every chunk read. A
    /// change on `cancelled` stops it.
    pub async fn query(
        &self,
        q: &str,
        cancelled: &watch::Receiver<bool>,
    ) -> Result<Answer, InfluxError> {
        let chunk = CHUNK_ROWS.to_string();
        let request = self
            .authorised(self.http.post(format!("{}/query", self.url)))
            .form(&[
                ("db", self.database.as_str()),
                ("q", q),
                ("epoch", "ms"),
                ("chunked", "true"),
                ("chunk_size", chunk.as_str()),
            ]);
        let mut cancelled = cancelled.clone();
        let run = async {
            let resp = request.send().await.map_err(|e| self.unreachable(&e))?;
            let status = resp.status().as_u16();
            // A server that closes mid-answer leaves a body cut short: the
            // parser says so.
            let body = resp.bytes().await.map_err(|e| self.unreachable(&e))?;
            match status {
                200 => parse_answer(&body),
                401 | 403 => Err(InfluxError::Unauthorized { status }),
                400 => Err(match parse_answer(&body) {
                    Err(e) => e,
                    Ok(_) => InfluxError::Query(String::from_utf8_lossy(&body).into_owned()),
                }),
                _ => Err(InfluxError::Server {
                    status,
                    body: String::from_utf8_lossy(&body).chars().take(500).collect(),
                }),
            }
        };
        if *cancelled.borrow() {
            return Err(InfluxError::Cancelled);
        }
        let stop = async {
            // A sender gone without a word is no cancel: wait forever.
            if cancelled.wait_for(|c| *c).await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            answer = run => answer,
            () = stop => Err(InfluxError::Cancelled),
        }
    }

    /// Writes line protocol (times in milliseconds), once: the caller
    /// decides about retries ([`InfluxError::is_transient`]).
    pub async fn write_once(&self, lines: &str) -> Result<Written, InfluxError> {
        let resp = self
            .authorised(self.http.post(format!("{}/write", self.url)))
            .query(&[("db", self.database.as_str()), ("precision", "ms")])
            .body(lines.to_owned())
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        let message = || {
            serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
                .unwrap_or_else(|| body.clone())
        };
        match status {
            200..=299 => Ok(Written::All),
            400 => Ok(Written::Refused(message())),
            401 | 403 => Err(InfluxError::Unauthorized { status }),
            404 if message().starts_with("database not found") => {
                Err(InfluxError::DatabaseNotFound(self.database.clone()))
            }
            _ => Err(InfluxError::Server {
                status,
                body: message().chars().take(500).collect(),
            }),
        }
    }

    /// [`InfluxClient::write_once`], throttling, server errors and lost
    /// connections retried with backoff; returns what it came to and the
    /// retries it took.
    pub async fn write(&self, lines: &str) -> Result<(Written, u32), InfluxError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.write_once(lines).await {
                Err(e) if e.is_transient() && attempt < WRITE_ATTEMPTS => {
                    let wait = Duration::from_millis(100 * 2u64.pow(attempt.min(6)));
                    tracing::warn!(attempt, ?wait, error = %e, "InfluxDB write failed; retrying");
                    tokio::time::sleep(wait).await;
                }
                other => return other.map(|w| (w, attempt - 1)),
            }
        }
    }
}
