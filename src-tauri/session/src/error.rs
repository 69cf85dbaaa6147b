//! Every library error the session meets, and the one place each is given
//! the [`ErrorCode`] the UI acts on.
//!
//! The session's operations return [`Error`]; [`crate::Session::dispatch`]
//! turns it into an [`ApiError`] once, at the IPC boundary. (A direct
//! `From<CacheError> for ApiError` cannot be written here: both types are
//! foreign to this crate, so each library error enters through a variant.)

use gridwatch_core::CacheError;
use gridwatch_core::aws::AwsProblem;
use gridwatch_core::grafana::GrafanaError;
use gridwatch_core::influx::InfluxError;
use gridwatch_core::kinesis::KinesisError;
use gridwatch_core::timestream::TimestreamError;
use gridwatch_lake::LakeError;
use gridwatch_lake::athena::AthenaError;
use gridwatch_simulator::EngineError;
use gridwatch_simulator::SinkError;
use gridwatch_types::{ApiError, ErrorCode, FleetSpecError};

use crate::report::ReportError;
use crate::settings::SettingsError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request was malformed or out of range; the message says how.
    #[error("{0}")]
    Invalid(String),
    /// What the request names is not there (a lake, a stream).
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Fleet(#[from] FleetSpecError),
    #[error(transparent)]
    Cache(Box<CacheError>),
    #[error(transparent)]
    Engine(Box<EngineError>),
    /// A fleet's sink could not start (a Kinesis stream it writes to).
    #[error("{error} (using {using})")]
    Sink {
        error: Box<SinkError>,
        using: String,
    },
    #[error("{error} (using {using})")]
    Kinesis {
        error: Box<KinesisError>,
        using: String,
    },
    #[error("{error} (using {using})")]
    Timestream {
        error: Box<TimestreamError>,
        using: String,
    },
    /// A Connections window test that found a problem.
    #[error("{service}: {message}")]
    Probe {
        service: &'static str,
        problem: AwsProblem,
        message: String,
    },
    #[error(transparent)]
    Lake(Box<LakeError>),
    #[error(transparent)]
    Athena(Box<AthenaError>),
    #[error(transparent)]
    Grafana(Box<GrafanaError>),
    #[error(transparent)]
    Influx(Box<InfluxError>),

    #[error(transparent)]
    Report(Box<ReportError>),
    #[error(transparent)]
    Settings(Box<SettingsError>),
    /// The desktop could not do what was asked (a notification).
    #[error("{0}")]
    Desktop(String),
    #[error("a background task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The larger library errors are boxed, so a `Result` stays small on the
/// paths that succeed.
macro_rules! boxed_from {
    ($($variant:ident($error:ty)),* $(,)?) => {
        $(impl From<$error> for Error {
            fn from(e: $error) -> Error {
                Error::$variant(Box::new(e))
            }
        })*
    };
}

boxed_from!(
    Cache(CacheError),
    Engine(EngineError),
    Lake(LakeError),
    Athena(AthenaError),
    Grafana(GrafanaError),
    Influx(InfluxError),
    Report(ReportError),
    Settings(SettingsError),
);

impl Error {
    /// The code the UI words this error by.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Invalid(_) | Error::Fleet(_) => ErrorCode::InvalidInput,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::Cache(_) => ErrorCode::Cache,
            Error::Engine(e) => match **e {
                EngineError::Cache(_) => ErrorCode::Cache,
                EngineError::FleetRunning => ErrorCode::FleetRunning,
                _ => ErrorCode::Internal,
            },
            Error::Sink { .. } => ErrorCode::Aws,
            Error::Kinesis { error, .. } => match **error {
                KinesisError::StreamNotFound { .. } => ErrorCode::NotFound,
                KinesisError::AccessDenied { .. } => ErrorCode::AccessDenied,
                _ => ErrorCode::Aws,
            },
            Error::Timestream { error, .. } => match &**error {
                TimestreamError::Cancelled => ErrorCode::Cancelled,
                TimestreamError::OverCap { .. } => ErrorCode::InvalidInput,
                TimestreamError::Aws { problem, .. } => problem_code(*problem),
                TimestreamError::Parse(_) => ErrorCode::Aws,
            },
            Error::Probe { problem, .. } => problem_code(*problem),
            Error::Lake(e) => lake_code(e),
            Error::Athena(e) => match &**e {
                AthenaError::Call { problem, .. } => problem_code(*problem),
                AthenaError::Stopped { .. } => ErrorCode::Cancelled,
                AthenaError::Lake(l) => lake_code(l),
                AthenaError::Table { .. } => ErrorCode::NotFound,
                AthenaError::Workgroup { .. } => ErrorCode::InvalidInput,
                AthenaError::OverScanLimit { .. } => ErrorCode::InvalidInput,
                AthenaError::Failed { .. }
                | AthenaError::CancelledInAthena { .. }
                | AthenaError::Answer(_) => ErrorCode::Aws,
            },
            // What is not there is NotFound; the rest is the request's (a
            // file that is no dashboard, a value that cannot be written
            // safely).
            Error::Grafana(e) => match **e {
                GrafanaError::NotFound(_) => ErrorCode::NotFound,
                _ => ErrorCode::InvalidInput,
            },
            Error::Report(e) => match &**e {
                ReportError::Lake { source, .. } | ReportError::Figures(source) => {
                    lake_code(source)
                }
                _ => ErrorCode::Internal,
            },
            Error::Settings(e) => match **e {
                SettingsError::Invalid { .. } => ErrorCode::InvalidInput,
                _ => ErrorCode::Internal,
            },
            Error::Influx(e) => match &**e {
                InfluxError::Unreachable { .. } => ErrorCode::Unreachable,
                InfluxError::Unauthorized { .. } => ErrorCode::AccessDenied,
                InfluxError::DatabaseNotFound(_) => ErrorCode::NotFound,
                InfluxError::Cancelled => ErrorCode::Cancelled,
                InfluxError::Query(_) | InfluxError::Invalid(_) => ErrorCode::InvalidInput,
                InfluxError::Credentials(_) => ErrorCode::NoCredentials,
                InfluxError::Server { .. } | InfluxError::Malformed(_) => ErrorCode::Internal,
            },
            Error::Desktop(_) | Error::Task(_) => ErrorCode::Internal,
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        ApiError::new(e.code(), e.to_string())
    }
}

