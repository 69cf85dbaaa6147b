//! `gridwatch query` over the local cache: bucketed statistics of one
//! measure, for one device or the whole fleet.

use std::path::Path;

use anyhow::bail;
use gridwatch_core::cache::BucketQuery;
use gridwatch_types::time::format_time;
use serde_json::json;

use super::args::{QueryArgs, open_reader};
use super::output::print;

pub fn run(args: QueryArgs, cache: &Path) -> anyhow::Result<()> {
    let (from_us, to_us, bucket_us) = args.span()?;
    let reader = open_reader(cache)?;
    if let Some(device) = &args.device
        && !reader.devices()?.iter().any(|d| &d.device_id == device)
    {
        bail!(
            "no device {device:?} in {}: `gridwatch devices` lists them",
            cache.display()
        );
    }
    let measure = gridwatch_core::codec::measure_name(&args.measure);
    let measures = reader.measures()?;
    if !measures.iter().any(|m| m == measure) {
        bail!(
            "no measure {:?} in {}; known measures: {}",
            args.measure,
            cache.display(),
            measures.join(", ")
        );
    }
    let buckets = reader.buckets(&BucketQuery {
        device_id: args.device.as_deref(),
        measure,
        from_us,
        to_us,
        bucket_us,
    })?;
    let rows = buckets
        .iter()
        .map(|b| {
            vec![
                json!(format_time(b.start_us)),
                json!(b.avg),
                json!(b.min),
                json!(b.max),
                json!(b.sum),
                json!(b.count),
            ]
        })
        .collect();
    print(
        &["start", "avg", "min", "max", "sum", "count"],
        rows,
        args.format,
    )?;
    if buckets.is_empty() {
        eprintln!(
            "no readings of {measure} between {} and {}",
            format_time(from_us),
            format_time(to_us)
        );
    }
    Ok(())
}
