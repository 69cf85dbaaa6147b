//! A history answer as a chart, parsed once: an answer can hold millions
//! of rows, and each frame draws a few points per pixel of it.

use gridwatch_types::{Cell, HistoryResult};

/// A result's first time column against its first number column.
#[derive(Debug)]
pub struct HistoryChart {
    pub points: Vec<[f64; 2]>,
    pub(super) pyramid: crate::decimate::MinMaxPyramid,
    /// The first and last time, in epoch seconds.
    pub(super) span: (f64, f64),
    /// The usual time between points, in seconds: a gap of more than two
    /// breaks the line.
    pub(super) interval_s: Option<f64>,
}

impl HistoryChart {
    /// None when the result has no time and number columns to chart.
    pub fn of(result: &HistoryResult) -> Option<HistoryChart> {
        let mut points: Vec<[f64; 2]> = result
            .table
            .rows
            .iter()
            .filter_map(|r| {
                let t = match r.first()? {
                    Cell::Text(t) => crate::clock::parse_utc(t)?,
                    _ => return None,
                };
                let v = r.iter().skip(1).find_map(|c| match c {
                    Cell::Number(n) => Some(*n),
                    _ => None,
                })?;
                Some([t, v])
            })
            .collect();
        if points.is_empty() {
            return None;
        }
        // The operator's SQL may not order by time; the chart needs it.
        points.sort_by(|a, b| a[0].total_cmp(&b[0]));
        let span = (points[0][0], points[points.len() - 1][0]);
        let interval_s = crate::chart::typical_step(points.iter().map(|p| p[0]));
        Some(HistoryChart {
            pyramid: crate::decimate::MinMaxPyramid::new(&points),
            points,
            span,
            interval_s,
        })
    }
}
