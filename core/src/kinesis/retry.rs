//! What a failed Kinesis call means for the consumer (wait and try again,
//! take a new iterator, or end the run saying why), and how long to wait.

use std::time::Duration;

use aws_sdk_kinesis::config::http::HttpResponse;
use aws_sdk_kinesis::error::{ProvideErrorMetadata, SdkError};

use super::KinesisError;
use crate::aws::{AwsProblem, describe_sdk_error};

pub(super) const MAX_BACKOFF: Duration = Duration::from_secs(10);

pub(super) enum Failure {
    Throttled,
    Expired,
    /// Worth another try after a pause.
    Retry(String),
    /// Retrying cannot change the answer: the consumer ends with this.
    Fatal(KinesisError),
}

/// Whether an error code says the request itself is refused, however often
/// it is sent.
fn is_invalid(code: &str) -> bool {
    matches!(
        code,
        "InvalidArgumentException" | "ValidationException" | "SerializationException"
    )
}

/// Sorts a Kinesis error into what the consumer does about it.
pub(super) fn classify<E>(stream: &str, e: &SdkError<E, HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let detail = describe_sdk_error(e);
    let code = e.as_service_error().and_then(|s| s.code()).unwrap_or("");
    match code {
        "ProvisionedThroughputExceededException"
        | "KMSThrottlingException"
        | "LimitExceededException" => return Failure::Throttled,
        "ExpiredIteratorException" => return Failure::Expired,
        "ResourceNotFoundException" => {
            return Failure::Fatal(KinesisError::StreamNotFound {
                stream: stream.to_owned(),
                detail,
            });
        }
        c if is_invalid(c) => return Failure::Fatal(KinesisError::Invalid(detail)),
        // The stream's key is disabled, gone or not usable: an operator
        // must act.
        "KMSAccessDeniedException"
        | "KMSDisabledException"
        | "KMSInvalidStateException"
        | "KMSNotFoundException"
        | "KMSOptInRequired" => {
            return Failure::Fatal(KinesisError::AccessDenied {
                stream: stream.to_owned(),
                detail,
            });
        }
        _ => {}
    }
    match crate::aws::classify(e) {
        (AwsProblem::AccessDenied, detail) => Failure::Fatal(KinesisError::AccessDenied {
            stream: stream.to_owned(),
            detail,
        }),
        // Credentials that worked when the run started (the stream was
        // described with them) and fail now are a refresh that failed for
        // a while (instance metadata slow, an SSO session renewing): retry,
        // as for the network, rather than end a long-running follower.
        (AwsProblem::NoCredentials, detail) => Failure::Retry(detail),
        _ => Failure::Retry(detail),
    }
}

/// Exponential backoff with jitter, from a base, capped.
pub(super) struct Backoff {
    next: Duration,
    base: Duration,
    seed: u64,
}

impl Backoff {
    pub(super) fn new(base: Duration) -> Self {
        Backoff {
            next: base,
            base,
            seed: 0x9E37_79B9_7F4A_7C15,
        }
    }
    pub(super) fn reset(&mut self) {
        self.next = self.base;
    }
    pub(super) fn step(&mut self) -> Duration {
        // xorshift: jitter need not be cryptographic, only spread out.
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        let jitter = 0.5 + (self.seed % 1000) as f64 / 1000.0;
        let d = self.next.mul_f64(jitter);
        self.next = (self.next * 2).min(MAX_BACKOFF);
        d
    }
}
