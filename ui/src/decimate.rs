//! Per-pixel min/max decimation: a chart never draws more than two points
//! per pixel column, yet every spike a column holds stays on screen.

/// `points` (sorted by x) reduced to at most two per pixel column of the
/// `x_min..=x_max` range drawn `pixels` wide: each column's minimum and
/// maximum, in time order. One point either side of the range is kept so
/// the line runs to the edges.
pub fn min_max(points: &[[f64; 2]], x_min: f64, x_max: f64, pixels: usize) -> Vec<[f64; 2]> {
    let pixels = pixels.max(1);
    // The visible slice, found by binary search (the series is sorted).
    let start = points.partition_point(|p| p[0] < x_min).saturating_sub(1);
    let end = (points.partition_point(|p| p[0] <= x_max) + 1).min(points.len());
    let visible = &points[start..end];
    if visible.len() <= 2 * pixels || x_max <= x_min {
        return visible.to_vec();
    }
    let width = (x_max - x_min) / pixels as f64;
    let mut out = Vec::with_capacity(2 * pixels + 2);
    let mut column = i64::MIN;
    let (mut lo, mut hi) = ([0.0; 2], [0.0; 2]);
    let flush = |out: &mut Vec<[f64; 2]>, lo: [f64; 2], hi: [f64; 2]| {
        if lo == hi {
            out.push(lo);
        } else if lo[0] <= hi[0] {
            out.extend([lo, hi]);
        } else {
            out.extend([hi, lo]);
        }
    };
    for &p in visible {
        let c = ((p[0] - x_min) / width).floor() as i64;
        if c != column {
            if column != i64::MIN {
                flush(&mut out, lo, hi);
            }
            column = c;
            lo = p;
            hi = p;
        } else if p[1] < lo[1] {
            lo = p;
        } else if p[1] > hi[1] {
            hi = p;
        }
    }
    if column != i64::MIN {
        flush(&mut out, lo, hi);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_million_points_become_two_per_pixel_and_keep_their_spikes() {
        let mut points: Vec<[f64; 2]> = (0..1_000_000).map(|i| [i as f64, 1.0]).collect();
        points[123_456][1] = 99.0;
        points[654_321][1] = -5.0;
        let shown = min_max(&points, 0.0, 999_999.0, 800);
        assert!(shown.len() <= 2 * 801, "{}", shown.len());
        assert!(shown.contains(&[123_456.0, 99.0]));
        assert!(shown.contains(&[654_321.0, -5.0]));
        assert!(shown.windows(2).all(|w| w[0][0] <= w[1][0]), "time order");
    }

    #[test]
    fn only_the_visible_range_is_drawn_and_short_series_stay_whole() {
        let points: Vec<[f64; 2]> = (0..100).map(|i| [i as f64, i as f64]).collect();
        assert_eq!(min_max(&points, 0.0, 99.0, 800), points);
        // Zoomed in: the range and one point either side.
        let zoomed = min_max(&points, 10.0, 20.0, 800);
        assert_eq!(zoomed.first(), Some(&[9.0, 9.0]));
        assert_eq!(zoomed.last(), Some(&[21.0, 21.0]));
    }
}
