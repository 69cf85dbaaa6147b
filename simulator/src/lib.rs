//! The device-fleet simulator: fleet specs, realistic signals, pacing, sinks.
//!
//! A [`Fleet`] turns a [`gridwatch_types::FleetSpec`] into devices with
//! identities, dimensions and signals; [`run_fleet`] paces its readings and
//! hands them, encoded in the wire format, to a [`RecordSink`] (the embedded
//! bus here; Kinesis and the lake are sinks too).

pub mod embedded;
pub mod fleet;
pub mod kinesis;
pub mod lake;
pub mod run;
pub mod signal;

pub use embedded::{Embedded, EngineError};
pub use fleet::Fleet;
pub use run::{
    BusSink, Pacing, RecordSink, RunOptions, RunProgress, RunSummary, SinkError, run_fleet,
};
