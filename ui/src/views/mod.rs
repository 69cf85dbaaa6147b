//! The three views the operator switches between. Each owns its state,
//! draws itself with `show` and takes the answers to its own requests with
//! `on_reply`, handing back what it leaves to the app.

pub mod dashboards;
pub mod history;
pub mod operations;
pub mod strategic;
