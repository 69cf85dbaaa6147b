//! Grafana's side of history, so operators bring their panels and their
//! dashboards: the Timestream plugin's macros exactly, dashboard template
//! variables in every form and format Grafana writes, and dashboards
//! (their variables, panels and time range) read from a Grafana export.
//!
//! - `macros`: what each macro stands for; `$__interval` as Grafana
//!   computes it.
//! - `variables`: selections ("All", multi-value) and Grafana's formats.
//! - `expand`: the one pass that writes both into a query, each value safe
//!   for where it lands.
//! - `dashboard`: a Grafana dashboard JSON read into
//!   [`gridwatch_types::Dashboard`]; `time`: its `now-5m` ranges.
//! - `shape`: an answer as a panel draws it (series, figures).
//! - `store`: dashboards saved by name; `run`: a dashboard's panels run
//!   concurrently, their answers cached for offline use.

mod dashboard;
mod expand;
mod macros;
mod run;
mod shape;
mod store;
mod time;
mod variables;

pub use dashboard::parse_dashboard;
pub use expand::{expand, referenced_variables};
pub use macros::{MacroContext, calculate_interval_ms, parse_interval_ms, round_interval};
pub use run::{RunOptions, fill_query_variables, run_dashboard};
pub use shape::{figures, format_value, series, threshold_color};
pub use store::DashboardStore;
pub use time::parse_grafana_time;
pub use variables::{Binding, Bound, Format, bind, custom_options, is_plain, parse_var};

/// Why a query could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    #[error("the query uses {name} but no {flag} was given")]
    Missing {
        name: &'static str,
        flag: &'static str,
    },
    /// The range, or now, is outside what Timestream holds.
    #[error("{0}")]
    Range(String),
    #[error("{what} = {value:?} cannot be written there: {why}")]
    Unsafe {
        what: String,
        value: String,
        why: String,
    },
    #[error(
        "{what}: Grafana's format :{format} is not one Gridwatch writes (csv, singlequote, doublequote, sqlstring, pipe, raw, regex, glob)"
    )]
    UnknownFormat { what: String, format: String },
    #[error("{0}")]
    Interval(String),
    #[error("{0}")]
    Variable(String),
}

/// Expands the plugin's macros alone (no template variables), for the
/// callers that have none; the error as a message.
pub fn expand_macros(sql: &str, ctx: &MacroContext) -> Result<String, String> {
    expand(sql, ctx, &[]).map_err(|e| e.to_string())
}

/// Why a dashboard could not be read, found, saved or run.
#[derive(Debug, thiserror::Error)]
pub enum GrafanaError {
    #[error("not a Grafana dashboard Gridwatch can read: {0}")]
    Parse(String),
    #[error("no dashboard named {0:?} (import one with `gridwatch grafana import FILE`)")]
    NotFound(String),
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Expand(#[from] ExpandError),
}

#[cfg(test)]
mod tests;
