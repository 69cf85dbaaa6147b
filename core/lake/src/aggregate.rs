//! The strategic views: energy, peak demand, load factor, voltage quality,
//! by any dimension and period, as polars lazy plans.
//!
//! Definitions (the same ones `tests/tests/lake.rs` gives DuckDB):
//! - **energy** (kWh): the sum of each device's energy-counter increments,
//!   reading to reading in time order; a counter that goes down was reset
//!   and its new value is the increment. An increment belongs to the group
//!   of the later reading.
//! - **demand** of a group in a 15-minute interval: the sum over its devices
//!   of each device's average power in that interval. **Peak demand** is the
//!   largest, **peak_at** the start of that interval, and the **load
//!   factor** is the mean demand over the group's intervals divided by the
//!   peak.
//! - **voltage** p50/p95/p99: linear-interpolated quantiles; **compliance**:
//!   the share of voltage readings within +-10% of the device type's nominal
//!   (230 V meters, 400 V transformers, 11 kV feeders); **anomalies**: the
//!   voltage readings outside it.

use std::str::FromStr;

use polars::prelude::*;

use crate::table::{DAY, DEVICE, HOUR, INTERVAL, MONTH, TIME, WEEK};

/// What a view groups by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupKey {
    Device,
    Dimension(String),
    Hour,
    Day,
    Week,
    Month,
}

impl GroupKey {
    pub fn column(&self) -> &str {
        match self {
            GroupKey::Device => DEVICE,
            GroupKey::Dimension(d) => d,
            GroupKey::Hour => HOUR,
            GroupKey::Day => DAY,
            GroupKey::Week => WEEK,
            GroupKey::Month => MONTH,
        }
    }
}

/// The dimension an operator's word names: region -> Region, etc.
pub fn dimension_column(name: &str) -> String {
    match name.to_ascii_lowercase().as_str() {
        "region" => "Region".into(),
        "feeder" => "Feeder".into(),
        "type" | "devicetype" | "device_type" => "DeviceType".into(),
        "device" | "deviceid" | "device_id" => DEVICE.into(),
        _ => name.to_owned(),
    }
}

