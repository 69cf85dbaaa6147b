//! The device-fleet simulator: fleet specs, realistic signals, pacing, sinks.
//!
//! A [`Fleet`] turns a [`gridwatch_types::FleetSpec`] into devices with
//! identities, dimensions and signals, on a utility network
//! ([`network`]) with outages ([`outage`]) and imperfect delivery; or into
//! the seed talk's sample producer ([`seed`]). [`run_fleet`] paces its
//! records and hands them, encoded in the wire format, to a [`RecordSink`]
//! (the embedded bus here; Kinesis and the lake are sinks too).

pub mod embedded;
pub mod fleet;
pub mod kinesis;
pub mod lake;
pub mod network;
pub mod outage;
pub mod reading;
pub mod run;
pub mod seed;
pub mod signal;
pub mod utility;

pub use embedded::{Embedded, EngineError};
pub use fleet::{Delivered, Fleet, FleetStats};
pub use outage::Outage;
pub use reading::{Measures, Reading};
pub use run::{
    BusSink, Pacing, RecordSink, RunOptions, RunProgress, RunSummary, SinkError, run_fleet,
};
