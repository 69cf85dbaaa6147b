//! What the pipeline costs a month.

use serde::{Deserialize, Serialize};

/// One line of a pipeline cost estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostLine {
    pub service: String,
    pub item: String,
    pub quantity: f64,
    pub unit: String,
    pub monthly_usd: f64,
}

/// What the seed's pipeline would cost a month for a fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostEstimate {
    /// Which prices were used.
    pub prices: String,
    pub records_per_second: f64,
    pub bytes_per_second: f64,
    pub shards: u64,
    pub lines: Vec<CostLine>,
    pub total_usd: f64,
}