impl FromStr for GroupKey {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "device" | "device_id" => GroupKey::Device,
            "hour" => GroupKey::Hour,
            "day" => GroupKey::Day,
            "week" => GroupKey::Week,
            "month" => GroupKey::Month,
            _ => GroupKey::Dimension(dimension_column(s.trim())),
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AggregateRequest {
    pub from_us: i64,
    pub to_us: i64,
    pub by: Vec<GroupKey>,
    /// Dimension = value; all must hold.
    pub filters: Vec<(String, String)>,
    /// Keep only the N groups with the most energy.
    pub top: Option<usize>,
}

const ALL: &str = "_all";

fn has(schema: &Schema, name: &str) -> bool {
    schema.contains(name)
}

/// The rows in range that pass the filters, with every group key present.
fn selected(df: DataFrame, req: &AggregateRequest) -> PolarsResult<(LazyFrame, Vec<String>)> {
    let schema = df.schema().clone();
    let mut keys: Vec<String> = req.by.iter().map(|k| k.column().to_owned()).collect();
    for k in &keys {
        if !has(&schema, k) {
            polars_bail!(ColumnNotFound: "no {} in the extracts (known: {})", k,
                schema.iter_names().map(|n| n.as_str()).filter(|n| !n.starts_with('_')).collect::<Vec<_>>().join(", "));
        }
    }
    let mut lf = df.lazy().filter(
        col(TIME)
            .gt_eq(lit(req.from_us))
            .and(col(TIME).lt(lit(req.to_us))),
    );
    for (k, v) in &req.filters {
        let c = dimension_column(k);
        if !has(&schema, &c) {
            polars_bail!(ColumnNotFound: "cannot filter on {}: no such dimension in the extracts", k);
        }
        lf = lf.filter(col(c.as_str()).eq(lit(v.clone())));
    }
    if keys.is_empty() {
        lf = lf.with_column(lit(1i32).alias(ALL));
        keys.push(ALL.into());
    }
    Ok((lf, keys))
}

fn cols(names: &[String]) -> Vec<Expr> {
    names.iter().map(|n| col(n.as_str())).collect()
}

/// Demand per group and 15-minute interval.
fn demand(lf: LazyFrame, keys: &[String]) -> LazyFrame {
    let mut per_device = keys.to_vec();
    for extra in [DEVICE, INTERVAL] {
        if !per_device.iter().any(|k| k == extra) {
            per_device.push(extra.into());
        }
    }
    let mut per_interval = keys.to_vec();
    per_interval.push(INTERVAL.into());
    lf.filter(col("watt").is_not_null())
        .group_by(cols(&per_device))
        .agg([col("watt").mean().alias("_device_w")])
        .group_by(cols(&per_interval))
        .agg([col("_device_w").sum().alias("demand_w")])
}

/// The strategic figures per group.
pub fn aggregate(df: DataFrame, req: &AggregateRequest) -> PolarsResult<DataFrame> {
    let schema = df.schema().clone();
    for needed in ["watt", "voltage", "energy"] {
        if !has(&schema, needed) {
            polars_bail!(ColumnNotFound: "the extracts have no {} measure", needed);
        }
    }
    let (lf, keys) = selected(df, req)?;
    let nominal = if has(&schema, "DeviceType") {
        when(col("DeviceType").eq(lit("feeder")))
            .then(lit(11_000.0))
            .when(col("DeviceType").eq(lit("transformer")))
            .then(lit(400.0))
            .otherwise(lit(230.0))
    } else {
        lit(230.0)
    };
    // Sorting by time alone is enough: the window below keeps each
    // device's rows in frame order, and an i64 sort is far cheaper than one
    // on (device string, time).
    let with_increments = lf
        .clone()
        .sort(
            [TIME],
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .with_column(
            (col("energy") - col("energy").shift(lit(1)).over([col(DEVICE)])?).alias("_inc"),
        )
        .with_columns([
            when(col("_inc").lt(lit(0.0)))
                .then(col("energy"))
                .otherwise(col("_inc"))
                .alias("_energy_inc"),
            col("voltage")
                .gt_eq(nominal.clone() * lit(0.9))
                .and(col("voltage").lt_eq(nominal * lit(1.1)))
                .cast(DataType::Float64)
                .alias("_within"),
        ]);
    let stats = with_increments.group_by(cols(&keys)).agg([
        len().alias("records"),
        col("_energy_inc").sum().alias("energy_kwh"),
        col("voltage")
            .quantile(lit(0.5), QuantileMethod::Linear)
            .alias("voltage_p50"),
        col("voltage")
            .quantile(lit(0.95), QuantileMethod::Linear)
            .alias("voltage_p95"),
        col("voltage")
            .quantile(lit(0.99), QuantileMethod::Linear)
            .alias("voltage_p99"),
        col("voltage").count().alias("_vcount"),
        col("_within").sum().alias("_vwithin"),
    ]);
    let peaks = demand(lf, &keys).group_by(cols(&keys)).agg([
        col("demand_w").max().alias("peak_demand_w"),
        col(INTERVAL)
            .sort_by(
                [col("demand_w")],
                SortMultipleOptions::default().with_order_descending(true),
            )
            .first()
            .alias("peak_at_us"),
        col("demand_w").mean().alias("_mean_demand"),
    ]);
    let mut out = stats
        .join(
            peaks,
            cols(&keys),
            cols(&keys),
            JoinArgs::new(JoinType::Left),
        )
        .with_columns([
            (col("_vwithin") / col("_vcount").cast(DataType::Float64)).alias("voltage_compliance"),
            (col("_vcount").cast(DataType::Float64) - col("_vwithin"))
                .cast(DataType::Int64)
                .alias("voltage_anomalies"),
            (col("_mean_demand") / col("peak_demand_w")).alias("load_factor"),
        ]);
    let mut order: Vec<String> = keys.clone();
    order.extend(
        [
            "records",
            "energy_kwh",
            "peak_demand_w",
            "peak_at_us",
            "load_factor",
            "voltage_p50",
            "voltage_p95",
            "voltage_p99",
            "voltage_compliance",
            "voltage_anomalies",
        ]
        .map(String::from),
    );
    out = out.select(cols(&order));
    out = match req.top {
        Some(n) => out
            .sort(
                ["energy_kwh"],
                SortMultipleOptions::default()
                    .with_order_descending(true)
                    .with_nulls_last(true),
            )
            .limit(n as IdxSize),
        None => out.sort(
            keys.iter().map(String::as_str).collect::<Vec<_>>(),
            SortMultipleOptions::default(),
        ),
    };
    let mut df = out.collect()?;
    if keys == [ALL] {
        df = df.drop(ALL)?;
    }
    Ok(df)
}

/// The load duration curve: each group's interval demands, largest first.
pub fn load_duration(df: DataFrame, req: &AggregateRequest) -> PolarsResult<DataFrame> {
    if !has(df.schema(), "watt") {
        polars_bail!(ColumnNotFound: "the extracts have no watt measure");
    }
    let (lf, keys) = selected(df, req)?;
    let mut order: Vec<&str> = keys.iter().map(String::as_str).collect();
    order.push("demand_w");
    let mut descending = vec![false; keys.len()];
    descending.push(true);
    let mut out = demand(lf, &keys)
        .sort(
            order,
            SortMultipleOptions::default().with_order_descending_multi(descending),
        )
        .collect()?;
    if keys == [ALL] {
        out = out.drop(ALL)?;
    }
    Ok(out)
}

/// Device availability: the share of 15-minute intervals in the range in
/// which a device reported at least once, averaged over the devices seen.
pub fn availability(df: DataFrame, req: &AggregateRequest) -> PolarsResult<Option<f64>> {
    let (lf, _) = selected(df, req)?;
    let intervals =
        ((req.to_us - req.from_us) as f64 / crate::table::DEMAND_INTERVAL_US as f64).ceil();
    let out = lf
        .group_by([col(DEVICE)])
        .agg([col(INTERVAL).n_unique().alias("n")])
        .select([col("n").cast(DataType::Float64).mean().alias("mean")])
        .collect()?;
    Ok(out
        .column("mean")?
        .f64()?
        .get(0)
        .map(|m| (m / intervals.max(1.0)).min(1.0)))
}