/// A lake that cannot answer is, to the operator, a question to change
/// (a range, a dimension, a folder with extracts in it); a failed write or
/// check is the app's trouble.
fn lake_code(e: &LakeError) -> ErrorCode {
    match e {
        LakeError::Io { .. } | LakeError::Compaction(_) => ErrorCode::Internal,
        LakeError::Cancelled => ErrorCode::Cancelled,
        _ => ErrorCode::InvalidInput,
    }
}

/// The error code the UI words an AWS problem by.
fn problem_code(problem: AwsProblem) -> ErrorCode {
    match problem {
        AwsProblem::NoCredentials => ErrorCode::NoCredentials,
        AwsProblem::AccessDenied => ErrorCode::AccessDenied,
        AwsProblem::NotFound => ErrorCode::NotFound,
        AwsProblem::Unreachable => ErrorCode::Unreachable,
        AwsProblem::Invalid => ErrorCode::InvalidInput,
        // No code of their own: the message says throttled.
        AwsProblem::Throttled | AwsProblem::Other => ErrorCode::Aws,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_fleet_and_a_missing_stream_keep_their_codes() {
        let e = ApiError::from(Error::from(EngineError::FleetRunning));
        assert_eq!(e.code, ErrorCode::FleetRunning);
        assert_eq!(e.message, "a fleet is already running; stop it first");
        let e = ApiError::from(Error::Kinesis {
            error: Box::new(KinesisError::StreamNotFound {
                stream: "telemetry".into(),
                detail: "no such stream".into(),
            }),
            using: "region us-east-1".into(),
        });
        assert_eq!(e.code, ErrorCode::NotFound);
        assert_eq!(
            e.message,
            "stream \"telemetry\" not found (no such stream) (using region us-east-1)"
        );
    }

    #[test]
    fn a_cancelled_history_query_says_cancelled() {
        let e = ApiError::from(Error::Timestream {
            error: Box::new(TimestreamError::Cancelled),
            using: "the default chain".into(),
        });
        assert_eq!(e.code, ErrorCode::Cancelled);
    }
}
