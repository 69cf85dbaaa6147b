//! Types that cross the IPC boundary between the Gridwatch shell and its UI.
//!
//! Both sides (`gridwatch` on the native side, `gridwatch-ui` in the webview)
//! serialise exactly these structs, so they cannot drift. This crate depends on
//! nothing but serde so that it compiles to wasm32 cheaply.
//!
//! Times are epoch microseconds (`*_us`) everywhere: the wire format's `Time`
//! may carry fractions of a millisecond.
//!
//! One module per part of the app; every type is re-exported here.

mod bridge;
mod cost;
mod dashboard;
mod error;
mod fleet;
mod history;
mod influx;
pub mod ipc;
mod lake;
mod live;
mod settings;
pub mod time;

pub use bridge::*;
pub use cost::*;
pub use dashboard::*;
pub use error::*;
pub use fleet::*;
pub use history::*;
pub use influx::*;
pub use ipc::{Reply, Request, UiHealth};
pub use lake::*;
pub use live::*;
pub use settings::*;
