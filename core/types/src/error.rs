//! The error every request may answer with.

use serde::{Deserialize, Serialize};

/// An error code the UI can act on without matching message strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request was malformed: a bad argument, out of range.
    InvalidInput,
    /// The named device, measure, stream or file does not exist.
    NotFound,
    /// AWS refused or could not be reached: credentials, access, network.
    Aws,
    /// The local cache could not be opened, read or written.
    Cache,
    /// A fleet is already running; stop it first.
    FleetRunning,
    /// The IPC itself failed (UI side only).
    Ipc,
    /// The operator cancelled it.
    Cancelled,
    /// The AWS credential chain found no credentials (profile, SSO,
    /// environment).
    NoCredentials,
    /// AWS refused these credentials this action.
    AccessDenied,
    /// The service or endpoint could not be reached (network, endpoint URL).
    Unreachable,
    /// Anything else; the message says what.
    Internal,
}

/// The error every command returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({:?})", self.message, self.code)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_cross_the_boundary_as_snake_case() {
        let e = ApiError::new(ErrorCode::FleetRunning, "stop the fleet first");
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json,
            r#"{"code":"fleet_running","message":"stop the fleet first"}"#
        );
        let back: ApiError = serde_json::from_str(&json).unwrap();
        assert_eq!(back, e);
    }
}
